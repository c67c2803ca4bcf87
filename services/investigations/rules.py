"""Pure functions behind the monthly KPIs (DOMAIN.md §4) and the subject-access export.

No I/O and no clock: callers pass plain values (the facts read from the log, `at`, `as_of`).
Targets and tolerances live in `KPIS` at the top, with their source; those marked (local) are
common council practice, not law.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

STATUTORY_VISIT_WINDOW = timedelta(weeks=6)  # DOMAIN.md §4: "within the last 6 weeks"
CONSECUTIVE_MONTHS_FOR_FAILURE = 3  # DOMAIN.md §4: "outside tolerance for 3 consecutive months"


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
        "CPPR 2010 reg 28; target DOMAIN.md §4 (NCT was 89.9%)",
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
    Kpi("households_on_hold", "Households on hold for new placements", "count", None, "lower", "DOMAIN.md §2"),
    Kpi(
        "children_placed_while_on_hold",
        "Children placed with a household while it was on hold (must be 0)",
        "count",
        0,
        "lower",
        "DOMAIN.md §2",
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


# ---- months, closes and "as of" ----------------------------------------------------------------
MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def parse_month(text: str) -> tuple[int, int]:
    match = MONTH.fullmatch(text.strip())
    if match is None:
        raise ValueError("month must be YYYY-MM, e.g. 2026-08")
    return int(match.group(1)), int(match.group(2))


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The month as [start, end) in UTC, its days counted in England's local time."""
    year, mon = parse_month(month)
    nxt = (year + 1, 1) if mon == 12 else (year, mon + 1)
    start = datetime(year, mon, 1, tzinfo=LONDON).astimezone(UTC)
    end = datetime(nxt[0], nxt[1], 1, tzinfo=LONDON).astimezone(UTC)
    return start, end


def shift_month(month: str, delta: int) -> str:
    year, mon = parse_month(month)
    index = year * 12 + (mon - 1) + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_of(instant: datetime) -> str:
    local = instant.astimezone(LONDON)
    return f"{local.year:04d}-{local.month:02d}"


def month_close(month: str, close_days: float) -> datetime:
    """When the month's figures are final: its end plus `close_days` for late entries (local)."""
    return month_bounds(month)[1] + timedelta(days=close_days)


def resolve_as_of(
    requested: datetime | None,
    close: datetime,
    settled: datetime,
    head_recorded_at: datetime | None,
) -> tuple[datetime, bool]:
    """(as_of, provisional).

    `settled` is the latest instant by which every append is committed (recorded_at never
    decreases along the log and is taken under the append lock), so any as_of up to it gives the
    same answer for ever. A later as_of is capped at the last event recorded and is provisional.
    """
    target = requested if requested is not None else close
    if target <= settled:
        return target, False
    cap = head_recorded_at if head_recorded_at is not None else settled
    return min(target, cap), True


# ---- the facts read from the log -----------------------------------------------------------------
@dataclass(frozen=True)
class Child:
    child_id: str
    name: str
    social_worker_id: str | None
    recorded_at: datetime


@dataclass(frozen=True)
class Household:
    household_id: str
    name: str
    supervising_social_worker_id: str | None
    recorded_at: datetime


@dataclass(frozen=True)
class Allocation:
    subject_id: str  # child or household id
    worker_id: str
    role: str
    occurred_at: datetime
    ended: bool
    recorded_at: datetime


@dataclass(frozen=True)
class Placement:
    placement_id: str
    child_id: str
    household_id: str
    start: date
    recorded_at: datetime
    end: date | None = None
    end_recorded_at: datetime | None = None


@dataclass(frozen=True)
class Visit:
    child_id: str
    visitor_id: str
    visitor_role: str
    occurred_at: datetime
    child_seen: bool
    seen_alone: bool
    views_recorded: bool
    recorded_at: datetime
    household_id: str | None = None

    @property
    def statutory(self) -> bool:
        """Meets the CPPR reg 28 clock: the child's social worker saw the child."""
        return self.child_seen and self.visitor_role == "child_social_worker"


@dataclass(frozen=True)
class Supervision:
    household_id: str
    occurred_at: datetime
    unannounced: bool
    recorded_at: datetime


@dataclass(frozen=True)
class Hold:
    hold_id: str
    household_id: str
    placed_at: datetime
    recorded_at: datetime
    lifted_at: datetime | None = None
    lifted_recorded_at: datetime | None = None

    def active(self, at: datetime) -> bool:
        return self.placed_at <= at and (self.lifted_at is None or self.lifted_at > at)


