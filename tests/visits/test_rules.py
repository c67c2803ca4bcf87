"""Table-driven tests of the rules in services/visits/rules/ (statutory dates, recording rules, clocks)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from services.visits import rules
from services.visits.rules import PlacementTerms
from shared.calendar import ENGLAND, end_of_day, local_date

P = pytest.param


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---- CPPR reg 28 ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("terms", "due"),
    [
        P(PlacementTerms(date(2026, 11, 2)), date(2026, 11, 9), id="within a week"),
        P(PlacementTerms(date(2026, 12, 28)), date(2027, 1, 4), id="across the new year"),
        P(PlacementTerms(date(2026, 11, 2), long_term=True), date(2026, 11, 9), id="long-term: still a week"),
        P(PlacementTerms(date(2026, 11, 2), connected_person=True), date(2026, 11, 9), id="reg 24: a week"),
    ],
)
def test_first_visit_due(terms: PlacementTerms, due: date) -> None:
    assert rules.first_visit_due(terms) == due


@pytest.mark.parametrize(
    ("terms", "last_visit", "key", "due"),
    [
        P(PlacementTerms(date(2026, 1, 10)), date(2026, 3, 1), "first_year_interval", date(2026, 4, 12), id="1st year"),
        P(
            PlacementTerms(date(2026, 1, 10), long_term=True),
            date(2026, 11, 20),
            "first_year_interval",
            date(2027, 1, 1),
            id="1st year long-term: 6 weeks, crossing the calendar year",
        ),
        P(
            PlacementTerms(date(2026, 1, 10), long_term=True),
            date(2027, 1, 9),
            "first_year_interval",
            date(2027, 2, 20),
            id="day before the anniversary: still 6 weeks",
        ),
        P(
            PlacementTerms(date(2026, 1, 10), long_term=True),
            date(2027, 1, 10),
            "long_term_later_interval",
            date(2027, 4, 10),
            id="on the anniversary, long-term: 3 months",
        ),
        P(
            PlacementTerms(date(2026, 1, 10), long_term=False),
            date(2027, 1, 10),
            "later_interval",
            date(2027, 2, 21),
            id="on the anniversary, not long-term: 6 weeks",
        ),
        P(
            PlacementTerms(date(2025, 3, 1), long_term=True),
            date(2026, 11, 30),
            "long_term_later_interval",
            date(2027, 2, 28),
            id="3 months clipped to the month end",
        ),
        P(
            PlacementTerms(date(2024, 2, 29), long_term=True),
            date(2025, 2, 28),
            "long_term_later_interval",
            date(2025, 5, 28),
            id="leap-day start: the anniversary is 28 Feb",
        ),
        P(
            PlacementTerms(date(2026, 11, 2), connected_person=True),
            date(2026, 11, 9),
            "connected_weekly_interval",
            date(2026, 11, 16),
            id="reg 24 before the first review: weekly",
        ),
        P(
            PlacementTerms(date(2026, 11, 2), connected_person=True),
            date(2026, 12, 1),
            "connected_later_interval",
            date(2026, 12, 29),
            id="reg 24 after the first review: 4 weeks",
        ),
    ],
)
def test_next_statutory_visit(terms: PlacementTerms, last_visit: date, key: str, due: date) -> None:
    assert rules.statutory_interval_key(terms, last_visit) == key
    assert rules.next_statutory_visit_due(terms, last_visit) == due


@pytest.mark.parametrize(
    ("start", "review"),
    [
        P(date(2026, 11, 2), date(2026, 11, 30), id="plain 4 weeks"),
        P(date(2026, 12, 14), date(2027, 1, 14), id="over Christmas and new year"),
    ],
)
def test_first_review_date(start: date, review: date) -> None:
    assert rules.first_review_date(start) == review


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        P(date(2026, 1, 31), 1, date(2026, 2, 28), id="clip to February"),
        P(date(2024, 1, 31), 1, date(2024, 2, 29), id="leap year"),
        P(date(2026, 11, 30), 3, date(2027, 2, 28), id="across the year"),
        P(date(2026, 12, 15), 12, date(2027, 12, 15), id="a year"),
    ],
)
def test_add_months(day: date, months: int, expected: date) -> None:
    assert rules.add_months(day, months) == expected


def test_day_deadlines_fall_due_at_the_end_of_the_day_in_england() -> None:
    assert end_of_day(date(2026, 7, 1)) == datetime(2026, 7, 1, 22, 59, 59, tzinfo=UTC)
    assert end_of_day(date(2026, 12, 1)) == datetime(2026, 12, 1, 23, 59, 59, tzinfo=UTC)
    assert local_date(datetime(2026, 7, 1, 23, 30, tzinfo=UTC)) == date(2026, 7, 2)
    # A statutory visit falls due at the end of its day in England, summer or winter.
    terms = PlacementTerms(date(2026, 6, 24))
    assert rules.first_statutory_visit(terms).due_at == datetime(2026, 7, 1, 22, 59, 59, tzinfo=UTC)


# ---- visit recording rules -----------------------------------------------------------------------
GOOD = {"narrative": "Talked about school.", "child_views": "Happy here."}


@pytest.mark.parametrize(
    ("visit", "refused"),
    [
        P({"child_seen": True, "seen_alone": True, **GOOD}, [], id="seen alone with narrative and views"),
        P(
            {"child_seen": True, "seen_alone": True, "narrative": None, "child_views": "ok"},
            ["narrative"],
            id="seen, no narrative (Ofsted)",
        ),
        P(
            {"child_seen": True, "seen_alone": True, "narrative": "  ", "child_views": "ok"},
            ["narrative"],
            id="seen, blank narrative",
        ),
        P(
            {"child_seen": True, "seen_alone": True, "narrative": "x", "child_views": None},
            ["views"],
            id="seen, no views",
        ),
        P({"child_seen": True, "seen_alone": False, **GOOD}, ["not seen alone"], id="not alone, no reason (Ofsted)"),
        P(
            {"child_seen": True, "seen_alone": False, "not_seen_alone_reason": "child_refused", **GOOD},
            [],
            id="not alone, child refused",
        ),
        P(
            {
                "child_seen": True,
                "seen_alone": False,
                "not_seen_alone_reason": "inappropriate_for_age_or_understanding",
                **GOOD,
            },
            [],
            id="not alone, too young",
        ),
        P({"child_seen": False, "seen_alone": False, "not_seen_alone_reason": "unable"}, [], id="not seen, unable"),
        P({"child_seen": False, "seen_alone": True}, ["cannot be seen alone"], id="alone but not seen"),
        P(
            {"child_seen": True, "seen_alone": True, "not_seen_alone_reason": "unable", **GOOD},
            ["only for visits"],
            id="alone with a reason for not",
        ),
    ],
)
def test_visit_refusals(visit: dict[str, object], refused: list[str]) -> None:
    args = {"not_seen_alone_reason": None, "narrative": None, "child_views": None, **visit}
    reasons = rules.visit_refusals(**args)  # type: ignore[arg-type]
    assert len(reasons) == len(refused), reasons
    for fragment, reason in zip(refused, reasons, strict=True):
        assert fragment in reason.detail and reason.code


@pytest.mark.parametrize(
    ("occurred", "refused"),
    [
        P(utc(2026, 11, 25, 12), False, id="now"),
        P(utc(2026, 11, 25, 11, 59), False, id="past"),
        P(utc(2026, 11, 25, 12, 0, 1), False, id="a second ahead: a phone's clock runs fast"),
        P(utc(2026, 11, 25, 12, 10), False, id="ten minutes ahead: the shared tolerance"),
        P(utc(2026, 11, 25, 12, 10, 1), True, id="beyond ten minutes: has not happened yet"),
    ],
)
def test_an_occurrence_ahead_of_the_clock_is_refused_beyond_the_shared_tolerance(
    occurred: datetime, refused: bool
) -> None:
    reasons = rules.occurrence_refusals("occurred_at", occurred, utc(2026, 11, 25, 12))
    assert [r.code for r in reasons] == (["in_the_future"] if refused else [])


@pytest.mark.parametrize(
    ("born", "looked_after", "codes"),
    [
        P(date(2012, 3, 14), date(2026, 11, 25), [], id="looked after from today"),
        P(date(2026, 11, 26), date(2026, 11, 26), ["in_the_future"], id="born tomorrow (England's day)"),
        P(date(2012, 3, 14), date(2026, 11, 26), ["in_the_future"], id="looked after from tomorrow"),
        P(date(2012, 3, 14), date(2011, 1, 1), ["looked_after_before_birth"], id="looked after before birth"),
    ],
)
def test_registration_refusals(born: date, looked_after: date, codes: list[str]) -> None:
    reasons = rules.registration_refusals(born, looked_after, utc(2026, 11, 25, 12))
    assert [r.code for r in reasons] == codes


@pytest.mark.parametrize(
    ("occurred", "recorded", "hours", "late"),
    [
        P(utc(2026, 11, 1, 12), utc(2026, 11, 2, 12), 24, False, id="exactly 24h"),
        P(utc(2026, 11, 1, 12), utc(2026, 11, 2, 12, 0, 1), 24, True, id="just over 24h"),
        P(utc(2026, 11, 1, 12), utc(2026, 11, 1, 20), 4, True, id="configured 4h"),
    ],
)
def test_late_entry(occurred: datetime, recorded: datetime, hours: float, late: bool) -> None:
    assert rules.is_late_entry(occurred, recorded, hours) is late


# ---- serious incidents ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("category", "police", "hospital", "needed"),
    [
        P("overdose", False, False, True, id="overdose"),
        P("self_harm", False, False, True, id="self-harm"),
        P("missing", False, False, True, id="missing"),
        P("police_called", False, False, True, id="police called"),
        P("sexual_exploitation", False, False, True, id="exploitation"),
        P("damage", True, False, True, id="police called flag"),
        P("seizure", False, True, True, id="hospital treatment"),
        P("seizure", False, False, False, id="seizure at home"),
        P("medication_error", False, False, False, id="medication error"),
        P("found", False, False, False, id="found: RHI instead"),
    ],
)
def test_needs_follow_up_visit(category: str, police: bool, hospital: bool, needed: bool) -> None:
    assert rules.needs_follow_up_visit(category, police_called=police, needed_hospital_treatment=hospital) is needed


@pytest.mark.parametrize(
    ("incident", "due"),
    [
        P(utc(2026, 11, 24, 22), utc(2026, 11, 26, 22), id="Tuesday -> Thursday"),
        P(utc(2026, 11, 27, 9), utc(2026, 12, 1, 9), id="Friday -> Tuesday"),
        P(utc(2026, 12, 24, 9), utc(2026, 12, 30, 9), id="Christmas Eve -> 30 Dec (25, 28 are bank holidays)"),
        P(utc(2027, 3, 25, 9), utc(2027, 3, 31, 8), id="Maundy Thursday -> Wednesday after Easter (09:00 local)"),
        P(utc(2026, 12, 31, 15), utc(2027, 1, 5, 15), id="New Year's Eve -> 5 Jan"),
    ],
)
def test_follow_up_visit_due(incident: datetime, due: datetime) -> None:
    assert rules.follow_up_visit_due(incident, 2) == due


def test_return_home_interview_is_72_hours_including_weekends() -> None:
    assert rules.needs_return_home_interview("found")
    assert not rules.needs_return_home_interview("missing")
    assert rules.return_home_interview_due(utc(2026, 12, 24, 20)) == utc(2026, 12, 27, 20)


# ---- complaints ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("made_by", "serious", "about", "row9", "lado"),
    [
        P("child", False, uuid.uuid4(), True, True, id="child about carer"),
        P("child", False, None, False, False, id="child, not about carer"),
        P("parent", True, uuid.uuid4(), True, False, id="serious, about carer"),
        P("parent", False, uuid.uuid4(), False, False, id="not serious parent complaint"),
        P("other", True, None, False, False, id="serious, not about a carer"),
    ],
)
def test_complaint_flags(made_by: str, serious: bool, about: uuid.UUID | None, row9: bool, lado: bool) -> None:
    assert rules.complaint_flags(made_by=made_by, serious=serious, about_household_id=about) == (row9, lado)


@pytest.mark.parametrize(
    ("received", "stage", "extended", "due"),
    [
        P(utc(2026, 11, 2, 10), 1, None, utc(2026, 11, 16, 10), id="stage 1 plain"),
        P(utc(2026, 12, 18, 10), 1, None, utc(2027, 1, 6, 10), id="stage 1 over Christmas"),
        P(utc(2027, 3, 24, 10), 1, None, datetime(2027, 4, 9, 10, tzinfo=ENGLAND), id="stage 1 over Easter"),
        P(utc(2026, 11, 2, 10), 1, 20, utc(2026, 11, 30, 10), id="stage 1 extended to 20"),
        P(utc(2026, 11, 2, 10), 2, None, utc(2026, 12, 7, 10), id="stage 2: 25"),
        P(utc(2026, 11, 2, 10), 2, 65, utc(2027, 2, 4, 10), id="stage 2 at most 65"),
        P(utc(2026, 11, 2, 10), 3, None, utc(2026, 12, 14, 10), id="stage 3 panel: 30"),
    ],
)
def test_complaint_stage_due(received: datetime, stage: int, extended: int | None, due: datetime) -> None:
    assert rules.complaint_stage_due(received, stage, extended_to=extended) == due


@pytest.mark.parametrize(
    ("stage", "extended"),
    [
        P(1, 21, id="stage 1 beyond 20"),
        P(1, 9, id="stage 1 shorter"),
        P(2, 66, id="stage 2 beyond 65"),
        P(3, 31, id="3"),
    ],
)
def test_complaint_extension_limits(stage: int, extended: int) -> None:
    with pytest.raises(ValueError):
        rules.complaint_stage_working_days(stage, extended_to=extended)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        P(utc(2026, 11, 25, 12), utc(2026, 11, 27, 12), id="Wednesday"),
        P(utc(2026, 11, 27, 10), utc(2026, 11, 29, 10), id="Friday 10:00: due Sunday 10:00, 48 hours"),
        P(utc(2026, 12, 24, 9), utc(2026, 12, 26, 9), id="Christmas Eve: bank holidays count"),
        P(utc(2027, 3, 27, 12), utc(2027, 3, 29, 12), id="across the clocks going forward: 48 real hours"),
    ],
)
def test_complaint_acknowledgement_due_is_48_hours(received: datetime, due: datetime) -> None:
    assert rules.complaint_ack_due(received, 48) == due


@pytest.mark.parametrize(
    ("due", "now", "overdue"),
    [
        P(utc(2026, 11, 25, 12), utc(2026, 11, 25, 12), False, id="at the deadline"),
        P(utc(2026, 11, 25, 12), utc(2026, 11, 25, 12) + timedelta(seconds=1), True, id="a second after"),
    ],
)
def test_is_overdue(due: datetime, now: datetime, overdue: bool) -> None:
    assert rules.is_overdue(due, now) is overdue


@pytest.mark.parametrize(
    ("instant", "now", "days"),
    [
        P(None, utc(2026, 11, 25, 12), None, id="never"),
        P(utc(2026, 11, 24, 23, 30), utc(2026, 11, 25, 0, 30), 1, id="yesterday"),
        P(utc(2026, 9, 26, 12), utc(2026, 11, 25, 12), 60, id="60 days"),
    ],
)
def test_days_since(instant: datetime | None, now: datetime, days: int | None) -> None:
    assert rules.days_since(instant, now) == days


def test_every_statutory_number_has_a_source() -> None:
    for key, rule in rules.STATUTORY.items():
        assert rule.source and rule.value > 0, key
        assert rule.unit in ("days", "weeks", "months", "working_days", "hours"), key
