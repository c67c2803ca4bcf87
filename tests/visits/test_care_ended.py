"""A child no longer looked after: the clocks of looking after them (visits, reviews, plans, risk,
health assessments) stop with the end of care, the duties of the Care Planning Regulations ending
with it, while a complaint about their care is still answered in its timescale."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

from alembic import command
from sqlalchemy import text

from services.visits.rules import LOOKED_AFTER_KINDS
from shared import db
from shared.clock import ManualClock
from shared.db import as_role, create_engine
from shared.deadlines import DEADLINE_CANCELLED, DEADLINE_MET, DEADLINE_SET
from shared.eventstore import EventStore, NewEvent, RecordedEvent
from tests.conftest import settle
from tests.visits.conftest import REGISTRATION_CLOCKS, Visits, visit_body
from tests.visits.test_plans import HEALTH_PLAN, REVIEW, RISK


async def open_clocks(visits: Visits, child: str) -> dict[str, str]:
    """The child's clocks set and not yet met or stopped: deadline id -> kind."""
    events = await visits.events_about(child)
    opened = {e.data["deadline_id"]: e.data["kind"] for e in events if e.type == DEADLINE_SET}
    closed = {e.data["deadline_id"] for e in events if e.type in (DEADLINE_MET, DEADLINE_CANCELLED)}
    return {d: kind for d, kind in opened.items() if d not in closed}


async def test_care_ended_stops_the_looked_after_clocks_and_leaves_a_complaints_running(
    visits: Visits, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 10, 1, 10, tzinfo=UTC))
    child = await visits.register()
    incident = {
        "category": "self_harm",
        "occurred_at": "2026-10-02T09:00:00Z",
        "narrative": "Cut her arm; first aid by the carer, then A&E.",
        "needed_hospital_treatment": True,
    }
    clock.set(datetime(2026, 10, 2, 12, tzinfo=UTC))
    await visits.post(f"/v1/children/{child}/incidents", incident)
    complaint = {"received_at": "2026-10-02T12:00:00Z", "made_by": "parent", "summary": "Contact cancelled."}
    await visits.post(f"/v1/children/{child}/complaints", complaint)
    before = await open_clocks(visits, child)
    assert REGISTRATION_CLOCKS | {"visits.follow_up_visit", "visits.risk_assessment_after_incident"} <= set(
        before.values()
    )

    clock.set(datetime(2026, 10, 5, 12, tzinfo=UTC))
    await visits.post(f"/v1/children/{child}/care-ended", {"ended_on": "2026-10-05", "reason": "E4A"})

    after = await open_clocks(visits, child)
    assert set(after.values()) == {"visits.complaint_acknowledgement", "visits.complaint_stage1_response"}
    stopped = [e for e in await visits.events_about(child) if e.type == DEADLINE_CANCELLED]
    assert {e.data["deadline_id"] for e in stopped} == set(before) - set(after)
    assert {e.data["reason"] for e in stopped} == {"no longer looked after"}


def looked_after_kinds_set_since(events: list[RecordedEvent], position: int) -> set[str]:
    """The kinds of the duties of looking after the child set after `position`."""
    return {
        e.data["kind"]
        for e in events
        if e.type == DEADLINE_SET and e.position > position and e.data["kind"] in LOOKED_AFTER_KINDS
    }


async def test_a_record_made_after_care_ended_starts_no_duty_of_looking_after_the_child(
    visits: Visits, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 10, 1, 10, tzinfo=UTC))
    child = await visits.register()
    await visits.place(child, date(2026, 10, 1), occurred_at=datetime(2026, 10, 1, 11, tzinfo=UTC))
    await settle(visits.app)
    clock.set(datetime(2026, 10, 20, 12, tzinfo=UTC))
    await visits.post(f"/v1/children/{child}/care-ended", {"ended_on": "2026-10-20", "reason": "E4A"})
    ended_at = max(e.position for e in await visits.events_about(child))
    shown = await visits.get(f"/v1/children/{child}")
    assert (shown["care_ended_on"], shown["looked_after"]) == ("2026-10-20", False)

    # Each written up afterwards, about the days before care ended: recorded, and no clock follows.
    clock.set(datetime(2026, 10, 22, 9, tzinfo=UTC))
    before = "2026-10-15T10:00:00Z"
    check = {"kind": "review_health_assessment", "occurred_at": before, "by": "Dr Shah", "outcome": "Well."}
    await visits.post(f"/v1/children/{child}/health-checks", check)
    await visits.post(f"/v1/children/{child}/looked-after-reviews", {**REVIEW, "held_at": before})
    await visits.post(f"/v1/children/{child}/risk-assessments", {**RISK, "assessed_at": before})
    await visits.post(f"/v1/children/{child}/plans", HEALTH_PLAN)
    incident = {"category": "self_harm", "occurred_at": before, "narrative": "Cut her arm.", "police_called": True}
    await visits.post(f"/v1/children/{child}/incidents", {**incident, "needed_hospital_treatment": True})
    await visits.post(f"/v1/children/{child}/visits", visit_body(datetime(2026, 10, 16, 10, tzinfo=UTC)))
    complaint = {"received_at": "2026-10-22T09:00:00Z", "made_by": "parent", "summary": "Her things were not sent on."}
    await visits.post(f"/v1/children/{child}/complaints", complaint)
    await settle(visits.app)

    events = await visits.events_about(child)
    assert looked_after_kinds_set_since(events, ended_at) == set()
    [plan] = [e for e in events if e.type == "visits.PlanRecorded"]
    assert plan.data["review_deadline_id"] is None  # it names no clock that was never started
    # The complaint is answered, and the self-harm notified (Schedule 7), as for any child.
    assert set((await open_clocks(visits, child)).values()) == {
        "visits.complaint_acknowledgement",
        "visits.complaint_stage1_response",
        "notifications.acknowledgement",
    }


