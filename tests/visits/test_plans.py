"""Issue 12, the child's side: plans shared with the carers, risk assessments, health monitoring,
looked-after child reviews and concerns. Each clock is shown both missed (the generic clock of the
notifications service escalates it) and met in time (no escalation)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import FastAPI

from services.notifications import workers as clock_worker
from shared.auth import Role
from shared.clock import ManualClock
from tests.conftest import settle
from tests.visits.conftest import Visits

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # the clock fixture's start: a Wednesday

HEALTH_PLAN: dict[str, Any] = {
    "kind": "health",
    "summary": "Epilepsy and evening medication: how Amira and her carers manage it together.",
    "strategies": ["Amira keeps a seizure diary with her carer"],
    "medications": [
        {
            "name": "Sodium valproate",
            "dose": "300 mg twice a day",
            "given_by": "foster carer, Amira watching",
            "watch_for": "drowsiness, missed doses, rash",
        }
    ],
    "review_date": "2027-02-25",
}


async def escalated(visits: Visits, child: str) -> dict[str, list[dict[str, Any]]]:
    """Let the clock tick once, then read the child's escalations through the API, by clock kind."""
    await settle(visits.app)
    await clock_worker.raise_due_escalations(visits.app.state)
    await settle(visits.app)
    found: dict[str, list[dict[str, Any]]] = {}
    for e in (await visits.get("/v1/escalations", child_id=child))["escalations"]:
        found.setdefault(e["deadline_kind"], []).append(e)
    return found


async def placed_child(visits: Visits, household: str | None = None, **register: Any) -> tuple[str, str]:
    child = await visits.register(**register)
    household = household or str(uuid.uuid4())
    await visits.place(
        child, NOW.date() - timedelta(days=7), household_id=household, occurred_at=NOW - timedelta(days=7)
    )
    await settle(visits.app)
    return child, household


# ---- 1. plans, shared with the carers and acknowledged (reg 17) -------------------------------------
async def test_a_shared_plan_not_acknowledged_in_5_working_days_escalates(visits: Visits, clock: ManualClock) -> None:
    child, household = await placed_child(visits)
    plan = await visits.post(f"/v1/children/{child}/plans", HEALTH_PLAN)
    assert plan["plan_version"] == 1 and [c["kind"] for c in plan["clocks"]] == ["visits.plan_review"]
    shared = await visits.post(f"/v1/children/{child}/plans/{plan['plan_id']}/share", {"how": "in person"})
    [ack_clock] = shared["clocks"]
    assert ack_clock["kind"] == "visits.plan_acknowledgement"
    # Wednesday noon + 5 working days = the next Wednesday noon.
    assert datetime.fromisoformat(ack_clock["due_at"]) == datetime(2026, 12, 2, 12, tzinfo=UTC)
    clock.advance(timedelta(days=4))
    assert "visits.plan_acknowledgement" not in await escalated(visits, child)
    clock.advance(timedelta(days=4))
    [raised] = (await escalated(visits, child))["visits.plan_acknowledgement"]
    assert raised["deadline_id"] == ack_clock["deadline_id"] and raised["household_id"] == household
    compliance = await visits.get(f"/v1/children/{child}/compliance")
    assert compliance["overdue"] is True
    assert [c["overdue"] for c in compliance["plans"]["open_clocks"] if c["kind"].endswith("acknowledgement")] == [True]


async def test_the_carer_acknowledges_in_time_and_nothing_escalates(
    visits: Visits, clock: ManualClock, auth: Any
) -> None:
    child, household = await placed_child(visits)
    plan = await visits.post(f"/v1/children/{child}/plans", HEALTH_PLAN)
    await visits.post(f"/v1/children/{child}/plans/{plan['plan_id']}/share", {})
    second = await visits.post(f"/v1/children/{child}/plans", {**HEALTH_PLAN, "summary": "Dose changed by GP."})
    assert second["plan_id"] == plan["plan_id"] and second["plan_version"] == 2
    # The new version met the first version's review clock and set its own.
    assert [(c["event"], c["kind"]) for c in second["clocks"]] == [
        ("DeadlineMet", "visits.plan_review"),
        ("DeadlineSet", "visits.plan_review"),
    ]
    await visits.post(f"/v1/children/{child}/plans/{plan['plan_id']}/share", {})
    clock.advance(timedelta(days=2))
    carer = auth(Role.CARER, subject="carer-smith", households=[uuid.UUID(household)])
    path = f"/v1/children/{child}/plans/{plan['plan_id']}/acknowledge"
    ack = await visits.client.post(path, json={"version": 2}, headers=carer)
    assert ack.status_code == 201, ack.text
    # Acknowledging version 2 confirms receipt of both shared versions.
    assert [(c["event"], c["late"]) for c in ack.json()["clocks"]] == [("DeadlineMet", False)] * 2
    again = await visits.client.post(path, json={"version": 2}, headers=carer)
    assert again.status_code == 409
    clock.advance(timedelta(days=10))
    assert "visits.plan_acknowledgement" not in await escalated(visits, child)
    plans = await visits.get(f"/v1/children/{child}/plans")
    [health] = plans["plans"]
    assert [v["version"] for v in health["versions"]] == [1, 2]
    assert all(s["acknowledged_by"] == "carer-smith" for s in health["shares"])


