"""Composition root: the FastAPI application with the chosen services, their projectors and
workers, on one event store."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from fastapi import Depends, FastAPI
from starlette.middleware.cors import CORSMiddleware

from shared.access import ACCESS, route_rules, undeclared_routes
from shared.auth import VerifiedTokens, jwk_client_for
from shared.clock import Clock, SystemClock
from shared.db import create_engine
from shared.eventstore import EventStore, Projector, ProjectorRunner
from shared.eventstore.shredding import KeyRing, local_wrapper
from shared.headers import HeaderLimits
from shared.idempotency import BodyLimitAndIdempotency
from shared.observability import RequestObservation, metrics_endpoint, quiet_http_client_logs
from shared.ops import checkpoint_worker
from shared.ops import router as ops_router
from shared.problems import PROBLEM_RESPONSES, document_problems, install_problem_handlers
from shared.ratelimit import FailedAuthenticationLimit, LoginFreeRateLimit, TokenBuckets
from shared.service import ServiceSpec
from shared.settings import ConfigurationError, Settings, get_settings
from shared.signin import install as install_signin
from shared.signin import router as signin_router
from shared.tasks import stop_tasks
from shared.tracing import instrument
from shared.types import refuse_unknown_query

log = logging.getLogger(__name__)

SERVICE_NAMES = ("visits", "carers", "notifications")


# What a browser client may send and read across origins (CORS), when origins are configured.
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "X-Request-ID",
    "X-Correlation-ID",
    "X-Break-Glass-Reason",
]
CORS_RESPONSE_HEADERS = ["ETag", "Location", "Retry-After", "X-Request-ID", "Idempotent-Replayed"]

# Included in every mode (`--service` of any name): the read-only investigations, access (the
# relations every route's policy reads) and retention (holds, and the dates records are kept to).
ALWAYS_INCLUDED = ("investigations", "access", "retention")


def service_specs(names: Sequence[str]) -> list[ServiceSpec]:
    from services.carers.api import SERVICE as CARERS
    from services.investigations.api import SERVICE as INVESTIGATIONS
    from services.notifications.api import SERVICE as NOTIFICATIONS
    from services.retention.api import SERVICE as RETENTION
    from services.visits.api import SERVICE as VISITS

    known = {s.name: s for s in (VISITS, CARERS, NOTIFICATIONS, INVESTIGATIONS, ACCESS, RETENTION)}
    unknown = set(names) - set(known)
    if unknown:
        raise ValueError(f"unknown service(s): {', '.join(sorted(unknown))}")
    chosen = list(dict.fromkeys([*names, *ALWAYS_INCLUDED]))
    return [known[n] for n in chosen]


def projectors_of(settings: Settings, names: Sequence[str] = SERVICE_NAMES) -> dict[str, list[Projector]]:
    """Each chosen service's projectors, built with the agency's settings."""
    return {spec.name: list(spec.projectors(settings)) for spec in service_specs(names)}


def all_projectors(settings: Settings, names: Sequence[str] = SERVICE_NAMES) -> list[Projector]:
    return [p for projectors in projectors_of(settings, names).values() for p in projectors]


def create_app(
    settings: Settings | None = None,
    *,
    services: Sequence[str] = SERVICE_NAMES,
    clock: Clock | None = None,
    database_url: str | None = None,
    run_workers: bool = True,
) -> FastAPI:
    settings = settings or get_settings()
    url = database_url or settings.database_url
    if not url:
        raise ValueError("no database: set CARELOG_DATABASE_URL or use `carelog serve` (embedded)")
    faults = settings.faults()  # validated when read; again here, in case they were changed since
    if faults:
        raise ConfigurationError("; ".join(faults))
    specs = service_specs(services)
    quiet_http_client_logs()  # the app's own HTTP calls (webhooks, JWKS) are not logged URL by URL
    app = FastAPI(
        responses=PROBLEM_RESPONSES,
        title="carelog",
        version="0.1.0",
        summary="The record of every child in a fostering agency, as an append-only event log.",
        lifespan=_lifespan(url, settings, specs, run_workers),
        dependencies=[Depends(refuse_unknown_query)],
    )
    app.state.settings = settings
    app.state.clock = clock or SystemClock()
    app.state.services = [s.name for s in specs]
    app.state.runners = {}
    app.state.jwk_client = jwk_client_for(settings)
    app.state.verified_tokens = VerifiedTokens()
    app.state.write_limits = TokenBuckets(settings.writes_per_minute) if settings.writes_per_minute else None
    install_problem_handlers(app)
    install_signin(app)
    document_problems(app)
    _add_middleware(app, settings, specs)
    _include_routes(app, specs)
    return app


def _lifespan(
    url: str, settings: Settings, specs: Sequence[ServiceSpec], run_workers: bool
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """Start-up and shut-down: the store, each service's projectors (inline), its workers."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(url, pool_size=settings.pool_size)
        keys = KeyRing(local_wrapper(settings.key_encryption_key, settings.key_encryption_key_file))
        store = EventStore(engine, clock=app.state.clock, max_batch=settings.group_commit_max_batch, keys=keys)
        await store.start()
        poll = settings.projector_poll_interval
        runners = {spec.name: ProjectorRunner(engine, spec.projectors(settings), poll_interval=poll) for spec in specs}
        app.state.engine = engine
        app.state.store = store
        app.state.runners = runners
        app.state.gauge_sources = {spec.name: spec.gauges for spec in specs if spec.gauges is not None}
        app.state.stopping = asyncio.Event()  # workers watch it to end after their current step
        tasks: list[asyncio.Task[Any]] = []
        try:
            for runner in runners.values():
                if runner.projectors:  # a read-only service has nothing to follow
                    await runner.start(store)
                    store.project_inline(runner)
            if run_workers:
                tasks = _start_workers(app, settings, specs)
            # What start-up built lives as long as the process: out of the collector's sight, so a
            # full collection walks only what requests made.
            gc.freeze()
            yield
        finally:
            await stop_tasks(tasks, app.state.stopping, settings.shutdown_grace_seconds)
            for runner in runners.values():
                await runner.stop()
            await store.stop()
            await engine.dispose()

    return lifespan


