"""One month's figures: every KPI of docs/domain.md §4, and the same per worker and per household."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, NotRequired

from typing_extensions import TypedDict

from services.investigations.rules.facts import Allocation, Facts, Visit
from services.investigations.rules.kpis import (
    CATEGORIES,
    KPI_BY_KEY,
    OVERDUE_CATEGORIES,
    STATUTORY_VISIT_WINDOW,
    TIMELINESS_CLOCKS,
    Ratio,
    children_in_care,
    clock_compliance,
    last_statutory_visits,
    percent,
    placed_while_on_hold,
    schedule7_timeliness,
    stage1_timeliness,
    within_tolerance,
    worker_of_child,
    worker_of_household,
)
from services.investigations.rules.months import iso, month_bounds


# ---- the figures as reported -------------------------------------------------------------------
class _Described(TypedDict):
    label: str
    unit: Literal["percent", "count"]
    target: float | None
    within_tolerance: bool | None
    source: str


class RatioFigure(_Described):
    numerator: int
    denominator: int
    value: float | None
    beside: NotRequired[dict[str, int]]


class CountFigure(_Described):
    value: int


Figure = RatioFigure | CountFigure


class WorkerFigures(TypedDict):
    children_in_care: int
    children_visited_within_6_weeks: int
    statutory_visits_within_6_weeks: float | None
    visits: int
    visits_seen_alone: int
    visits_child_views_recorded: int
    overdue: dict[str, int]
    overdue_total: int


class HouseholdFigures(TypedDict):
    name: str | None
    supervising_social_worker_id: str
    on_hold: bool
    children_placed: int
    children_visited_within_6_weeks: int
    supervisions: int
    unannounced_visits: int
    children_placed_while_on_hold: int
    overdue: dict[str, int]
    overdue_total: int


class MonthFigures(TypedDict):
    month: str
    measured_at: str
    kpis: dict[str, Figure]
    escalations_raised: int
    households_on_hold: list[str]
    placements_while_on_hold: list[str]
    per_worker: dict[str, WorkerFigures]
    per_household: dict[str, HouseholdFigures]


def _ratio(kpi: str, ratio: Ratio) -> RatioFigure:
    k = KPI_BY_KEY[kpi]
    figure = RatioFigure(
        numerator=ratio["numerator"],
        denominator=ratio["denominator"],
        value=ratio["value"],
        label=k.label,
        unit=k.unit,
        target=k.target,
        within_tolerance=within_tolerance(k, ratio["value"]),
        source=k.source,
    )
    if "beside" in ratio:
        figure["beside"] = ratio["beside"]
    return figure


def _count(kpi: str, value: int) -> CountFigure:
    k = KPI_BY_KEY[kpi]
    return CountFigure(
        value=value,
        label=k.label,
        unit=k.unit,
        target=k.target,
        within_tolerance=within_tolerance(k, value),
        source=k.source,
    )


# ---- tallies -----------------------------------------------------------------------------------
def _no_overdue() -> dict[str, int]:
    return {c: 0 for c in CATEGORIES}


@dataclass
class _Worker:
    children_in_care: int = 0
    children_visited_within_6_weeks: int = 0
    visits: int = 0
    visits_seen_alone: int = 0
    visits_child_views_recorded: int = 0
    overdue: dict[str, int] = field(default_factory=_no_overdue)

    def figures(self) -> WorkerFigures:
        return WorkerFigures(
            children_in_care=self.children_in_care,
            children_visited_within_6_weeks=self.children_visited_within_6_weeks,
            statutory_visits_within_6_weeks=percent(self.children_visited_within_6_weeks, self.children_in_care),
            visits=self.visits,
            visits_seen_alone=self.visits_seen_alone,
            visits_child_views_recorded=self.visits_child_views_recorded,
            overdue=self.overdue,
            overdue_total=sum(self.overdue.values()),
        )


@dataclass
class _Household:
    name: str | None
    supervising_social_worker_id: str
    on_hold: bool = False
    children_placed: int = 0
    children_visited_within_6_weeks: int = 0
    supervisions: int = 0
    unannounced_visits: int = 0
    children_placed_while_on_hold: int = 0
    overdue: dict[str, int] = field(default_factory=_no_overdue)

    def figures(self) -> HouseholdFigures:
        return HouseholdFigures(
            name=self.name,
            supervising_social_worker_id=self.supervising_social_worker_id,
            on_hold=self.on_hold,
            children_placed=self.children_placed,
            children_visited_within_6_weeks=self.children_visited_within_6_weeks,
            supervisions=self.supervisions,
            unannounced_visits=self.unannounced_visits,
            children_placed_while_on_hold=self.children_placed_while_on_hold,
            overdue=self.overdue,
            overdue_total=sum(self.overdue.values()),
        )


class _Month:
    """The facts of one month measured at `at`, tallied per worker and per household as it goes."""

    def __init__(self, facts: Facts, month: str, at: datetime) -> None:
        self.facts, self.month = facts, month
        self.start, self.end = month_bounds(month)
        self.at = min(at, self.end)
        self.children = {c.child_id: c for c in facts.children}
        self.households = {h.household_id: h for h in facts.households}
        self.allocations: dict[str, list[Allocation]] = defaultdict(list)
        for a in facts.allocations:
            self.allocations[a.subject_id].append(a)
        self.workers: dict[str, _Worker] = defaultdict(_Worker)
        self.per_household: dict[str, _Household] = {}
        # Every household fostering in the month; one that left before it only if the month
        # still has something of it (a clock overdue, a placement, a supervision).
        for hid, h in sorted(self.households.items()):
            if not h.left_before(self.start):
                self.household(hid)

    def household(self, hid: str) -> _Household:
        if hid not in self.per_household:
            known = self.households.get(hid)
            self.per_household[hid] = _Household(
                name=known.name if known else None,
                supervising_social_worker_id=worker_of_household(known, self.allocations[hid], self.at),
            )
        return self.per_household[hid]

    def child_worker(self, child_id: str) -> _Worker:
        return self.workers[worker_of_child(self.children.get(child_id), self.allocations[child_id], self.at)]

    def in_the_month(self, when: datetime) -> bool:
        return self.start <= when < self.end and when <= self.at

    def statutory_visits(self) -> tuple[dict[str, str], int]:
        """The children in care at `at` (child -> household), and how many were visited in time."""
        in_care = children_in_care(self.facts.placements, self.at)
        last = last_statutory_visits(self.facts.visits, self.at)
        visited = 0
        for cid, hid in sorted(in_care.items()):
            ok = cid in last and self.at - last[cid] <= STATUTORY_VISIT_WINDOW
            visited += ok
            worker, household = self.child_worker(cid), self.household(hid)
            worker.children_in_care += 1
            worker.children_visited_within_6_weeks += ok
            household.children_placed += 1
            household.children_visited_within_6_weeks += ok
        return in_care, visited

    def visits(self) -> list[Visit]:
        """The month's visits, each counted for its visitor."""
        found = [v for v in self.facts.visits if self.in_the_month(v.occurred_at)]
        for v in found:
            worker = self.workers[v.visitor_id]
            worker.visits += 1
            worker.visits_seen_alone += v.seen_alone
            worker.visits_child_views_recorded += v.child_seen and v.views_recorded
        return found

    def supervisions(self) -> None:
        for s in self.facts.supervisions:
            if self.in_the_month(s.occurred_at):
                household = self.household(s.household_id)
                household.supervisions += 1
                household.unannounced_visits += s.unannounced

    def overdue(self, in_care: Mapping[str, str]) -> dict[str, int]:
        """Work overdue at `at`, per category, counted for its worker and household too."""
        overdue = _no_overdue()
        for d in self.facts.deadlines:
            category = OVERDUE_CATEGORIES.get(d.kind)
            if category is None or d.status(self.at) != "overdue":
                continue
            overdue[category] += 1
            kind, _, subject_id = d.subject.partition("-")
            if kind == "worker":  # a worker's own clock (supervision, training) is theirs
                self.workers[subject_id].overdue[category] += 1
                continue
            if kind == "child":
                worker = self.child_worker(subject_id)
                hid = d.household_id or in_care.get(subject_id)
            else:
                hid = d.household_id or (subject_id if kind == "household" else None)
                worker = self.workers[
                    worker_of_household(self.households.get(hid or ""), self.allocations[hid or ""], self.at)
                ]
            worker.overdue[category] += 1
            if hid:
                self.household(hid).overdue[category] += 1
        return overdue

    def holds(self) -> tuple[list[str], list[str]]:
        """The households on hold at `at`, and the placements made during a hold."""
        on_hold = sorted({h.household_id for h in self.facts.holds if h.active(self.at)})
        for hid in on_hold:
            self.household(hid).on_hold = True
        during = placed_while_on_hold(self.facts.placements, self.facts.holds, self.start, self.end)
        by_id = {p.placement_id: p for p in self.facts.placements}
        for pid in during:
            self.household(by_id[pid].household_id).children_placed_while_on_hold += 1
        return on_hold, during

    def clock(self, kind: str) -> Ratio:
        return clock_compliance(self.facts.deadlines, kind, self.start, self.end, self.at)


