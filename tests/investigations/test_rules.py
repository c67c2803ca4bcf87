"""The KPI and export rules: pure functions, table-driven."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.investigations import rules
from services.investigations.rules import Deadline, Facts, Hold, Placement, Visit

T0 = datetime(2026, 1, 1, tzinfo=UTC)  # when the facts were recorded, unless a case says otherwise


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("month", "start", "end"),
    [
        pytest.param("2026-01", "2026-01-01T00:00", "2026-02-01T00:00", id="winter-month-is-utc"),
        pytest.param("2026-07", "2026-06-30T23:00", "2026-07-31T23:00", id="summer-month-in-bst"),
        pytest.param("2026-03", "2026-03-01T00:00", "2026-03-31T23:00", id="clocks-go-forward"),
        pytest.param("2026-12", "2026-12-01T00:00", "2027-01-01T00:00", id="year-end"),
    ],
)
def test_months_are_counted_in_england(month: str, start: str, end: str) -> None:
    assert rules.month_bounds(month) == (at(start), at(end))


@pytest.mark.parametrize("bad", ["2026-13", "2026-1", "26-01", "2026/01", ""])
def test_a_month_must_be_yyyy_mm(bad: str) -> None:
    with pytest.raises(ValueError):
        rules.parse_month(bad)


@pytest.mark.parametrize(
    ("month", "delta", "expected"),
    [("2026-01", -1, "2025-12"), ("2026-12", 1, "2027-01"), ("2026-05", -14, "2025-03"), ("2026-05", 0, "2026-05")],
)
def test_shift_month(month: str, delta: int, expected: str) -> None:
    assert rules.shift_month(month, delta) == expected


CLOSE = at("2026-02-06T00:00")


@pytest.mark.parametrize(
    ("requested", "settled", "head", "expected", "provisional"),
    [
        pytest.param(None, at("2026-06-01T00:00"), at("2026-05-31T00:00"), CLOSE, False, id="closed-month-at-close"),
        pytest.param(
            at("2026-04-01T00:00"), at("2026-06-01T00:00"), None, at("2026-04-01T00:00"), False, id="explicit-past"
        ),
        pytest.param(
            None, at("2026-02-03T00:00"), at("2026-02-02T10:00"), at("2026-02-02T10:00"), True, id="not-closed-yet"
        ),
        pytest.param(
            at("2027-01-01T00:00"),
            at("2026-06-01T00:00"),
            at("2026-06-01T00:00"),
            at("2026-06-01T00:00"),
            True,
            id="future-capped-at-last-event",
        ),
    ],
)
def test_resolve_as_of(
    requested: datetime | None, settled: datetime, head: datetime | None, expected: datetime, provisional: bool
) -> None:
    assert rules.resolve_as_of(requested, CLOSE, settled, head) == (expected, provisional)


def test_the_close_is_the_end_of_the_month_plus_the_local_days() -> None:
    assert rules.month_close("2026-01", 5) == at("2026-02-06T00:00")


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("statutory_visits_within_6_weeks", 95.0, True),
        ("statutory_visits_within_6_weeks", 94.9, False),
        ("statutory_visits_within_6_weeks", None, None),
        ("overdue_visits", 0, True),
        ("overdue_visits", 1, False),
        ("households_on_hold", 4, None),
        ("children_placed_while_on_hold", 1, False),
    ],
)
def test_within_tolerance(key: str, value: float | None, expected: bool | None) -> None:
    assert rules.within_tolerance(rules.KPI_BY_KEY[key], value) is expected


@pytest.mark.parametrize(
    ("seq", "failing"),
    [
        pytest.param([False, False, False], True, id="three-in-a-row"),
        pytest.param([True, False, False], False, id="only-two"),
        pytest.param([False, None, False], False, id="a-month-with-nothing-to-measure-breaks-the-run"),
        pytest.param([False, False], False, id="too-short"),
        pytest.param([True, False, False, False], True, id="last-three"),
    ],
)
def test_performance_failure_needs_three_consecutive_months(seq: list[bool | None], failing: bool) -> None:
    assert (rules.performance_failures({"k": seq}) == ["k"]) is failing


def deadline(kind: str, due: str, met: str | None = None, cancelled: str | None = None, **kw: object) -> Deadline:
    return Deadline(
        deadline_id=f"d-{kind}-{due}",
        kind=kind,
        subject=str(kw.get("subject", "child-c1")),
        started_at=at(str(kw.get("started", "2025-12-01T00:00"))),
        due_at=at(due),
        recorded_at=T0,
        met_at=at(met) if met else None,
        met_recorded_at=T0 if met else None,
        cancelled_at=at(cancelled) if cancelled else None,
        cancelled_recorded_at=T0 if cancelled else None,
    )


@pytest.mark.parametrize(
    ("d", "when", "status"),
    [
        (deadline("k", "2026-01-10T00:00"), "2026-01-05T00:00", "open"),
        (deadline("k", "2026-01-10T00:00"), "2026-01-11T00:00", "overdue"),
        (deadline("k", "2026-01-10T00:00", met="2026-01-12T00:00"), "2026-01-11T00:00", "overdue"),
        (deadline("k", "2026-01-10T00:00", met="2026-01-12T00:00"), "2026-01-13T00:00", "met"),
        (deadline("k", "2026-01-10T00:00", cancelled="2026-01-09T00:00"), "2026-01-13T00:00", "cancelled"),
        (deadline("k", "2026-01-10T00:00", started="2026-01-08T00:00"), "2026-01-05T00:00", "not_started"),
    ],
)
def test_deadline_status_at_an_instant(d: Deadline, when: str, status: str) -> None:
    assert d.status(at(when)) == status


def test_clock_compliance_counts_each_clock_in_the_month_it_fell_due() -> None:
    kind = rules.COMPLAINT_ACK_KIND
    start, end = rules.month_bounds("2026-01")
    ds = [
        deadline(kind, "2026-01-03T00:00", met="2026-01-02T00:00"),  # on time
        deadline(kind, "2026-01-05T00:00", met="2026-01-09T00:00"),  # late
        deadline(kind, "2026-01-20T00:00"),  # never met: late
        deadline(kind, "2026-01-21T00:00", cancelled="2026-01-10T00:00"),  # withdrawn: not counted
        deadline(kind, "2026-02-02T00:00", met="2026-01-30T00:00"),  # due next month
        deadline("other.kind", "2026-01-03T00:00"),
    ]
    assert rules.clock_compliance(ds, kind, start, end, end) == {"numerator": 1, "denominator": 3, "value": 33.3}
    # Part way through the month only what is decided counts.
    assert rules.clock_compliance(ds, kind, start, end, at("2026-01-06T00:00"))["denominator"] == 2


def placement(pid: str, child: str, hh: str, start: date, end: date | None = None) -> Placement:
    return Placement(pid, child, hh, start, T0, end, T0 if end else None)


def visit(child: str, when: str, *, role: str = "child_social_worker", seen: bool = True, alone: bool = True) -> Visit:
    return Visit(child, "sw-1", role, at(when), seen, alone and seen, seen, T0)


def test_compute_month_statutory_visits_and_quality() -> None:
    facts = Facts(
        children=(rules.Child("c1", "A", "sw-1", T0), rules.Child("c2", "B", "sw-2", T0)),
        placements=(
            placement("p1", "c1", "h1", date(2025, 10, 1)),
            placement("p2", "c2", "h1", date(2025, 10, 1)),
            placement("p3", "c3", "h2", date(2025, 10, 1), end=date(2025, 12, 1)),  # left care
        ),
        visits=(
            visit("c1", "2026-01-20T10:00"),  # within 6 weeks of 1 Feb
            visit("c2", "2025-12-01T10:00"),  # more than 6 weeks before
            visit("c2", "2026-01-25T10:00", role="supervising_social_worker", alone=False),  # not statutory
        ),
    )
    out = rules.compute_month(facts, "2026-01", at("2026-03-01T00:00"))
    assert out["measured_at"] == "2026-02-01T00:00:00Z"
    k = out["kpis"]
    figure = k["statutory_visits_within_6_weeks"]
    assert (figure["numerator"], figure["denominator"], figure["value"]) == (1, 2, 50.0)
    assert k["statutory_visits_within_6_weeks"]["within_tolerance"] is False
    assert k["visits_seen_alone"]["value"] == 50.0
    assert k["visits_child_views_recorded"]["value"] == 100.0
    assert out["per_worker"]["sw-1"]["children_visited_within_6_weeks"] == 1
    assert out["per_worker"]["sw-2"]["children_in_care"] == 1
    assert out["per_household"]["h1"]["children_placed"] == 2


def test_compute_month_overdue_work_per_worker_and_household() -> None:
    facts = Facts(
        children=(rules.Child("c1", "A", "sw-1", T0),),
        households=(rules.Household("h1", "The Smiths", "ssw-1", T0),),
        placements=(placement("p1", "c1", "h1", date(2025, 10, 1)),),
        deadlines=(
            deadline("visits.statutory_visit", "2026-01-10T00:00", subject="child-c1"),
            deadline("carers.supervision", "2026-01-15T00:00", subject="household-h1"),
            deadline("carers.dbs_check", "2026-01-15T00:00", met="2026-01-14T00:00", subject="household-h1"),
        ),
    )
    out = rules.compute_month(facts, "2026-01", at("2026-03-01T00:00"))
    assert out["kpis"]["overdue_visits"]["value"] == 1
    assert out["kpis"]["overdue_supervisions"]["value"] == 1
    assert out["kpis"]["overdue_dbs_checks"]["value"] == 0
    assert out["per_worker"]["sw-1"]["overdue"]["visits"] == 1
    assert out["per_worker"]["ssw-1"]["overdue"]["supervisions"] == 1
    assert out["per_household"]["h1"]["overdue_total"] == 2


@pytest.mark.parametrize(
    ("left", "left_recorded", "overdue", "listed"),
    [
        pytest.param(None, None, False, True, id="fostering"),
        pytest.param("2026-01-20T00:00", T0, False, True, id="left-in-the-month"),
        pytest.param("2025-06-30T00:00", T0, False, False, id="left-before-it"),
        pytest.param("2025-06-30T00:00", T0, True, True, id="left-before-with-work-overdue-in-it"),
        pytest.param("2025-06-30T00:00", at("2026-06-01T00:00"), False, True, id="left-before-but-not-known-then"),
    ],
)
def test_a_month_lists_the_households_fostering_in_it(
    left: str | None, left_recorded: datetime | None, overdue: bool, listed: bool
) -> None:
    household = rules.Household("h1", "The Smiths", "ssw-1", T0, at(left) if left else None, left_recorded)
    clocks = (deadline("carers.supervision", "2025-05-15T00:00", subject="household-h1"),) if overdue else ()
    facts = Facts(households=(household,), deadlines=clocks).known_at(at("2026-03-01T00:00"))
    out = rules.compute_month(facts, "2026-01", at("2026-03-01T00:00"))
    assert ("h1" in out["per_household"]) is listed


def test_placements_made_while_a_household_was_on_hold() -> None:
    holds = [Hold("x", "h1", at("2026-01-10T09:00"), T0, at("2026-01-20T12:00"), T0)]
    placements = [
        placement("before", "c1", "h1", date(2026, 1, 5)),
        placement("during", "c2", "h1", date(2026, 1, 12)),
        placement("lift-day", "c3", "h1", date(2026, 1, 20)),
        placement("elsewhere", "c4", "h2", date(2026, 1, 12)),
        placement("after", "c5", "h1", date(2026, 1, 21)),
    ]
    start, end = rules.month_bounds("2026-01")
    assert rules.placed_while_on_hold(placements, holds, start, end) == ["during", "lift-day"]


def test_known_at_forgets_what_was_recorded_later() -> None:
    later = T0 + timedelta(days=30)
    facts = Facts(
        visits=(visit("c1", "2025-12-20T10:00"), Visit("c1", "sw", "child_social_worker", T0, True, True, True, later)),
        deadlines=(
            Deadline("d", "k", "child-c1", T0, T0 + timedelta(days=1), T0, None, T0 + timedelta(hours=1), later),
        ),
    )
    known = facts.known_at(T0 + timedelta(days=1))
    assert len(known.visits) == 1
    assert known.deadlines[0].met_at is None


@pytest.mark.parametrize(
    ("event_type", "data", "child_ids", "expected"),
    [
        pytest.param("visits.VisitRecorded", {}, ["me"], [], id="own-visit"),
        pytest.param("visits.VisitRecorded", {}, ["me", "other"], ["concerns 1 other child too"], id="sibling"),
        pytest.param("visits.ContactRecorded", {"with_whom": "the child"}, ["me"], [], id="contact-with-child"),
        pytest.param(
            "visits.ContactRecorded",
            {"with_whom": "mum"},
            ["me"],
            ["a contact with mum: third-party information"],
            id="contact-with-mum",
        ),
        pytest.param(
            "carers.AllegationReceived",
            {},
            ["me", "a", "b"],
            ["concerns 2 other children too", "allegation details about an adult in the household"],
            id="allegation",
        ),
        pytest.param(
            "visits.ComplaintReceived",
            {"made_by": "parent"},
            ["me"],
            ["a complaint: may name the carers, parents or others", "made by a parent, not the child"],
            id="complaint-by-parent",
        ),
    ],
)
def test_redaction_flags(event_type: str, data: dict, child_ids: list[str], expected: list[str]) -> None:
    assert rules.redaction_flags(event_type, data, child_ids, "me") == expected
