"""Field types shared by every API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

EARLIEST_YEAR, LATEST_YEAR = 1900, 2199


def _not_a_number(value: Any) -> Any:
    # pydantic would read "0" or 1700000000 as a Unix timestamp; the contract says ISO 8601.
    if isinstance(value, int | float) or (
        isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit()
    ):
        raise ValueError("give an ISO 8601 date-time with a time zone, e.g. 2026-11-25T12:00:00Z")
    return value


def _in_range(value: datetime) -> datetime:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"the year must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


# An instant in a query: ISO 8601 with a time zone, in a plausible range.
Instant = Annotated[AwareDatetime, BeforeValidator(_not_a_number), AfterValidator(_in_range)]

MONTH_PATTERN = r"^(19|20|21)\d\d-(0[1-9]|1[0-2])$"