def _quality(visits: list[Visit]) -> dict[str, Ratio]:
    """Of the month's visits: seen alone; the child's views recorded (of those where seen)."""
    alone = sum(v.seen_alone for v in visits)
    seen = sum(v.child_seen for v in visits)
    views = sum(v.child_seen and v.views_recorded for v in visits)
    return {
        "visits_seen_alone": Ratio(numerator=alone, denominator=len(visits), value=percent(alone, len(visits))),
        "visits_child_views_recorded": Ratio(numerator=views, denominator=seen, value=percent(views, seen)),
    }


def compute_month(facts: Facts, month: str, at: datetime) -> MonthFigures:
    """Every KPI of docs/domain.md §4 for `month`, measured at `at` (the month's end, or earlier if the
    report is provisional), from `facts` already narrowed to what was known as of the report."""
    m = _Month(facts, month, at)
    in_care, visited = m.statutory_visits()
    visits = m.visits()
    m.supervisions()
    overdue = m.overdue(in_care)
    on_hold, during_hold = m.holds()
    ratios: dict[str, Ratio] = {
        "statutory_visits_within_6_weeks": Ratio(
            numerator=visited, denominator=len(in_care), value=percent(visited, len(in_care))
        ),
        **_quality(visits),
        **{key: m.clock(kind) for key, kind in TIMELINESS_CLOCKS.items()},
        "complaints_stage1_within_10_working_days": stage1_timeliness(facts.deadlines, m.start, m.end, m.at),
        "schedule7_sent_within_24h": schedule7_timeliness(facts.notifications, m.start, m.end, m.at),
    }
    counts = {
        **{f"overdue_{c}": overdue[c] for c in CATEGORIES},
        "households_on_hold": len(on_hold),
        "children_placed_while_on_hold": len(during_hold),
    }
    kpis: dict[str, Figure] = {k: _ratio(k, r) for k, r in ratios.items()}
    kpis.update({k: _count(k, v) for k, v in counts.items()})
    return MonthFigures(
        month=month,
        measured_at=iso(m.at),
        kpis=kpis,
        escalations_raised=sum(1 for e in facts.escalations if m.in_the_month(e.raised_at)),
        households_on_hold=on_hold,
        placements_while_on_hold=during_hold,
        per_worker={name: w.figures() for name, w in sorted(m.workers.items())},
        per_household={hid: h.figures() for hid, h in sorted(m.per_household.items())},
    )


def kpi_outcomes(figures: MonthFigures) -> dict[str, bool | None]:
    return {k: v["within_tolerance"] for k, v in figures["kpis"].items()}


class Change(TypedDict):
    at_close: float | None
    as_of: float | None


def changed_figures(before: MonthFigures, after: MonthFigures) -> dict[str, Change]:
    """KPIs whose value differs between two reports of the same month."""
    changed: dict[str, Change] = {}
    for key, figure in after["kpis"].items():
        old = before["kpis"][key]["value"] if key in before["kpis"] else None
        if old != figure["value"]:
            changed[key] = Change(at_close=old, as_of=figure["value"])
    return changed