@dataclass(frozen=True)
class Deadline:
    deadline_id: str
    kind: str
    subject: str
    started_at: datetime
    due_at: datetime
    recorded_at: datetime
    household_id: str | None = None
    met_at: datetime | None = None
    met_recorded_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancelled_recorded_at: datetime | None = None

    def status(self, at: datetime) -> str:
        """`not_started`, `met`, `cancelled`, `overdue` or `open` at the instant `at`."""
        if self.started_at > at:
            return "not_started"
        if self.met_at is not None and self.met_at <= at:
            return "met"
        if self.cancelled_at is not None and self.cancelled_at <= at:
            return "cancelled"
        return "overdue" if self.due_at < at else "open"


@dataclass(frozen=True)
class Notification:
    notification_id: str
    rule_set: str
    due_by: datetime
    raised_at: datetime
    recorded_at: datetime
    # (sent or acknowledged at, recorded at): the first one by due_by means "sent in time".
    sent: tuple[tuple[datetime, datetime], ...] = ()


@dataclass(frozen=True)
class Escalation:
    escalation_id: str
    raised_at: datetime
    deadline_kind: str | None
    recorded_at: datetime


@dataclass(frozen=True)
class Facts:
    children: tuple[Child, ...] = ()
    households: tuple[Household, ...] = ()
    allocations: tuple[Allocation, ...] = ()
    placements: tuple[Placement, ...] = ()
    visits: tuple[Visit, ...] = ()
    supervisions: tuple[Supervision, ...] = ()
    holds: tuple[Hold, ...] = ()
    deadlines: tuple[Deadline, ...] = ()
    notifications: tuple[Notification, ...] = ()
    escalations: tuple[Escalation, ...] = ()

    def known_at(self, as_of: datetime) -> Facts:
        """What the agency knew at `as_of`: facts (and their endings) recorded by then."""

        def keep(items: Iterable[Any]) -> tuple[Any, ...]:
            return tuple(i for i in items if i.recorded_at <= as_of)

        def known(when: datetime | None, recorded: datetime | None) -> datetime | None:
            return when if recorded is not None and recorded <= as_of else None

        return Facts(
            children=keep(self.children),
            households=keep(self.households),
            allocations=keep(self.allocations),
            placements=tuple(
                replace(p, end=p.end if known(p.end_recorded_at, p.end_recorded_at) else None)
                for p in keep(self.placements)
            ),
            visits=keep(self.visits),
            supervisions=keep(self.supervisions),
            holds=tuple(replace(h, lifted_at=known(h.lifted_at, h.lifted_recorded_at)) for h in keep(self.holds)),
            deadlines=tuple(
                replace(
                    d,
                    met_at=known(d.met_at, d.met_recorded_at),
                    cancelled_at=known(d.cancelled_at, d.cancelled_recorded_at),
                )
                for d in keep(self.deadlines)
            ),
            notifications=tuple(
                replace(n, sent=tuple(s for s in n.sent if s[1] <= as_of)) for n in keep(self.notifications)
            ),
            escalations=keep(self.escalations),
        )


