"""Issue 18: the stage 3 complaint clocks after the panel (its report in 5 working days, the agency's
response 15 working days after the report), and the health-plan review after a seizure or
substance misuse (5 working days, local; substance misuse also reviews the risk assessment). Each
clock is run past its deadline and escalates; met in time, it does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.clock import ManualClock
from tests.visits.conftest import Visits
from tests.visits.test_plans import HEALTH_PLAN, escalated


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


async def at_stage_3(visits: Visits, clock: ManualClock) -> tuple[str, str]:
    """A complaint answered at stages 1 and 2 and escalated to a review panel on Monday 2 November."""
    clock.set(utc(2026, 10, 1, 10))
    child = await visits.register()
    body = {"received_at": utc(2026, 10, 1, 10).isoformat(), "made_by": "parent", "summary": "Contact cancelled."}
    complaint = await visits.post(f"/v1/children/{child}/complaints", body)
    path = f"/v1/complaints/{complaint['complaint_id']}"
    await visits.post(f"{path}/respond", {"response": "Stage 1 answer.", "outcome": "not_upheld"}, 200)
    clock.set(utc(2026, 10, 5, 10))
    await visits.post(f"{path}/escalate", {"reason": "Unhappy."}, 200)
    clock.set(utc(2026, 10, 20, 10))
    await visits.post(f"{path}/respond", {"response": "Stage 2 answer.", "outcome": "not_upheld"}, 200)
    clock.set(utc(2026, 11, 2, 10))
    await visits.post(f"{path}/escalate", {"reason": "Wants a panel."}, 200)
    assert (await visits.get(path))["stage"] == 3
    return child, path


def clock_of(result: dict[str, object], kind: str) -> dict[str, str]:
    [found] = [c for c in result["clocks"] if c["kind"] == kind]  # type: ignore[attr-defined]
    return found  # type: ignore[no-any-return]


async def test_the_panels_report_is_due_5_working_days_after_it_met_and_escalates(
    visits: Visits, clock: ManualClock
) -> None:
    child, path = await at_stage_3(visits, clock)
    clock.set(utc(2026, 11, 20, 10))  # a Friday
    held = await visits.post(f"{path}/panel", {"held_at": utc(2026, 11, 20, 9).isoformat()}, 200)
    report = clock_of(held, "visits.complaint_stage3_report")
    assert datetime.fromisoformat(report["due_at"]) == utc(2026, 11, 27, 9)  # 5 working days
    assert clock_of(held, "visits.complaint_stage3_panel")["event"] == "DeadlineMet"
    clock.set(utc(2026, 11, 27, 9, 1))
    [raised] = (await escalated(visits, child))["visits.complaint_stage3_report"]
    assert raised["deadline_id"] == report["deadline_id"] and raised["status"] == "open"
    # Reported late: the escalation resolves, and the agency's response clock starts from the report.
    reported = await visits.post(f"{path}/panel-report", {"recommendations": "Apologise; restore contact."}, 200)
    assert clock_of(reported, "visits.complaint_stage3_report")["late"] is True
    response = clock_of(reported, "visits.complaint_stage3_response")
    assert datetime.fromisoformat(response["due_at"]) == utc(2026, 12, 18, 9, 1)  # 15 working days
    found = await escalated(visits, child)
    assert [e["status"] for e in found["visits.complaint_stage3_report"]] == ["resolved"]
    assert "visits.complaint_stage3_response" not in found


async def test_the_agencys_response_is_due_15_working_days_after_the_report_and_escalates(
    visits: Visits, clock: ManualClock
) -> None:
    child, path = await at_stage_3(visits, clock)
    clock.set(utc(2026, 11, 20, 10))
    await visits.post(f"{path}/panel", {}, 200)
    clock.set(utc(2026, 11, 24, 10))
    reported = await visits.post(f"{path}/panel-report", {"recommendations": "Restore contact."}, 200)
    response = clock_of(reported, "visits.complaint_stage3_response")
    assert datetime.fromisoformat(response["due_at"]) == utc(2026, 12, 15, 10)
    assert (await visits.get(path))["stage"] == 3
    await visits.post(f"{path}/panel-report", {"recommendations": "Again."}, 409)  # one report
    clock.set(utc(2026, 12, 14, 10))
    assert "visits.complaint_stage3_response" not in await escalated(visits, child)
    clock.set(utc(2026, 12, 15, 10, 1))
    [raised] = (await escalated(visits, child))["visits.complaint_stage3_response"]
    assert raised["deadline_id"] == response["deadline_id"]
    answered = await visits.post(f"{path}/respond", {"response": "Accepted.", "outcome": "upheld"}, 200)
    assert clock_of(answered, "visits.complaint_stage3_response")["late"] is True


async def test_a_seizure_starts_a_health_plan_review_that_escalates_when_missed(
    visits: Visits, clock: ManualClock
) -> None:
    child = await visits.register()
    incident = await visits.post(
        f"/v1/children/{child}/incidents",
        {"category": "seizure", "occurred_at": utc(2026, 11, 25, 8).isoformat(), "narrative": "Seizure at school."},
    )
    review = clock_of(incident, "visits.health_plan_review")
    assert datetime.fromisoformat(review["due_at"]) == utc(2026, 12, 2, 8)  # 5 working days (local)
    assert not [c for c in incident["clocks"] if c["kind"] == "visits.risk_assessment_after_incident"]
    health = await visits.get(f"/v1/children/{child}/health")
    assert "visits.health_plan_review" in [c["kind"] for c in health["open_clocks"]]
    clock.set(utc(2026, 12, 2, 8, 1))
    [raised] = (await escalated(visits, child))["visits.health_plan_review"]
    assert raised["deadline_id"] == review["deadline_id"]


async def test_substance_misuse_reviews_the_health_plan_and_the_risk_assessment(
    visits: Visits, clock: ManualClock
) -> None:
    """Both clocks start; the health plan reviewed in time meets its clock; the risk assessment not
    reviewed escalates."""
    child = await visits.register()
    incident = await visits.post(
        f"/v1/children/{child}/incidents",
        {"category": "substance_misuse", "occurred_at": utc(2026, 11, 25, 8).isoformat(), "narrative": "Cannabis."},
    )
    kinds = {c["kind"] for c in incident["clocks"]}
    assert {"visits.health_plan_review", "visits.risk_assessment_after_incident"} <= kinds
    clock.advance(timedelta(days=1))
    plan = await visits.post(f"/v1/children/{child}/plans", HEALTH_PLAN)
    assert clock_of(plan, "visits.health_plan_review")["event"] == "DeadlineMet"
    clock.set(utc(2026, 12, 3, 9))
    found = await escalated(visits, child)
    assert "visits.health_plan_review" not in found
    assert len(found["visits.risk_assessment_after_incident"]) == 1
