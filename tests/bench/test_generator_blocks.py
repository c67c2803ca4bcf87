"""The benchmark's bulk blocks (`bench.generator.block_events`) are what the services would have
recorded: every payload is one of the services' own models, every stream is appended once, and the
clocks are set and met the way the commands and reactors set and meet them. No database needed."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest

from bench.generator import block_events
from services.notifications import events as nev
from services.notifications import rules as notification_rules
from services.notifications.projections import acknowledgement_deadline_id
from services.visits import events as vev
from services.visits import rules as visit_rules
from shared.contracts import Event, event_class
from shared.contracts.access import AllocationEnded
from shared.contracts.carers import (
    AllegationOutcomeRecorded,
    AllegationReceived,
    ApprovalEnded,
    HoldLifted,
    HoldPlaced,
    PlacementEnded,
    PlacementStarted,
    SupervisionRecorded,
)
from shared.deadlines import DEADLINE_CANCELLED, DEADLINE_MET, DEADLINE_SET
from shared.eventstore import NewEvent, reaction_id

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SEED = 7
BLOCKS = range(16)

Block = list[tuple[str, list[NewEvent]]]


@cache
def block(number: int) -> Block:
    return block_events(SEED, number, NOW)


def events_of(appends: Block) -> Iterator[tuple[str, NewEvent]]:
    for stream_id, events in appends:
        for event in events:
            yield stream_id, event


def model_for(event: NewEvent) -> type[Event]:
    """The event's contract class (shared/contracts)."""
    return event_class(event.type)


def deadlines(appends: Block) -> dict[str, dict[str, Any]]:
    return {e.data["deadline_id"]: e.data for _, e in events_of(appends) if e.type == DEADLINE_SET}


# ---- shape of a block -------------------------------------------------------------------------
def test_a_block_is_the_same_every_time_and_differs_from_the_next() -> None:
    assert block_events(SEED, 3, NOW) == block_events(SEED, 3, NOW)
    ids_3 = {e.event_id for _, e in events_of(block(3))}
    ids_4 = {e.event_id for _, e in events_of(block(4))}
    assert not ids_3 & ids_4
    assert block_events(SEED + 1, 3, NOW) != block(3)


@pytest.mark.parametrize("number", BLOCKS)
def test_every_stream_is_appended_once_household_first_with_unique_event_ids(number: int) -> None:
    appends = block(number)
    streams = [s for s, _ in appends]
    assert len(streams) == len(set(streams))
    assert streams[0].startswith("household-")
    assert all(events for _, events in appends)
    kinds = Counter(s.split("-", 1)[0] for s in streams)
    assert kinds["household"] == 1 and kinds["child"] == 3 and kinds["placement"] == 3
    ids = [e.event_id for _, e in events_of(appends)]
    assert len(ids) == len(set(ids))
    assert 150 <= len(ids) <= 520  # with the clocks of the duty to see each placed child and the agreement


def test_event_ids_are_unique_across_blocks() -> None:
    ids = [e.event_id for n in BLOCKS for _, e in events_of(block(n))]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("number", BLOCKS)
def test_every_payload_is_the_services_own_model_exactly(number: int) -> None:
    for stream_id, event in events_of(block(number)):
        model = model_for(event).model_validate(event.data)
        # Round trip: no field missing, none extra, every value in the contract's own stored form.
        assert model.payload() == event.data, (stream_id, event.type)
        assert event.occurred_at.tzinfo is not None
        assert event.metadata["service"] in ("visits", "carers", "notifications")
        assert event.metadata.get("actor_id"), event.type


@pytest.mark.parametrize("number", BLOCKS)
def test_child_streams_name_their_child_and_complaints_theirs(number: int) -> None:
    appends = block(number)
    children = {uuid.UUID(s.removeprefix("child-")) for s, _ in appends if s.startswith("child-")}
    for stream_id, event in events_of(appends):
        assert set(event.child_ids) <= children, (stream_id, event.type)
        if stream_id.startswith("child-"):
            assert uuid.UUID(stream_id.removeprefix("child-")) in event.child_ids, event.type
        if stream_id.startswith("complaint-"):
            assert len(event.child_ids) == 1, event.type


# ---- the mix ----------------------------------------------------------------------------------
def types_in(number: int) -> Counter[str]:
    return Counter(e.type for _, e in events_of(block(number)))


