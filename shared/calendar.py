"""England's calendar: its days (Europe/London) and its working days (weekends and England & Wales
bank holidays, from `holidays`)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

ENGLAND = ZoneInfo("Europe/London")


def local_date(instant: datetime) -> date:
    """The day it is in England at `instant`."""
    return instant.astimezone(ENGLAND).date()


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=ENGLAND)


def end_of_day(day: date) -> datetime:
    """A day-counted deadline falls due at the end of its day, England time."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=ENGLAND)


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start` (start itself never counts)."""
    if days < 0:
        raise ValueError("days must be non-negative")
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def add_working_days_at(start: datetime, days: int) -> datetime:
    """Same as add_working_days, keeping the time of day and zone of `start`."""
    due = add_working_days(start.date(), days)
    return datetime.combine(due, start.timetz())
