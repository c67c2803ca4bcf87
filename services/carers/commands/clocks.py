"""What the deciders share: a household's clocks started, met and stopped, and the refusal of what
has not happened yet. Pure: ids and the instant come from the Recorder."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import TypedDict

from typing_extensions import Unpack

from services.carers.events import household_stream
from services.carers.rules import CLOCK_SOURCES, Clock, OpenDeadline
from shared.contracts.deadlines import DeadlineCancelled, DeadlineMet, DeadlineSet
from shared.eventstore import NewEvent
from shared.recording import Recorder
from shared.refusals import Reason, in_the_future, refuse_if


class ClockDetails(TypedDict, total=False):
    """What names a clock in a household's compliance (the carers fields of DeadlineSet)."""

    member_id: uuid.UUID
    allegation_id: uuid.UUID
    concern_id: uuid.UUID
    course: str
    item_id: uuid.UUID
    placement_id: uuid.UUID


def clock(
    rec: Recorder,
    household_id: uuid.UUID,
    kind: Clock,
    started_at: datetime,
    due_at: datetime,
    description: str,
    *,
    subject: str | None = None,
    child_ids: Sequence[uuid.UUID] = (),
    escalate_to: str = "registered_manager",
    causation_id: uuid.UUID | None = None,
    **details: Unpack[ClockDetails],
) -> NewEvent:
    """A clock of the household (on its stream unless `subject` names another), never due before it starts."""
    deadline = DeadlineSet(
        deadline_id=rec.new_id(),
        kind=kind.value,
        subject=subject or household_stream(household_id),
        child_ids=list(child_ids),
        household_id=household_id,
        started_at=started_at,
        due_at=max(due_at, started_at),
        escalate_to=escalate_to,
        description=description,
        source=CLOCK_SOURCES[kind],
        **details,
    )
    return rec.deadline_set(deadline, causation_id=causation_id)


def met(rec: Recorder, household_id: uuid.UUID | None, deadline: OpenDeadline, at: datetime, by: NewEvent) -> NewEvent:
    """`deadline` met by the event `by` at `at` (late when after its due time)."""
    return rec.deadline_met(
        DeadlineMet(
            deadline_id=deadline.deadline_id,
            kind=deadline.kind,
            met_at=at,
            met_by_event_id=by.event_id,
            late=at > deadline.due_at,
            household_id=household_id,
        ),
        causation_id=by.event_id,
    )


def all_met(
    rec: Recorder, household_id: uuid.UUID | None, deadlines: Iterable[OpenDeadline], at: datetime, by: NewEvent
) -> list[NewEvent]:
    return [met(rec, household_id, d, at, by) for d in deadlines]


def cancelled(rec: Recorder, household_id: uuid.UUID, deadline: OpenDeadline, reason: str) -> NewEvent:
    return rec.deadline_cancelled(
        DeadlineCancelled(
            deadline_id=deadline.deadline_id, kind=deadline.kind, reason=reason, household_id=household_id
        )
    )


def not_in_future(rec: Recorder, **when: datetime | date | None) -> None:
    """Refuses, listing each, any of `when` (field=value) later than now: it has not happened yet."""
    refuse_if(future(rec, **when))


def future(rec: Recorder, **when: datetime | date | None) -> list[Reason]:
    now = rec.now()
    return [r for field, value in when.items() if value is not None and (r := in_the_future(field, value, now))]


def minted_id(event: NewEvent, field: str) -> uuid.UUID:
    """An id a decider minted into an event's payload (its first event's names the stream to append to)."""
    return uuid.UUID(str(event.data[field]))
