"""visits: pure domain rules (no I/O, no clock: the caller passes `now`).

Statutory numbers are data: the `STATUTORY` table below, each with its source. Numbers marked
(local) in DOMAIN.md are practice, not law: they live in `VisitsSettings` (environment variables
with the `CARELOG_VISITS_` prefix), with the defaults shown there.
"""

from __future__ import annotations

import calendar as _calendar
import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.calendar import add_working_days, add_working_days_at

LONDON = ZoneInfo("Europe/London")


# ---- the statutory table -------------------------------------------------------------------
@dataclass(frozen=True)
class Statutory:
    value: int
    unit: str
    source: str


STATUTORY: dict[str, Statutory] = {
    # Care Planning, Placement and Case Review (England) Regulations 2010, reg 28: visits by the
    # child's social worker to a looked-after child in a placement.
    "first_visit": Statutory(7, "days", "CPPR 2010 reg 28: within one week of the placement starting"),
    "first_year_interval": Statutory(6, "weeks", "CPPR 2010 reg 28: at most 6 weeks apart in the first year"),
    "later_interval": Statutory(6, "weeks", "CPPR 2010 reg 28: thereafter at most 6 weeks apart"),
    "long_term_later_interval": Statutory(
        3, "months", "CPPR 2010 reg 28: at most 3 months apart after the first year of a long-term placement"
    ),
    # Placements with a connected person under temporary approval (CPPR reg 24).
    "connected_weekly_interval": Statutory(
        7, "days", "CPPR 2010 reg 28 (reg 24 placement): at least weekly until the first review"
    ),
    "connected_later_interval": Statutory(
        4, "weeks", "CPPR 2010 reg 28 (reg 24 placement): at most 4 weeks apart after the first review"
    ),
    "first_review": Statutory(20, "working_days", "CPPR 2010 reg 33: first review within 20 working days"),
    # Looked-after child reviews (CPPR 2010 reg 33): the first from the day the child became looked
    # after (the "first_review" row above), the second 3 months after the first, then every 6 months.
    "second_review": Statutory(3, "months", "CPPR 2010 reg 33: second review within 3 months of the first"),
    "later_reviews": Statutory(6, "months", "CPPR 2010 reg 33: later reviews at most 6 months apart"),
    # Health of looked-after children: CPPR 2010 reg 7 and Schedule 1; DfE/DHSC statutory guidance
    # "Promoting the health and well-being of looked-after children" (2015).
    "initial_health_assessment": Statutory(
        28, "days", "Promoting the health of looked-after children (2015): initial assessment within 28 days"
    ),
    "health_review_under_5": Statutory(
        6, "months", "Promoting the health of looked-after children (2015): review every 6 months under age 5"
    ),
    "health_review": Statutory(
        12, "months", "Promoting the health of looked-after children (2015): review every 12 months from age 5"
    ),
    # Missing children.
    "return_home_interview": Statutory(
        72, "hours", "DfE statutory guidance on children who run away or go missing from home or care (2014)"
    ),
    # Children Act 1989 Representations Procedure (England) Regulations 2006.
    "complaint_stage1": Statutory(10, "working_days", "Representations Procedure (England) Regs 2006: stage 1"),
    "complaint_stage1_max": Statutory(
        20, "working_days", "Representations Procedure (England) Regs 2006: stage 1 extended, with a reason"
    ),
    "complaint_stage2": Statutory(25, "working_days", "Representations Procedure (England) Regs 2006: stage 2"),
    "complaint_stage2_max": Statutory(
        65, "working_days", "Representations Procedure (England) Regs 2006: stage 2 at most, with a reason"
    ),
    "complaint_stage3_panel": Statutory(
        30, "working_days", "Representations Procedure (England) Regs 2006: stage 3 review panel"
    ),
}


class VisitsSettings(BaseSettings):
    """Local practice (DOMAIN.md "(local)"), overridable by `CARELOG_VISITS_*` variables."""

    model_config = SettingsConfigDict(env_prefix="CARELOG_VISITS_", extra="ignore")

    follow_up_working_days: int = 2  # visit after a serious incident (Ofsted finding; NCT practice)
    complaint_ack_working_days: int = 2  # acknowledgement within 48 hours, counted on working days (NCT KPI)
    worklist_horizon_days: int = 14  # GET /visits/due without `before`: what falls due in this many days
    plan_ack_working_days: int = 5  # carers acknowledge a shared plan (reg 17 copy received; issue 12)
    risk_review_after_incident_working_days: int = 5  # risk assessment reviewed after a serious incident
    dental_check_months: int = 12  # annual dental check (issue 12; practice for looked-after children)
    concern_response_working_days: int = 2  # a concern needs an action and an outcome (Ofsted finding)


