"""Refusals in one shape: every reason a command is refused has a stable code and a sentence a
social worker can act on, and the problem lists them all (not just the first)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from shared.calendar import local_date
from shared.problems import Problem, Reason

__all__ = ["FUTURE_TOLERANCE", "Reason", "in_the_future", "refusal", "refuse_if"]

# How far ahead of the agency's clock a recorded occurrence may be: a phone's clock runs a little
# fast, a visit is recorded as it ends. Anything later has not happened yet.
FUTURE_TOLERANCE = timedelta(minutes=10)


def refusal(reasons: Iterable[Reason], *, slug: str = "business-rule", **extensions: Any) -> Problem:
    """The problem that refuses a command for `reasons` (422 business-rule unless told otherwise)."""
    found = list(reasons)
    detail = found[0].detail if len(found) == 1 else " ".join(r.detail for r in found)
    return Problem(slug, detail, reasons=found, **extensions)


def refuse_if(reasons: Iterable[Reason], **extensions: Any) -> None:
    found = list(reasons)
    if found:
        raise refusal(found, **extensions)


def in_the_future(field: str, value: datetime | date, now: datetime) -> Reason | None:
    """A recorded occurrence later than now (with the tolerance); a day after today."""
    late = value > now + FUTURE_TOLERANCE if isinstance(value, datetime) else value > local_date(now)
    if late:
        return Reason("in_the_future", f"{field} ({value.isoformat()}) is in the future; record what has happened.")
    return None
