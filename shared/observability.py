"""Metrics (prometheus-client) and structured JSON logs (structlog) with request ids."""

from __future__ import annotations

import hmac
import re
import time
import uuid

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import Role, current_principal
from shared.logs import configure_logging, quiet_http_client_logs
from shared.problems import Problem, problem_response

REQUESTS = Counter("carelog_http_requests_total", "HTTP requests", ["method", "route", "status"])
REQUEST_SECONDS = Histogram("carelog_http_request_seconds", "HTTP request duration", ["method", "route"])
APPEND_SECONDS = Histogram(
    "carelog_append_seconds",
    "Time from queueing an append to its acknowledgement (after commit)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
GROUP_COMMIT_SIZE = Histogram(
    "carelog_group_commit_batch_size", "Appends committed together", buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256)
)
COMMAND_RETRIES = Counter(
    "carelog_command_retries_total",
    "Commands run again on fresh state after their stream moved under them (no If-Match)",
    ["service"],
)
PROJECTOR_LAG_POSITIONS = Gauge("carelog_projector_lag_positions", "Events behind the head", ["projector"])
PROJECTOR_LAG_SECONDS = Gauge("carelog_projector_lag_seconds", "Age of the oldest event not yet applied", ["projector"])
LOG_HEAD = Gauge("carelog_log_head_position", "Position of the last event in the log")
SERVICE_GAUGE = Gauge("carelog_service_gauge", "Service-provided figures", ["service", "name"])

__all__ = ["configure_logging", "quiet_http_client_logs", "RequestObservation", "route_of"]

log = structlog.get_logger("carelog.http")

# Request and correlation ids go into every event a request appends: a fixed, small shape.
REQUEST_ID_SHAPE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
ID_HEADERS = {b"x-request-id": "X-Request-ID", b"x-correlation-id": "X-Correlation-ID"}


class RequestObservation:
    """Request id and correlation id on every log line and response; request metrics by route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given: dict[bytes, str] = {}
        malformed: str | None = None
        for name, value in scope["headers"]:  # names arrive lower-cased (ASGI)
            if name in ID_HEADERS:
                text_value = value.decode("latin-1")
                if REQUEST_ID_SHAPE.fullmatch(text_value):
                    given[name] = text_value
                else:
                    malformed = ID_HEADERS[name]
        request_id = given.get(b"x-request-id") if malformed is None else None
        request_id = request_id or str(uuid.uuid4())
        correlation_id = (given.get(b"x-correlation-id") if malformed is None else None) or request_id
        # For the command's events: the same ids as this request's log line.
        scope.setdefault("state", {}).update(request_id=request_id, correlation_id=correlation_id)
        structlog.contextvars.bind_contextvars(request_id=request_id, correlation_id=correlation_id)
        status = 500
        started = time.perf_counter()

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            if malformed is not None:
                problem = Problem(
                    "malformed-request",
                    f"{malformed} must be 1 to 128 letters, digits, '-', '_', '.' or ':'.",
                    header=malformed,
                )
                await problem_response(problem, scope["path"])(scope, receive, observe)
            else:
                await self.app(scope, receive, observe)
        finally:
            elapsed = time.perf_counter() - started
            route = route_of(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            REQUEST_SECONDS.labels(scope["method"], route).observe(elapsed)
            log.info("request", method=scope["method"], route=route, status=status, ms=round(elapsed * 1000, 1))
            structlog.contextvars.clear_contextvars()


def route_of(scope: Scope) -> str:
    """The route template that answered (`/v1/children/{child_id}`), never the raw path: the app's
    own pages (/openapi.json, /docs, /metrics) are found among its routes too."""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    app = scope.get("app")
    for candidate in getattr(app, "routes", ()):
        match, _ = candidate.matches(scope)
        if match is Match.FULL and isinstance(getattr(candidate, "path", None), str):
            return str(candidate.path)
    return "unmatched"


# Who may read /metrics without the metrics token: it shows the log's head and open escalations.
METRICS_READERS = frozenset({Role.ADMIN, Role.INSPECTOR})


async def require_metrics_reader(request: Request) -> None:
    """`Authorization: Bearer <CARELOG_METRICS_TOKEN>` when that is set (a scraper's own secret),
    otherwise an admin's or inspector's JWT."""
    expected = request.app.state.settings.metrics_token
    if expected is None:
        principal = await current_principal(request)
        if principal.role not in METRICS_READERS:
            raise Problem("forbidden", "Metrics are for admins and inspectors.")
        return
    given = request.headers.get("authorization", "").encode("latin-1")
    if not hmac.compare_digest(given, f"Bearer {expected}".encode()):
        raise Problem(
            "unauthenticated",
            "Send the metrics token: Authorization: Bearer <CARELOG_METRICS_TOKEN>.",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )


async def metrics_endpoint(request: Request) -> Response:
    await require_metrics_reader(request)
    state = request.app.state
    head, _ = await state.store.head()
    LOG_HEAD.set(head)
    for runner in state.runners.values():
        for name, position in (await runner.checkpoints()).items():
            PROJECTOR_LAG_POSITIONS.labels(name).set(head - position)
            # Age by the agency's clock, the one recorded_at is taken from.
            oldest = await state.store.event_at(position + 1) if position < head else None
            lag = (state.clock.now() - oldest.recorded_at).total_seconds() if oldest is not None else 0.0
            PROJECTOR_LAG_SECONDS.labels(name).set(max(lag, 0.0))
    for service, source in getattr(state, "gauge_sources", {}).items():
        for name, value in (await source(state)).items():
            SERVICE_GAUGE.labels(service, name).set(value)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