# ---- vocabularies ----------------------------------------------------------------------------
class VisitorRole(StrEnum):
    CHILD_SOCIAL_WORKER = "child_social_worker"
    SUPERVISING_SOCIAL_WORKER = "supervising_social_worker"
    MANAGER = "manager"
    INDEPENDENT_REVIEWING_OFFICER = "independent_reviewing_officer"
    OTHER = "other"


class VisitKind(StrEnum):
    STATUTORY = "statutory"
    SUPERVISION = "supervision"
    UNANNOUNCED = "unannounced"
    OTHER = "other"


class NotSeenAloneReason(StrEnum):
    CHILD_REFUSED = "child_refused"
    INAPPROPRIATE_FOR_AGE_OR_UNDERSTANDING = "inappropriate_for_age_or_understanding"
    UNABLE = "unable"


class ContactKind(StrEnum):
    PHONE = "phone"
    MESSAGE = "message"
    MEETING = "meeting"
    VIDEO = "video"
    RETURN_HOME_INTERVIEW = "return_home_interview"
    OTHER = "other"


class IncidentCategory(StrEnum):
    DEATH = "death"
    SERIOUS_ILLNESS = "serious_illness"
    SERIOUS_ACCIDENT = "serious_accident"
    INFECTIOUS_DISEASE = "infectious_disease"
    OFFENCE_ALLEGATION = "offence_allegation"
    SEXUAL_EXPLOITATION = "sexual_exploitation"
    POLICE_CALLED = "police_called"
    MISSING = "missing"
    FOUND = "found"
    SELF_HARM = "self_harm"
    OVERDOSE = "overdose"
    SEIZURE = "seizure"
    SUBSTANCE_MISUSE = "substance_misuse"
    CHILD_PROTECTION_ENQUIRY_STARTED = "child_protection_enquiry_started"
    CHILD_PROTECTION_ENQUIRY_OUTCOME = "child_protection_enquiry_outcome"
    ASSAULT_ON_CARER = "assault_on_carer"
    DAMAGE = "damage"
    MEDICATION_ERROR = "medication_error"
    MEDICATION_REFUSED = "medication_refused"
    VIOLENCE = "violence"
    OTHER = "other"


class MadeBy(StrEnum):
    CHILD = "child"
    CARER = "carer"
    PARENT = "parent"
    OTHER = "other"


# Deadline kinds this service sets.
STATUTORY_VISIT = "visits.statutory_visit"
FOLLOW_UP_VISIT = "visits.follow_up_visit"
RETURN_HOME_INTERVIEW = "visits.return_home_interview"
COMPLAINT_ACK = "visits.complaint_acknowledgement"
COMPLAINT_STAGE = {1: "visits.complaint_stage1_response", 2: "visits.complaint_stage2_response"}
COMPLAINT_PANEL = "visits.complaint_stage3_panel"
COMPLAINT_KINDS = frozenset({COMPLAINT_ACK, *COMPLAINT_STAGE.values(), COMPLAINT_PANEL})
VISIT_KINDS = frozenset({STATUTORY_VISIT, FOLLOW_UP_VISIT})
PLAN_REVIEW = "visits.plan_review"
PLAN_ACKNOWLEDGEMENT = "visits.plan_acknowledgement"
RISK_ASSESSMENT_REVIEW = "visits.risk_assessment_review"
RISK_REVIEW_AFTER_INCIDENT = "visits.risk_assessment_after_incident"
RISK_KINDS = frozenset({RISK_ASSESSMENT_REVIEW, RISK_REVIEW_AFTER_INCIDENT})
INITIAL_HEALTH_ASSESSMENT = "visits.initial_health_assessment"
HEALTH_ASSESSMENT = "visits.health_assessment"
DENTAL_CHECK = "visits.dental_check"
HEALTH_KINDS = frozenset({INITIAL_HEALTH_ASSESSMENT, HEALTH_ASSESSMENT, DENTAL_CHECK})
LAC_REVIEW = "visits.looked_after_review"
CONCERN_RESPONSE = "visits.concern_response"

