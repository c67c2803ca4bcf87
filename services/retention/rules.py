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
RULES = {r.code: r for r in (CHILD_TO_75, CHILD_DIED, CARER_APPROVAL_ENDED, CARER_NOT_APPROVED, ALLEGATION)}


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


def child_retention(date_of_birth: date, died_on: date | None) -> Due:
    """reg 50: until the 75th birthday; 15 years after death if the child died before 18."""
    if died_on is not None and died_on < add_years(date_of_birth, 18):
        return Due(retain_until=add_years(died_on, CHILD_DIED.years), rule=CHILD_DIED.code)
    return Due(retain_until=add_years(date_of_birth, CHILD_TO_75.years), rule=CHILD_TO_75.code)


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