async def test_a_plan_past_its_review_date_escalates(visits: Visits, clock: ManualClock) -> None:
    child = await visits.register()
    plan = await visits.post(f"/v1/children/{child}/plans", {**HEALTH_PLAN, "review_date": "2026-11-30"})
    clock.advance(timedelta(days=6))
    [raised] = (await escalated(visits, child))["visits.plan_review"]
    assert raised["deadline_id"] == plan["clocks"][0]["deadline_id"]


async def test_bad_plans_are_refused_and_nothing_is_written(visits: Visits) -> None:
    child = await visits.register()
    before = await visits.events_about(child)
    vague = {**HEALTH_PLAN, "medications": [{"name": "Melatonin", "dose": "", "given_by": "x", "watch_for": "y"}]}
    await visits.post(f"/v1/children/{child}/plans", vague, status=422)
    problem = await visits.post(f"/v1/children/{child}/plans", {**HEALTH_PLAN, "kind": "care"}, status=422)
    assert {"code": "medication_outside_health_plan", "detail": "Medication belongs in the health plan."} in problem[
        "reasons"
    ]
    past = await visits.post(f"/v1/children/{child}/plans", {**HEALTH_PLAN, "review_date": "2026-11-01"}, status=422)
    assert "review_date" in past["detail"]
    plan_id = str(uuid.uuid4())
    await visits.post(f"/v1/children/{child}/plans/{plan_id}/share", {}, status=404)
    assert await visits.events_about(child) == before
    # Not placed: there is nobody to share with.
    plan = await visits.post(f"/v1/children/{child}/plans", HEALTH_PLAN)
    await visits.post(f"/v1/children/{child}/plans/{plan['plan_id']}/share", {}, status=422)


async def test_a_carer_sees_only_the_shared_plans_of_the_child_placed_with_them(
    visits: Visits, auth: Any, app: FastAPI
) -> None:
    child, household = await placed_child(visits)
    other, _ = await placed_child(visits, name="Other child")
    unplaced = await visits.register(name="Not placed")
    for c in (child, other):
        plan = await visits.post(f"/v1/children/{c}/plans", HEALTH_PLAN)
        await visits.post(f"/v1/children/{c}/plans/{plan['plan_id']}/share", {})
        safe_care = {"kind": "safe_care", "summary": "Bag searches with her present.", "review_date": "2027-01-10"}
        await visits.post(f"/v1/children/{c}/plans", safe_care)  # recorded, not shared
    carer = auth(Role.CARER, subject="carer-own", households=[uuid.UUID(household)])

    seen = await visits.client.get(f"/v1/children/{child}/shared-plans", headers=carer)
    assert seen.status_code == 200, seen.text
    [plan] = seen.json()["plans"]
    assert plan["kind"] == "health" and plan["version"] == 1 and plan["acknowledged"] is False
    assert plan["medications"][0]["watch_for"] == "drowsiness, missed doses, rash"

    for c in (other, unplaced, str(uuid.uuid4())):
        assert (await visits.client.get(f"/v1/children/{c}/shared-plans", headers=carer)).status_code == 404
    other_plan = (await visits.get(f"/v1/children/{other}/plans"))["plans"][0]["plan_id"]
    refused = await visits.client.post(
        f"/v1/children/{other}/plans/{other_plan}/acknowledge", json={"version": 1}, headers=carer
    )
    assert refused.status_code == 404
    for path in ("", "/chronology", "/compliance", "/plans", "/health", "/concerns", "/export", "/access-log"):
        response = await visits.client.get(f"/v1/children/{child}{path}", headers=carer)
        assert response.status_code in (403, 404), (path, response.status_code)
    for path, body in (
        ("/visits", {}),
        ("/plans", HEALTH_PLAN),
        ("/concerns", {}),
        ("/risk-assessments", {}),
        ("/incidents", {}),
    ):
        response = await visits.client.post(f"/v1/children/{child}{path}", json=body, headers=carer)
        assert response.status_code in (403, 404), (path, response.status_code)
    escalations = await visits.client.get("/v1/escalations", params={"child_id": child}, headers=carer)
    assert escalations.status_code in (403, 404)
    # A worker cannot acknowledge for the carers.
    plan_id = (await visits.get(f"/v1/children/{child}/plans"))["plans"][0]["plan_id"]
    await visits.post(f"/v1/children/{child}/plans/{plan_id}/acknowledge", {"version": 1}, status=422)