async def test_placed_again_after_care_ended_the_duties_start_again(visits: Visits, clock: ManualClock) -> None:
    clock.set(datetime(2026, 10, 1, 10, tzinfo=UTC))
    child = await visits.register()
    first = await visits.place(child, date(2026, 10, 1), occurred_at=datetime(2026, 10, 1, 11, tzinfo=UTC))
    clock.set(datetime(2026, 10, 20, 12, tzinfo=UTC))
    await visits.post(f"/v1/children/{child}/care-ended", {"ended_on": "2026-10-20", "reason": "E4A"})
    ended_at = max(e.position for e in await visits.events_about(child))

    # A placement recorded late, which started before care ended, is part of the care that ended.
    clock.set(datetime(2026, 10, 21, 12, tzinfo=UTC))
    await visits.place(child, date(2026, 10, 10), occurred_at=datetime(2026, 10, 21, 12, tzinfo=UTC))
    await settle(visits.app)
    assert looked_after_kinds_set_since(await visits.events_about(child), ended_at) == set()

    # Back in care a month later: a new placement, its first visit due, and the health duties again.
    clock.set(datetime(2026, 11, 20, 12, tzinfo=UTC))
    again = await visits.place(child, date(2026, 11, 20), occurred_at=datetime(2026, 11, 20, 12, tzinfo=UTC))
    await settle(visits.app)
    assert again != first
    assert (await visits.get(f"/v1/children/{child}"))["looked_after"] is True
    check = {"kind": "dental_check", "occurred_at": "2026-11-20T11:00:00Z", "by": "Smile Dental", "outcome": "Fine."}
    await visits.post(f"/v1/children/{child}/health-checks", check)
    await settle(visits.app)
    assert looked_after_kinds_set_since(await visits.events_about(child), ended_at) == {
        "visits.statutory_visit",
        "visits.dental_check",
    }


async def test_an_allegation_brings_a_visit_only_for_the_children_still_looked_after(
    visits: Visits, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 11, 1, 10, tzinfo=UTC))
    left, placed = await visits.register(), await visits.register(name="Ben K")
    await visits.post(f"/v1/children/{left}/care-ended", {"ended_on": "2026-11-01", "reason": "E13"})
    clock.set(datetime(2026, 11, 20, 10, tzinfo=UTC))
    received_at = datetime(2026, 11, 20, 10, tzinfo=UTC)
    await visits.allegation(left, placed, received_at=received_at, summary="Historical allegation of chastisement.")
    await settle(visits.app)
    assert (await visits.get(f"/v1/children/{placed}/compliance"))["open_follow_ups"] != []
    assert (await visits.get(f"/v1/children/{left}/compliance"))["open_follow_ups"] == []


async def test_the_migration_fills_in_when_care_ended_for_the_children_already_in_the_log(
    fresh_database_url: str,
) -> None:
    left, staying = uuid.uuid4(), uuid.uuid4()
    engine = create_engine(as_role(fresh_database_url), pool_size=2)
    store = EventStore(engine)
    at = datetime(2026, 10, 1, tzinfo=UTC)
    for on in ("2026-10-20", "2026-03-01"):  # two periods of care, the later one recorded first
        data = {"child_id": str(left), "ended_on": on, "reason": "E4A"}
        await store.append(f"child-{left}", [NewEvent("visits.CareEnded", data, at, child_ids=(left,))])
    await store.stop()
    await engine.dispose()
    owner = create_engine(fresh_database_url, pool_size=1)
    try:
        async with owner.begin() as conn:
            for child in (left, staying):
                await conn.execute(
                    text(
                        "INSERT INTO visits_children (child_id, name, legal_status, placing_authority, "
                        "registered_at, event_id) VALUES (:c, 'A child', 'C2', 'Council', :at, :e)"
                    ),
                    {"c": child, "at": at, "e": uuid.uuid4()},
                )
        await asyncio.to_thread(command.downgrade, db.alembic_config(fresh_database_url), "0022")
        await asyncio.to_thread(db.migrate, fresh_database_url)
        async with owner.connect() as conn:
            ended = dict((await conn.execute(text("SELECT child_id, care_ended_on FROM visits_children"))).all())
    finally:
        await owner.dispose()
    assert ended == {left: date(2026, 10, 20), staying: None}
