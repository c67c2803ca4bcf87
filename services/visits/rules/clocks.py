"""The clocks of the child's record: which a fact starts (`Due`: what, by when, under which rule) and
which it meets. The numbers marked (local) are the agency's practice (`settings.visits`); the
statutory ones come from the table in statutory.py. Pure: no I/O, no clock."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.visits.rules import kinds as k
from services.visits.rules.statutory import (
    STATUTORY,
    PlacementTerms,
    add_months,
    complaint_stage_due,
    complaint_stage_source,
    first_lac_review_due,
    first_visit_due,
    first_visit_key,
    health_review_key,
    initial_health_assessment_due,
    lac_review_key,
    next_health_assessment_due,
    next_lac_review_due,
    next_statutory_visit_due,
    return_home_interview_due,
    statutory_interval_key,
    working_days_after,
)
from shared.calendar import end_of_day, local_date, start_of_day
from shared.contracts.deadlines import DeadlineSet
from shared.contracts.visits import HealthCheckKind, IncidentCategory, VisitorRole
from shared.practice import VisitsPractice

OFSTED_2023 = "Ofsted finding (NCT 2023)"


@dataclass(frozen=True)
class Due:
    """A clock a fact starts: what must happen, from when, by when, and the rule that says so."""

    kind: str
    started_at: datetime
    due_at: datetime
    description: str
    source: str

    def deadline(
        self,
        deadline_id: uuid.UUID,
        *,
        subject: str,
        child_id: uuid.UUID,
        household_id: uuid.UUID | None = None,
        placement_id: uuid.UUID | None = None,
    ) -> DeadlineSet:
        """This clock as the log records it, about `subject` (a stream) and the child."""
        return DeadlineSet(
            deadline_id=deadline_id,
            kind=self.kind,
            subject=subject,
            child_ids=[child_id],
            household_id=household_id,
            placement_id=placement_id,
            started_at=self.started_at,
            due_at=self.due_at,
            description=self.description,
            source=self.source,
        )


@dataclass(frozen=True)
class Placement:
    """A placement of the child, as visits knows it from the carers service's events."""

    placement_id: uuid.UUID
    household_id: uuid.UUID | None
    start_date: date
    long_term: bool
    connected_person: bool
    placing_authority: str | None
    end_date: date | None
    started_position: int  # where its start is in the log: orders two starts on one day

    @property
    def terms(self) -> PlacementTerms:
        return PlacementTerms(self.start_date, self.long_term, self.connected_person)


@dataclass(frozen=True)
class OpenClock:
    """A clock still running, with the placement it belongs to (statutory visit clocks only)."""

    deadline_id: uuid.UUID
    kind: str
    started_at: datetime
    due_at: datetime
    placement: Placement | None = None


def current_placement(placements: Iterable[Placement]) -> Placement | None:
    """The child's current placement: of those not ended, the one that started last (on the same
    day, the one recorded last)."""
    ongoing = [p for p in placements if p.end_date is None]
    return max(ongoing, key=lambda p: (p.start_date, p.started_position), default=None)


def follows_placement(kind: str) -> bool:
    """A statutory visit clock belongs to the placement the child is in when it is set: it chains
    while that placement lasts and stops when it ends (CPPR reg 28 visits a child in a placement)."""
    return kind == k.STATUTORY_VISIT


def looked_after(care_ended_on: date | None, placement_starts: Iterable[date]) -> bool:
    """Whether the child is looked after: their care never ended, or a placement started after it
    did (a new period of care)."""
    return care_ended_on is None or any(start > care_ended_on for start in placement_starts)


def starts(kind: str, looked_after: bool) -> bool:
    """Whether a clock of `kind` starts for the child: a duty of looking after them only while they
    are looked after (CPPR 2010); a complaint or a concern about their care is answered regardless."""
    return looked_after or kind not in k.LOOKED_AFTER_KINDS


# ---- which clocks a fact meets -------------------------------------------------------------------
def clocks_met(clocks: Iterable[OpenClock], kinds: Collection[str], at: datetime | None = None) -> list[OpenClock]:
    """The clocks of `kinds` (started by `at`, when given: a fact cannot meet a later clock)."""
    return [c for c in clocks if c.kind in kinds and (at is None or c.started_at <= at)]


