"""A token bucket per client address for the endpoints that need no login."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Receive, Scope, Send

from shared.problems import Problem, problem_response

LOGIN_FREE_PATHS = ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/redoc")


class LoginFreeRateLimit:
    def __init__(self, app: ASGIApp, *, per_minute: int, burst: int | None = None) -> None:
        self.app = app
        self.rate = per_minute / 60.0
        self.capacity = float(burst or per_minute)
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, last refill)

    def _allow(self, client: str) -> bool:
        now = time.monotonic()
        tokens, last = self._buckets.get(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[client] = (tokens - 1.0 if allowed else tokens, now)
        if len(self._buckets) > 10_000:  # forget idle clients rather than grow without bound
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60}
        return allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in LOGIN_FREE_PATHS:
            client = (scope.get("client") or ("unknown", 0))[0]
            if not self._allow(client):
                problem = Problem("rate-limited", "Slow down.", headers={"Retry-After": "1"})
                await problem_response(problem, scope["path"])(scope, receive, send)
                return
        await self.app(scope, receive, send)
