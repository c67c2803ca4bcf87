"""carers following the child's record: pure deciders of what its reactors append. A behavioural
incident goes on the agenda of the household's next supervision; needs recorded for a placed child
start training clocks for carers who lack the courses they call for. Reaction ids derive from the
cause, so a repeated reaction is a no-op."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from services.carers.commands.allegations import decide_allegation
from services.carers.commands.bodies import AllegationIn
from services.carers.events import (
    ChildNeedsRecorded,
    ConcernEscalated,
    ConcernEscalation,
    DeadlineMet,
    DeadlineSet,
    IncidentRecorded,
    SupervisionAgendaItemAdded,
    VisitRecorded,
    allegation_stream,
    household_stream,
)
from services.carers.rules import (
    CLOCK_SOURCES,
    Clock,
    HouseholdState,
    add_months_at,
    belongs_on_supervision_agenda,
    next_clock,
    start_of,
    training_gaps,
)
from shared.contracts.base import Event
from shared.eventstore import NewEvent, RecordedEvent, reaction_id
from shared.practice import CarersPractice
from shared.recording import ReactionRecorder
from shared.settings import Settings

Reaction = tuple[str, list[NewEvent]]


def on_the_agenda(incident: IncidentRecorded) -> bool:
    return belongs_on_supervision_agenda(incident.category, incident.police_called)


def decide_incident_agenda(
    cause: RecordedEvent,
    incident: IncidentRecorded,
    state: HouseholdState,
    practice: CarersPractice,
    metadata: dict[str, Any],
) -> Reaction:
    """The incident on the agenda of the household's next supervision, and its clock: due with the
    supervision already due, else a supervision interval after the last one (or the incident)."""
    household_id, at = state.household_id, incident.occurred_at
    supervisions = sorted(d.due_at for d in state.deadlines.values() if d.kind == Clock.SUPERVISION)
    base = state.last_supervision_at or at
    due = supervisions[0] if supervisions else add_months_at(max(base, at), practice.supervision_months)
    item_id = reaction_id(cause, f"agenda-item-id-{household_id}")
    what = incident.category.replace("_", " ") + (" (police called)" if incident.police_called else "")
    item = SupervisionAgendaItemAdded(
        household_id=household_id,
        item_id=item_id,
        incident_id=incident.incident_id,
        child_id=incident.child_id,
        category=incident.category,
        occurred_at=at,
        summary=f"Incident on {at:%d %b %Y}: {what}",
        added_at=cause.recorded_at,
    )
    deadline = DeadlineSet(
        deadline_id=reaction_id(cause, f"agenda-deadline-id-{household_id}"),
        kind=Clock.INCIDENT_AGENDA.value,
        subject=household_stream(household_id),
        child_ids=list(cause.child_ids),
        household_id=household_id,
        started_at=at,
        due_at=max(due, at),
        escalate_to="manager",
        description=f"Discuss at the next supervision: {what} on {at:%d %b %Y}",
        source=CLOCK_SOURCES[Clock.INCIDENT_AGENDA],
        item_id=item_id,
    )
    on_agenda = f"On the agenda of {state.name}'s next supervision: {what}"
    return household_stream(household_id), [
        _reaction(cause, f"agenda-item-{household_id}", item, metadata, on_agenda),
        _reaction(cause, f"agenda-deadline-{household_id}", deadline, metadata, _clock_started(deadline)),
    ]


def decide_needs_training(
    cause: RecordedEvent,
    needs: ChildNeedsRecorded,
    placement_id: uuid.UUID,
    start_date: date,
    state: HouseholdState,
    practice: CarersPractice,
    metadata: dict[str, Any],
) -> list[NewEvent]:
    """A training clock for each carer of the household where the child is placed who lacks a
    course the child's needs call for (and has no such clock open)."""
    started = max(cause.occurred_at, start_of(start_date))
    carers = [(m.member_id, m.name) for m in state.carers()]
    out = []
    for gap in training_gaps([n.value for n in needs.needs], carers, state.trainings, started.date()):
        if state.open_clocks(Clock.NEEDS_TRAINING, member_id=gap.member_id, course=gap.course):
            continue
        key = f"{placement_id}-{gap.member_id}-{gap.course}"
        deadline = DeadlineSet(
            deadline_id=reaction_id(cause, f"needs-id-{key}"),
            kind=Clock.NEEDS_TRAINING.value,
            subject=household_stream(state.household_id),
            child_ids=[needs.child_id],
            household_id=state.household_id,
            started_at=started,
            due_at=started + timedelta(days=practice.needs_training_days),
            escalate_to="manager",
            description=f"{gap.member_name} to complete {gap.course} training for a placed child's needs "
            f"({', '.join(gap.needs)})",
            source=CLOCK_SOURCES[Clock.NEEDS_TRAINING],
            member_id=gap.member_id,
            course=gap.course,
            placement_id=placement_id,
        )
        out.append(_reaction(cause, f"needs-{key}", deadline, metadata, _clock_started(deadline)))
    return out