# ---- 2. risk assessments ----------------------------------------------------------------------------
RISK = {
    "assessed_by": "sw-visits-104",
    "hazards": [{"hazard": "Self-harm with blades", "measures": ["Sharps locked away", "Check-ins every evening"]}],
    "review_date": "2027-02-01",
}


async def test_a_serious_incident_without_a_new_risk_assessment_escalates(visits: Visits, clock: ManualClock) -> None:
    child = await visits.register()
    incident = await visits.post(
        f"/v1/children/{child}/incidents",
        {"category": "violence", "occurred_at": (NOW - timedelta(hours=1)).isoformat(), "narrative": "Hit a peer."},
    )
    [risk_clock] = [c for c in incident["clocks"] if c["kind"] == "visits.risk_assessment_after_incident"]
    clock.advance(timedelta(days=8))
    [raised] = (await escalated(visits, child))["visits.risk_assessment_after_incident"]
    assert raised["deadline_id"] == risk_clock["deadline_id"]


async def test_a_new_risk_assessment_in_time_meets_the_incident_clock(visits: Visits, clock: ManualClock) -> None:
    child = await visits.register()
    first = await visits.post(f"/v1/children/{child}/risk-assessments", RISK)
    assert [c["kind"] for c in first["clocks"]] == ["visits.risk_assessment_review"]
    await visits.post(
        f"/v1/children/{child}/incidents",
        {"category": "self_harm", "occurred_at": (NOW - timedelta(hours=1)).isoformat(), "narrative": "Cut her arm."},
    )
    clock.advance(timedelta(days=1))
    reviewed = await visits.post(f"/v1/children/{child}/risk-assessments", RISK)
    assert sorted((c["event"], c["kind"]) for c in reviewed["clocks"]) == [
        ("DeadlineMet", "visits.risk_assessment_after_incident"),
        ("DeadlineMet", "visits.risk_assessment_review"),
        ("DeadlineSet", "visits.risk_assessment_review"),
    ]
    clock.advance(timedelta(days=10))
    found = await escalated(visits, child)
    assert "visits.risk_assessment_after_incident" not in found and "visits.risk_assessment_review" not in found
    compliance = await visits.get(f"/v1/children/{child}/compliance")
    assert compliance["risk_assessment"]["review_date"] == "2027-02-01"


# ---- 3. health -------------------------------------------------------------------------------------
async def test_no_initial_health_assessment_within_28_days_escalates(visits: Visits, clock: ManualClock) -> None:
    child = await visits.register(looked_after_since="2026-11-20")
    iha = [
        c for c in (await visits.get(f"/v1/children/{child}/health"))["open_clocks"]
        if c["kind"] == "visits.initial_health_assessment"
    ]  # fmt: skip
    assert [datetime.fromisoformat(c["due_at"]).date() for c in iha] == [date(2026, 12, 18)]
    clock.advance(timedelta(days=20))
    assert "visits.initial_health_assessment" not in await escalated(visits, child)
    clock.advance(timedelta(days=5))
    assert len((await escalated(visits, child))["visits.initial_health_assessment"]) == 1