def clocks_a_visit_meets(
    clocks: Sequence[OpenClock], *, occurred_at: datetime, child_seen: bool, visitor_role: VisitorRole
) -> list[tuple[OpenClock, Placement | None]]:
    """A visit that sees the child meets the visit clocks started before it. The child's social
    worker's visit meets the statutory clock and starts the next one of the placement the clock
    belongs to, while that placement lasts (once per placement); anyone's visit meets a follow-up.
    Each met clock comes with the placement whose next statutory visit it starts, if any."""
    if not child_seen:
        return []
    met: list[tuple[OpenClock, Placement | None]] = []
    chained: set[uuid.UUID] = set()
    for clock in clocks_met(clocks, k.VISIT_KINDS, occurred_at):
        if clock.kind == k.FOLLOW_UP_VISIT:
            met.append((clock, None))
        elif visitor_role == VisitorRole.CHILD_SOCIAL_WORKER:
            placement = clock.placement
            starts = placement is not None and placement.end_date is None and placement.placement_id not in chained
            if starts and placement is not None:
                chained.add(placement.placement_id)
            met.append((clock, placement if starts else None))
    return met


def is_met_late(due_at: datetime, met_at: datetime) -> bool:
    return met_at > due_at


# ---- statutory visits ----------------------------------------------------------------------------
def first_statutory_visit(terms: PlacementTerms) -> Due:
    return Due(
        kind=k.STATUTORY_VISIT,
        started_at=start_of_day(terms.start_date),
        due_at=end_of_day(first_visit_due(terms)),
        description="First statutory visit after the placement started",
        source=STATUTORY[first_visit_key(terms)].source,
    )


def next_statutory_visit(terms: PlacementTerms, visited_at: datetime) -> Due:
    visit_day = local_date(visited_at)
    return Due(
        kind=k.STATUTORY_VISIT,
        started_at=visited_at,
        due_at=end_of_day(next_statutory_visit_due(terms, visit_day)),
        description="Next statutory visit",
        source=STATUTORY[statutory_interval_key(terms, visit_day)].source,
    )


# ---- becoming looked after -----------------------------------------------------------------------
def registration_clocks(looked_after_since: date, practice: VisitsPractice) -> list[Due]:
    """Becoming looked after starts the initial health assessment (28 days), the first review (20
    working days) and the dental check (local)."""
    started = start_of_day(looked_after_since)
    months = practice.dental_check_months
    return [
        Due(
            k.INITIAL_HEALTH_ASSESSMENT,
            started,
            end_of_day(initial_health_assessment_due(looked_after_since)),
            "Initial health assessment after becoming looked after",
            STATUTORY["initial_health_assessment"].source,
        ),
        Due(
            k.LAC_REVIEW,
            started,
            end_of_day(first_lac_review_due(looked_after_since)),
            "First looked-after child review",
            STATUTORY["first_review"].source,
        ),
        Due(
            k.DENTAL_CHECK,
            started,
            end_of_day(add_months(looked_after_since, months)),
            "Dental check",
            f"Local practice: a dental check every {months} months",
        ),
    ]


# ---- serious incidents, missing, allegations -----------------------------------------------------
def needs_follow_up_visit(
    category: str, *, police_called: bool = False, needed_hospital_treatment: bool = False
) -> bool:
    return category in k.FOLLOW_UP_CATEGORIES or police_called or needed_hospital_treatment


def follow_up_visit_due(incident_at: datetime, working_days: int) -> datetime:
    """A social worker sees the child within `working_days` working days of the incident (local)."""
    return working_days_after(incident_at, working_days)


def needs_return_home_interview(category: str) -> bool:
    return category == IncidentCategory.FOUND


def needs_risk_review(category: str, *, police_called: bool = False) -> bool:
    return category in k.RISK_REVIEW_CATEGORIES or police_called


def risk_review_due(incident_at: datetime, working_days: int) -> datetime:
    return working_days_after(incident_at, working_days)


def _humanise(value: str) -> str:
    return value.replace("_", " ")


def incident_clocks(
    category: IncidentCategory,
    occurred_at: datetime,
    *,
    police_called: bool,
    needed_hospital_treatment: bool,
    practice: VisitsPractice,
) -> list[Due]:
    """A serious incident: a follow-up visit and a review of the risk assessment; a child found
    after going missing: a return home interview."""
    what = _humanise(category.value)
    clocks: list[Due] = []
    hospital = needed_hospital_treatment
    if needs_follow_up_visit(category, police_called=police_called, needed_hospital_treatment=hospital):
        clocks.append(
            Due(
                k.FOLLOW_UP_VISIT,
                occurred_at,
                follow_up_visit_due(occurred_at, practice.follow_up_working_days),
                f"Visit to see the child after the {what}",
                f"{OFSTED_2023}; local practice: working days after the incident",
            )
        )
    if needs_risk_review(category, police_called=police_called):
        clocks.append(
            Due(
                k.RISK_REVIEW_AFTER_INCIDENT,
                occurred_at,
                risk_review_due(occurred_at, practice.risk_review_after_incident_working_days),
                f"Review the risk assessment after the {what}",
                f"{OFSTED_2023}; local practice: working days after a serious incident",
            )
        )
    if needs_return_home_interview(category):
        clocks.append(
            Due(
                k.RETURN_HOME_INTERVIEW,
                occurred_at,
                return_home_interview_due(occurred_at),
                "Return home interview after the child was found",
                STATUTORY["return_home_interview"].source,
            )
        )
    return clocks + health_plan_review(category, occurred_at, practice)