def decide_allegation_from_concern(
    cause: RecordedEvent, escalated: ConcernEscalated, state: HouseholdState, settings: Settings
) -> Reaction | None:
    """A concern escalated to an allegation (the visits service's decision) is recorded exactly as
    `POST /v1/allegations` records one, by the same decider: the allegation under the id the
    escalation named and its LADO referral and written-confirmation clocks. Its hold follows from
    the AllegationReceived (AllegationHoldReactor), as do the Schedule 7 and LADO notifications (the
    notifications service). None when it is not an allegation about a household this child was
    placed with (the visits service refuses an escalation to an allegation with no household)."""
    if escalated.to != ConcernEscalation.ALLEGATION or escalated.allegation_id is None:
        return None
    if escalated.household_id != state.household_id or escalated.child_id not in state.children_placed:
        return None
    rec = ReactionRecorder.of("carers", cause, settings, "allegation-from-concern")
    body = AllegationIn(
        household_id=state.household_id,
        child_ids=[escalated.child_id],
        received_at=escalated.escalated_at,
        summary=escalated.reason,
        source="A concern about a placed child, escalated to an allegation",
    )
    events = decide_allegation(rec, state, body, allegation_id=escalated.allegation_id)
    return allegation_stream(escalated.allegation_id), events


def decide_bedroom_seen(
    cause: RecordedEvent,
    visit: VisitRecorded,
    placement_id: uuid.UUID,
    state: HouseholdState,
    practice: CarersPractice,
    metadata: dict[str, Any],
) -> list[NewEvent]:
    """A visit by any visitor (the child's social worker's, recorded by visits) that saw the child's
    bedroom meets the placement's bedroom clock and starts the next (issue 18)."""
    if not visit.bedroom_seen:
        return []
    at, out = visit.occurred_at, []
    for open_clock in state.open_clocks(Clock.BEDROOM_SEEN, placement_id=placement_id):
        if open_clock.started_at > at:
            continue  # a sighting older than the clock says nothing about it
        met = DeadlineMet(
            deadline_id=open_clock.deadline_id,
            kind=open_clock.kind,
            met_at=at,
            met_by_event_id=cause.event_id,
            late=at > open_clock.due_at,
            household_id=state.household_id,
        )
        out.append(_reaction(cause, f"bedroom-met-{open_clock.deadline_id}", met, metadata, "Clock met: bedroom seen"))
    if not out:
        return []
    kind, due, description = next_clock(Clock.BEDROOM_SEEN, at, practice)
    deadline = DeadlineSet(
        deadline_id=reaction_id(cause, f"bedroom-id-{placement_id}"),
        kind=kind.value,
        subject=household_stream(state.household_id),
        child_ids=[visit.child_id],
        household_id=state.household_id,
        started_at=at,
        due_at=due,
        escalate_to="manager",
        description=description,
        source=CLOCK_SOURCES[kind],
        placement_id=placement_id,
    )
    return [*out, _reaction(cause, f"bedroom-{placement_id}", deadline, metadata, _clock_started(deadline))]


def _clock_started(deadline: DeadlineSet) -> str:
    return f"Clock started: {deadline.description} (due {deadline.due_at:%d %b %Y %H:%M})"


def _reaction(cause: RecordedEvent, key: str, payload: Event, metadata: dict[str, Any], summary: str) -> NewEvent:
    return NewEvent(
        type=payload.event_type,
        data=payload.payload(),
        occurred_at=cause.occurred_at,
        child_ids=cause.child_ids,
        metadata={**metadata, "summary": summary},
        event_id=reaction_id(cause, key),
        schema_version=payload.schema_version,
    )
