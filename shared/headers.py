"""What every request meets before any route: headers bounded before anything reads them (a header
the app keeps, an id or a reason, would otherwise become permanent data of any size), and no NUL
character in the path, the query or a header (PostgreSQL text cannot hold one; refused here once
rather than as a database error in whichever query a parameter reaches)."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.problems import Problem, problem_response

log = structlog.get_logger("carelog.http")

# Bounded by the bearer-token cap (a 401 tells the client to fetch a new token) and by the total.
OWN_LIMIT_HEADERS = frozenset({b"authorization"})


def _nul_in(raw: bytes) -> bool:
    return b"\x00" in raw or b"\x00" in unquote_to_bytes(raw)


def nul_refusal(scope: Scope) -> Problem | None:
    for where, raw in (
        ("the path", scope.get("raw_path") or scope["path"].encode()),
        ("the query", scope.get("query_string", b"")),
    ):
        if _nul_in(raw):
            return Problem("malformed-request", f"The NUL character is not allowed in {where}.")
    if any(b"\x00" in value for _, value in scope["headers"]):
        return Problem("malformed-request", "The NUL character is not allowed in a header.")
    return None


class HeaderLimits:
    """431 when the request's headers together, or any one of them, are larger than configured; 400
    for a NUL character anywhere in the request line or the headers."""

    def __init__(self, app: ASGIApp, *, max_total_bytes: int, max_header_bytes: int) -> None:
        self.app = app
        self.max_total_bytes = max_total_bytes
        self.max_header_bytes = max_header_bytes

    def _refusal(self, headers: list[tuple[bytes, bytes]]) -> Problem | None:
        total = 0
        for name, value in headers:
            size = len(name) + len(value)
            total += size
            if size > self.max_header_bytes and name not in OWN_LIMIT_HEADERS:
                return Problem(
                    "headers-too-large",
                    f"The {name.decode('latin-1')} header is larger than {self.max_header_bytes} bytes.",
                    header=name.decode("latin-1"),
                )
        if total > self.max_total_bytes:
            return Problem("headers-too-large", f"The request headers total more than {self.max_total_bytes} bytes.")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = self._refusal(scope["headers"]) or nul_refusal(scope)
            if problem is not None:
                log.warning("request refused", reason=problem.detail, path=scope["path"][:200])
                await problem_response(problem, scope["path"])(scope, receive, send)
                return
        await self.app(scope, receive, send)