def health_plan_review(category: IncidentCategory, occurred_at: datetime, practice: VisitsPractice) -> list[Due]:
    """A seizure or substance misuse: the health plan reviewed (a new version recorded) within a few
    working days (local)."""
    if category not in k.HEALTH_PLAN_REVIEW_CATEGORIES:
        return []
    days = practice.health_plan_review_working_days
    return [
        Due(
            k.HEALTH_PLAN_REVIEW,
            occurred_at,
            working_days_after(occurred_at, days),
            f"Review the health plan after the {_humanise(category.value)}",
            f"{OFSTED_2023}; local practice: within {days} working days of the incident",
        )
    ]


def allegation_follow_up(received_at: datetime, practice: VisitsPractice) -> Due:
    return Due(
        k.FOLLOW_UP_VISIT,
        received_at,
        follow_up_visit_due(received_at, practice.follow_up_working_days),
        "Visit to see the child after an allegation against the household",
        f"{OFSTED_2023}; local practice: working days after the allegation",
    )


# ---- complaints ----------------------------------------------------------------------------------
def complaint_ack_due(received_at: datetime, hours: int) -> datetime:
    """48 hours (local) means 48 hours: weekends and bank holidays count (docs/domain.md §1, §4; a Friday 10:00
    complaint is due on Sunday 10:00, not Tuesday)."""
    return received_at + timedelta(hours=hours)


def complaint_clocks(received_at: datetime, practice: VisitsPractice) -> list[Due]:
    """A complaint is acknowledged (local: within 48 hours) and answered at stage 1."""
    return [
        Due(
            k.COMPLAINT_ACK,
            received_at,
            complaint_ack_due(received_at, practice.complaint_ack_hours),
            "Acknowledge the complaint",
            f"NCT KPI (local): acknowledged within {practice.complaint_ack_hours} hours",
        ),
        Due(
            k.complaint_stage_kind(1),
            received_at,
            complaint_stage_due(received_at, 1),
            "Respond to the complaint (stage 1)",
            complaint_stage_source(1),
        ),
    ]


def complaint_follow_up(received_at: datetime, practice: VisitsPractice) -> Due:
    """A child who complains is seen about it (Ofsted 2023)."""
    return Due(
        k.FOLLOW_UP_VISIT,
        received_at,
        follow_up_visit_due(received_at, practice.follow_up_working_days),
        "Visit to see the child about their complaint",
        f"{OFSTED_2023}; local practice: working days after the complaint",
    )


def extended_stage(stage: int, started_at: datetime, working_days: int) -> Due:
    return Due(
        k.complaint_stage_kind(stage),
        started_at,
        complaint_stage_due(started_at, stage, extended_to=working_days),
        f"Respond to the complaint (stage {stage}, extended)",
        complaint_stage_source(stage, extended=True),
    )


def panel_report(held_at: datetime) -> Due:
    """Stage 3: the review panel's report, 5 working days after it met."""
    rule = STATUTORY["complaint_stage3_report"]
    return Due(
        k.COMPLAINT_PANEL_REPORT,
        held_at,
        working_days_after(held_at, rule.value),
        "The review panel reports its recommendations (stage 3)",
        rule.source,
    )


def panel_response(reported_at: datetime) -> Due:
    """Stage 3: the agency's response to the panel's report, 15 working days after it."""
    rule = STATUTORY["complaint_stage3_response"]
    return Due(
        k.COMPLAINT_PANEL_RESPONSE,
        reported_at,
        working_days_after(reported_at, rule.value),
        "Respond to the review panel's report (stage 3)",
        rule.source,
    )


def escalated_stage(to_stage: int, requested_at: datetime) -> Due:
    return Due(
        k.complaint_stage_kind(to_stage),
        requested_at,
        complaint_stage_due(requested_at, to_stage),
        "Hold the stage 3 review panel" if to_stage == 3 else "Respond to the complaint (stage 2)",
        complaint_stage_source(to_stage),
    )


