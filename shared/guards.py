"""Refusals every request meets before any route: what no parameter of any route may hold.

A NUL character is never part of a path, a query value or a header in this API, and PostgreSQL
text cannot hold one: refused here once, rather than as a database error in whichever query a
parameter reaches."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

from shared.problems import Problem, problem_response


def _nul_in(raw: bytes) -> bool:
    return b"\x00" in raw or b"\x00" in unquote_to_bytes(raw)


class RequestGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            where = None
            if _nul_in(scope.get("raw_path") or scope["path"].encode()):
                where = "the path"
            elif _nul_in(scope.get("query_string", b"")):
                where = "the query"
            elif any(b"\x00" in value for _, value in scope["headers"]):
                where = "a header"
            if where is not None:
                problem = Problem("malformed-request", f"The NUL character is not allowed in {where}.")
                await problem_response(problem, None)(scope, receive, send)
                return
        await self.app(scope, receive, send)
