"""The monthly KPI report: a month's figures as the log stood at an instant, the performance
failures of the months before it, and why a report later than the close differs from the official
one (the late entries). A document of canonical JSON: the same month and instant, the same bytes."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NotRequired

from typing_extensions import TypedDict

from services.investigations.rules.facts import Facts, Window
from services.investigations.rules.kpis import (
    COMPLAINT_STAGE1_KIND,
    CONSECUTIVE_MONTHS_FOR_FAILURE,
    STATUTORY_VISIT_WINDOW,
    performance_failures,
)
from services.investigations.rules.month import (
    Change,
    Figure,
    HouseholdFigures,
    MonthFigures,
    WorkerFigures,
    changed_figures,
    compute_month,
    kpi_outcomes,
)
from services.investigations.rules.months import LONDON, iso, month_bounds, shift_month

LATE_ENTRIES_LISTED = 200


class Period(TypedDict):
    start: str
    end: str


class Anchor(TypedDict):
    """The last event the report includes: where it stands in the log, and its hash."""

    position: int
    hash: str | None


class Performance(TypedDict):
    months: list[str]
    outside_tolerance: dict[str, list[bool]]
    failures: list[str]
    rule: str


class LateEntry(TypedDict):
    position: int
    event_id: str
    type: str
    occurred_at: str
    recorded_at: str
    summary: str | None


class LateEntries(TypedDict):
    explanation: str
    baseline_as_of: str
    count: int
    by_type: dict[str, int]
    entries: list[LateEntry]
    listed: int
    changed: dict[str, Change]


class KpiReport(TypedDict):
    report: str
    month: str
    period: Period
    close: str
    close_days: float
    as_of: str
    provisional: bool
    official: bool
    log: Anchor
    measured_at: str
    kpis: dict[str, Figure]
    escalations_raised: int
    households_on_hold: list[str]
    placements_while_on_hold: list[str]
    per_worker: dict[str, WorkerFigures]
    per_household: dict[str, HouseholdFigures]
    performance: Performance
    late_entries: LateEntries | None
    note: NotRequired[str]


@dataclass(frozen=True)
class Reading:
    """Which instant a report reads the log at, and what that instant is to the month."""

    month: str
    as_of: datetime
    provisional: bool
    close: datetime
    close_days: float
    log: Anchor


def _months(reading: Reading) -> list[str]:
    """The months a report measures: its own and the ones before it its performance reads."""
    return [shift_month(reading.month, -k) for k in range(CONSECUTIVE_MONTHS_FOR_FAILURE - 1, -1, -1)]


def report_window(reading: Reading) -> Window:
    """What the report of `reading` reads of the facts (rules.facts.Window): its months, each
    measured at its end or at as_of, and the month measured at its close for the late entries."""
    months = _months(reading)
    due_from = month_bounds(months[0])[0]
    measured = [min(month_bounds(m)[1], reading.as_of) for m in months]
    measured.append(min(month_bounds(reading.month)[1], reading.close))
    since = min([due_from, *measured])
    return Window(
        since=since,
        since_day=since.astimezone(LONDON).date(),
        due_from=due_from,
        visits_from=since - STATUTORY_VISIT_WINDOW - timedelta(days=1),
        baseline=min(reading.as_of, reading.close),
        every_clock_of=frozenset({COMPLAINT_STAGE1_KIND}),
    )


def _performance(facts: Facts, reading: Reading, figures: MonthFigures) -> Performance:
    """Each KPI in and out of tolerance over the last months: three out in a row is a failure."""
    months = _months(reading)[:-1]
    history: dict[str, list[bool | None]] = defaultdict(list)
    for earlier in months:
        measured = compute_month(facts, earlier, min(month_bounds(earlier)[1], reading.as_of))
        for key, value in kpi_outcomes(measured).items():
            history[key].append(value)
    for key, value in kpi_outcomes(figures).items():
        history[key].append(value)
    return Performance(
        months=[*months, reading.month],
        outside_tolerance={k: [v is False for v in seq] for k, seq in sorted(history.items())},
        failures=performance_failures(history),
        rule="a KPI outside tolerance for 3 consecutive months is a performance failure",
    )


def _late_entries(facts: Facts, reading: Reading, figures: MonthFigures, late: Sequence[LateEntry]) -> LateEntries:
    """Entries about the month recorded after its close (and by as_of): why this report differs."""
    end = month_bounds(reading.month)[1]
    baseline = compute_month(facts.known_at(reading.close), reading.month, min(end, reading.close))
    return LateEntries(
        explanation=(
            f"{len(late)} entries occurring in {reading.month} were recorded after its close "
            f"({iso(reading.close)}) and by {iso(reading.as_of)}; they are included here, so figures may "
            "differ from the official report."
        ),
        baseline_as_of=iso(reading.close),
        count=len(late),
        by_type=dict(sorted(Counter(e["type"] for e in late).items())),
        entries=list(late[:LATE_ENTRIES_LISTED]),
        listed=min(len(late), LATE_ENTRIES_LISTED),
        changed=changed_figures(baseline, figures),
    )


def assemble_report(facts: Facts, reading: Reading, late: Sequence[LateEntry] | None) -> KpiReport:
    """The report of `reading.month` from `facts` known at `reading.as_of`; `late` are the entries
    recorded after the close, when the report is read past it."""
    start, end = month_bounds(reading.month)
    figures = compute_month(facts, reading.month, min(end, reading.as_of))
    report = KpiReport(
        report="carelog monthly KPIs (docs/domain.md §4)",
        month=reading.month,
        period=Period(start=iso(start), end=iso(end)),
        close=iso(reading.close),
        close_days=reading.close_days,
        as_of=iso(reading.as_of),
        provisional=reading.provisional,
        official=not reading.provisional and reading.as_of == reading.close,
        log=reading.log,
        measured_at=figures["measured_at"],
        kpis=figures["kpis"],
        escalations_raised=figures["escalations_raised"],
        households_on_hold=figures["households_on_hold"],
        placements_while_on_hold=figures["placements_while_on_hold"],
        per_worker=figures["per_worker"],
        per_household=figures["per_household"],
        performance=_performance(facts, reading, figures),
        late_entries=_late_entries(facts, reading, figures, late) if late is not None else None,
    )
    if reading.provisional:
        report["note"] = (
            f"Provisional: the month closes at {iso(reading.close)}; entries recorded until then may change it."
        )
    return report
