"""The statutory table (each number with its source) and the dates it gives: visits (CPPR 2010 reg
28), looked-after child reviews (reg 33), health assessments, return home interviews and the
complaint stages (Representations Procedure (England) Regulations 2006). Pure: no I/O, no clock.
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.calendar import ENGLAND, add_working_days, add_working_days_at


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
    "complaint_stage3_report": Statutory(
        5, "working_days", "Representations Procedure (England) Regs 2006 reg 20: the panel's report after it meets"
    ),
    "complaint_stage3_response": Statutory(
        15, "working_days", "Representations Procedure (England) Regs 2006 reg 20: the response to the panel's report"
    ),
}


# ---- dates -------------------------------------------------------------------------------------
def add_months(day: date, months: int) -> date:
    """Calendar months, clipped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


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


def working_days_after(instant: datetime, working_days: int) -> datetime:
    """`working_days` England working days after `instant`, at the same time of day in England."""
    return add_working_days_at(instant.astimezone(ENGLAND), working_days)


# ---- CPPR reg 28: statutory visits -------------------------------------------------------------
@dataclass(frozen=True)
class PlacementTerms:
    start_date: date
    long_term: bool = False
    connected_person: bool = False


def first_review_date(start_date: date) -> date:
    return _interval("first_review", start_date)


def first_visit_key(placement: PlacementTerms) -> str:
    return "connected_weekly_interval" if placement.connected_person else "first_visit"


def first_visit_due(placement: PlacementTerms) -> date:
    """Placement start -> first statutory visit within a week (weekly too for reg 24 placements)."""
    return _interval(first_visit_key(placement), placement.start_date)


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


# ---- missing children ----------------------------------------------------------------------------
def return_home_interview_due(found_at: datetime) -> datetime:
    return found_at + timedelta(hours=STATUTORY["return_home_interview"].value)


# ---- complaints ----------------------------------------------------------------------------------
_STAGE_KEYS = {1: "complaint_stage1", 2: "complaint_stage2", 3: "complaint_stage3_panel"}
_STAGE_MAXIMA = {1: "complaint_stage1_max", 2: "complaint_stage2_max"}


def complaint_stage_working_days(stage: int, *, extended_to: int | None = None) -> int:
    key = _STAGE_KEYS[stage]
    if extended_to is None:
        return STATUTORY[key].value
    maximum = _STAGE_MAXIMA.get(stage)
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
    return working_days_after(started_at, complaint_stage_working_days(stage, extended_to=extended_to))


def complaint_stage_source(stage: int, extended: bool = False) -> str:
    return STATUTORY[_STAGE_MAXIMA[stage] if extended else _STAGE_KEYS[stage]].source


# ---- health and looked-after child reviews -------------------------------------------------------
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