# Incidents after which a social worker must see the child (DOMAIN.md §1: overdose, self-harm,
# missing, police called; plus exploitation and a child protection enquiry, which are as serious).
FOLLOW_UP_CATEGORIES = frozenset(
    {
        IncidentCategory.OVERDOSE,
        IncidentCategory.SELF_HARM,
        IncidentCategory.MISSING,
        IncidentCategory.POLICE_CALLED,
        IncidentCategory.SEXUAL_EXPLOITATION,
        IncidentCategory.CHILD_PROTECTION_ENQUIRY_STARTED,
    }
)


# A serious incident forces the child's risk assessment to be reviewed (Ofsted 2023: assessments
# "not regularly reviewed or linked to children's ongoing safety needs").
RISK_REVIEW_CATEGORIES = frozenset(
    {
        IncidentCategory.SELF_HARM,
        IncidentCategory.OVERDOSE,
        IncidentCategory.MISSING,
        IncidentCategory.POLICE_CALLED,
        IncidentCategory.VIOLENCE,
        IncidentCategory.ASSAULT_ON_CARER,
    }
)

# The health timeline (Ofsted 2023: seizures, substance misuse and self-harm "not monitored well").
HEALTH_TIMELINE_CATEGORIES = frozenset(
    {
        IncidentCategory.SEIZURE,
        IncidentCategory.SELF_HARM,
        IncidentCategory.OVERDOSE,
        IncidentCategory.SUBSTANCE_MISUSE,
        IncidentCategory.MEDICATION_ERROR,
        IncidentCategory.MEDICATION_REFUSED,
    }
)


class PlanKind(StrEnum):
    CARE = "care"
    SAFE_CARE = "safe_care"
    HEALTH = "health"


class HealthCheckKind(StrEnum):
    INITIAL_HEALTH_ASSESSMENT = "initial_health_assessment"
    REVIEW_HEALTH_ASSESSMENT = "review_health_assessment"
    DENTAL_CHECK = "dental_check"


class ConcernRaisedBy(StrEnum):
    CHILD = "child"
    CARER = "carer"
    WORKER = "worker"
    PARENT = "parent"
    OTHER = "other"


class ConcernEscalation(StrEnum):
    COMPLAINT = "complaint"
    ALLEGATION = "allegation"
    CHILD_PROTECTION_ENQUIRY = "child_protection_enquiry"


# ---- recording rules -------------------------------------------------------------------------
def visit_refusals(
    *,
    child_seen: bool,
    seen_alone: bool,
    not_seen_alone_reason: str | None,
    narrative: str | None,
    child_views: str | None,
) -> list[str]:
    """Why a visit record cannot be accepted (empty: it can). DOMAIN.md §2, CPPR reg 29."""
    reasons: list[str] = []
    if child_seen and not (narrative or "").strip():
        reasons.append("A visit where the child was seen needs a narrative of the conversation with the child.")
    if child_seen and not (child_views or "").strip():
        reasons.append("A visit where the child was seen needs the child's views, in their words.")
    if seen_alone and not child_seen:
        reasons.append("The child cannot be seen alone if the child was not seen.")
    if not seen_alone and not_seen_alone_reason is None:
        reasons.append(
            "When the child was not seen alone, record why: child_refused, "
            "inappropriate_for_age_or_understanding or unable."
        )
    if seen_alone and not_seen_alone_reason is not None:
        reasons.append("not_seen_alone_reason is only for visits where the child was not seen alone.")
    return reasons


def future_refusal(occurred_at: datetime, now: datetime, field: str = "occurred_at") -> str | None:
    if occurred_at > now:
        return f"{field} ({occurred_at.isoformat()}) is in the future; record what has happened."
    return None


def is_late_entry(occurred_at: datetime, recorded_at: datetime, late_hours: float) -> bool:
    return recorded_at - occurred_at > _hours(late_hours)


@functools.lru_cache(maxsize=16)
def _hours(hours: float) -> timedelta:
    return timedelta(hours=hours)


# ---- dates -------------------------------------------------------------------------------------
def add_months(day: date, months: int) -> date:
    """Calendar months, clipped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def end_of_day(day: date) -> datetime:
    """A day-counted deadline falls due at the end of its day, England time."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=LONDON)


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=LONDON)


