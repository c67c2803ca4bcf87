"""Field types shared by every API: one instant and one day type for every body and query field."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

from shared.instants import day_problem, instant_problem


def _not_a_number(value: Any) -> Any:
    # pydantic would read "0" or 1700000000 as a Unix timestamp; the contract says ISO 8601.
    if isinstance(value, int | float) or (
        isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit()
    ):
        raise ValueError("give an ISO 8601 date-time with a time zone, e.g. 2026-11-25T12:00:00Z")
    return value


def _instant_in_range(value: datetime) -> datetime:
    problem = instant_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _day_not_a_number(value: Any) -> Any:
    if isinstance(value, int | float):
        raise ValueError("give an ISO 8601 date, e.g. 2026-11-25")
    return value


def _day_in_range(value: date) -> date:
    problem = day_problem(value)
    if problem:
        raise ValueError(problem)
    return value


# An instant: ISO 8601 with a time zone, in the range the log records (shared/instants.py).
Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_not_a_number),
    AfterValidator(_instant_in_range),
]
# A calendar day (a date of birth, a start date), in the same range.
Day = Annotated[
    date,
    BeforeValidator(_day_not_a_number),
    AfterValidator(_day_in_range),
]

MONTH_PATTERN = r"^(19|20|21)\d\d-(0[1-9]|1[0-2])$"