def _start_workers(app: FastAPI, settings: Settings, specs: Sequence[ServiceSpec]) -> list[asyncio.Task[Any]]:
    tasks: list[asyncio.Task[Any]] = []
    if settings.checkpoint_interval > 0:
        tasks.append(asyncio.create_task(checkpoint_worker(app.state), name="checkpoints"))
    for spec in specs:
        for worker in spec.workers:
            tasks.append(asyncio.create_task(worker(app.state), name=f"{spec.name}-worker"))
    return tasks


def _add_middleware(app: FastAPI, settings: Settings, specs: Sequence[ServiceSpec]) -> None:
    """Added inside out: the last one added sees a request first."""
    app.add_middleware(
        BodyLimitAndIdempotency,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_document_bytes,
        lease_seconds=settings.idempotency_lease_seconds,
    )
    if settings.otel_enabled:
        instrument(app, "carelog-" + "-".join(s.name for s in specs if s.name in SERVICE_NAMES))
    app.add_middleware(LoginFreeRateLimit, per_minute=settings.login_free_requests_per_minute)
    app.add_middleware(FailedAuthenticationLimit, per_minute=settings.failed_authentications_per_minute)
    if settings.cors_origins:
        # The API takes bearer tokens in a header, never cookies (the pages' session is same-site only): no
        # credentials mode.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_RESPONSE_HEADERS,
            max_age=600,
        )
    app.add_middleware(RequestObservation)
    # In front of everything: no header of any size reaches code that might keep it.
    app.add_middleware(
        HeaderLimits,
        max_total_bytes=settings.max_request_header_bytes,
        max_header_bytes=settings.max_header_bytes,
    )


def _include_routes(app: FastAPI, specs: Sequence[ServiceSpec]) -> None:
    app.include_router(ops_router)
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    routers = [ops_router, signin_router, *(router for spec in specs for router in spec.routers)]
    for router in routers[1:]:
        app.include_router(router)
    # Refuse by default: a route that declares no access would be open to anyone with a token.
    undeclared = undeclared_routes(routers)
    if undeclared:
        raise RuntimeError(f"routes without an access declaration: {', '.join(undeclared)}")
    app.state.route_rules = route_rules(routers)