# ---- the figures ------------------------------------------------------------------------------
def percent(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else round(100.0 * numerator / denominator, 1)


def within_tolerance(kpi: Kpi, value: float | None) -> bool | None:
    """True/False, or None when there is nothing to measure or no target."""
    if value is None or kpi.target is None:
        return None
    return value >= kpi.target if kpi.better == "higher" else value <= kpi.target


def performance_failures(history: dict[str, Sequence[bool | None]]) -> list[str]:
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


def clock_compliance(deadlines: Iterable[Deadline], kind: str, start: datetime, end: datetime, at: datetime) -> dict:
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
    return {"numerator": on_time, "denominator": due, "value": percent(on_time, due)}


def schedule7_timeliness(notifications: Iterable[Notification], start: datetime, end: datetime, at: datetime) -> dict:
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
    return {"numerator": on_time, "denominator": due, "value": percent(on_time, due)}


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


@dataclass
class _Worker:
    children_in_care: int = 0
    children_visited_within_6_weeks: int = 0
    visits: int = 0
    visits_seen_alone: int = 0
    visits_child_views_recorded: int = 0
    overdue: dict[str, int] = field(default_factory=lambda: {c: 0 for c in CATEGORIES})


def compute_month(facts: Facts, month: str, at: datetime) -> dict[str, Any]:
    """Every KPI of DOMAIN.md §4 for `month`, measured at `at` (the month's end, or earlier if the
    report is provisional), from `facts` already narrowed to what was known as of the report."""
    start, end = month_bounds(month)
    at = min(at, end)
    children = {c.child_id: c for c in facts.children}
    households = {h.household_id: h for h in facts.households}
    allocations: dict[str, list[Allocation]] = defaultdict(list)
    for a in facts.allocations:
        allocations[a.subject_id].append(a)
    workers: dict[str, _Worker] = defaultdict(_Worker)
    per_household: dict[str, dict[str, Any]] = {}

    def household(hid: str) -> dict[str, Any]:
        if hid not in per_household:
            known = households.get(hid)
            per_household[hid] = {
                "name": known.name if known else None,
                "supervising_social_worker_id": worker_of_household(known, allocations[hid], at),
                "on_hold": False,
                "children_placed": 0,
                "children_visited_within_6_weeks": 0,
                "supervisions": 0,
                "unannounced_visits": 0,
                "children_placed_while_on_hold": 0,
                "overdue": {c: 0 for c in CATEGORIES},
            }
        return per_household[hid]

    for hid in sorted(households):
        household(hid)

    # Statutory visits within 6 weeks, of the children in care at `at`.
    in_care = children_in_care(facts.placements, at)
    last = last_statutory_visits(facts.visits, at)
    visited = 0
    for cid, hid in sorted(in_care.items()):
        ok = cid in last and at - last[cid] <= STATUTORY_VISIT_WINDOW
        visited += ok
        w = workers[worker_of_child(children.get(cid), allocations[cid], at)]
        w.children_in_care += 1
        w.children_visited_within_6_weeks += ok
        hh = household(hid)
        hh["children_placed"] += 1
        hh["children_visited_within_6_weeks"] += ok

    # Visits in the month: seen alone, views recorded.
    month_visits = [v for v in facts.visits if start <= v.occurred_at < end and v.occurred_at <= at]
    alone = sum(v.seen_alone for v in month_visits)
    views = sum(v.child_seen and v.views_recorded for v in month_visits)
    for v in month_visits:
        w = workers[v.visitor_id]
        w.visits += 1
        w.visits_seen_alone += v.seen_alone
        w.visits_child_views_recorded += v.child_seen and v.views_recorded

    # Supervisions in the month, per household.
    for s in facts.supervisions:
        if start <= s.occurred_at < end and s.occurred_at <= at:
            hh = household(s.household_id)
            hh["supervisions"] += 1
            hh["unannounced_visits"] += s.unannounced

    # Overdue work at `at`, per category, worker and household.
    overdue = {c: 0 for c in CATEGORIES}
    for d in facts.deadlines:
        category = OVERDUE_CATEGORIES.get(d.kind)
        if category is None or d.status(at) != "overdue":
            continue
        overdue[category] += 1
        kind, _, subject_id = d.subject.partition("-")
        if kind == "child":
            worker = worker_of_child(children.get(subject_id), allocations[subject_id], at)
            hid = d.household_id or in_care.get(subject_id)
        else:
            hid = d.household_id or (subject_id if kind == "household" else None)
            worker = worker_of_household(households.get(hid or ""), allocations[hid or ""], at)
        workers[worker].overdue[category] += 1
        if hid:
            household(hid)["overdue"][category] += 1

    # Holds and placements made during a hold.
    on_hold = sorted({h.household_id for h in facts.holds if h.active(at)})
    for hid in on_hold:
        household(hid)["on_hold"] = True
    during_hold = placed_while_on_hold(facts.placements, facts.holds, start, end)
    by_id = {p.placement_id: p for p in facts.placements}
    for pid in during_hold:
        household(by_id[pid].household_id)["children_placed_while_on_hold"] += 1

    figures: dict[str, dict[str, Any]] = {
        "statutory_visits_within_6_weeks": {
            "numerator": visited,
            "denominator": len(in_care),
            "value": percent(visited, len(in_care)),
        },
        "visits_seen_alone": {
            "numerator": alone,
            "denominator": len(month_visits),
            "value": percent(alone, len(month_visits)),
        },
        "visits_child_views_recorded": {
            "numerator": views,
            "denominator": sum(v.child_seen for v in month_visits),
            "value": percent(views, sum(v.child_seen for v in month_visits)),
        },
        "complaints_acknowledged_within_48h": clock_compliance(facts.deadlines, COMPLAINT_ACK_KIND, start, end, at),
        "complaints_stage1_within_10_working_days": clock_compliance(
            facts.deadlines, COMPLAINT_STAGE1_KIND, start, end, at
        ),
        "allegations_referred_within_1_working_day": clock_compliance(
            facts.deadlines, LADO_REFERRAL_KIND, start, end, at
        ),
        "schedule7_sent_within_24h": schedule7_timeliness(facts.notifications, start, end, at),
        **{f"overdue_{c}": {"value": overdue[c]} for c in CATEGORIES},
        "households_on_hold": {"value": len(on_hold)},
        "children_placed_while_on_hold": {"value": len(during_hold)},
    }
    for key, figure in figures.items():
        kpi = KPI_BY_KEY[key]
        figure.update(
            label=kpi.label,
            unit=kpi.unit,
            target=kpi.target,
            within_tolerance=within_tolerance(kpi, figure["value"]),
            source=kpi.source,
        )
    escalations = sum(1 for e in facts.escalations if start <= e.raised_at < end and e.raised_at <= at)
    return {
        "month": month,
        "measured_at": iso(at),
        "kpis": figures,
        "escalations_raised": escalations,
        "households_on_hold": on_hold,
        "placements_while_on_hold": during_hold,
        "per_worker": {
            name: {
                "children_in_care": w.children_in_care,
                "children_visited_within_6_weeks": w.children_visited_within_6_weeks,
                "statutory_visits_within_6_weeks": percent(w.children_visited_within_6_weeks, w.children_in_care),
                "visits": w.visits,
                "visits_seen_alone": w.visits_seen_alone,
                "visits_child_views_recorded": w.visits_child_views_recorded,
                "overdue": w.overdue,
                "overdue_total": sum(w.overdue.values()),
            }
            for name, w in sorted(workers.items())
        },
        "per_household": {
            hid: {**row, "overdue_total": sum(row["overdue"].values())} for hid, row in sorted(per_household.items())
        },
    }


def kpi_outcomes(month_report: dict[str, Any]) -> dict[str, bool | None]:
    return {k: v["within_tolerance"] for k, v in month_report["kpis"].items()}


def changed_figures(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """KPIs whose value differs between two reports of the same month."""
    changed = {}
    for key, figure in after["kpis"].items():
        old = before["kpis"].get(key, {}).get("value")
        if old != figure["value"]:
            changed[key] = {"at_close": old, "as_of": figure["value"]}
    return changed


# ---- the subject-access export -----------------------------------------------------------------
THIRD_PARTY_TYPES: dict[str, str] = {
    "visits.ComplaintReceived": "a complaint: may name the carers, parents or others",
    "visits.StatementRecorded": "the child's own words: may name other people",
    "carers.AllegationReceived": "allegation details about an adult in the household",
    "carers.LadoReferralMade": "a LADO referral about an adult",
    "carers.LadoWrittenConfirmationSent": "a LADO referral about an adult",
    "carers.AllegationOutcomeRecorded": "the outcome of an allegation about an adult",
    "carers.SupervisionRecorded": "a carer supervision: the carers' own information",
    "carers.HoldPlaced": "a hold on the carers' household",
    "carers.HoldLifted": "a hold on the carers' household",
    "carers.PlacementEnded": "may include the carers' feelings",
    "carers.ReviewRecorded": "a carer review: the carers' own information",
    "notifications.NotificationRaised": "a notification: may describe other people",
}
CHILD_ONLY_CONTACTS = frozenset({"the child", "child"})


def redaction_flags(event_type: str, data: dict[str, Any], child_ids: Sequence[str], child_id: str) -> list[str]:
    """Why an entry needs third-party review before it is disclosed (empty: none known)."""
    flags: list[str] = []
    others = [c for c in child_ids if c != child_id]
    if others:
        flags.append(f"concerns {len(others)} other child{'ren' if len(others) > 1 else ''} too")
    if event_type in THIRD_PARTY_TYPES:
        flags.append(THIRD_PARTY_TYPES[event_type])
    if event_type == "visits.ContactRecorded" and str(data.get("with_whom", "")).strip().lower() not in (
        CHILD_ONLY_CONTACTS
    ):
        flags.append(f"a contact with {data.get('with_whom')}: third-party information")
    if event_type == "visits.ComplaintReceived" and data.get("made_by") not in (None, "child"):
        flags.append(f"made by a {data.get('made_by')}, not the child")
    if event_type == "visits.IncidentRecorded" and (data.get("police_called") or data.get("household_id")):
        flags.append("an incident at the foster home: may describe the carers or others")
    return flags


def year_of(instant: datetime) -> int:
    return instant.astimezone(LONDON).year


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
