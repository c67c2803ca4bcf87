"""How long each record is kept, as data with its source (docs/domain.md section 5), and the pure
functions that say when a record may be destroyed. A record under a legal hold never is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from pydantic import BaseModel


@dataclass(frozen=True)
class Rule:
    code: str
    years: int
    source: str
    meaning: str


# Statutory minimums: a record is destroyed on the first day after the last it must be kept.
CHILD_TO_75 = Rule(
    "child-75th-birthday",
    75,
    "Care Planning, Placement and Case Review (England) Regulations 2010 reg 50",
    "a looked-after child's case record: until their 75th birthday",
)
CHILD_DIED = Rule(
    "child-died-before-18",
    15,
    "Care Planning, Placement and Case Review (England) Regulations 2010 reg 50",
    "a child who died before 18: 15 years from the date of death",
)
CARER_APPROVAL_ENDED = Rule(
    "carer-approval-ended",
    10,
    "Fostering Services (England) Regulations 2011 reg 32",
    "a foster carer's case record: 10 years from the date approval ended",
)
CARER_NOT_APPROVED = Rule(
    "carer-not-approved",
    3,
    "Fostering Services (England) Regulations 2011 reg 32",
    "an applicant refused or withdrawn: 3 years from the decision",
)
ALLEGATION = Rule(
    "allegation-against-carer",
    10,
    "safeguarding guidance on allegations (local application: kept on the carer's record)",
    "an allegation against a carer: at least 10 years from the allegation, with the carer's record",
)
# Local rules: the agency's policy, the years from the settings (CARELOG_RETENTION_*); `years`
# here is the default.
STAFF_LAST_RECORD = Rule(
    "staff-last-record",
    6,
    "agency policy (local, CARELOG_RETENTION_STAFF_YEARS): six years after the last record, the time "
    "limit for a claim in contract (Limitation Act 1980 s 5)",
    "a member of staff's own records (training, supervision): years after their last record",
)
ACCESS_LOG_POLICY = Rule(
    "access-log-policy",
    6,
    "agency policy (local, CARELOG_RETENTION_ACCESS_LOG_YEARS)",
    "the access log of reads of children's records: years after each read",
)
RULES = {
    r.code: r
    for r in (
        CHILD_TO_75,
        CHILD_DIED,
        CARER_APPROVAL_ENDED,
        CARER_NOT_APPROVED,
        ALLEGATION,
        STAFF_LAST_RECORD,
        ACCESS_LOG_POLICY,
    )
}


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


# The window the retention report looks ahead, so the agency can act (a hold, an access request).
REPORT_DAYS = 90


class Due(BaseModel):
    """When a record may go, and under which rule (None: it must be kept, e.g. an open approval)."""

    retain_until: date | None
    rule: str | None


ADULT_AGE = 18


def child_retention(date_of_birth: date, died_on: date | None) -> Due:
    """reg 50: until the 75th birthday; 15 years after death if the child died before 18."""
    return child_retention_from(
        add_years(date_of_birth, CHILD_TO_75.years), add_years(date_of_birth, ADULT_AGE), died_on
    )


def child_retention_from(until_75th_birthday: date, eighteenth_birthday: date, died_on: date | None) -> Due:
    """reg 50 from the two dates derived from the date of birth while it could be read (the date
    of birth itself is sealed, and unreadable once the record is destroyed)."""
    if died_on is not None and died_on < eighteenth_birthday:
        return Due(retain_until=add_years(died_on, CHILD_DIED.years), rule=CHILD_DIED.code)
    return Due(retain_until=until_75th_birthday, rule=CHILD_TO_75.code)


def staff_retention(last_record_on: date, years: int) -> Due:
    """A member of staff's own records: `years` (local) after their last record."""
    return Due(retain_until=add_years(last_record_on, years), rule=STAFF_LAST_RECORD.code)


def access_log_cutoff(today: date, years: int) -> date:
    """Reads recorded before this day are past the agency's policy (kept `years` from each read)."""
    return add_years(today, -years)


def household_retention(
    *, approved: bool, approval_ended_on: date | None, refused_on: date | None, last_allegation_on: date | None
) -> Due:
    """reg 32: 10 years from the end of approval (3 years for an applicant never approved); an
    allegation keeps the record at least 10 years from it. Open approval: kept."""
    candidates: list[tuple[date, str]] = []
    if approval_ended_on is not None:
        candidates.append((add_years(approval_ended_on, CARER_APPROVAL_ENDED.years), CARER_APPROVAL_ENDED.code))
    elif refused_on is not None and not approved:
        candidates.append((add_years(refused_on, CARER_NOT_APPROVED.years), CARER_NOT_APPROVED.code))
    else:
        return Due(retain_until=None, rule=None)  # approved, or an application still open
    if last_allegation_on is not None:
        candidates.append((add_years(last_allegation_on, ALLEGATION.years), ALLEGATION.code))
    until, rule = max(candidates)
    return Due(retain_until=until, rule=rule)


def destroyable(retain_until: date | None, held: bool, destroyed: bool, today: date) -> bool:
    """Past its date (the last day kept is `retain_until`), not held, not gone already."""
    return retain_until is not None and today > retain_until and not held and not destroyed


def due_within(retain_until: date | None, today: date, days: int = REPORT_DAYS) -> bool:
    return retain_until is not None and retain_until < today + timedelta(days=days)
