"""The KPIs of docs/domain.md §4 (targets and tolerances, each with its source; those marked (local) are
common council practice, not law) and how each is measured from the facts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, NotRequired

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
    Kpi(
        "overdue_training",
        "Overdue carer training (standards, safeguarding, a child's needs)",
        "count",
        0,
        "lower",
        "NMS 20; FS(E) Regs 2011 reg 17(1)",
    ),
    Kpi(
        "overdue_health_checks",
        "Overdue health assessments, dental checks and health-plan reviews",
        "count",
        0,
        "lower",
        "Promoting the health and well-being of looked-after children (2015)",
    ),
    Kpi("overdue_looked_after_reviews", "Overdue looked-after child reviews", "count", 0, "lower", "CPPR 2010 reg 33"),
    Kpi(
        "overdue_plans",
        "Overdue plan reviews and carers' acknowledgements",
        "count",
        0,
        "lower",
        "CPPR 2010 reg 5-7; FS(E) Regs 2011 reg 17",
    ),
    Kpi("overdue_risk_assessments", "Overdue risk assessments", "count", 0, "lower", "Ofsted 2023 finding"),
    Kpi(
        "overdue_concern_responses",
        "Concerns not acted on in time",
        "count",
        0,
        "lower",
        "FS(E) Regs 2011 reg 18; Ofsted 2023",
    ),
    Kpi(
        "overdue_complaint_stages",
        "Overdue stage 2 and stage 3 complaint steps",
        "count",
        0,
        "lower",
        "Children Act 1989 Representations Procedure (England) Regs 2006",
    ),
    Kpi(
        "overdue_allegation_steps",
        "Overdue allegation triage, LADO confirmations and approval reviews after one",
        "count",
        0,
        "lower",
        "Working Together to Safeguard Children 2023, ch 4; FS(E) Regs 2011 reg 28",
    ),
    Kpi("overdue_endings", "Placement endings not recorded in time", "count", 0, "lower", "NMS 26 (local)"),
    Kpi(
        "overdue_ssw_first_visits",
        "Newly placed children not yet seen by their supervising social worker",
        "count",
        0,
        "lower",
        "NMS 21; the scrutiny committee's named risk (7 days: local)",
    ),
    Kpi(
        "overdue_ssw_sightings",
        "Placed children not seen by their supervising social worker for 3 months",
        "count",
        0,
        "lower",
        "NMS 21; Ofsted 2023 finding (3 months: local)",
    ),
    Kpi(
        "overdue_ssw_sightings_alone",
        "Placed children not seen alone by their supervising social worker for 6 months",
        "count",
        0,
        "lower",
        "NMS 21; Ofsted 2023 finding (6 months: local)",
    ),
    Kpi(
        "overdue_bedroom_checks",
        "Placed children whose bedroom no visitor has seen for 3 months",
        "count",
        0,
        "lower",
        "NMS 10; Ofsted 2023 finding (3 months: local)",
    ),
    Kpi(
        "overdue_strategy_discussions",
        "Child protection enquiries without a strategy discussion in time",
        "count",
        0,
        "lower",
        "Working Together to Safeguard Children 2023, chapter 4 (1 working day: local)",
    ),
    Kpi(
        "overdue_assessment_steps",
        "Steps of a prospective carer's journey overdue (enquiry to the applicant told)",
        "count",
        0,
        "lower",
        "FS(E) Regs 2011 regs 26-27; NMS 13, 14",
    ),
    Kpi(
        "overdue_approval_changes",
        "Resignations, qualifying determinations and temporary approvals past their date",
        "count",
        0,
        "lower",
        "FS(E) Regs 2011 reg 28; CPPCR Regs 2010 regs 24-25",
    ),
    Kpi(
        "overdue_worker_supervisions",
        "Social workers' own supervision overdue",
        "count",
        0,
        "lower",
        "Ofsted 2023 finding (monthly: local)",
    ),
    Kpi(
        "overdue_staff_training",
        "Staff safeguarding and supervision training expired",
        "count",
        0,
        "lower",
        "NMS 20, 24; Working Together to Safeguard Children 2023 (renewal: local)",
    ),
    Kpi(
        "overdue_notification_acknowledgements",
        "Notifications not acknowledged by a recipient in time",
        "count",
        0,
        "lower",
        "FS(E) Regs 2011 reg 36; NMS 29.2",
    ),
    Kpi(
        "overdue_break_glass_reviews",
        "Break-glass reads not yet reviewed",
        "count",
        0,
        "lower",
        "carelog's access policy",
    ),
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

COMPLAINT_ACK_KIND = "visits.complaint_acknowledgement"
COMPLAINT_STAGE1_KIND = "visits.complaint_stage1_response"
LADO_REFERRAL_KIND = "carers.lado_referral"
SCHEDULE7_KIND = "notifications.acknowledgement"

# Every clock kind (DeadlineSet.kind) a service starts belongs to exactly one KPI, so no clock goes
# unmeasured and none is counted twice (tests/investigations/test_clock_kpis.py enumerates the kinds).
# A timeliness KPI measures its clocks that fell due in the month; an `overdue_*` count KPI counts
# its clocks overdue at the month's end.
CLOCK_KPI: dict[str, str] = {
    COMPLAINT_ACK_KIND: "complaints_acknowledged_within_48h",
    COMPLAINT_STAGE1_KIND: "complaints_stage1_within_10_working_days",
    LADO_REFERRAL_KIND: "allegations_referred_within_1_working_day",
    "visits.statutory_visit": "overdue_visits",
    "visits.follow_up_visit": "overdue_visits",
    "visits.return_home_interview": "overdue_visits",
    "carers.supervision": "overdue_supervisions",
    "carers.supervision_follow_up": "overdue_supervisions",
    "carers.incident_agenda": "overdue_supervisions",
    "carers.unannounced_visit": "overdue_unannounced_visits",
    "carers.annual_review": "overdue_annual_reviews",
    "carers.dbs_check": "overdue_dbs_checks",
    "carers.tsd_standards": "overdue_training",
    "carers.safeguarding_training": "overdue_training",
    "carers.training_renewal": "overdue_training",
    "carers.needs_training": "overdue_training",
    "visits.initial_health_assessment": "overdue_health_checks",
    "visits.health_assessment": "overdue_health_checks",
    "visits.dental_check": "overdue_health_checks",
    "visits.health_plan_review": "overdue_health_checks",
    "visits.looked_after_review": "overdue_looked_after_reviews",
    "visits.plan_review": "overdue_plans",
    "visits.plan_acknowledgement": "overdue_plans",
    "visits.risk_assessment_review": "overdue_risk_assessments",
    "visits.risk_assessment_after_incident": "overdue_risk_assessments",
    "visits.concern_response": "overdue_concern_responses",
    "visits.complaint_stage2_response": "overdue_complaint_stages",
    "visits.complaint_stage3_panel": "overdue_complaint_stages",
    "visits.complaint_stage3_report": "overdue_complaint_stages",
    "visits.complaint_stage3_response": "overdue_complaint_stages",
    "carers.allegation_triage": "overdue_allegation_steps",
    "carers.lado_written_confirmation": "overdue_allegation_steps",
    "carers.approval_review": "overdue_allegation_steps",
    "carers.ending_record": "overdue_endings",
    "carers.worker_supervision": "overdue_worker_supervisions",
    "carers.staff_training": "overdue_staff_training",
    "carers.ssw_first_visit": "overdue_ssw_first_visits",
    "carers.ssw_child_seen": "overdue_ssw_sightings",
    "carers.ssw_child_seen_alone": "overdue_ssw_sightings_alone",
    "carers.bedroom_seen": "overdue_bedroom_checks",
    "visits.strategy_discussion": "overdue_strategy_discussions",
    "carers.enquiry_reply": "overdue_assessment_steps",
    "carers.stage1_decision": "overdue_assessment_steps",
    "carers.stage2_assessment": "overdue_assessment_steps",
    "carers.panel": "overdue_assessment_steps",
    "carers.agency_decision": "overdue_assessment_steps",
    "carers.applicant_notice": "overdue_assessment_steps",
    "carers.resignation": "overdue_approval_changes",
    "carers.qualifying_determination": "overdue_approval_changes",
    "carers.temporary_approval": "overdue_approval_changes",
    SCHEDULE7_KIND: "overdue_notification_acknowledgements",
    "access.break_glass_review": "overdue_break_glass_reviews",
}
# The `overdue_*` KPIs, each a category of overdue work (also counted per worker and per household).
CATEGORIES: tuple[str, ...] = tuple(k.key.removeprefix("overdue_") for k in KPIS if k.key.startswith("overdue_"))
OVERDUE_CATEGORIES: dict[str, str] = {
    kind: kpi.removeprefix("overdue_") for kind, kpi in CLOCK_KPI.items() if kpi.startswith("overdue_")
}
# Timeliness KPIs measured on their clocks by `clock_compliance` (stage 1 has its own measure).
TIMELINESS_CLOCKS: dict[str, str] = {
    "complaints_acknowledged_within_48h": COMPLAINT_ACK_KIND,
    "allegations_referred_within_1_working_day": LADO_REFERRAL_KIND,
}


class Ratio(TypedDict):
    """How many of what was due were on time, and what is reported beside (never counted as on time)."""

    numerator: int
    denominator: int
    value: float | None
    beside: NotRequired[dict[str, int]]


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


def stage1_timeliness(deadlines: Iterable[Deadline], start: datetime, end: datetime, at: datetime) -> Ratio:
    """Stage 1 complaints whose statutory 10 working days ended in [start, end): how many were
    answered within them (RP 2006 reg 14).

    A complaint's stage 1 clocks share its stream (`subject`); the first is the statutory one. Every
    stage 1 counts, in the month its 10 working days end, whatever became of it: answered, extended
    (its later clocks), escalated unanswered or still open (late). An extension is reported beside,
    and an answer inside an extension is not on time. Each stage 1 is decided by the month's end,
    so every one opened is in exactly one month's denominator.
    """
    clocks: dict[str, list[Deadline]] = defaultdict(list)
    for d in deadlines:
        if d.kind == COMPLAINT_STAGE1_KIND and d.started_at <= at:
            clocks[d.subject].append(d)
    on_time = due = extended = opened = 0
    for stage in clocks.values():
        first = stage[0]
        opened += start <= first.started_at < end
        if not (start <= first.due_at < end):
            continue
        answered = min((d.met_at for d in stage if d.met_at is not None and d.met_at <= at), default=None)
        if answered is None and first.due_at >= at:
            continue  # still within its 10 working days: undecided
        due += 1
        extended += len(stage) > 1
        on_time += answered is not None and answered <= first.due_at
    return Ratio(
        numerator=on_time,
        denominator=due,
        value=percent(on_time, due),
        beside={"extended": extended, "opened_in_month": opened},
    )


def _first_sent(n: Notification, recipient: str, at: datetime) -> datetime | None:
    sole = n.recipients == (recipient,)
    return min(
        (when for who, when, _ in n.sent if when <= at and (who == recipient or (who is None and sole))),
        default=None,
    )


def schedule7_timeliness(notifications: Iterable[Notification], start: datetime, end: datetime, at: datetime) -> Ratio:
    """Schedule 7 notifications due in [start, end), counted per recipient (reg 36: each must be
    told): a recipient counts as told in time when a delivery to it, or its own acknowledgement,
    came by the notification's due time. Delivery to one recipient tells no other."""
    on_time = due = notifications_due = 0
    for n in notifications:
        if n.rule_set != "schedule7" or not (start <= n.due_by < end) or n.raised_at > at:
            continue
        counted = False
        for recipient in n.recipients:
            first = _first_sent(n, recipient, at)
            if first is None and n.due_by >= at:
                continue  # still within its 24 hours
            due += 1
            counted = True
            on_time += first is not None and first <= n.due_by
        notifications_due += counted
    return Ratio(
        numerator=on_time,
        denominator=due,
        value=percent(on_time, due),
        beside={"notifications": notifications_due},
    )


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
