"""Idempotency-Key for every POST (docs/architecture.md), and the request body cap.

Keys belong to the authenticated caller (subject and role): the bearer token is checked first,
and a request without a valid one goes straight to the app's own 401, claiming and replaying
nothing. The first request with a key claims it (`in_flight`); its answer is stored and replayed
to every retry, unless it is one a retry should decide again (401, 403, 409, 412, 429, 5xx): then
the key is freed. The same key with a different request is 422; a retry while the first is still
running is 409. A claim left behind by a crashed process expires after a lease, and the retry then
re-runs the command: its event ids derive from the key, so nothing doubles.

An answer carrying a secret is built with `shown_once`: sent with `Cache-Control: no-store`, and
stored for replay with the secret withheld.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import text
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import authenticate
from shared.problems import Problem, problem_response

log = logging.getLogger(__name__)

# Answers that say nothing final about the request: refused access, a conflict or precondition the
# caller may resolve, too many requests, a server error. The key is freed so a retry runs again.
_DECIDED_AGAIN = frozenset({401, 403, 409, 412, 429})
# The headers a replay carries (no-store: a replay of an answer that carried a secret says so too).
_REPLAYED_HEADERS = (b"content-type", b"location", b"etag", b"cache-control")
# Stored answers naming a record (its id) that was destroyed (services/retention): forgotten.
FORGET_ANSWERS_NAMING = (
    "DELETE FROM idempotency_keys WHERE state = 'done' AND position(convert_to($1, 'UTF8') IN body) > 0"
)


async def forget_answers_naming(conn: Any, needle: str) -> int:
    """Drop the stored answers whose body names `needle` (on a driver connection): a retry with
    such a key runs its command again, whose event ids derive from the key (nothing doubles)."""
    status: str = await conn.execute(FORGET_ANSWERS_NAMING, needle)
    return int(status.rsplit(" ", 1)[-1])


# Where a `shown_once` answer leaves the body to store for replay (the request's scope state).
_REPLAY_BODY = "idempotency_replay_body"


class _ShownOnce(JSONResponse):
    def __init__(self, content: Any, replay: Any, status_code: int, headers: Mapping[str, str] | None) -> None:
        super().__init__(content, status_code=status_code, headers={**(headers or {}), "Cache-Control": "no-store"})
        self.replay = self.render(replay)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})[_REPLAY_BODY] = self.replay
        await super().__call__(scope, receive, send)


def shown_once(
    content: dict[str, Any],
    withheld: Sequence[str],
    note: str,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A JSON answer carrying secrets (the fields `withheld`): never cached, and an Idempotency-Key
    retry is replayed the answer with each of them null and `<field>_note` saying why (`note`)."""
    replay = {**content, **{f: None for f in withheld}, **{f"{f}_note": note for f in withheld}}
    return _ShownOnce(content, replay, status_code, headers)


# The paths that take a document's bytes as their body (shared/documents).
UPLOAD_SUFFIX = "/documents"