def local_date(instant: datetime) -> date:
    return instant.astimezone(LONDON).date()


def _interval(key: str, start: date) -> date:
    rule = STATUTORY[key]
    if rule.unit == "days":
        return start + timedelta(days=rule.value)
    if rule.unit == "weeks":
        return start + timedelta(weeks=rule.value)
    if rule.unit == "months":
        return add_months(start, rule.value)
    if rule.unit == "working_days":
        return add_working_days(start, rule.value)
    raise ValueError(rule.unit)


# ---- CPPR reg 28: statutory visits -------------------------------------------------------------
@dataclass(frozen=True)
class PlacementTerms:
    start_date: date
    long_term: bool = False
    connected_person: bool = False


def first_review_date(start_date: date) -> date:
    return _interval("first_review", start_date)


def first_visit_due(placement: PlacementTerms) -> date:
    """Placement start -> first statutory visit within a week (weekly too for reg 24 placements)."""
    key = "connected_weekly_interval" if placement.connected_person else "first_visit"
    return _interval(key, placement.start_date)


def statutory_interval_key(placement: PlacementTerms, last_visit: date) -> str:
    """Which interval applies after a visit on `last_visit`.

    The interval is chosen by the date of the visit that starts it: a visit inside the first year
    of the placement (before its first anniversary) is followed within 6 weeks; a visit on or after
    the anniversary within 3 months if the placement is long-term, else 6 weeks. A reg 24 placement
    is visited weekly until the first review, then at most 4 weeks apart.
    """
    if placement.connected_person:
        if last_visit < first_review_date(placement.start_date):
            return "connected_weekly_interval"
        return "connected_later_interval"
    if last_visit < add_months(placement.start_date, 12):
        return "first_year_interval"
    return "long_term_later_interval" if placement.long_term else "later_interval"


def next_statutory_visit_due(placement: PlacementTerms, last_visit: date) -> date:
    return _interval(statutory_interval_key(placement, last_visit), last_visit)


# ---- serious incidents and missing ----------------------------------------------------------------
def needs_follow_up_visit(
    category: str, *, police_called: bool = False, needed_hospital_treatment: bool = False
) -> bool:
    return category in FOLLOW_UP_CATEGORIES or police_called or needed_hospital_treatment


def follow_up_visit_due(incident_at: datetime, working_days: int) -> datetime:
    """A social worker sees the child within `working_days` working days of the incident (local)."""
    return add_working_days_at(incident_at.astimezone(LONDON), working_days)


def needs_return_home_interview(category: str) -> bool:
    return category == IncidentCategory.FOUND


def return_home_interview_due(found_at: datetime) -> datetime:
    return found_at + timedelta(hours=STATUTORY["return_home_interview"].value)


# ---- complaints ----------------------------------------------------------------------------------
def complaint_flags(*, made_by: str, serious: bool, about_household_id: object | None) -> tuple[bool, bool]:
    """(schedule7_row9, lado_consultation).

    Schedule 7 row 9 is a serious complaint about a foster carer; every complaint by a child about
    their carer is handled as row 9 and goes to the LADO for consultation (NCT practice).
    """
    by_child_about_carer = made_by == MadeBy.CHILD and about_household_id is not None
    row9 = by_child_about_carer or (serious and about_household_id is not None)
    return row9, by_child_about_carer


def complaint_ack_due(received_at: datetime, working_days: int) -> datetime:
    return add_working_days_at(received_at.astimezone(LONDON), working_days)


def complaint_stage_working_days(stage: int, *, extended_to: int | None = None) -> int:
    key = {1: "complaint_stage1", 2: "complaint_stage2", 3: "complaint_stage3_panel"}[stage]
    if extended_to is None:
        return STATUTORY[key].value
    maximum = {1: "complaint_stage1_max", 2: "complaint_stage2_max"}.get(stage)
    if maximum is None:
        raise ValueError("stage 3 panel timescales cannot be extended")
    if not STATUTORY[key].value <= extended_to <= STATUTORY[maximum].value:
        raise ValueError(
            f"stage {stage} can be extended to between {STATUTORY[key].value} and "
            f"{STATUTORY[maximum].value} working days"
        )
    return extended_to


