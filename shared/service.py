"""How a service presents itself to the composition roots (services/app.py, services/cli.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter

from shared.eventstore import Projector

# A long-running task of a service (e.g. the webhook dispatcher), given the app state.
Worker = Callable[[Any], Coroutine[Any, Any, None]]
# Figures a service offers to /metrics (e.g. outbox depth), given the app state.
GaugeSource = Callable[[Any], Awaitable[dict[str, float]]]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    router: APIRouter
    projectors: Sequence[Projector] = ()
    workers: Sequence[Worker] = field(default_factory=tuple)
    gauges: GaugeSource | None = None
