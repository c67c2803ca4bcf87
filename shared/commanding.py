"""What every command needs: who is acting, when, how to name its events and how to append.

A command builds `NewEvent`s with `ctx.event(...)` and appends them with `ctx.append(...)`, which
maps the log's errors to problems and brings the service's own projections up to date before the
request answers (read your own writes).

A caller who sends no If-Match asks for no precondition: when the stream moves between the
command's read and its append (another writer, or a service's own reaction), the command decides
again on fresh state (`run_command`, applied to every command route by `CommandRoute`). Only the
caller's own If-Match makes a moved stream a refusal (412). So that a command that lost a race is
not overtaken again and again, the commands of a process append to a stream in turn (`_Turns`),
and a command decides again holding its stream's turn from its read to its append.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import re
import typing
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Header, Request
from fastapi.routing import APIRoute

from shared.access.relations import Target, relations_to
from shared.auth import current_principal
from shared.eventstore import (
    ANY_VERSION,
    Check,
    DuplicateEventConflict,
    EventStore,
    InvalidEventContent,
    NewEvent,
    ProjectorRunner,
    RecordedEvent,
    WrongExpectedVersion,
)
from shared.observability import COMMAND_RETRIES
from shared.policy import Relation
from shared.problems import Problem
from shared.recording import Recorder


class HeadAndState(Protocol):
    head: int


Current = TypeVar("Current", bound=HeadAndState)
Result = TypeVar("Result")

# Attempts of a command whose stream keeps moving under it (each on fresh state), and the most it
# waits between two: enough for a few dozen writers on one child, bounded for the caller.
MAX_ATTEMPTS = 25
MAX_PAUSE_SECONDS = 0.1


@dataclass(kw_only=True)
class CommandContext(Recorder):
    """A Recorder with the log attached: what a command's shell reads and appends with."""

    store: EventStore = field(repr=False)
    runner: ProjectorRunner | None = None
    if_match: int | None = None
    # How the caller stands to other children and households (shared/access.relations_to).
    relations: Callable[[Target], Awaitable[frozenset[Relation]]] | None = field(default=None, repr=False)
    _turn: str | None = field(default=None, repr=False)  # the stream whose turn this attempt holds

    def start_attempt(self, turn: str | None = None) -> None:
        """Before each run of the command (holding `turn`'s turn, if given): every attempt names its
        events alike, so ids derived from an Idempotency-Key are the ones a retry after a crash
        derives again (and finds stored)."""
        self._counter = 0
        self._turn = turn

    def expected(self, current_version: int) -> int:
        """The version to append at: If-Match when sent (412 on mismatch), else what we read."""
        if self.if_match is not None and self.if_match != current_version:
            raise precondition_failed(current_version)
        return current_version

    async def read_current(self, read: Callable[[Any], Awaitable[Current]]) -> Current:
        """`read(conn)` of this service's projections, on a driver connection, as of everything in
        the log: `read` returns the log's head with what it read (in the same statement); if this
        service's projectors had not applied that far, they catch up and it reads again."""
        applied = self.runner.applied if self.runner is not None else None
        async with self.store.acquire() as conn:
            found = await read(conn)
        if self.runner is not None and (applied is None or applied < found.head):
            await self.runner.catch_up(found.head)
            async with self.store.acquire() as conn:
                found = await read(conn)
        return found

    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: int = ANY_VERSION,
        check: Check | None = None,
    ) -> list[RecordedEvent]:
        try:
            if expected_version == ANY_VERSION or self._turn is not None:
                # Nothing to race for, or this attempt holds a turn already (never wait for two).
                recorded = await self.store.append(stream_id, events, expected_version, check)
            else:
                async with TURNS.turn(stream_id):
                    recorded = await self.store.append(stream_id, events, expected_version, check)
        except WrongExpectedVersion as exc:
            if self.if_match is not None:
                raise precondition_failed(exc.current) from exc
            raise ConcurrencyConflict(stream_id, exc.current) from exc
        except DuplicateEventConflict as exc:
            raise Problem("state-conflict", str(exc)) from exc
        except InvalidEventContent as exc:
            raise Problem("validation", str(exc)) from exc
        if self.runner is not None and recorded:
            await self.runner.catch_up(up_to=recorded[-1].position)
        return recorded


class ConcurrencyConflict(Problem):
    """The stream moved between the command's read and its append, and the caller sent no If-Match:
    nothing was written, so `run_command` runs the command again (a 409 only once it gives up)."""

    def __init__(self, stream_id: str, current_version: int) -> None:
        super().__init__(
            "concurrency-conflict",
            f"{stream_id} kept changing while this was being recorded; send it again.",
            current_version=current_version,
        )
        self.stream_id = stream_id