def complaint_stage_due(started_at: datetime, stage: int, *, extended_to: int | None = None) -> datetime:
    """Stage 1 from receipt, stage 2 from escalation, stage 3 panel from the request: working days."""
    return add_working_days_at(
        started_at.astimezone(LONDON), complaint_stage_working_days(stage, extended_to=extended_to)
    )


def complaint_stage_kind(stage: int) -> str:
    return COMPLAINT_PANEL if stage == 3 else COMPLAINT_STAGE[stage]


def complaint_stage_source(stage: int, extended: bool = False) -> str:
    key = {1: "complaint_stage1", 2: "complaint_stage2", 3: "complaint_stage3_panel"}[stage]
    if extended:
        key = {1: "complaint_stage1_max", 2: "complaint_stage2_max"}[stage]
    return STATUTORY[key].source


# ---- compliance ------------------------------------------------------------------------------------
def is_overdue(due_at: datetime, now: datetime) -> bool:
    return now > due_at


def days_since(instant: datetime | None, now: datetime) -> int | None:
    if instant is None:
        return None
    return (local_date(now) - local_date(instant)).days


# ---- plans, risk assessments, health, reviews, concerns (issue 12) ---------------------------------
def review_date_refusals(review_date: date, today: date, field: str = "review_date") -> list[str]:
    if review_date <= today:
        return [f"{field} ({review_date.isoformat()}) must be after today: a review is in the future."]
    return []


def medication_refusals(kind: str, medications: list[dict[str, str | None]]) -> list[str]:
    """A medication in a plan says what, how much, who gives it and what to watch for (Ofsted 2023)."""
    reasons: list[str] = []
    if medications and kind != PlanKind.HEALTH:
        reasons.append("Medication belongs in the health plan.")
    for i, med in enumerate(medications):
        missing = [f for f in ("name", "dose", "given_by", "watch_for") if not (med.get(f) or "").strip()]
        if missing:
            reasons.append(f"medications[{i}] needs {', '.join(missing)}.")
    return reasons


def plan_ack_due(shared_at: datetime, working_days: int) -> datetime:
    return add_working_days_at(shared_at.astimezone(LONDON), working_days)


def needs_risk_review(category: str, *, police_called: bool = False) -> bool:
    return category in RISK_REVIEW_CATEGORIES or police_called


def risk_review_due(incident_at: datetime, working_days: int) -> datetime:
    return add_working_days_at(incident_at.astimezone(LONDON), working_days)


def initial_health_assessment_due(looked_after_since: date) -> date:
    return _interval("initial_health_assessment", looked_after_since)


def health_review_key(date_of_birth: date, on: date) -> str:
    return "health_review_under_5" if add_months(date_of_birth, 60) > on else "health_review"


def next_health_assessment_due(date_of_birth: date, assessed_on: date) -> date:
    """Under-fives are reviewed every 6 months, older children every 12 (by age at the assessment)."""
    return _interval(health_review_key(date_of_birth, assessed_on), assessed_on)


def first_lac_review_due(looked_after_since: date) -> date:
    return _interval("first_review", looked_after_since)


def lac_review_key(reviews_held: int) -> str:
    """The rule for the next review once `reviews_held` reviews (including this one) have been held."""
    if reviews_held <= 0:
        return "first_review"
    return "second_review" if reviews_held == 1 else "later_reviews"


def next_lac_review_due(held_on: date, reviews_held: int) -> date:
    return _interval(lac_review_key(reviews_held), held_on)


def concern_response_due(raised_at: datetime, working_days: int) -> datetime:
    return add_working_days_at(raised_at.astimezone(LONDON), working_days)


def concern_outcome_refusals(*, actions: int, status: str) -> list[str]:
    reasons: list[str] = []
    if status in ("resolved", "escalated"):
        reasons.append(f"The concern is already {status}.")
    elif actions == 0:
        reasons.append("Record the action taken on the concern before its outcome.")
    return reasons


def month_counts(rows: list[tuple[str, datetime]]) -> dict[str, dict[str, int]]:
    """{"YYYY-MM": {category: count}} in England's time, months in order."""
    counts: dict[str, dict[str, int]] = {}
    for category, at in sorted(rows, key=lambda r: r[1]):
        month = local_date(at).strftime("%Y-%m")
        bucket = counts.setdefault(month, {})
        bucket[category] = bucket.get(category, 0) + 1
    return counts
