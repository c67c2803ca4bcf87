"""Every command route of every service decides again when its stream moves under it (no If-Match)."""

from __future__ import annotations

import inspect
import typing

from fastapi.routing import APIRoute

from services.app import SERVICE_NAMES, service_specs
from shared.access.api import router as access_router
from shared.commanding import CommandContext, CommandRoute
from shared.ops import router as ops_router


def _takes_context(endpoint: typing.Callable[..., typing.Any]) -> bool:
    hints = typing.get_type_hints(inspect.unwrap(endpoint), include_extras=True).values()
    return any((typing.get_args(h) or (h,))[0] is CommandContext for h in hints)


def test_every_command_route_runs_through_the_retries() -> None:
    routers = [r for spec in service_specs(SERVICE_NAMES) for r in spec.routers] + [access_router, ops_router]
    routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]
    commands = [r for r in routes if _takes_context(r.endpoint)]
    assert len(commands) >= 40  # visits, carers and notifications commands
    unretried = [r.path for r in commands if not (isinstance(r, CommandRoute) and r.retries_conflicts)]
    assert unretried == []
    for route in commands:
        assert route.endpoint is not inspect.unwrap(route.endpoint)  # wrapped by run_command
        assert route.dependant.call is route.endpoint
    # A route that is no command is left as it was.
    assert all(r.endpoint is inspect.unwrap(r.endpoint) for r in routes if not _takes_context(r.endpoint))
