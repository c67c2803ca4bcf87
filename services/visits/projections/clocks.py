"""The clocks visits set (kind `visits.*`, wherever they are stored): the rows of visits_deadlines,
and the clocks as the API shows them, "overdue" by the clock of the moment they are read."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import text

from services.visits import rules
from services.visits.projections.children import placement_of, placements_of_child
from shared.contracts.deadlines import DeadlineCancelled, DeadlineMet, DeadlineSet
from shared.eventstore import Batch, RecordedEvent, handles

SERVICE = "visits"


def _ours(kind: str) -> bool:
    return kind.startswith(f"{SERVICE}.")


class ClocksView:
    """visits_deadlines: a row per clock this service set, open until met or stopped."""

    @handles(DeadlineSet)
    async def _deadline_set(self, batch: Batch, deadline: DeadlineSet, event: RecordedEvent) -> None:
        if not _ours(deadline.kind):
            return
        child_ids = deadline.child_ids or list(event.child_ids)
        child_id = child_ids[0] if child_ids else None
        complaint = event.stream_id.removeprefix("complaint-") if event.stream_id.startswith("complaint-") else None
        placement_id = deadline.placement_id
        if placement_id is None and child_id is not None and rules.follows_placement(deadline.kind):
            placement_id = await _current_placement_id(batch, child_id)
        batch.write(
            _INSERT_DEADLINE,
            {
                "id": deadline.deadline_id,
                "k": deadline.kind,
                "sub": deadline.subject,
                "st": event.stream_id,
                "c": child_id,
                "cp": uuid.UUID(complaint) if complaint else None,
                "p": placement_id,
                "h": deadline.household_id,
                "sa": deadline.started_at,
                "due": deadline.due_at,
                "desc": deadline.description,
                "src": deadline.source,
                "esc": deadline.escalate_to,
                "e": event.event_id,
            },
            ("visits_deadlines", deadline.deadline_id),
        )

    @handles(DeadlineMet)
    async def _deadline_met(self, batch: Batch, met: DeadlineMet, event: RecordedEvent) -> None:
        if _ours(met.kind):
            batch.write(
                _MEET_DEADLINE,
                {"id": met.deadline_id, "at": met.met_at, "by": met.met_by_event_id, "late": met.late},
                ("visits_deadlines", met.deadline_id),
            )

    @handles(DeadlineCancelled)
    async def _deadline_cancelled(self, batch: Batch, cancelled: DeadlineCancelled, event: RecordedEvent) -> None:
        if _ours(cancelled.kind):
            batch.write(
                _CANCEL_DEADLINE,
                {"id": cancelled.deadline_id, "r": cancelled.reason},
                ("visits_deadlines", cancelled.deadline_id),
            )


async def _current_placement_id(batch: Batch, child_id: uuid.UUID) -> uuid.UUID | None:
    """For a statutory visit clock set before clocks named their placement: the child's current
    placement when it was set (the log's order: every earlier placement event is applied)."""
    rows = await batch.fetch(_PLACEMENTS_OF_CHILD, {"c": child_id}, ("visits_placements.child", child_id))
    current = rules.current_placement(placement_of(tuple(r)) for r in rows)
    return current.placement_id if current is not None else None


_PLACEMENTS_OF_CHILD = text(placements_of_child(":c"))
_INSERT_DEADLINE = text(
    "INSERT INTO visits_deadlines (deadline_id, kind, subject, stream_id, child_id, complaint_id, "
    "placement_id, household_id, started_at, due_at, description, source, escalate_to, set_event_id) "
    "VALUES (:id, :k, :sub, :st, :c, :cp, :p, :h, :sa, :due, :desc, :src, :esc, :e) "
    "ON CONFLICT (deadline_id) DO NOTHING"
)
_MEET_DEADLINE = text(
    "UPDATE visits_deadlines SET status = 'met', met_at = :at, met_by_event_id = :by, late = :late "
    "WHERE deadline_id = :id AND status = 'open'"
)
_CANCEL_DEADLINE = text(
    "UPDATE visits_deadlines SET status = 'cancelled', cancel_reason = :r WHERE deadline_id = :id AND status = 'open'"
)


# ---- the clocks as the API shows them ------------------------------------------------------------
class ClockView(BaseModel):
    """A statutory or local clock: what must happen, by when, the rule, and where it stands."""

    deadline_id: uuid.UUID
    kind: str = Field(examples=["visits.statutory_visit"])
    description: str
    started_at: datetime
    due_at: datetime
    status: Literal["open", "met", "cancelled"]
    source: str = Field(description="The rule that sets the clock.")
    overdue: bool = Field(description="Open and past due by the agency's clock now.")
    met_at: datetime | None = Field(default=None, description="When it was met (met clocks).")
    late: bool | None = Field(default=None, description="Met after it was due (met clocks).")
    cancel_reason: str | None = Field(default=None, description="Why it stopped (cancelled clocks).")

    @classmethod
    def of(cls, row: Mapping[str, Any], now: datetime) -> ClockView:
        status = row["status"]
        return cls(
            deadline_id=row["deadline_id"],
            kind=row["kind"],
            description=row["description"],
            started_at=row["started_at"],
            due_at=row["due_at"],
            status=status,
            source=row["source"],
            overdue=status == "open" and rules.is_overdue(row["due_at"], now),
            met_at=row["met_at"] if status == "met" else None,
            late=bool(row["late"]) if status == "met" else None,
            cancel_reason=row["cancel_reason"] if status == "cancelled" else None,
        )


CLOCK_COLUMNS = "deadline_id, kind, description, started_at, due_at, status, source, met_at, late, cancel_reason"
_OPEN_CLOCKS_OF_CHILD = (
    f"SELECT {CLOCK_COLUMNS} FROM visits_deadlines WHERE child_id = $1 AND status = 'open' "
    "AND ($2::text[] IS NULL OR kind = ANY($2::text[])) ORDER BY due_at, deadline_id"
)


async def open_clocks(
    conn: Any, child_id: uuid.UUID, now: datetime, kinds: Collection[str] | None = None
) -> list[ClockView]:
    """The child's open clocks (of `kinds`), the soonest due first."""
    rows = await conn.fetch(_OPEN_CLOCKS_OF_CHILD, child_id, sorted(kinds) if kinds is not None else None)
    return [ClockView.of(r, now) for r in rows]


def of_kinds(clocks: list[ClockView], kinds: Collection[str]) -> list[ClockView]:
    return [c for c in clocks if c.kind in kinds]


# ---- the worklist --------------------------------------------------------------------------------
class WorklistItem(ClockView):
    child_id: uuid.UUID | None
    child_name: str | None
    social_worker_id: str | None


_WORKLIST = (
    f"SELECT {', '.join(f'd.{c}' for c in CLOCK_COLUMNS.split(', '))}, d.child_id, c.name AS child_name, "
    "c.social_worker_id FROM visits_deadlines d LEFT JOIN visits_children c ON c.child_id = d.child_id "
    "WHERE d.status = 'open' AND d.kind = ANY($1::text[]) AND d.due_at <= $2 "
    "AND ($3::text IS NULL OR c.social_worker_id = $3) ORDER BY d.due_at, d.deadline_id LIMIT $4"
)


async def worklist(conn: Any, until: datetime, worker_id: str | None, limit: int, now: datetime) -> list[WorklistItem]:
    """Visits (and return home interviews) due by `until`, of one social worker's children if named."""
    rows = await conn.fetch(_WORKLIST, sorted(rules.WORKLIST_KINDS), until, worker_id, limit)
    return [
        WorklistItem(
            **ClockView.of(r, now).model_dump(),
            child_id=r["child_id"],
            child_name=r["child_name"],
            social_worker_id=r["social_worker_id"],
        )
        for r in rows
    ]


# ---- what the reactor stops when a placement ends ------------------------------------------------
@dataclass(frozen=True)
class PlacementClock:
    deadline_id: uuid.UUID
    kind: str
    child_id: uuid.UUID


_OPEN_CLOCKS_OF_PLACEMENT = (
    "SELECT deadline_id, kind, child_id FROM visits_deadlines WHERE placement_id = $1 AND status = 'open' "
    "ORDER BY due_at, deadline_id"
)


async def open_clocks_of_placement(conn: Any, placement_id: uuid.UUID) -> list[PlacementClock]:
    return [PlacementClock(*r) for r in await conn.fetch(_OPEN_CLOCKS_OF_PLACEMENT, placement_id)]