# ---- plans, risk assessments, health, reviews, concerns ------------------------------------------
def plan_ack_due(shared_at: datetime, working_days: int) -> datetime:
    return working_days_after(shared_at, working_days)


def plan_review(label: str, review_date: date, recorded_at: datetime) -> Due:
    return Due(
        k.PLAN_REVIEW,
        recorded_at,
        end_of_day(review_date),
        f"Review the {label}",
        "CPPR 2010 reg 5-7 (care and health plans kept under review); review date set in the plan",
    )


def plan_acknowledgement(label: str, version: int, shared_at: datetime, practice: VisitsPractice) -> Due:
    days = practice.plan_ack_working_days
    return Due(
        k.PLAN_ACKNOWLEDGEMENT,
        shared_at,
        plan_ack_due(shared_at, days),
        f"Carers acknowledge receipt of the {label} (version {version})",
        "Fostering Services (England) Regs 2011 reg 17(3): carers hold the most recent care plan; "
        f"local practice: acknowledged within {days} working days",
    )


def risk_assessment_review(review_date: date, assessed_at: datetime) -> Due:
    return Due(
        k.RISK_ASSESSMENT_REVIEW,
        assessed_at,
        end_of_day(review_date),
        "Review the child's risk assessment",
        f"{OFSTED_2023}: risk assessments regularly reviewed; review date in the assessment",
    )


def next_health_check(kind: HealthCheckKind, date_of_birth: date, at: datetime, practice: VisitsPractice) -> Due:
    """A dental check starts the next (local); a health assessment the next review, every 6 months
    under age 5, every 12 from 5."""
    day = local_date(at)
    if kind == HealthCheckKind.DENTAL_CHECK:
        months = practice.dental_check_months
        return Due(
            k.DENTAL_CHECK,
            at,
            end_of_day(add_months(day, months)),
            "Dental check",
            f"Local practice: a dental check every {months} months",
        )
    return Due(
        k.HEALTH_ASSESSMENT,
        at,
        end_of_day(next_health_assessment_due(date_of_birth, day)),
        "Review health assessment",
        STATUTORY[health_review_key(date_of_birth, day)].source,
    )


def next_lac_review(number: int, held_at: datetime) -> Due:
    """After review `number`, the next: 3 months after the first, then every 6 months (reg 33)."""
    return Due(
        k.LAC_REVIEW,
        held_at,
        end_of_day(next_lac_review_due(local_date(held_at), number)),
        f"Looked-after child review {number + 1}",
        STATUTORY[lac_review_key(number)].source,
    )


def concern_response_due(raised_at: datetime, working_days: int) -> datetime:
    return working_days_after(raised_at, working_days)


def concern_response(raised_at: datetime, practice: VisitsPractice) -> Due:
    days = practice.concern_response_working_days
    return Due(
        k.CONCERN_RESPONSE,
        raised_at,
        concern_response_due(raised_at, days),
        "Act on the concern and record its outcome",
        f"Fostering Services (England) Regs 2011 reg 18; {OFSTED_2023}; local practice: {days} working days",
    )


def strategy_discussion(escalated_at: datetime, practice: VisitsPractice) -> Due:
    """A concern escalated to a child protection enquiry: the strategy discussion with the police
    and the local authority's children's services (Working Together 2023, chapter 4)."""
    days = practice.strategy_discussion_working_days
    return Due(
        k.STRATEGY_DISCUSSION,
        escalated_at,
        working_days_after(escalated_at, days),
        "Hold and record the strategy discussion for the child protection enquiry",
        f"Working Together to Safeguard Children 2023, chapter 4; local practice: {days} working day(s)",
    )


# ---- compliance ----------------------------------------------------------------------------------
def is_overdue(due_at: datetime, now: datetime) -> bool:
    return now > due_at


def days_since(instant: datetime | None, now: datetime) -> int | None:
    if instant is None:
        return None
    return (local_date(now) - local_date(instant)).days


def month_counts(rows: Iterable[tuple[str, datetime]]) -> dict[str, dict[str, int]]:
    """{"YYYY-MM": {category: count}} in England's time, months in order."""
    counts: dict[str, dict[str, int]] = {}
    for category, at in sorted(rows, key=lambda r: r[1]):
        month = local_date(at).strftime("%Y-%m")
        bucket = counts.setdefault(month, {})
        bucket[category] = bucket.get(category, 0) + 1
    return counts
