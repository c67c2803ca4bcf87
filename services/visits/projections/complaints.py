"""Complaints (Representations Procedure (England) Regulations 2006): a row per complaint with its
stage and status, what the complaint commands decide on, and complaints as the API shows them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import text

from services.visits import rules
from services.visits.events import (
    ComplaintAcknowledged,
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintReceived,
    ComplaintResponded,
    ComplaintTimescaleExtended,
    complaint_stream,
)
from services.visits.projections.children import Current
from services.visits.projections.clocks import CLOCK_COLUMNS, ClockView
from services.visits.rules import OpenClock
from shared.eventstore import Batch, RecordedEvent, handles, sql


class ComplaintsView:
    """visits_complaints: the stage a complaint is at and where it stands."""

    @handles(ComplaintReceived)
    async def _complaint_received(self, batch: Batch, complaint: ComplaintReceived, event: RecordedEvent) -> None:
        batch.write(
            _INSERT_COMPLAINT,
            {
                "id": complaint.complaint_id,
                "c": complaint.child_id,
                "at": event.occurred_at,
                "mb": complaint.made_by,
                "h": complaint.about_household_id,
                "s": complaint.summary,
                "se": complaint.serious,
                "r9": complaint.schedule7_row9,
                "lado": complaint.lado_consultation,
                "w": complaint.about_worker_ids,
            },
            ("visits_complaints", complaint.complaint_id),
        )

    @handles(ComplaintAcknowledged)
    async def _complaint_acknowledged(self, batch: Batch, ack: ComplaintAcknowledged, event: RecordedEvent) -> None:
        _update(batch, _ACKNOWLEDGE, ack.complaint_id, at=event.occurred_at)

    @handles(ComplaintResponded)
    async def _complaint_responded(self, batch: Batch, response: ComplaintResponded, event: RecordedEvent) -> None:
        _update(batch, _RESPOND, response.complaint_id, at=event.occurred_at, r=response.response, o=response.outcome)

    @handles(ComplaintTimescaleExtended)
    async def _complaint_extended(
        self, batch: Batch, extended: ComplaintTimescaleExtended, event: RecordedEvent
    ) -> None:
        _update(batch, _EXTEND, extended.complaint_id, w=extended.working_days)

    @handles(ComplaintEscalated)
    async def _complaint_escalated(self, batch: Batch, escalated: ComplaintEscalated, event: RecordedEvent) -> None:
        _update(batch, _ESCALATE, escalated.complaint_id, s=escalated.to_stage)

    @handles(ComplaintClosed)
    async def _complaint_closed(self, batch: Batch, closed: ComplaintClosed, event: RecordedEvent) -> None:
        _update(batch, _CLOSE, closed.complaint_id, at=event.occurred_at, o=closed.outcome)


def _update(batch: Batch, statement: Any, complaint_id: uuid.UUID, **params: Any) -> None:
    batch.write(statement, {"id": complaint_id, **params}, ("visits_complaints", complaint_id))


_INSERT_COMPLAINT = text(
    "INSERT INTO visits_complaints (complaint_id, child_id, received_at, made_by, about_household_id, "
    "summary, serious, schedule7_row9, lado_consultation, about_worker_ids, stage, status) VALUES "
    "(:id, :c, :at, :mb, :h, :s, :se, :r9, :lado, :w, 1, 'received') ON CONFLICT (complaint_id) DO NOTHING"
)
_ACKNOWLEDGE = text(
    "UPDATE visits_complaints SET acknowledged_at = :at, "
    "status = CASE WHEN status = 'received' THEN 'acknowledged' ELSE status END WHERE complaint_id = :id"
)
_RESPOND = text(
    "UPDATE visits_complaints SET responded_at = :at, response = :r, response_outcome = :o, status = 'responded', "
    "acknowledged_at = coalesce(acknowledged_at, :at) WHERE complaint_id = :id"
)
_EXTEND = text("UPDATE visits_complaints SET extended_working_days = :w WHERE complaint_id = :id")
_ESCALATE = text(
    "UPDATE visits_complaints SET stage = :s, status = 'escalated', extended_working_days = NULL "
    "WHERE complaint_id = :id"
)
_CLOSE = text("UPDATE visits_complaints SET status = 'closed', closed_at = :at, outcome = :o WHERE complaint_id = :id")


# ---- what the complaint commands decide on -------------------------------------------------------
@dataclass(frozen=True)
class ComplaintState:
    """A complaint where it stands, with its own clocks still open (acknowledgement, stage)."""

    complaint_id: uuid.UUID
    child_id: uuid.UUID
    received_at: datetime
    about_household_id: uuid.UUID | None
    stage: int
    status: str
    acknowledged_at: datetime | None
    about_worker_ids: tuple[str, ...] = ()
    open_clocks: tuple[OpenClock, ...] = ()

    def stage_clock(self) -> OpenClock | None:
        """The open clock of the complaint's stage (at stage 3, the panel's)."""
        return self.open_clock(rules.complaint_stage_kind(self.stage))

    def open_clock(self, kind: str) -> OpenClock | None:
        return next((c for c in self.open_clocks if c.kind == kind), None)


_COMPLAINT_CONTEXT = (
    f"SELECT {sql.HEAD_POSITION_FRAGMENT} AS head, {sql.stream_version_fragment(2)} AS version, c.complaint_id, "
    "c.child_id, c.received_at, c.about_household_id, c.stage, c.status, c.acknowledged_at, c.about_worker_ids, "
    "(SELECT array_agg((d.deadline_id, d.kind, d.started_at, d.due_at) ORDER BY d.started_at, d.due_at) "
    "FROM visits_deadlines d WHERE d.complaint_id = $1 AND d.status = 'open' AND d.kind = ANY($3::text[])) AS clocks "
    "FROM (SELECT 1) AS one LEFT JOIN visits_complaints c ON c.complaint_id = $1"
)


async def complaint_context(conn: Any, complaint_id: uuid.UUID) -> Current[ComplaintState]:
    """On a driver (asyncpg) connection, in one statement: the head, the complaint's stream version
    and the complaint with its open clocks."""
    row = await conn.fetchrow(
        _COMPLAINT_CONTEXT, complaint_id, complaint_stream(complaint_id), sorted(rules.COMPLAINT_KINDS)
    )
    if row["complaint_id"] is None:
        return Current(row["head"], row["version"] or 0, None)
    clocks = tuple(OpenClock(*c) for c in row["clocks"] or ())
    state = ComplaintState(
        complaint_id=row["complaint_id"],
        child_id=row["child_id"],
        received_at=row["received_at"],
        about_household_id=row["about_household_id"],
        stage=row["stage"],
        status=row["status"],
        acknowledged_at=row["acknowledged_at"],
        about_worker_ids=tuple(row["about_worker_ids"]),
        open_clocks=clocks,
    )
    return Current(row["head"], row["version"] or 0, state)


# ---- complaints as the API shows them ------------------------------------------------------------
class ComplaintView(BaseModel):
    complaint_id: uuid.UUID
    child_id: uuid.UUID
    received_at: datetime
    made_by: str
    about_household_id: uuid.UUID | None
    summary: str
    serious: bool
    schedule7_row9: bool
    lado_consultation: bool
    about_worker_ids: list[str] = Field(description="The workers the complaint is about: none of them may handle it.")
    stage: int = Field(description="1, 2 or 3 (the review panel).")
    status: str = Field(examples=["received", "acknowledged", "responded", "escalated", "closed"])
    acknowledged_at: datetime | None
    responded_at: datetime | None
    closed_at: datetime | None
    clocks: list[ClockView]
    out_of_timescale: bool = Field(description="A clock of the complaint is overdue or was met late.")


class ComplaintDetail(ComplaintView):
    version: int = Field(description="The complaint's stream version: send it as If-Match.")


_COMPLAINT_COLUMNS = (
    "complaint_id, child_id, received_at, made_by, about_household_id, summary, serious, schedule7_row9, "
    "lado_consultation, about_worker_ids, stage, status, acknowledged_at, responded_at, closed_at"
)
_COMPLAINT = (
    f"SELECT {_COMPLAINT_COLUMNS}, {sql.stream_version_fragment(2)} AS version FROM visits_complaints "
    "WHERE complaint_id = $1"
)
_OPEN_COMPLAINTS = (
    f"SELECT {_COMPLAINT_COLUMNS} FROM visits_complaints WHERE child_id = $1 AND status <> 'closed' "
    "ORDER BY received_at"
)
_CLOCKS_OF_COMPLAINTS = (
    f"SELECT complaint_id, {CLOCK_COLUMNS} FROM visits_deadlines WHERE complaint_id = ANY($1::uuid[]) "
    "AND kind = ANY($2::text[]) ORDER BY started_at, due_at"
)


async def _with_clocks(conn: Any, rows: Sequence[Any], now: datetime) -> list[dict[str, Any]]:
    """Each complaint row with its clocks (every status), read in one statement for them all."""
    ids = [r["complaint_id"] for r in rows]
    clocks: dict[uuid.UUID, list[ClockView]] = {i: [] for i in ids}
    for row in await conn.fetch(_CLOCKS_OF_COMPLAINTS, ids, sorted(rules.COMPLAINT_KINDS)) if ids else ():
        clocks[row["complaint_id"]].append(ClockView.of(row, now))
    return [
        {
            **dict(r),
            "clocks": clocks[r["complaint_id"]],
            "out_of_timescale": any(c.overdue or c.late for c in clocks[r["complaint_id"]]),
        }
        for r in rows
    ]


async def complaint(conn: Any, complaint_id: uuid.UUID, now: datetime) -> ComplaintDetail | None:
    row = await conn.fetchrow(_COMPLAINT, complaint_id, complaint_stream(complaint_id))
    if row is None:
        return None
    [found] = await _with_clocks(conn, [row], now)
    return ComplaintDetail(**found)


async def open_complaints(conn: Any, child_id: uuid.UUID, now: datetime) -> list[ComplaintView]:
    """The child's complaints not yet closed, oldest first, each with its clocks."""
    rows = await conn.fetch(_OPEN_COMPLAINTS, child_id)
    return [ComplaintView(**found) for found in await _with_clocks(conn, rows, now)]