class _Turns:
    """Per stream, the appends (at an expected version) of this process's commands, one at a time,
    in the order they asked (asyncio.Lock is first come, first served). A command deciding again
    holds its stream's turn from its read to its append, so no command of this process can move
    the stream under it: only other processes and reactions can, and they are rare."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}  # stream -> (lock, holders and waiters)

    @contextlib.asynccontextmanager
    async def turn(self, stream_id: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(stream_id) or (asyncio.Lock(), 0)
        self._locks[stream_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[stream_id]
            if users == 1:
                del self._locks[stream_id]  # only streams someone is appending to are remembered
            else:
                self._locks[stream_id] = (lock, users - 1)


TURNS = _Turns()


async def run_command(ctx: CommandContext, command: Callable[[], Awaitable[Result]]) -> Result:
    """`command()`, run again on fresh state while its append meets a moved stream (at most
    MAX_ATTEMPTS times). The first run takes its turn only to append; each later one after a short
    random pause (growing: other processes spread out too), holding the stream's turn throughout."""
    attempt = 1
    turn: str | None = None
    while True:
        try:
            if turn is None:
                ctx.start_attempt()
                return await command()
            async with TURNS.turn(turn):
                ctx.start_attempt(turn)
                return await command()
        except ConcurrencyConflict as conflict:
            if attempt >= MAX_ATTEMPTS:
                raise
            turn = conflict.stream_id
        finally:
            ctx.start_attempt()  # holding no turn any more
        COMMAND_RETRIES.labels(ctx.service).inc()
        await asyncio.sleep(random.uniform(0, min(MAX_PAUSE_SECONDS, 0.002 * 2**attempt)))
        attempt += 1


def _takes_context(endpoint: Callable[..., Any]) -> bool:
    for hint in typing.get_type_hints(endpoint, include_extras=True).values():
        if typing.get_origin(hint) is typing.Annotated:
            hint = typing.get_args(hint)[0]
        if hint is CommandContext:
            return True
    return False


def _with_retries(endpoint: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(endpoint)  # FastAPI reads the parameters of the endpoint itself
    async def endpoint_with_retries(**values: Any) -> Any:
        ctx = next(v for v in values.values() if isinstance(v, CommandContext))
        return await run_command(ctx, lambda: endpoint(**values))

    return endpoint_with_retries


class CommandRoute(APIRoute):
    """The route class of every service's router: an endpoint taking a CommandContext (a command)
    runs through `run_command`; the others are left as they are."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        self.retries_conflicts = _takes_context(endpoint)
        super().__init__(path, _with_retries(endpoint) if self.retries_conflicts else endpoint, **kwargs)


def precondition_failed(current_version: int) -> Problem:
    return Problem(
        "precondition-failed",
        f"The record is at version {current_version}; read it again before changing it.",
        current_version=current_version,
        headers={"ETag": f'"{current_version}"'},
    )


# A stream version as a client sends it back: ASCII digits only (str.isdigit() also takes '²' and
# other digits int() refuses), within the column's range.
_VERSION = re.compile(r"[0-9]{1,10}")
IF_MATCH_SHAPE = r'^(W/)?"?[0-9]{1,10}"?$'
MAX_STREAM_VERSION = 2**31 - 1


def parse_if_match(value: str | None) -> int | None:
    if value is None:
        return None
    cleaned = value.strip().removeprefix("W/").strip('"')
    if not _VERSION.fullmatch(cleaned) or int(cleaned) > MAX_STREAM_VERSION:
        raise Problem("malformed-request", "If-Match must be a stream version, e.g. If-Match: 3.")
    return int(cleaned)


def command_context(service: str) -> Callable[..., Awaitable[CommandContext]]:
    """A FastAPI dependency building the CommandContext of `service` for this request."""

    async def dependency(
        request: Request,
        if_match: Annotated[
            str | None,
            Header(
                pattern=IF_MATCH_SHAPE,
                description="The version you last read (ETag); a change since is refused with 412.",
            ),
        ] = None,
        idempotency_key: Annotated[
            str | None,
            Header(max_length=255, description="Your id for this write: a retry with it is answered, not redone."),
        ] = None,
    ) -> CommandContext:
        state = request.app.state
        # The ids RequestObservation gave the request (so its log line and its events agree).
        # Never the raw headers: RequestObservation checked their shape before keeping them.
        request_id = getattr(request.state, "request_id", None) or str(uuid.uuid4())
        correlation_id = getattr(request.state, "correlation_id", None)
        principal = await current_principal(request)  # decoded once per request, then cached
        return CommandContext(
            service=service,
            principal=principal,
            clock=state.clock,
            settings=state.settings,
            store=state.store,
            runner=state.runners.get(service),
            request_id=request_id,
            correlation_id=correlation_id or request_id,
            idempotency_key=idempotency_key,
            if_match=parse_if_match(if_match),
            relations=functools.partial(relations_to, state, principal),
        )

    return dependency
