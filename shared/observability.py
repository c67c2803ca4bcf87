"""Metrics (prometheus-client) and structured JSON logs (structlog) with request ids."""

from __future__ import annotations

import logging
import sys
import time
import uuid

import orjson
import structlog
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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

log = structlog.get_logger("carelog.http")


def configure_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ],
        logger_factory=structlog.BytesLoggerFactory(file=sys.stderr.buffer),
        cache_logger_on_first_use=True,
    )


class RequestObservation:
    """Request id and correlation id on every log line and response; request metrics by route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = correlation_id = None
        for name, value in scope["headers"]:  # names arrive lower-cased (ASGI)
            if name == b"x-request-id":
                request_id = value.decode("latin-1")
            elif name == b"x-correlation-id":
                correlation_id = value.decode("latin-1")
        request_id = request_id or str(uuid.uuid4())
        correlation_id = correlation_id or request_id
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
            await self.app(scope, receive, observe)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            REQUEST_SECONDS.labels(scope["method"], route).observe(elapsed)
            log.info("request", method=scope["method"], route=route, status=status, ms=round(elapsed * 1000, 1))
            structlog.contextvars.clear_contextvars()


async def metrics_endpoint(request: Request) -> Response:
    state = request.app.state
    async with state.engine.connect() as conn:
        head = int((await conn.execute(text("SELECT position FROM events_head WHERE id"))).scalar_one())
        LOG_HEAD.set(head)
        for runner in state.runners.values():
            for name, position in (await runner.checkpoints()).items():
                PROJECTOR_LAG_POSITIONS.labels(name).set(head - position)
                oldest = (
                    await conn.execute(
                        text(
                            "SELECT extract(epoch FROM clock_timestamp() - recorded_at) FROM events WHERE position = :p"
                        ),
                        {"p": position + 1},
                    )
                ).scalar()
                PROJECTOR_LAG_SECONDS.labels(name).set(float(oldest or 0.0))
    for service, source in getattr(state, "gauge_sources", {}).items():
        for name, value in (await source(state)).items():
            SERVICE_GAUGE.labels(service, name).set(value)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
