"""A child no longer looked after: the clocks of looking after them (visits, reviews, plans, risk,
health assessments) stop with the end of care, the duties of the Care Planning Regulations ending
with it, while a complaint about their care is still answered in its timescale."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.clock import ManualClock
from shared.deadlines import DEADLINE_CANCELLED, DEADLINE_MET, DEADLINE_SET
from tests.visits.conftest import REGISTRATION_CLOCKS, Visits


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