async def test_health_assessments_and_dental_checks_in_time_and_the_health_timeline(
    visits: Visits, clock: ManualClock
) -> None:
    child = await visits.register(looked_after_since="2026-11-20")
    clock.advance(timedelta(days=3))
    at = (NOW + timedelta(days=2)).isoformat()
    iha = await visits.post(
        f"/v1/children/{child}/health-checks",
        {"kind": "initial_health_assessment", "occurred_at": at, "by": "Dr Shah", "outcome": "Epilepsy reviewed."},
    )
    met, annual = iha["clocks"]
    assert (met["event"], met["kind"], met["late"]) == ("DeadlineMet", "visits.initial_health_assessment", False)
    assert annual["kind"] == "visits.health_assessment"  # a 14-year-old is reviewed every 12 months
    assert datetime.fromisoformat(annual["due_at"]).date() == date(2027, 11, 27)
    dental = await visits.post(
        f"/v1/children/{child}/health-checks",
        {"kind": "dental_check", "occurred_at": at, "by": "Smile Dental", "outcome": "No treatment needed."},
    )
    assert [(c["event"], c["kind"]) for c in dental["clocks"]] == [
        ("DeadlineMet", "visits.dental_check"),
        ("DeadlineSet", "visits.dental_check"),
    ]
    for category, day in (("seizure", 1), ("seizure", 2), ("self_harm", 2), ("medication_error", 3), ("other", 3)):
        await visits.post(
            f"/v1/children/{child}/incidents",
            {"category": category, "occurred_at": (NOW + timedelta(days=day)).isoformat(), "narrative": "Noted."},
        )
    await visits.post(
        f"/v1/children/{child}/incidents",
        {"category": "substance_misuse", "occurred_at": "2026-10-30T20:00:00Z", "narrative": "Cannabis."},
    )
    clock.advance(timedelta(days=30))
    assert not {"visits.initial_health_assessment", "visits.dental_check"} & set(await escalated(visits, child))
    health = (await visits.get(f"/v1/children/{child}/compliance"))["health"]
    assert health["counts_by_month"] == {
        "2026-10": {"substance_misuse": 1},
        "2026-11": {"seizure": 2, "self_harm": 1, "medication_error": 1},
    }
    assert [e["category"] for e in health["timeline"]][0] == "substance_misuse"
    assert {c["kind"] for c in health["checks"]} == {"initial_health_assessment", "dental_check"}


async def test_looked_after_since_defaults_to_the_day_of_registration_and_is_checked(visits: Visits) -> None:
    child = await visits.register()
    assert (await visits.get(f"/v1/children/{child}/compliance"))["looked_after_reviews"]["next"]["started_at"][
        :10
    ] == "2026-11-25"
    await visits.post(
        "/v1/children",
        {
            "name": "Later",
            "date_of_birth": "2012-03-14",
            "legal_status": "s20",
            "placing_authority": "X",
            "looked_after_since": "2026-12-25",
        },
        status=422,
    )


# ---- 4. looked-after child reviews (CPPR reg 33) -----------------------------------------------------
REVIEW = {
    "chaired_by": "IRO Patel",
    "child_attended": False,
    "child_views_given": True,
    "how_views_given": "met the IRO before the meeting",
    "decisions": "Stay with current carers; more contact with her brother.",
}


async def test_no_first_review_within_20_working_days_escalates(visits: Visits, clock: ManualClock) -> None:
    child = await visits.register(looked_after_since="2026-11-25")
    nxt = (await visits.get(f"/v1/children/{child}/compliance"))["looked_after_reviews"]["next"]
    assert datetime.fromisoformat(nxt["due_at"]).date() == date(2026, 12, 23)  # 20 working days
    clock.advance(timedelta(days=29))
    assert len((await escalated(visits, child))["visits.looked_after_review"]) == 1


async def test_reviews_in_time_chain_20_working_days_3_months_then_6_months(visits: Visits, clock: ManualClock) -> None:
    child = await visits.register(looked_after_since="2026-11-25")
    clock.advance(timedelta(days=20))
    first = await visits.post(
        f"/v1/children/{child}/looked-after-reviews", {**REVIEW, "held_at": "2026-12-14T10:00:00Z"}
    )
    assert first["number"] == 1
    met, second_clock = first["clocks"]
    assert (met["kind"], met["late"]) == ("visits.looked_after_review", False)
    assert datetime.fromisoformat(second_clock["due_at"]).date() == date(2027, 3, 14)  # 3 months
    clock.advance(timedelta(days=80))
    second = await visits.post(
        f"/v1/children/{child}/looked-after-reviews",
        {**REVIEW, "child_attended": True, "held_at": "2027-03-01T10:00:00Z"},
    )
    assert second["number"] == 2
    assert datetime.fromisoformat(second["clocks"][1]["due_at"]).date() == date(2027, 9, 1)  # then 6 months
    assert "visits.looked_after_review" not in await escalated(visits, child)
    reviews = (await visits.get(f"/v1/children/{child}/compliance"))["looked_after_reviews"]
    assert (reviews["held"], reviews["child_attended_last"]) == (2, True)
    no_how = {**REVIEW, "how_views_given": None, "held_at": "2027-03-02T10:00:00Z"}
    await visits.post(f"/v1/children/{child}/looked-after-reviews", no_how, status=422)


