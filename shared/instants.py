"""The range of instants and days carelog records, one definition for the API and the log.

PostgreSQL would store an instant outside Python's range as -infinity, and arithmetic on a day
near year 1 or 9999 overflows: nothing outside this range is plausible in a child's record."""

from __future__ import annotations

from datetime import UTC, date, datetime

EARLIEST_YEAR, LATEST_YEAR = 1900, 2199
EARLIEST_INSTANT = datetime(EARLIEST_YEAR, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(LATEST_YEAR, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
EARLIEST_DAY, LATEST_DAY = EARLIEST_INSTANT.date(), LATEST_INSTANT.date()

RANGE_TEXT = f"between {EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()} (UTC)"


def instant_problem(value: datetime) -> str | None:
    """Why `value` cannot be recorded, or None. Compared in UTC: 2199-12-31T23:00-05:00 is 2200."""
    if value.tzinfo is None or value.utcoffset() is None:
        return "an instant needs a time zone, e.g. 2026-11-25T12:00:00Z"
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        return f"the instant must be {RANGE_TEXT}"
    if not EARLIEST_INSTANT <= utc <= LATEST_INSTANT:
        return f"the instant must be {RANGE_TEXT}"
    return None


def day_problem(value: date) -> str | None:
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        return f"the date must be {RANGE_TEXT}"
    return None