@pytest.mark.parametrize("number", BLOCKS)
def test_every_block_has_clocks_complaints_and_notifications(number: int) -> None:
    types = types_in(number)
    streams = [s for s, _ in block(number)]
    assert any(s.startswith("complaint-") for s in streams)
    assert any(s.startswith("notification-") for s in streams)
    assert types[DEADLINE_SET] and types[DEADLINE_MET]
    assert types[nev.NOTIFICATION_RAISED]
    assert types[vev.ComplaintReceived.event_type] and types[vev.ComplaintResponded.event_type]


def test_the_mix_over_sixteen_blocks() -> None:
    per_block = [types_in(n) for n in BLOCKS]
    assert sum(1 for t in per_block if t[vev.EntryAmended.event_type]) >= 3
    assert sum(1 for t in per_block if t[AllegationReceived.event_type]) >= 1
    assert sum(t[nev.NOTIFICATION_ACKNOWLEDGED] for t in per_block) >= 8
    late = [
        e.data["late"] for n in BLOCKS for _, e in events_of(block(n)) if e.type == DEADLINE_MET and "late" in e.data
    ]
    assert any(late) and not all(late)
    responded = [
        e.data["late"] for n in BLOCKS for _, e in events_of(block(n)) if e.type == vev.ComplaintResponded.event_type
    ]
    assert any(responded) and not all(responded)


# ---- clocks as the services set and meet them -------------------------------------------------
@pytest.mark.parametrize("number", BLOCKS)
def test_every_clock_closed_was_set_and_closed_once_late_when_after_due(number: int) -> None:
    appends = block(number)
    set_ = deadlines(appends)
    closed: Counter[str] = Counter()
    for _, event in events_of(appends):
        if event.type in (DEADLINE_MET, DEADLINE_CANCELLED):
            deadline = set_[event.data["deadline_id"]]
            assert deadline["kind"] == event.data["kind"]
            closed[event.data["deadline_id"]] += 1
        if event.type == DEADLINE_MET:
            due = datetime.fromisoformat(set_[event.data["deadline_id"]]["due_at"])
            assert event.data["late"] == (datetime.fromisoformat(event.data["met_at"]) > due)
            assert event.metadata["causation_id"]
    assert max(closed.values()) == 1


@pytest.mark.parametrize("number", BLOCKS)
def test_placements_start_the_first_statutory_visit_clock_as_the_visits_reactor_does(number: int) -> None:
    appends = block(number)
    streams = dict(appends)
    for stream_id, events in appends:
        if not stream_id.startswith("placement-"):
            continue
        started = events[0]
        assert started.type == PlacementStarted.event_type
        child = streams[vev.child_stream(uuid.UUID(started.data["child_id"]))]
        first = next(e for e in child if e.type == DEADLINE_SET)
        assert first.event_id == reaction_id(started, "first-statutory-visit:event")  # type: ignore[arg-type]
        assert first.data["deadline_id"] == str(reaction_id(started, "first-statutory-visit"))  # type: ignore[arg-type]
        assert first.data["kind"] == visit_rules.STATUTORY_VISIT
        assert first.metadata["causation_id"] == str(started.event_id)
        assert first.metadata["actor_role"] == "system"


@pytest.mark.parametrize("number", BLOCKS)
def test_a_statutory_visit_is_followed_by_the_clock_it_meets_then_the_next(number: int) -> None:
    chained = 0
    for stream_id, events in block(number):
        if not stream_id.startswith("child-"):
            continue
        for i, event in enumerate(events):
            if event.type != vev.VisitRecorded.event_type:
                continue
            caused = []
            for after in events[i + 1 :]:
                if after.type not in (DEADLINE_MET, DEADLINE_SET) or after.metadata["causation_id"] != str(
                    event.event_id
                ):
                    break  # the next command's events (an amendment of this visit names it too)
                caused.append(after)
            kinds = [(e.type, e.data["kind"]) for e in caused]
            statutory_met = (DEADLINE_MET, visit_rules.STATUTORY_VISIT)
            if statutory_met in kinds:
                chained += 1
                at = kinds.index(statutory_met)
                assert kinds[at + 1] == (DEADLINE_SET, visit_rules.STATUTORY_VISIT)
                assert caused[at + 1].data["started_at"] == event.data["occurred_at"]
                assert caused[at + 1].data["description"] == "Next statutory visit"
    assert chained >= 12


@pytest.mark.parametrize("number", BLOCKS)
def test_supervisions_meet_and_restart_the_household_supervision_clock(number: int) -> None:
    household = block(number)[0][1]
    supervisions = [e for e in household if e.type == SupervisionRecorded.event_type]
    met = [e for e in household if e.type == DEADLINE_MET and e.data["kind"] == "carers.supervision"]
    set_ = [e for e in household if e.type == DEADLINE_SET and e.data["kind"] == "carers.supervision"]
    assert len(supervisions) >= 10
    assert len(met) == len(supervisions) and len(set_) == len(supervisions) + 1  # the approval's first
    assert {e.metadata["causation_id"] for e in met} == {str(e.event_id) for e in supervisions}


