"""The deciders on their own: no database, no clock but the one given (they are pure)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from services.notifications import commands, rules
from services.notifications.rulebook import load_rule_sets
from shared.auth import Principal, Role
from shared.clock import ManualClock
from shared.contracts.deadlines import DeadlineSet
from shared.contracts.notifications import EscalationRaised, NotificationAcknowledged, NotificationRaised
from shared.contracts.visits import IncidentRecorded
from shared.eventstore import NewEvent, RecordedEvent
from shared.problems import Problem
from shared.recording import Recorder
from shared.settings import Settings

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CHILD = uuid.uuid4()


def recorder(role: Role = Role.REGISTERED_MANAGER) -> Recorder:
    return Recorder(
        service="notifications",
        principal=Principal(subject="rm-anna", role=role),
        clock=ManualClock(NOW),
        settings=Settings(_env_file=None, database_url=None),
    )


def recorded(event: NewEvent, stream_id: str, version: int) -> RecordedEvent:
    return RecordedEvent(
        position=version,
        event_id=event.event_id,
        stream_id=stream_id,
        stream_version=version,
        type=event.type,
        schema_version=event.schema_version,
        data=event.data,
        metadata=event.metadata,
        child_ids=event.child_ids,
        occurred_at=event.occurred_at,
        recorded_at=NOW,
        prev_hash="",
        hash="",
    )


def deadline(due_in: timedelta) -> rules.OpenDeadline:
    return rules.OpenDeadline(
        deadline_id=uuid.uuid4(),
        set_event_id=uuid.uuid4(),
        kind="visits.visit_after_incident",
        subject=f"child-{CHILD}",
        child_ids=(CHILD,),
        household_id=None,
        due_at=NOW + due_in,
        escalate_to="manager",
        description="Visit after a serious incident",
        source="NCT practice",
    )


@pytest.mark.parametrize(
    ("case", "due_in", "escalates"),
    [
        ("an hour overdue", timedelta(hours=-1), True),
        ("due this instant: not yet missed", timedelta(0), False),
        ("due in an hour", timedelta(hours=1), False),
    ],
)
def test_the_clock_escalates_what_is_past_due(case: str, due_in: timedelta, escalates: bool) -> None:
    missed = deadline(due_in)
    decided = commands.decide_escalations([missed], NOW)
    assert bool(decided) is escalates, case
    if escalates:
        [escalation] = decided
        escalation_id = rules.escalation_id_for_deadline(missed.deadline_id)
        assert escalation.stream_id == f"escalation-{escalation_id}"
        raised = EscalationRaised.model_validate(escalation.event.data)
        assert (raised.reason, raised.escalate_to, raised.due_at, raised.raised_at) == (
            "deadline_missed",
            "manager",
            missed.due_at,
            NOW,
        )
        # The same deadline escalates with the same event, however many clocks decide it.
        assert commands.decide_escalations([missed], NOW + timedelta(minutes=5))[0].event.event_id == (
            escalation.event.event_id
        )


def notification_stream(recipients: list[str], due_by: datetime) -> list[RecordedEvent]:
    raised = NotificationRaised(
        notification_id=uuid.uuid4(),
        rule_set="schedule7",
        rule_id="schedule7.row3",
        rule_version=1,
        rule_source="reg 36",
        triggers=["overdose"],
        row=3,
        title="Serious illness",
        recipients=recipients,
        due_by=due_by,
        source_event_id=uuid.uuid4(),
        source_event_type=IncidentRecorded.event_type,
        source_stream_id=f"child-{CHILD}",
        child_ids=[CHILD],
    )
    stream = f"notification-{raised.notification_id}"
    event = NewEvent(type=raised.event_type, data=raised.payload(), occurred_at=NOW, child_ids=(CHILD,))
    clocks = [
        NewEvent(
            type=DeadlineSet.event_type,
            data=DeadlineSet(
                deadline_id=rules.acknowledgement_deadline_id(raised.notification_id, r),
                kind="notifications.acknowledgement",
                subject=stream,
                started_at=NOW,
                due_at=due_by,
                description=f"acknowledged by {r}",
                source="reg 36",
            ).payload(),
            occurred_at=NOW,
            child_ids=(CHILD,),
        )
        for r in recipients
    ]
    return [recorded(e, stream, n) for n, e in enumerate([event, *clocks], start=1)]


def answer(**fields: object) -> commands.AcknowledgeIn:
    return commands.AcknowledgeIn.model_validate(
        {"acknowledged_by": "Ofsted inspector", "action_taken": "Logged", "outcome": "No action", **fields}
    )


def test_the_first_answer_meets_the_clock_a_later_one_does_not() -> None:
    stream = notification_stream(["ofsted"], NOW + timedelta(hours=1))
    state = commands.notification_state(stream)
    assert state.raised is not None
    nid = state.raised.notification_id
    first = commands.decide_acknowledgement(recorder(), state, nid, answer())
    assert [e.type for e in first] == [NotificationAcknowledged.event_type, "DeadlineMet"]
    assert first[1].data["deadline_id"] == str(rules.acknowledgement_deadline_id(nid, "ofsted"))
    assert first[0].data["late"] is False and first[0].data["recipient"] == "ofsted"  # the only recipient
    again = commands.notification_state(
        [*stream, *(recorded(e, stream[0].stream_id, 3 + i) for i, e in enumerate(first))]
    )
    second = commands.decide_acknowledgement(recorder(), again, nid, answer())
    assert [e.type for e in second] == [NotificationAcknowledged.event_type]


def test_each_recipient_answers_for_itself() -> None:
    """One recipient's answer meets that recipient's clock only; with several recipients the answer
    must say whose it is."""
    stream = notification_stream(["ofsted", "placing_authority"], NOW + timedelta(hours=1))
    state = commands.notification_state(stream)
    assert state.raised is not None
    nid = state.raised.notification_id
    with pytest.raises(Problem) as refused:
        commands.decide_acknowledgement(recorder(), state, nid, answer())
    assert [r.code for r in refused.value.reasons] == ["recipient_required"]
    ofsted = commands.decide_acknowledgement(recorder(), state, nid, answer(recipient="ofsted"))
    assert [e.data.get("deadline_id") for e in ofsted[1:]] == [str(rules.acknowledgement_deadline_id(nid, "ofsted"))]
    after = commands.notification_state(
        [*stream, *(recorded(e, stream[0].stream_id, 4 + i) for i, e in enumerate(ofsted))]
    )
    assert after.open_clocks == (rules.acknowledgement_deadline_id(nid, "placing_authority"),)
    la = commands.decide_acknowledgement(recorder(), after, nid, answer(recipient="placing_authority"))
    assert [e.data.get("deadline_id") for e in la[1:]] == [
        str(rules.acknowledgement_deadline_id(nid, "placing_authority"))
    ]


def test_an_answer_after_the_due_time_is_late() -> None:
    state = commands.notification_state(notification_stream(["ofsted"], NOW - timedelta(hours=1)))
    assert state.raised is not None
    [acknowledged, met] = commands.decide_acknowledgement(recorder(), state, state.raised.notification_id, answer())
    assert acknowledged.data["late"] is True and met.data["late"] is True


def test_every_reason_an_answer_is_refused_is_given() -> None:
    state = commands.notification_state(notification_stream(["ofsted"], NOW + timedelta(hours=1)))
    assert state.raised is not None
    body = answer(recipient="police", acknowledged_at=(NOW + timedelta(days=1)).isoformat())
    with pytest.raises(Problem) as refused:
        commands.decide_acknowledgement(recorder(), state, state.raised.notification_id, body)
    assert [r.code for r in refused.value.reasons] == ["not_a_recipient", "in_the_future"]


def test_an_unknown_notification_is_not_found() -> None:
    with pytest.raises(Problem, match="no notification"):
        commands.decide_acknowledgement(recorder(), commands.notification_state([]), uuid.uuid4(), answer())


@pytest.mark.parametrize(
    ("case", "placements", "raised"),
    [
        ("placed: the placed-child row is raised", [(date(2026, 1, 1), None)], {"schedule7.row7"}),
        ("placement ended: not any more", [(date(2026, 1, 1), date(2026, 6, 1))], set()),
    ],
)
def test_a_placed_child_row_needs_a_placed_child(
    case: str, placements: list[tuple[date, date | None]], raised: set[str]
) -> None:
    household = uuid.uuid4()
    incident = IncidentRecorded(
        incident_id=uuid.uuid4(),
        child_id=CHILD,
        category="police_called",
        occurred_at=NOW,
        narrative="The police were called.",
    )
    cause = recorded(
        NewEvent(type=incident.event_type, data=incident.payload(), occurred_at=NOW, child_ids=(CHILD,)),
        f"child-{CHILD}",
        1,
    )
    on_file = rules.OnFile(
        children={CHILD: rules.ChildOnFile("Child A", "Kent")},
        placements={CHILD: [rules.PlacementOnFile(household, s, e, "Northamptonshire") for s, e in placements]},
    )
    found = rules.matches_fact(load_rule_sets(), incident)
    decided = commands.decide_notifications(cause, incident, found, rules.subjects_of(incident, ()), on_file)
    assert {events[0].data["rule_id"] for _, events in decided} == raised, case
    for _, events in decided:
        data = events[0].data
        assert data["household_id"] == str(household) and data["placing_authorities"] == ["Northamptonshire"]
        assert data["details"]["children"] == [{"child_id": str(CHILD), "name": "Child A"}]
