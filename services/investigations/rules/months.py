"""Months, their closes and "as of": the calendar every report is counted in (England's)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def parse_month(text: str) -> tuple[int, int]:
    match = MONTH.fullmatch(text.strip())
    if match is None:
        raise ValueError("month must be YYYY-MM, e.g. 2026-08")
    return int(match.group(1)), int(match.group(2))


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The month as [start, end) in UTC, its days counted in England's local time."""
    year, mon = parse_month(month)
    nxt = (year + 1, 1) if mon == 12 else (year, mon + 1)
    start = datetime(year, mon, 1, tzinfo=LONDON).astimezone(UTC)
    end = datetime(nxt[0], nxt[1], 1, tzinfo=LONDON).astimezone(UTC)
    return start, end


def shift_month(month: str, delta: int) -> str:
    year, mon = parse_month(month)
    index = year * 12 + (mon - 1) + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_of(instant: datetime) -> str:
    local = instant.astimezone(LONDON)
    return f"{local.year:04d}-{local.month:02d}"


def month_close(month: str, close_days: float) -> datetime:
    """When the month's figures are final: its end plus `close_days` for late entries (local)."""
    return month_bounds(month)[1] + timedelta(days=close_days)


def resolve_as_of(
    requested: datetime | None,
    close: datetime,
    settled: datetime,
    head_recorded_at: datetime | None,
) -> tuple[datetime, bool]:
    """(as_of, provisional).

    `settled` is the latest instant by which every append is committed (recorded_at never
    decreases along the log and is taken under the append lock), so any as_of up to it gives the
    same answer for ever. A later as_of is capped at the last event recorded and is provisional.
    """
    target = requested if requested is not None else close
    if target <= settled:
        return target, False
    cap = head_recorded_at if head_recorded_at is not None else settled
    return min(target, cap), True


def year_of(instant: datetime) -> int:
    return instant.astimezone(LONDON).year


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
