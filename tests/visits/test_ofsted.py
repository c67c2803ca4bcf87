"""Each failure of the 2023 Ofsted inspection that belongs to the visits service, as a test
through the HTTP API on real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi import FastAPI

from shared.clock import ManualClock
from tests.conftest import settle
from tests.visits.conftest import Visits, visit_body, without_registration_clocks

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def test_child_seen_with_no_narrative_is_refused_and_nothing_is_written(visits: Visits) -> None:
    """'Sometimes supervising social workers will record "child seen" ... often there is no narrative.'"""
    child = await visits.register()
    before = await visits.events_about(child)
    for missing in ({"narrative": None}, {"narrative": "   "}, {"child_views": None}, {"child_views": ""}):
        body = visit_body(NOW - timedelta(hours=2), visitor_role="supervising_social_worker", **missing)
        problem = await visits.post(f"/v1/children/{child}/visits", body, status=422)
        assert problem["type"].endswith("/business-rule")
        assert problem["reasons"]
    assert await visits.events_about(child) == before


async def test_not_seen_alone_without_a_reason_is_refused(visits: Visits) -> None:
    """'Children are not routinely seen alone.'"""
    child = await visits.register()
    before = await visits.events_about(child)
    problem = await visits.post(
        f"/v1/children/{child}/visits", visit_body(NOW - timedelta(hours=1), seen_alone=False), status=422
    )
    assert [r["code"] for r in problem["reasons"]] == ["not_seen_alone_reason_missing"]
    assert "not seen alone" in problem["reasons"][0]["detail"]
    bad_reason = visit_body(NOW, seen_alone=False, not_seen_alone_reason="carer_present")
    assert (await visits.post(f"/v1/children/{child}/visits", bad_reason, status=422))["type"].endswith("/validation")
    assert await visits.events_about(child) == before
    ok = visit_body(NOW - timedelta(hours=1), seen_alone=False, not_seen_alone_reason="child_refused")
    recorded = await visits.post(f"/v1/children/{child}/visits", ok)
    assert recorded["type"] == "visits.VisitRecorded"


async def test_a_placement_with_no_visit_for_60_days_shows_overdue(visits: Visits, app: FastAPI) -> None:
    """'There was also no evidence of the children having been visited.'"""
    child = await visits.register(worker="sw-60-days")
    start = date(2026, 9, 26)  # 60 days before the clock's today
    await visits.place(child, start, occurred_at=datetime(2026, 9, 26, 9, tzinfo=UTC))
    await settle(app)
    compliance = await visits.get(f"/v1/children/{child}/compliance")
    assert compliance["placement"]["start_date"] == "2026-09-26"
    due = compliance["next_statutory_visit"]
    assert due["kind"] == "visits.statutory_visit"
    # A week after the start, at the end of that day in England (BST in October).
    assert datetime.fromisoformat(due["due_at"]) == datetime(2026, 10, 3, 22, 59, 59, tzinfo=UTC)
    assert due["overdue"] is True
    assert compliance["statutory_visit_overdue"] is True and compliance["overdue"] is True
    assert compliance["last_visit"] is None and compliance["days_since_seen_alone"] is None
    worklist = await visits.get("/v1/visits/due", worker_id="sw-60-days")
    assert [(i["child_id"], i["overdue"]) for i in worklist["items"]] == [(child, True)]
    # The clock is in the child's chronology, set by the visits service in reaction to the placement.
    chronology = await visits.get(f"/v1/children/{child}/chronology", order="recorded")
    # (The generic clock may already have escalated the overdue visit: that is tested elsewhere.)
    entries = [
        e for e in without_registration_clocks(chronology["entries"]) if e["type"] != "notifications.EscalationRaised"
    ]
    types = [e["type"] for e in entries]
    assert types == ["visits.ChildRegistered", "carers.PlacementStarted", "DeadlineSet"]
    occurred = await visits.get(f"/v1/children/{child}/chronology")
    assert [e["type"] for e in without_registration_clocks(occurred["entries"]) if e["service"] != "notifications"] == [
        "DeadlineSet",
        "carers.PlacementStarted",
        "visits.ChildRegistered",
    ]
    assert entries[2]["recorded_by"]["actor_id"] == "system:visits"


async def test_an_overdose_starts_a_follow_up_clock_that_is_overdue_when_no_visit_follows(
    visits: Visits, clock: ManualClock
) -> None:
    """'When one child had taken an overdose, there was no evidence of this child having been visited.'"""
    child = await visits.register()
    overdose = await visits.post(
        f"/v1/children/{child}/incidents",
        {
            "category": "overdose",
            "occurred_at": "2026-11-24T22:10:00Z",
            "narrative": "Took about 12 paracetamol; carer took her to A&E.",
            "needed_hospital_treatment": True,
        },
    )
    [clock_started, _risk_review] = overdose["clocks"]  # since issue 12 the risk assessment is reviewed too
    assert clock_started["kind"] == "visits.follow_up_visit"
    assert datetime.fromisoformat(clock_started["due_at"]) == datetime(2026, 11, 26, 22, 10, tzinfo=UTC)
    compliance = await visits.get(f"/v1/children/{child}/compliance")
    assert [f["overdue"] for f in compliance["open_follow_ups"]] == [False]

    clock.set(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))  # no visit followed
    compliance = await visits.get(f"/v1/children/{child}/compliance")
    assert [f["overdue"] for f in compliance["open_follow_ups"]] == [True]
    assert compliance["overdue"] is True

    # A visit that sees the child meets it, late.
    visit = await visits.post(
        f"/v1/children/{child}/visits",
        visit_body(datetime(2026, 11, 27, 8, 30, tzinfo=UTC), visitor_role="supervising_social_worker"),
    )
    assert [(c["event"], c["kind"], c["late"]) for c in visit["clocks"]] == [
        ("DeadlineMet", "visits.follow_up_visit", True)
    ]
    compliance = await visits.get(f"/v1/children/{child}/compliance")
    assert compliance["open_follow_ups"] == [] and compliance["overdue"] is False


async def test_a_complaint_unanswered_for_11_working_days_is_out_of_timescale_over_christmas(
    visits: Visits, clock: ManualClock
) -> None:
    """'One child ... wrote a formal letter of complaint in August 2022, but ... was not responded to until
    February 2023.' Bank holidays count: 25 and 28 December and 1 January are not working days."""
    child = await visits.register()
    received = datetime(2026, 12, 18, 10, 0, tzinfo=UTC)  # a Friday
    clock.set(received)
    complaint = await visits.post(
        f"/v1/children/{child}/complaints",
        {"received_at": received.isoformat(), "made_by": "child", "summary": "Nobody listens to me about contact."},
    )
    complaint_id = complaint["complaint_id"]

    def stage1(detail: dict[str, object]) -> dict[str, object]:
        clocks = detail["clocks"]
        assert isinstance(clocks, list)
        return next(c for c in clocks if c["kind"] == "visits.complaint_stage1_response")

    clock.set(datetime(2027, 1, 4, 12, tzinfo=UTC))  # 10 weekdays, but only 7 working days
    detail = await visits.get(f"/v1/complaints/{complaint_id}")
    assert datetime.fromisoformat(str(stage1(detail)["due_at"])) == datetime(2027, 1, 6, 10, tzinfo=UTC)
    assert stage1(detail)["overdue"] is False

    clock.set(datetime(2027, 1, 7, 10, tzinfo=UTC))  # 11 working days
    detail = await visits.get(f"/v1/complaints/{complaint_id}")
    assert stage1(detail)["overdue"] is True and detail["out_of_timescale"] is True
    compliance = await visits.get(f"/v1/children/{child}/compliance")
    [open_complaint] = compliance["open_complaints"]
    assert open_complaint["complaint_id"] == complaint_id and open_complaint["out_of_timescale"] is True

    answered = await visits.post(
        f"/v1/complaints/{complaint_id}/respond",
        {"response": "We are sorry; contact is now weekly.", "outcome": "upheld"},
        status=200,
    )
    assert {(c["kind"], c["late"]) for c in answered["clocks"]} == {
        ("visits.complaint_stage1_response", True),
        ("visits.complaint_acknowledgement", True),
    }
    assert "out of timescale" in answered["summary"]


async def test_a_serious_allegation_starts_a_visit_clock_for_each_child(visits: Visits, app: FastAPI) -> None:
    """'An external agency ... alert[ed] them to a serious allegation ... The child had not been seen.'"""
    first, second = await visits.register(), await visits.register(name="Ben K")
    received_at = datetime(2026, 11, 20, 10, tzinfo=UTC)
    await visits.allegation(first, second, received_at=received_at, summary="Allegation of physical chastisement.")
    await settle(app)
    await settle(app)  # a repeat reaction is a no-op
    for child in (first, second):
        compliance = await visits.get(f"/v1/children/{child}/compliance")
        [follow_up] = compliance["open_follow_ups"]
        assert datetime.fromisoformat(follow_up["due_at"]) == datetime(2026, 11, 24, 10, tzinfo=UTC)
        assert follow_up["overdue"] is True