# ---- 5. concerns ------------------------------------------------------------------------------------
CONCERN = {
    "raised_at": (NOW - timedelta(hours=2)).isoformat(),
    "raised_by": "child",
    "summary": "Does not feel safe with the other children in the house.",
    "childs_words": "I don't feel safe there.",
}


async def test_a_concern_with_no_action_and_outcome_in_2_working_days_escalates(
    visits: Visits, clock: ManualClock
) -> None:
    child, _ = await placed_child(visits)
    concern = await visits.post(f"/v1/children/{child}/concerns", CONCERN)
    [response_clock] = concern["clocks"]
    assert datetime.fromisoformat(response_clock["due_at"]) == datetime(2026, 11, 27, 10, tzinfo=UTC)
    await visits.post(f"/v1/children/{child}/concerns/{concern['concern_id']}/actions", {"action": "Called the SSW."})
    clock.advance(timedelta(days=3))  # an action alone does not answer the child
    [raised] = (await escalated(visits, child))["visits.concern_response"]
    assert raised["deadline_id"] == response_clock["deadline_id"]
    [listed] = (await visits.get(f"/v1/children/{child}/compliance"))["open_concerns"]
    assert (listed["status"], listed["clock"]["overdue"]) == ("actioned", True)


async def test_a_concern_answered_in_time_does_not_escalate(visits: Visits, clock: ManualClock) -> None:
    child, _ = await placed_child(visits)
    concern = await visits.post(f"/v1/children/{child}/concerns", CONCERN)
    path = f"/v1/children/{child}/concerns/{concern['concern_id']}"
    before = await visits.events_about(child)
    problem = await visits.post(f"{path}/outcome", {"outcome": "Resolved."}, status=422)
    assert problem["reasons"] == [
        {"code": "no_action_yet", "detail": "Record the action taken on the concern before its outcome."}
    ]
    assert await visits.events_about(child) == before
    clock.advance(timedelta(hours=20))
    await visits.post(f"{path}/actions", {"action": "SSW spoke with her alone at school."})
    outcome = await visits.post(
        f"{path}/outcome", {"outcome": "Moved bedrooms; safety plan agreed.", "child_told": True}
    )
    assert [(c["kind"], c["late"]) for c in outcome["clocks"]] == [("visits.concern_response", False)]
    await visits.post(f"{path}/outcome", {"outcome": "Again."}, status=409)
    clock.advance(timedelta(days=5))
    assert "visits.concern_response" not in await escalated(visits, child)
    assert (await visits.get(f"/v1/children/{child}/compliance"))["open_concerns"] == []


async def test_a_concern_escalated_to_a_complaint_becomes_one_with_its_clocks(visits: Visits) -> None:
    child, household = await placed_child(visits)
    concern = await visits.post(f"/v1/children/{child}/concerns", CONCERN)
    path = f"/v1/children/{child}/concerns/{concern['concern_id']}"
    escalation = await visits.post(f"{path}/escalate", {"to": "complaint", "reason": "She wants it investigated."})
    assert [(c["event"], c["kind"]) for c in escalation["clocks"]] == [("DeadlineMet", "visits.concern_response")]
    await settle(visits.app)
    complaint = await visits.get(f"/v1/complaints/{escalation['complaint_id']}")
    assert (complaint["made_by"], complaint["about_household_id"]) == ("child", household)
    assert complaint["lado_consultation"] is True
    assert {c["kind"] for c in complaint["clocks"]} == {
        "visits.complaint_acknowledgement",
        "visits.complaint_stage1_response",
    }
    other = await visits.post(f"/v1/children/{child}/concerns", {**CONCERN, "raised_by": "worker"})
    allegation = await visits.post(
        f"/v1/children/{child}/concerns/{other['concern_id']}/escalate",
        {"to": "allegation", "reason": "Describes rough handling by the carer."},
    )
    assert allegation["to"] == "allegation"
    await visits.post(f"{path}/escalate", {"to": "child_protection_enquiry", "reason": "x"}, status=409)
    await visits.post(f"/v1/children/{child}/concerns/{uuid.uuid4()}/actions", {"action": "x"}, status=404)
    kinds = {c["escalated_to"] for c in (await visits.get(f"/v1/children/{child}/concerns"))["concerns"]}
    assert kinds == {"complaint", "allegation"}
