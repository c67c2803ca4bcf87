"""The numbers and vocabularies of fostering households: statutory numbers with their source, the
words a record uses, and date arithmetic. Local practice is `shared.practice.CarersPractice`."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum

from shared.calendar import add_working_days_at
from shared.contracts.carers import CheckResult, MemberRole, PlacementType, Terms
from shared.contracts.visits import ChildNeed
from shared.practice import CarersPractice

__all__ = [
    "AGENDA_INCIDENT_CATEGORIES",
    "CARER_ROLES",
    "ENDING_PARTS",
    "NEEDS_TRAINING",
    "NEEDS_TRAINING_EFFECTIVE",
    "STATUTORY",
    "AllegationOutcome",
    "CheckKind",
    "CheckResult",
    "ChildNeed",
    "HouseholdStatus",
    "MemberRole",
    "NotSeenReason",
    "PlacementType",
    "ReviewOutcome",
    "Statutory",
    "Terms",
    "TrainingCourse",
    "add_months",
    "add_months_at",
    "add_years",
    "adult_from",
    "age_on",
    "lado_confirmation_due",
    "lado_referral_due",
    "start_of",
    "tsd_months",
]


@dataclass(frozen=True)
class Statutory:
    adult_age: int = 18  # Schedule 3, Fostering Services (England) Regulations 2011: checks on every adult (18+)
    annual_review_months: int = 12  # reg 28(2), Fostering Services (England) Regulations 2011
    unannounced_visit_months: int = 12  # NMS 21.8: at least one unannounced visit a year
    tsd_months: int = 12  # NMS 20.3: TSD standards within 12 months of approval
    tsd_months_connected: int = 18  # NMS 20.3: 18 months for family and friends (connected) carers
    lado_referral_working_days: int = 1  # Working Together to Safeguard Children 2023, ch. 4: within one working day
    panel_months: int = 8  # NMS 14.4: the application presented to panel within 8 months
    agency_decision_working_days: int = 7  # NMS 14: the decision within 7 working days of the final panel minutes
    personal_references: int = 2  # FSR 2011 Schedule 3: at least two personal references
    resignation_notice_days: int = 28  # FSR 2011 reg 28(13): resignation takes effect 28 days after the notice
    temporary_approval_weeks: int = 16  # CPPR 2010 reg 24(2): temporary approval of a connected person
    temporary_extension_max_weeks: int = 8  # CPPR 2010 reg 25: extended once, by up to 8 weeks
    representations_days: int = 28  # FSR 2011 reg 28: representations or the IRM on a qualifying determination


STATUTORY = Statutory()

CARER_ROLES = frozenset({MemberRole.APPLICANT, MemberRole.CARER})


class CheckKind(StrEnum):
    DBS_ENHANCED = "dbs_enhanced"
    MEDICAL = "medical"
    REFERENCES = "references"
    LOCAL_AUTHORITY = "local_authority"
    HOME_SAFETY = "home_safety"
    EMPLOYER = "employer"
    PREVIOUS_PARTNER = "previous_partner"


class TrainingCourse(StrEnum):
    TSD_STANDARDS = "tsd_standards"
    SAFEGUARDING = "safeguarding"
    FIRST_AID = "first_aid"
    MEDICATION = "medication"
    ALLEGATIONS = "allegations"
    EXPLOITATION = "exploitation"
    EPILEPSY = "epilepsy"
    SELF_HARM = "self_harm"
    SUBSTANCE_MISUSE = "substance_misuse"
    DIABETES = "diabetes"
    OTHER = "other"


class ReviewOutcome(StrEnum):
    CONTINUE = "continue"
    CHANGE_TERMS = "change_terms"
    RECOMMEND_TERMINATION = "recommend_termination"


class AllegationOutcome(StrEnum):
    SUBSTANTIATED = "substantiated"
    FALSE = "false"
    MALICIOUS = "malicious"
    UNSUBSTANTIATED = "unsubstantiated"
    UNFOUNDED = "unfounded"


class HouseholdStatus(StrEnum):
    ASSESSMENT = "assessment"
    APPROVED = "approved"
    REFUSED = "refused"
    ENDED = "ended"


class NotSeenReason(StrEnum):
    """The only reasons an unannounced visit may give for a placed child it did not see (NMS 21.8)."""

    CHILD_REFUSED = "child_refused"
    INAPPROPRIATE_FOR_AGE_OR_UNDERSTANDING = "inappropriate_for_age_or_understanding"
    UNABLE = "unable"


# Which courses every carer of a child with the need must hold. Effective 2026-11-25 (local
# policy under reg 17(1) and NMS 20.5; the Ofsted report found carers without the training their
# children's health needs required). A need not listed calls for no particular course.
NEEDS_TRAINING_EFFECTIVE = date(2026, 11, 25)
NEEDS_TRAINING: dict[str, tuple[str, ...]] = {
    ChildNeed.EPILEPSY: (TrainingCourse.EPILEPSY, TrainingCourse.FIRST_AID),
    ChildNeed.COMPLEX_MEDICATION: (TrainingCourse.MEDICATION,),
    ChildNeed.SELF_HARM: (TrainingCourse.SELF_HARM,),
    ChildNeed.SUBSTANCE_MISUSE: (TrainingCourse.SUBSTANCE_MISUSE,),
    ChildNeed.DIABETES: (TrainingCourse.DIABETES, TrainingCourse.MEDICATION),
    ChildNeed.SEXUAL_EXPLOITATION_RISK: (TrainingCourse.EXPLOITATION,),
}

# Behavioural incidents discussed at the household's next supervision (Ofsted finding).
AGENDA_INCIDENT_CATEGORIES = frozenset({"assault_on_carer", "damage", "police_called"})

# The three parts of a good ending (NMS 11).
ENDING_PARTS = ("child_wishes", "carer_views", "ending_meeting")


# ---- dates -----------------------------------------------------------------------------------
def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_months_at(instant: datetime, months: int) -> datetime:
    return datetime.combine(add_months(instant.date(), months), instant.timetz())


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)


def start_of(day: date) -> datetime:
    """Midnight UTC, not England's (shared.calendar.start_of_day): the due times of clocks already
    in the log were set this way, and moving them an hour in summer would change what is overdue."""
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def age_on(date_of_birth: date, on: date) -> int:
    return on.year - date_of_birth.year - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))


def adult_by_birth(date_of_birth: date | None, on: date) -> bool:
    """18 or over on `on`; a date of birth destroyed with its record counts as an adult's (the
    checks an adult needs are never skipped for want of a date)."""
    return date_of_birth is None or age_on(date_of_birth, on) >= STATUTORY.adult_age


def adult_from(date_of_birth: date) -> date:
    return add_years(date_of_birth, STATUTORY.adult_age)


def lado_referral_due(received_at: datetime) -> datetime:
    return add_working_days_at(received_at, STATUTORY.lado_referral_working_days)


def lado_confirmation_due(received_at: datetime, practice: CarersPractice) -> datetime:
    return add_working_days_at(received_at, practice.lado_written_confirmation_working_days)


def tsd_months(connected_person: bool) -> int:
    return STATUTORY.tsd_months_connected if connected_person else STATUTORY.tsd_months