@pytest.mark.parametrize("number", BLOCKS)
def test_complaints_step_through_their_clocks(number: int) -> None:
    for stream_id, events in block(number):
        if not stream_id.startswith("complaint-"):
            continue
        received = events[0]
        assert received.type == vev.ComplaintReceived.event_type
        kinds = [e.data["kind"] for e in events if e.type == DEADLINE_SET]
        assert kinds[:2] == [visit_rules.COMPLAINT_ACK, visit_rules.COMPLAINT_STAGE[1]]
        if received.data["made_by"] == "child":
            follow_up = [e for e in events if e.type == DEADLINE_SET and e.data["kind"] == visit_rules.FOLLOW_UP_VISIT]
            assert follow_up and follow_up[0].data["subject"] == vev.child_stream(received.child_ids[0])
        types = [e.type for e in events]
        if vev.ComplaintClosed.event_type in types:
            assert types.index(vev.ComplaintResponded.event_type) < types.index(vev.ComplaintClosed.event_type)
            met = {e.data["kind"] for e in events if e.type == DEADLINE_MET}
            assert {visit_rules.COMPLAINT_ACK, visit_rules.COMPLAINT_STAGE[1]} <= met


@pytest.mark.parametrize("number", BLOCKS)
def test_amendments_name_an_earlier_visit_of_the_same_child(number: int) -> None:
    for stream_id, events in block(number):
        for i, event in enumerate(events):
            if event.type == vev.EntryAmended.event_type:
                assert stream_id == vev.child_stream(uuid.UUID(event.data["child_id"]))
                earlier = {e.event_id: e for e in events[:i]}
                target = earlier[uuid.UUID(event.data["amends_event_id"])]
                assert target.type == event.data["amends_type"] == vev.VisitRecorded.event_type
                assert event.metadata["causation_id"] == str(target.event_id)


def test_some_visits_are_late_entries() -> None:
    """A visit written up weeks later comes after entries about things that happened after it."""
    late = 0
    for n in BLOCKS:
        for stream_id, events in block(n):
            for i, event in enumerate(events):
                if event.type == vev.VisitRecorded.event_type and i and stream_id.startswith("child-"):
                    latest_before = max(e.occurred_at for e in events[:i])
                    late += latest_before - event.occurred_at > timedelta(days=7)
    assert late >= 5


# ---- notifications and allegations ------------------------------------------------------------
@pytest.mark.parametrize("number", BLOCKS)
def test_notifications_are_the_rules_reactors_for_their_cause(number: int) -> None:
    appends = block(number)
    by_id = {e.event_id: (s, e) for s, e in events_of(appends)}
    for stream_id, events in appends:
        if not stream_id.startswith("notification-"):
            continue
        raised, recipients = events[0], events[0].data["recipients"]
        clocks = events[1 : 1 + len(recipients)]
        assert raised.type == nev.NOTIFICATION_RAISED and {c.type for c in clocks} == {DEADLINE_SET}
        source_stream, cause = by_id[uuid.UUID(raised.data["source_event_id"])]
        assert raised.data["source_stream_id"] == source_stream
        assert raised.data["source_event_type"] == cause.type
        nid = notification_rules.notification_id(cause.event_id, raised.data["rule_id"])
        assert stream_id == f"notification-{nid}"
        assert raised.event_id == reaction_id(cause, f"notification:{raised.data['rule_id']}")  # type: ignore[arg-type]
        # A clock per recipient: each must be told, and one's answer does not close another's clock.
        assert [c.data["deadline_id"] for c in clocks] == [str(acknowledgement_deadline_id(nid, r)) for r in recipients]
        assert {c.data["kind"] for c in clocks} == {nev.ACKNOWLEDGEMENT_DEADLINE_KIND}
        assert set(raised.child_ids) == {uuid.UUID(c) for c in raised.data["child_ids"]} <= set(cause.child_ids)
        rest = events[1 + len(recipients) :]
        if rest:
            acknowledged, met = rest[0], rest[1]
            assert [acknowledged.type, met.type] == [nev.NOTIFICATION_ACKNOWLEDGED, DEADLINE_MET]
            who = acknowledged.data["recipient"]
            assert met.data["deadline_id"] == str(acknowledgement_deadline_id(nid, who))


