"""Concerns a child raises or a worker notices that are not formal complaints: each acted on and
answered, or escalated."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text

from services.visits.events import ConcernActioned, ConcernEscalated, ConcernRaised, ConcernResolved
from services.visits.projections.children import ChildContext, Current, child_context
from services.visits.projections.clocks import CLOCK_COLUMNS, ClockView
from shared.eventstore import Batch, RecordedEvent, handles


class ConcernsView:
    """visits_concerns: where each concern stands."""

    @handles(ConcernRaised)
    async def _concern_raised(self, batch: Batch, concern: ConcernRaised, event: RecordedEvent) -> None:
        batch.write(
            _INSERT_CONCERN,
            {
                "i": concern.concern_id,
                "c": concern.child_id,
                "at": event.occurred_at,
                "by": concern.raised_by,
                "s": concern.summary,
                "h": concern.household_id,
                "dl": concern.response_deadline_id,
            },
            ("visits_concerns", concern.concern_id),
        )

    @handles(ConcernActioned)
    async def _concern_actioned(self, batch: Batch, action: ConcernActioned, event: RecordedEvent) -> None:
        _update(batch, _ACTION, action.concern_id, a=action.action)

    @handles(ConcernResolved)
    async def _concern_resolved(self, batch: Batch, outcome: ConcernResolved, event: RecordedEvent) -> None:
        _update(batch, _RESOLVE, outcome.concern_id, o=outcome.outcome, at=event.occurred_at)

    @handles(ConcernEscalated)
    async def _concern_escalated(self, batch: Batch, escalated: ConcernEscalated, event: RecordedEvent) -> None:
        at, complaint_id = event.occurred_at, escalated.complaint_id
        _update(batch, _ESCALATE, escalated.concern_id, to=escalated.to, at=at, cp=complaint_id)


def _update(batch: Batch, statement: Any, concern_id: uuid.UUID, **params: Any) -> None:
    batch.write(statement, {"id": concern_id, **params}, ("visits_concerns", concern_id))


_INSERT_CONCERN = text(
    "INSERT INTO visits_concerns (concern_id, child_id, raised_at, raised_by, summary, household_id, "
    "response_deadline_id, status) VALUES (:i, :c, :at, :by, :s, :h, :dl, 'open') "
    "ON CONFLICT (concern_id) DO NOTHING"
)
_ACTION = text(
    "UPDATE visits_concerns SET actions = actions + 1, last_action = :a, "
    "status = CASE WHEN status = 'open' THEN 'actioned' ELSE status END WHERE concern_id = :id"
)
_RESOLVE = text(
    "UPDATE visits_concerns SET status = 'resolved', outcome = :o, resolved_at = :at WHERE concern_id = :id"
)
_ESCALATE = text(
    "UPDATE visits_concerns SET status = 'escalated', escalated_to = :to, escalated_at = :at, "
    "complaint_id = :cp WHERE concern_id = :id"
)


# ---- what the concern commands (and the reactor) decide on ----------------------------------------
@dataclass(frozen=True)
class Concern:
    concern_id: uuid.UUID
    child_id: uuid.UUID
    raised_at: datetime
    raised_by: str
    summary: str
    household_id: uuid.UUID | None
    response_deadline_id: uuid.UUID | None
    status: str
    actions: int


@dataclass(frozen=True)
class ConcernContext:
    """The child (their open clocks, among them the concern's response clock) and the concern."""

    child: ChildContext
    concern: Concern | None


_CONCERN = (
    "SELECT concern_id, child_id, raised_at, raised_by, summary, household_id, response_deadline_id, status, "
    "actions FROM visits_concerns WHERE concern_id = $1"
)


async def concern(conn: Any, concern_id: uuid.UUID | None) -> Concern | None:
    row = await conn.fetchrow(_CONCERN, concern_id) if concern_id is not None else None
    return Concern(*row) if row is not None else None


async def concern_context(conn: Any, child_id: uuid.UUID, concern_id: uuid.UUID) -> Current[ConcernContext]:
    """The child's context (its head and version) with the concern, if it is the child's."""
    child = await child_context(conn, child_id)
    if child.found is None:
        return Current(child.head, child.version, None)
    found = await concern(conn, concern_id)
    mine = found if found is not None and found.child_id == child_id else None
    return Current(child.head, child.version, ConcernContext(child.found, mine))


# ---- concerns as the API shows them --------------------------------------------------------------
class ConcernView(BaseModel):
    concern_id: uuid.UUID
    raised_at: datetime
    raised_by: str
    summary: str
    status: str
    actions: int
    last_action: str | None
    outcome: str | None
    escalated_to: str | None
    complaint_id: uuid.UUID | None
    clock: ClockView | None


_CONCERN_COLUMNS = (
    "concern_id, raised_at, raised_by, summary, status, actions, last_action, outcome, escalated_to, complaint_id"
)
# Each concern with its response clock, in one statement.
_CONCERNS = (
    f"SELECT {', '.join(f'k.{c}' for c in _CONCERN_COLUMNS.split(', '))}, "
    f"{', '.join(f'd.{c} AS clock_{c}' for c in CLOCK_COLUMNS.split(', '))} FROM visits_concerns k "
    "LEFT JOIN visits_deadlines d ON d.deadline_id = k.response_deadline_id "
    "WHERE k.child_id = $1 AND (NOT $2 OR k.status IN ('open', 'actioned')) ORDER BY k.raised_at, k.concern_id"
)


async def concerns(conn: Any, child_id: uuid.UUID, now: datetime, *, open_only: bool) -> list[ConcernView]:
    """The child's concerns, oldest first (only those still to be answered, if `open_only`)."""
    found = []
    for row in await conn.fetch(_CONCERNS, child_id, open_only):
        clock = {c: row[f"clock_{c}"] for c in CLOCK_COLUMNS.split(", ")}
        found.append(
            ConcernView(
                **{c: row[c] for c in _CONCERN_COLUMNS.split(", ")},
                clock=ClockView.of(clock, now) if clock["deadline_id"] is not None else None,
            )
        )
    return found
