"""Issue 12 rules, as tables: reviews, health assessments, risk reviews, plans and concerns."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.visits import rules


@pytest.mark.parametrize(
    ("case", "held_on", "reviews_held", "due"),
    [
        ("first review: 20 working days after becoming looked after", date(2026, 11, 25), 0, date(2026, 12, 23)),
        ("second review: 3 months after the first", date(2026, 12, 14), 1, date(2027, 3, 14)),
        ("third review: 6 months after the second", date(2027, 3, 1), 2, date(2027, 9, 1)),
        ("later reviews: still 6 months", date(2027, 9, 1), 5, date(2028, 3, 1)),
        ("month end is clipped", date(2027, 8, 31), 2, date(2028, 2, 29)),
    ],
)
def test_looked_after_review_dates(case: str, held_on: date, reviews_held: int, due: date) -> None:
    assert rules.next_lac_review_due(held_on, reviews_held) == due, case


@pytest.mark.parametrize(
    ("case", "date_of_birth", "assessed_on", "due"),
    [
        ("a toddler is reviewed every 6 months", date(2024, 1, 1), date(2026, 11, 25), date(2027, 5, 25)),
        ("the day before the 5th birthday: still 6 months", date(2021, 11, 26), date(2026, 11, 25), date(2027, 5, 25)),
        ("from the 5th birthday: every 12 months", date(2021, 11, 25), date(2026, 11, 25), date(2027, 11, 25)),
        ("a teenager: every 12 months", date(2012, 3, 14), date(2026, 11, 25), date(2027, 11, 25)),
    ],
)
def test_review_health_assessment_dates(case: str, date_of_birth: date, assessed_on: date, due: date) -> None:
    assert rules.next_health_assessment_due(date_of_birth, assessed_on) == due, case


def test_initial_health_assessment_is_28_days() -> None:
    assert rules.initial_health_assessment_due(date(2026, 11, 20)) == date(2026, 12, 18)


@pytest.mark.parametrize(
    ("case", "category", "police_called", "needs"),
    [
        ("self-harm", "self_harm", False, True),
        ("overdose", "overdose", False, True),
        ("missing", "missing", False, True),
        ("police called (category)", "police_called", False, True),
        ("police called (flag)", "damage", True, True),
        ("violence", "violence", False, True),
        ("assault on a carer", "assault_on_carer", False, True),
        ("a seizure is monitored, not a risk review", "seizure", False, False),
        ("other", "other", False, False),
    ],
)
def test_which_incidents_force_a_risk_review(case: str, category: str, police_called: bool, needs: bool) -> None:
    assert rules.needs_risk_review(category, police_called=police_called) is needs, case


@pytest.mark.parametrize(
    ("case", "start", "working_days", "due"),
    [
        ("Wednesday + 5 working days", datetime(2026, 11, 25, 12, tzinfo=UTC), 5,
         datetime(2026, 12, 2, 12, tzinfo=UTC)),
        ("Friday + 2 working days skips the weekend", datetime(2026, 11, 27, 9, tzinfo=UTC), 2,
         datetime(2026, 12, 1, 9, tzinfo=UTC)),
        ("over Christmas bank holidays", datetime(2026, 12, 24, 9, tzinfo=UTC), 2,
         datetime(2026, 12, 30, 9, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_working_day_clocks(case: str, start: datetime, working_days: int, due: datetime) -> None:
    assert rules.plan_ack_due(start, working_days) == due, case
    assert rules.concern_response_due(start, working_days) == due, case
    assert rules.risk_review_due(start, working_days) == due, case


MED = {"name": "Melatonin", "dose": "2 mg", "given_by": "carer", "watch_for": "morning drowsiness"}


@pytest.mark.parametrize(
    ("case", "kind", "medications", "reasons"),
    [
        ("a complete medication in the health plan", "health", [MED], []),
        ("a health plan with no medication", "health", [], []),
        ("medication outside the health plan", "care", [MED], ["Medication belongs in the health plan."]),
        (
            "a medication without who gives it or what to watch for",
            "health",
            [{**MED, "given_by": " ", "watch_for": None}],
            ["medications[0] needs given_by, watch_for."],
        ),
    ],
)
def test_medication_in_plans(
    case: str, kind: str, medications: list[dict[str, str | None]], reasons: list[str]
) -> None:
    assert [r.detail for r in rules.medication_refusals(kind, medications)] == reasons, case


@pytest.mark.parametrize(
    ("case", "review_date", "refused"),
    [("tomorrow", date(2026, 11, 26), False), ("today", date(2026, 11, 25), True), ("past", date(2026, 1, 1), True)],
)
def test_review_dates_are_in_the_future(case: str, review_date: date, refused: bool) -> None:
    assert bool(rules.review_date_refusals(review_date, date(2026, 11, 25))) is refused, case


@pytest.mark.parametrize(
    ("case", "actions", "status", "reasons"),
    [
        ("actioned: the outcome can be recorded", 1, "actioned", []),
        ("no action yet", 0, "open", ["Record the action taken on the concern before its outcome."]),
        ("already resolved", 2, "resolved", ["The concern is already resolved."]),
        ("already escalated", 0, "escalated", ["The concern is already escalated."]),
    ],
)
def test_concern_outcomes(case: str, actions: int, status: str, reasons: list[str]) -> None:
    assert [r.detail for r in rules.concern_outcome_refusals(actions=actions, status=status)] == reasons, case


def test_health_counts_by_month_are_in_england_time() -> None:
    rows = [
        ("seizure", datetime(2026, 10, 31, 23, 30, tzinfo=UTC)),  # 31 Oct in England (GMT)
        ("seizure", datetime(2026, 6, 30, 23, 30, tzinfo=UTC)),  # 1 Jul in England (BST)
        ("self_harm", datetime(2026, 7, 2, tzinfo=UTC)),
    ]
    assert rules.month_counts(rows) == {"2026-07": {"seizure": 1, "self_harm": 1}, "2026-10": {"seizure": 1}}