@pytest.mark.parametrize("number", BLOCKS)
def test_notifiable_incidents_raise_the_schedule_7_rows(number: int) -> None:
    appends = block(number)
    raised = {
        (e.data["source_event_id"], e.data["rule_id"])
        for _, e in events_of(appends)
        if e.type == nev.NOTIFICATION_RAISED
    }
    expected_rows = {"police_called": "schedule7.row7", "missing": "schedule7.row8", "overdose": "schedule7.row3"}
    for _, event in events_of(appends):
        if event.type == vev.IncidentRecorded.event_type and event.data["category"] in expected_rows:
            assert (str(event.event_id), expected_rows[event.data["category"]]) in raised


def test_an_allegation_holds_the_household_and_the_hold_is_lifted() -> None:
    found = 0
    for n in BLOCKS:
        appends = block(n)
        allegation = next((events for s, events in appends if s.startswith("allegation-")), None)
        if allegation is None:
            continue
        found += 1
        household = appends[0][1]
        received = allegation[0]
        assert received.type == AllegationReceived.event_type
        hold = next(e for e in household if e.type == HoldPlaced.event_type)
        assert hold.data["allegation_id"] == received.data["allegation_id"]
        assert hold.event_id == reaction_id(received, "hold")  # type: ignore[arg-type]
        lifted = next(e for e in household if e.type == HoldLifted.event_type)
        assert lifted.data["hold_id"] == hold.data["hold_id"]
        assert household.index(hold) < household.index(lifted)
        kinds = {e.data["kind"] for e in allegation if e.type == DEADLINE_MET}
        assert kinds == {"carers.lado_referral", "carers.lado_written_confirmation"}
        assert any(e.type == AllegationOutcomeRecorded.event_type for e in allegation)
        # The visits reactor's follow-up visit clock for each child the allegation names.
        for child_id in received.data["child_ids"]:
            child = dict(appends)[vev.child_stream(uuid.UUID(child_id))]
            key = f"follow-up-visit-{child_id}"
            assert any(e.event_id == reaction_id(received, key + ":event") for e in child)  # type: ignore[arg-type]
    assert found == 2  # one in each run of eight blocks


# ---- a steady agency over years: a past year's block ------------------------------------------
PER_YEAR = 4  # blocks a year in these tests: blocks 4-11 are the two years before NOW's
PAST = range(PER_YEAR, 3 * PER_YEAR)
YEAR_END = {1: datetime(2025, 11, 25, 12, 0, tzinfo=UTC), 2: datetime(2024, 11, 25, 12, 0, tzinfo=UTC)}


@cache
def past(number: int) -> Block:
    return block_events(SEED, number, NOW, PER_YEAR)


def test_the_current_years_blocks_do_not_depend_on_how_many_a_year() -> None:
    assert block_events(SEED, 3, NOW, PER_YEAR) == block(3)
    assert past(PER_YEAR) != block(PER_YEAR)


@pytest.mark.parametrize("number", PAST)
def test_a_past_years_block_leaves_nothing_open_by_its_end(number: int) -> None:
    appends = past(number)
    year_end = YEAR_END[number // PER_YEAR]
    events = [e for _, e in events_of(appends)]
    assert max(e.occurred_at for e in events) <= year_end
    set_ = deadlines(appends)
    closed = [e.data["deadline_id"] for e in events if e.type in (DEADLINE_MET, DEADLINE_CANCELLED)]
    assert set(set_) == set(closed) and len(closed) == len(set(closed))
    types = Counter(e.type for e in events)
    assert types[PlacementEnded.event_type] == types[vev.CareEnded.event_type] == 3
    assert types[ApprovalEnded.event_type] == 1
    ended = [e.data for e in events if e.type == AllocationEnded.event_type]
    assert sorted(e["role"] for e in ended) == ["child_social_worker"] * 3 + ["supervising_social_worker"]
    # Each placement's own clocks are stopped by the visits reactor, as a live placement's end would.
    for stream_id, stream in appends:
        for event in stream:
            if event.type == DEADLINE_CANCELLED and event.data["kind"] == visit_rules.STATUTORY_VISIT:
                assert event.metadata["actor_role"] == "system", stream_id


@pytest.mark.parametrize("number", PAST)
def test_a_past_years_payloads_are_the_services_own_models(number: int) -> None:
    for stream_id, event in events_of(past(number)):
        assert model_for(event).model_validate(event.data).payload() == event.data, (stream_id, event.type)
        assert event.metadata["service"] in ("visits", "carers", "notifications", "access")
