"""The KPIs of docs/domain.md §4 (targets and tolerances, each with its source; those marked (local) are
common council practice, not law) and how each is measured from the facts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from typing_extensions import TypedDict

from services.investigations.rules.facts import (
    Allocation,
    Child,
    Deadline,
    Hold,
    Household,
    Notification,
    Placement,
    Visit,
)
from services.investigations.rules.months import LONDON

STATUTORY_VISIT_WINDOW = timedelta(weeks=6)  # docs/domain.md §4: "within the last 6 weeks"
CONSECUTIVE_MONTHS_FOR_FAILURE = 3  # docs/domain.md §4: "outside tolerance for 3 consecutive months"


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    unit: Literal["percent", "count"]
    target: float | None  # None: shown for information, never a failure
    better: Literal["higher", "lower"]
    source: str


KPIS: tuple[Kpi, ...] = (
    Kpi(
        "statutory_visits_within_6_weeks",
        "Children in care with a statutory visit within the last 6 weeks",
        "percent",
        95.0,
        "higher",
        "CPPR 2010 reg 28; target docs/domain.md §4 (NCT was 89.9%)",
    ),
    Kpi("visits_seen_alone", "Visits where the child was seen alone", "percent", 90.0, "higher", "CPPR reg 29 (local)"),
    Kpi(
        "visits_child_views_recorded",
        "Visits with the child's views recorded",
        "percent",
        95.0,
        "higher",
        "CPPR reg 29 (local)",
    ),
    Kpi(
        "complaints_acknowledged_within_48h",
        "Complaints acknowledged within 48 hours",
        "percent",
        95.0,
        "higher",
        "NCT KPI (local)",
    ),
    Kpi(
        "complaints_stage1_within_10_working_days",
        "Stage 1 complaints answered within 10 working days",
        "percent",
        95.0,
        "higher",
        "Children Act 1989 Representations Procedure (England) Regs 2006 (target local)",
    ),
    Kpi(
        "allegations_referred_within_1_working_day",
        "Allegations referred to the LADO within 1 working day",
        "percent",
        100.0,
        "higher",
        "Working Together to Safeguard Children 2023, chapter 4",
    ),
    Kpi(
        "schedule7_sent_within_24h",
        "Schedule 7 notifications sent within 24 hours",
        "percent",
        100.0,
        "higher",
        "Fostering Services (England) Regulations 2011 reg 36, NMS 29",
    ),
    Kpi("overdue_visits", "Overdue visits to children", "count", 0, "lower", "CPPR 2010 reg 28"),
    Kpi("overdue_supervisions", "Overdue carer supervisions", "count", 0, "lower", "NMS 21 (monthly: local)"),
    Kpi("overdue_unannounced_visits", "Overdue unannounced visits", "count", 0, "lower", "NMS 21.8"),
    Kpi("overdue_annual_reviews", "Overdue annual reviews of approval", "count", 0, "lower", "FS(E) Regs 2011 reg 28"),
    Kpi("overdue_dbs_checks", "Overdue household DBS checks", "count", 0, "lower", "FS(E) Regs 2011 Schedule 3"),
    Kpi("overdue_training", "Overdue carer training", "count", 0, "lower", "NMS 20"),
    Kpi("households_on_hold", "Households on hold for new placements", "count", None, "lower", "docs/domain.md §2"),
    Kpi(
        "children_placed_while_on_hold",
        "Children placed with a household while it was on hold (must be 0)",
        "count",
        0,
        "lower",
        "docs/domain.md §2",
    ),
)
KPI_BY_KEY = {k.key: k for k in KPIS}

# Deadline kinds (DeadlineSet.kind) counted as overdue work, by category.
OVERDUE_CATEGORIES: dict[str, str] = {
    "visits.statutory_visit": "visits",
    "visits.follow_up_visit": "visits",
    "visits.return_home_interview": "visits",
    "carers.supervision": "supervisions",
    "carers.supervision_follow_up": "supervisions",
    "carers.unannounced_visit": "unannounced_visits",
    "carers.annual_review": "annual_reviews",
    "carers.approval_review": "annual_reviews",
    "carers.dbs_check": "dbs_checks",
    "carers.tsd_standards": "training",
    "carers.safeguarding_training": "training",
    "carers.training_renewal": "training",
}
CATEGORIES = ("visits", "supervisions", "unannounced_visits", "annual_reviews", "dbs_checks", "training")
COMPLAINT_ACK_KIND = "visits.complaint_acknowledgement"
COMPLAINT_STAGE1_KIND = "visits.complaint_stage1_response"
LADO_REFERRAL_KIND = "carers.lado_referral"


class Ratio(TypedDict):
    """How many of what was due were on time."""

    numerator: int
    denominator: int
    value: float | None


def percent(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else round(100.0 * numerator / denominator, 1)


def within_tolerance(kpi: Kpi, value: float | None) -> bool | None:
    """True/False, or None when there is nothing to measure or no target."""
    if value is None or kpi.target is None:
        return None
    return value >= kpi.target if kpi.better == "higher" else value <= kpi.target


def performance_failures(history: Mapping[str, Sequence[bool | None]]) -> list[str]:
    """KPIs outside tolerance in each of the last three months (oldest first in each list)."""
    n = CONSECUTIVE_MONTHS_FOR_FAILURE
    return sorted(k for k, seq in history.items() if len(seq) >= n and all(v is False for v in seq[-n:]))


def children_in_care(placements: Iterable[Placement], at: datetime) -> dict[str, str]:
    """child id -> household id of every placement open at `at` (dates in England's local time)."""
    day = at.astimezone(LONDON).date()
    found: dict[str, str] = {}
    for p in sorted(placements, key=lambda p: (p.start, p.placement_id)):
        if p.start <= day and (p.end is None or p.end > day):
            found[p.child_id] = p.household_id
    return found


def last_statutory_visits(visits: Iterable[Visit], at: datetime) -> dict[str, datetime]:
    last: dict[str, datetime] = {}
    for v in visits:
        if v.statutory and v.occurred_at <= at and (v.child_id not in last or v.occurred_at > last[v.child_id]):
            last[v.child_id] = v.occurred_at
    return last


def worker_of_child(child: Child | None, allocations: Sequence[Allocation], at: datetime) -> str:
    """The child's social worker at `at`: the latest allocation still running, else the registered one."""
    current = child.social_worker_id if child else None
    for a in sorted(allocations, key=lambda a: a.occurred_at):
        if a.occurred_at > at:
            break
        if a.ended and a.worker_id == current:
            current = child.social_worker_id if child and child.social_worker_id != a.worker_id else None
        elif not a.ended:
            current = a.worker_id
    return current or "unallocated"


def worker_of_household(household: Household | None, allocations: Sequence[Allocation], at: datetime) -> str:
    current = household.supervising_social_worker_id if household else None
    for a in sorted(allocations, key=lambda a: a.occurred_at):
        if a.occurred_at > at:
            break
        if a.ended and a.worker_id == current:
            current = None
        elif not a.ended:
            current = a.worker_id
    return current or "unallocated"


def clock_compliance(deadlines: Iterable[Deadline], kind: str, start: datetime, end: datetime, at: datetime) -> Ratio:
    """Clocks of `kind` falling due in [start, end): how many were met by their due time.

    A clock counts in the month it fell due, once it is decided at `at`: met, or past due.
    Cancelled clocks (superseded, withdrawn) are not counted.
    """
    on_time = due = 0
    for d in deadlines:
        if d.kind != kind or not (start <= d.due_at < end):
            continue
        status = d.status(at)
        if status in ("cancelled", "not_started"):
            continue
        if status == "open":
            continue  # not yet due and not yet met: undecided
        due += 1
        if status == "met" and d.met_at is not None and d.met_at <= d.due_at:
            on_time += 1
    return Ratio(numerator=on_time, denominator=due, value=percent(on_time, due))


def schedule7_timeliness(notifications: Iterable[Notification], start: datetime, end: datetime, at: datetime) -> Ratio:
    on_time = due = 0
    for n in notifications:
        if n.rule_set != "schedule7" or not (start <= n.due_by < end) or n.raised_at > at:
            continue
        first = min((s[0] for s in n.sent if s[0] <= at), default=None)
        if first is None and n.due_by >= at:
            continue  # still within its 24 hours
        due += 1
        if first is not None and first <= n.due_by:
            on_time += 1
    return Ratio(numerator=on_time, denominator=due, value=percent(on_time, due))


def placed_while_on_hold(
    placements: Iterable[Placement], holds: Sequence[Hold], start: datetime, end: datetime
) -> list[str]:
    """Placements starting in [start, end) on a day their household was on hold."""
    first, last = start.astimezone(LONDON).date(), end.astimezone(LONDON).date()
    found = []
    for p in placements:
        if not (first <= p.start < last):
            continue
        day_start = datetime.combine(p.start, datetime.min.time(), tzinfo=LONDON)
        day_end = day_start + timedelta(days=1)
        for h in holds:
            if (
                h.household_id == p.household_id
                and h.placed_at < day_end
                and (h.lifted_at is None or h.lifted_at > day_start)
            ):
                found.append(p.placement_id)
                break
    return sorted(found)
