"""Token buckets: per client address for the endpoints that need no login and for failed
authentication, per principal for writes.

The client address is the connection's peer as the server gives it (`scope["client"]`): uvicorn
replaces it from X-Forwarded-For only when the peer is one of CARELOG_TRUSTED_PROXIES, so a client
cannot choose its own bucket by sending a new header.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.problems import Problem, problem_response

LOGIN_FREE_PATHS = ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/redoc")
# The recipients' acknowledgement links (services/notifications/links.py): the URL's token is the
# credential, so these need no login, and no trace may keep their URL (shared/tracing.py).
SIGNED_LINK_PREFIX = "/v1/acknowledgements/"
LOGIN_FREE_PREFIXES = (SIGNED_LINK_PREFIX,)
# Buckets kept before idle ones are forgotten, so memory does not grow with every address seen.
MAX_BUCKETS = 10_000


class TokenBuckets:
    """One bucket per key, `per_minute` tokens deep, refilled continuously."""

    def __init__(
        self, per_minute: int, *, burst: int | None = None, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(burst or per_minute)
        self.monotonic = monotonic
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)

    def _tokens(self, key: str, now: float) -> float:
        tokens, last = self._buckets.get(key, (self.capacity, now))
        return min(self.capacity, tokens + (now - last) * self.rate)

    def _keep(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > MAX_BUCKETS:  # forget buckets that have refilled anyway
            full_after = self.capacity / self.rate
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}

    def wait(self, key: str) -> float:
        """Seconds until `key` has a token (0: it has one now); takes nothing."""
        tokens = self._tokens(key, self.monotonic())
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def take(self, key: str) -> float:
        """Take a token if there is one and return 0; otherwise the seconds until there is."""
        now = self.monotonic()
        tokens = self._tokens(key, now)
        if tokens < 1.0:
            self._keep(key, tokens, now)
            return (1.0 - tokens) / self.rate
        self._keep(key, tokens - 1.0, now)
        return 0.0

    def charge(self, key: str) -> None:
        """Take a token for something that already happened (down to empty, never below)."""
        now = self.monotonic()
        self._keep(key, max(0.0, self._tokens(key, now) - 1.0), now)


def client_address(scope: Scope) -> str:
    return str((scope.get("client") or ("unknown", 0))[0])


def too_many(wait: float, detail: str) -> Problem:
    return Problem("rate-limited", detail, headers={"Retry-After": str(max(1, math.ceil(wait)))})


class LoginFreeRateLimit:
    def __init__(self, app: ASGIApp, *, per_minute: int, burst: int | None = None) -> None:
        self.app = app
        self.buckets = TokenBuckets(per_minute, burst=burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            scope["path"] in LOGIN_FREE_PATHS or scope["path"].startswith(LOGIN_FREE_PREFIXES)
        ):
            wait = self.buckets.take(client_address(scope))
            if wait:
                await problem_response(too_many(wait, "Slow down."), scope["path"])(scope, receive, send)
                return
        await self.app(scope, receive, send)


class FailedAuthenticationLimit:
    """Every 401 answered to a client address takes a token from its bucket; an address with none
    left is answered 429 before its credentials are even looked at, so guessing tokens (or the
    metrics token) is slow."""

    def __init__(self, app: ASGIApp, *, per_minute: int) -> None:
        self.app = app
        self.buckets = TokenBuckets(per_minute)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = client_address(scope)
        wait = self.buckets.wait(client)
        if wait:
            problem = too_many(wait, "Too many failed authentications from this address; try again later.")
            await problem_response(problem, scope["path"])(scope, receive, send)
            return

        async def count_failures(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                self.buckets.charge(client)
            await send(message)

        await self.app(scope, receive, count_failures)
