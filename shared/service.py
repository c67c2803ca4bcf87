"""How a service presents itself to the composition roots (services/app.py, services/cli.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter

from shared.eventstore import Projector
from shared.settings import Settings

# A long-running task of a service (e.g. the webhook dispatcher), given the app state.
Worker = Callable[[Any], Coroutine[Any, Any, None]]
# A service's projectors, built with the app's settings (a reactor may need local practice).
ProjectorFactory = Callable[[Settings], Sequence[Projector]]
# Figures a service offers to /metrics (e.g. outbox depth), given the app state.
GaugeSource = Callable[[Any], Awaitable[dict[str, float]]]


def no_projectors(settings: Settings) -> Sequence[Projector]:
    return ()


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    router: APIRouter
    projectors: ProjectorFactory = no_projectors
    # Routers of the service's other route modules, each with the service's own prefix: included
    # by the app beside `router` (never inside it, so every route's access rule is found).
    more_routers: Sequence[APIRouter] = ()
    workers: Sequence[Worker] = field(default_factory=tuple)
    gauges: GaugeSource | None = None

    @property
    def routers(self) -> tuple[APIRouter, ...]:
        return (self.router, *self.more_routers)
