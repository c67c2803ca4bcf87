"""Field types shared by every API: one instant and one day type for every body and query field."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import AfterValidator, AwareDatetime, BeforeValidator

from shared.instants import day_problem, instant_problem
from shared.problems import FieldError, Problem


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


def _query_names(dependant: Dependant) -> list[str]:
    """The query parameters a route takes, its dependencies' included."""
    return [p.alias for p in dependant.query_params] + [n for d in dependant.dependencies for n in _query_names(d)]


# Where a route keeps the query parameters it takes: found once, on the route's first request.
_KNOWN_QUERY = "_carelog_known_query"


def _known_query(route: APIRoute) -> frozenset[str]:
    known: frozenset[str] | None = route.__dict__.get(_KNOWN_QUERY)
    if known is None:
        known = frozenset(_query_names(route.dependant))
        setattr(route, _KNOWN_QUERY, known)
    return known


async def refuse_unknown_query(request: Request) -> None:
    """A query parameter the route does not take is refused (422), never ignored: a misspelt filter
    (`?worker=` for `?worker_id=`) would otherwise answer as if there were none. A coroutine: a
    plain function would be run on a worker thread, a hand-over costing more than the check."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    if not request.scope.get("query_string"):
        return
    known = _known_query(route)
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        raise Problem(
            "validation",
            f"{route.path} takes no query parameter {', '.join(unknown)}.",
            errors=[
                FieldError(location=["query", name], message="not a parameter of this route", type="extra_forbidden")
                for name in unknown
            ],
        )