class BodyLimitAndIdempotency:
    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, lease_seconds: float, max_upload_bytes: int | None = None
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # A document upload (a POST to a path ending /documents) may be larger, up to this.
        self.max_upload_bytes = max_upload_bytes or max_body_bytes
        self.lease_seconds = lease_seconds
        # Claims this process could not settle (the database was down): a retry takes them over at
        # once instead of waiting out the lease.
        self._orphaned: set[tuple[str, str]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        raw = await self._body(scope, receive, send, headers.get("content-length"))
        if raw is None:
            return  # refused as too large, or the client went away
        replay_receive = _once(raw, receive)
        key = headers.get("idempotency-key")
        if scope["method"] != "POST" or not key:
            await self.app(scope, replay_receive, send)
            return
        if len(key) > 255:
            await self._problem(scope, send, Problem("malformed-request", "Idempotency-Key is at most 255 characters."))
            return
        app_state = scope["app"].state
        try:
            principal = await authenticate(headers.get("authorization", ""), app_state)
        except Problem:
            # Not authenticated: the app answers its own 401, and nothing is claimed or replayed.
            await self.app(scope, replay_receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal  # current_principal takes it from here
        # Keys are the caller's (a refreshed token is the same caller; two callers never collide).
        scope_id = f"{principal.role.value}|{principal.subject}"
        request_hash = hashlib.sha256(
            b"\n".join([scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b""), raw])
        ).hexdigest()
        claimed, stored = await self._claim(app_state.engine, scope_id, key, request_hash)
        if claimed:
            await self._run_and_keep(scope, replay_receive, send, app_state.engine, scope_id, key)
        else:
            assert stored is not None
            await self._answer_again(scope, send, stored, request_hash)

    async def _body(self, scope: Scope, receive: Receive, send: Send, declared: str | None) -> bytes | None:
        """The whole body, or None when it was refused for its size (or the client left)."""
        limit = self.max_upload_bytes if scope["path"].endswith(UPLOAD_SUFFIX) else self.max_body_bytes
        too_large = Problem("payload-too-large", f"At most {limit} bytes.")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._problem(scope, send, too_large)
            return None
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body.extend(message.get("body", b""))
            more = message.get("more_body", False)
            if len(body) > limit:
                await self._problem(scope, send, too_large)
                return None
        return bytes(body)

    async def _answer_again(self, scope: Scope, send: Send, stored: dict[str, Any], request_hash: str) -> None:
        """A key already claimed: the stored answer, or why there is none to give."""
        if stored["request_hash"] != request_hash:
            await self._problem(
                scope, send, Problem("idempotency-key-reused", "This key was already used for another request.")
            )
        elif stored["state"] == "in_flight":
            await self._problem(
                scope,
                send,
                Problem(
                    "idempotency-in-flight",
                    "The first request with this key is still running.",
                    headers={"Retry-After": "1"},
                ),
            )
        else:
            replayed = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored["headers"]]
            replayed.append((b"idempotent-replayed", b"true"))
            await send({"type": "http.response.start", "status": stored["status"], "headers": replayed})
            await send({"type": "http.response.body", "body": stored["body"]})

    async def _run_and_keep(
        self, scope: Scope, receive: Receive, send: Send, engine: Any, scope_id: str, key: str
    ) -> None:
        """Run the request under its claim, and keep its answer for the retries."""
        state = scope["state"]
        status = 500
        response_headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        settled = False

        async def capture(message: Message) -> None:
            nonlocal status, response_headers, settled
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False) and not settled:
                    # Store the answer before the client can read its last byte: a retry sent the
                    # moment the answer arrives must be replayed, not find the claim in flight.
                    settled = True
                    body = state.get(_REPLAY_BODY, b"".join(chunks))
                    await self._settle(engine, scope_id, key, status, response_headers, body)
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            if not settled:
                body = state.get(_REPLAY_BODY, b"".join(chunks))
                await self._settle(engine, scope_id, key, status, response_headers, body)

    async def _claim(
        self, engine: Any, scope_id: str, key: str, request_hash: str
    ) -> tuple[bool, dict[str, Any] | None]:
        async with engine.begin() as conn:
            inserted = (
                await conn.execute(
                    text(
                        "INSERT INTO idempotency_keys (scope, key, request_hash, state) "
                        "VALUES (:s, :k, :h, 'in_flight') ON CONFLICT DO NOTHING RETURNING key"
                    ),
                    {"s": scope_id, "k": key, "h": request_hash},
                )
            ).first()
            if inserted:
                return True, None
            # A claim abandoned by a crashed process can be taken over after the lease; one this
            # process could not settle, at once.
            lease = 0.0 if (scope_id, key) in self._orphaned else self.lease_seconds
            taken = (
                await conn.execute(
                    text(
                        "UPDATE idempotency_keys SET updated_at = now() WHERE scope = :s AND key = :k "
                        "AND state = 'in_flight' AND request_hash = :h "
                        "AND updated_at <= now() - make_interval(secs => :lease) RETURNING key"
                    ),
                    {"s": scope_id, "k": key, "h": request_hash, "lease": lease},
                )
            ).first()
            if taken:
                self._orphaned.discard((scope_id, key))
                return True, None
            row = (
                await conn.execute(
                    text(
                        "SELECT request_hash, state, status, headers, body FROM idempotency_keys "
                        "WHERE scope = :s AND key = :k"
                    ),
                    {"s": scope_id, "k": key},
                )
            ).one()
            headers = row.headers
            return False, {
                "request_hash": row.request_hash,
                "state": row.state,
                "status": row.status,
                "headers": orjson.loads(headers) if isinstance(headers, str) else headers,
                "body": row.body,
            }

    async def _settle(
        self, engine: Any, scope_id: str, key: str, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        try:
            await self._store_outcome(engine, scope_id, key, status, headers, body)
        except Exception:
            log.warning("could not settle idempotency key; a retry will take it over", exc_info=True)
            self._orphaned.add((scope_id, key))

    async def _store_outcome(
        self, engine: Any, scope_id: str, key: str, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        async with engine.begin() as conn:
            if status >= 500 or status in _DECIDED_AGAIN:
                # Nothing final to replay: free the key so a retry runs the command again.
                await conn.execute(
                    text("DELETE FROM idempotency_keys WHERE scope = :s AND key = :k"), {"s": scope_id, "k": key}
                )
                return
            kept = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in headers if k.lower() in _REPLAYED_HEADERS]
            await conn.execute(
                text(
                    "UPDATE idempotency_keys SET state = 'done', status = :st, headers = CAST(:hd AS jsonb), "
                    "body = :b, updated_at = now() WHERE scope = :s AND key = :k"
                ),
                {"st": status, "hd": orjson.dumps(kept).decode(), "b": body, "s": scope_id, "k": key},
            )

    async def _problem(self, scope: Scope, send: Send, problem: Problem) -> None:
        response = problem_response(problem, scope.get("path"))
        await response({"type": "http"}, _empty_receive, send)


def _once(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the body read already, then whatever the client sends next."""
    sent = False

    async def replay_receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay_receive


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}
