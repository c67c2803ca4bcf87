"""What the visits commands share: the shape of a request body, the clock events a decider starts,
meets and stops, and what a shell loads before it decides."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from services.visits import projections as pj
from services.visits import rules
from services.visits.events import child_stream
from services.visits.projections import ChildContext, Current
from services.visits.rules import Due, OpenClock
from shared.commanding import CommandContext
from shared.contracts.deadlines import DeadlineCancelled, DeadlineMet
from shared.eventstore import NewEvent
from shared.policy import require_writer
from shared.problems import Problem
from shared.recording import Recorder

T = TypeVar("T")

Text = Field(min_length=1, max_length=20_000)
ShortText = Field(min_length=1, max_length=200)


class Body(BaseModel):
    """A request body: no field the contract does not name, text trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def humanise(value: str) -> str:
    return value.replace("_", " ")


# ---- clocks --------------------------------------------------------------------------------------
def started(
    rec: Recorder,
    due: Due,
    *,
    subject: str,
    child_id: uuid.UUID,
    cause: NewEvent,
    household_id: uuid.UUID | None = None,
    placement_id: uuid.UUID | None = None,
    deadline_id: uuid.UUID | None = None,
) -> NewEvent:
    """The clock `due`, about `subject` (a stream), started by `cause`."""
    deadline = due.deadline(
        deadline_id or rec.new_id(),
        subject=subject,
        child_id=child_id,
        household_id=household_id,
        placement_id=placement_id,
    )
    return rec.deadline_set(deadline, causation_id=cause.event_id)


def duty_started(
    rec: Recorder,
    child: ChildContext,
    due: Due,
    *,
    cause: NewEvent,
    household_id: uuid.UUID | None = None,
    placement_id: uuid.UUID | None = None,
    deadline_id: uuid.UUID | None = None,
) -> list[NewEvent]:
    """The clock `due` on the child's record, started by `cause`; none when it is a duty of looking
    after a child who is no longer looked after (a record made after their care ended)."""
    if not rules.starts(due.kind, child.looked_after):
        return []
    child_id = child.child.child_id
    return [
        started(
            rec,
            due,
            subject=child_stream(child_id),
            child_id=child_id,
            cause=cause,
            household_id=household_id,
            placement_id=placement_id,
            deadline_id=deadline_id,
        )
    ]


def duty_id(rec: Recorder, child: ChildContext, due: Due) -> uuid.UUID | None:
    """The id the clock `due` will start under, named by the fact that starts it; None when it will
    not start (`duty_started`), so the record never names a clock that does not exist."""
    return rec.new_id() if rules.starts(due.kind, child.looked_after) else None


def met(rec: Recorder, clock: OpenClock, at: datetime, by: NewEvent, child_id: uuid.UUID) -> NewEvent:
    """`clock` met by the event `by` at `at` (late when after it was due)."""
    return rec.deadline_met(
        DeadlineMet(
            deadline_id=clock.deadline_id,
            kind=clock.kind,
            met_at=at,
            met_by_event_id=by.event_id,
            late=rules.is_met_late(clock.due_at, at),
        ),
        child_ids=[child_id],
        causation_id=by.event_id,
    )


def stopped(rec: Recorder, clock: OpenClock, reason: str, child_id: uuid.UUID) -> NewEvent:
    return rec.deadline_cancelled(
        DeadlineCancelled(deadline_id=clock.deadline_id, kind=clock.kind, reason=reason), child_ids=[child_id]
    )


# ---- loading -------------------------------------------------------------------------------------
def found(current: Current[T], missing: str) -> T:
    """What the read found, or 404 with `missing`."""
    if current.found is None:
        raise Problem("not-found", missing)
    return current.found


async def child_of(ctx: CommandContext, child_id: uuid.UUID) -> tuple[ChildContext, int]:
    """The child's context as of the log's head, and their stream's version (404: no such child)."""
    require_writer(ctx.principal)
    current = await ctx.read_current(lambda conn: pj.child_context(conn, child_id))
    return found(current, f"No child {child_id}."), current.version
