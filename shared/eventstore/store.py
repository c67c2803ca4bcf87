"""The append-only event store (docs/architecture.md): appending, by group commit.

Appends go through one writer task per process that gathers concurrent requests into a batch
(group commit): it takes the head lock once, checks and inserts each request in order, commits
once, and only then acknowledges every request in the batch. A refused request fails alone.
Reading is shared/eventstore/reader.py; every statement is shared/eventstore/sql.py.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import asyncpg
import orjson
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.clock import Clock, SystemClock
from shared.eventstore import sql
from shared.eventstore.content import check_instant, encode
from shared.eventstore.hashing import event_hash, timestamp_text
from shared.eventstore.model import (
    ANY_VERSION,
    DuplicateEventConflict,
    NewEvent,
    RecordedEvent,
    WrongExpectedVersion,
)
from shared.eventstore.reader import LogReader, record_to_event
from shared.eventstore.shredding import KEYS_CHANNEL, KeyRing, MissingKeys, open_event
from shared.observability import APPEND_SECONDS, GROUP_COMMIT_SIZE
from shared.tasks import stop_task

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "carelog_events"
LOCK_TIMEOUT_SECONDS = 5

# An invariant check run inside the locked append transaction; raise to refuse the append.
Check = Callable[[AsyncConnection], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Encoded:
    """An event's payloads as stored (text) and as hashed (that text read back)."""

    data_text: str
    data: dict[str, Any]
    metadata_text: str
    metadata: dict[str, Any]
    # What the event reads as (its personal fields open), for the caller and the inline projections.
    clear_data: dict[str, Any]
    clear_metadata: dict[str, Any]


def _encode(event: NewEvent, keys: KeyRing, stream_id: str) -> _Encoded:
    """The event as stored: checked as given, then its personal fields sealed (keys ensured)."""
    check_instant(event.occurred_at, "occurred_at")
    data_text, data = encode(event.data)
    metadata_text, metadata = encode(event.metadata)
    sealed_data, sealed_metadata = keys.seal_payloads(stream_id, event.type, data, metadata, event.child_ids)
    sealed_data_text = data_text if sealed_data is data else orjson.dumps(sealed_data).decode()
    sealed_metadata_text = metadata_text if sealed_metadata is metadata else orjson.dumps(sealed_metadata).decode()
    return _Encoded(sealed_data_text, sealed_data, sealed_metadata_text, sealed_metadata, data, metadata)


@dataclass
class _Request:
    stream_id: str
    events: Sequence[NewEvent]
    encoded: list[_Encoded]
    expected_version: int
    check: Check | None
    future: asyncio.Future[list[RecordedEvent]] = field(repr=False)


class EventStore(LogReader):
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Clock | None = None,
        max_batch: int = 256,
        remember: int = 4096,
        pool_size: int = 10,
        keys: KeyRing | None = None,
    ) -> None:
        super().__init__(engine, pool_size=pool_size, keys=keys)
        # recorded_at comes from the agency's clock (the one every command reads), so "as of T"
        # and "late" mean the same to the log as to the commands, in production and in tests.
        self.clock: Clock = clock or SystemClock()
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Request] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[int], None]] = []
        self._change_callbacks: list[Callable[[], None]] = []
        self._listen_task: asyncio.Task[None] | None = None
        # The last events this process appended, so its projectors need not read them back.
        self._recent: collections.deque[RecordedEvent] = collections.deque(maxlen=remember)
        self._committing: asyncio.Future[None] | None = None
        # Each stream's version as our last batch left it, valid while the head is where we left it.
        self._versions: dict[str, int] = {}
        self._versions_at = -1
        # The writer keeps one session for itself; reopened after a batch fails.
        self._session: AsyncConnection | None = None
        self._inline: list[InlineProjection] = []

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_loop(), name="eventstore-writer")

    async def stop(self) -> None:
        if self._committing is not None:
            # Let the batch in flight finish rather than cut it off.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await asyncio.shield(self._committing)
        for task in (self._writer, self._listen_task):
            await stop_task(task)
        self._writer = None
        self._listen_task = None
        await self._drop_session()
        await self._close_pool()

    def project_inline(self, projection: InlineProjection) -> None:
        """Offer every batch to `projection` inside the batch's own transaction (see
        ProjectorRunner.plan_inline): a service's read models committed with its events."""
        self._inline.append(projection)

    def on_commit(self, listener: Callable[[int], None]) -> None:
        """Call `listener(head_position)` in this process after every committed batch."""
        self._listeners.append(listener)

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call `callback()` after every append: ours at once, other processes' on their NOTIFY.

        One LISTEN connection per store serves every follower in the process."""
        self._listeners.append(lambda _position: callback())
        self._change_callbacks.append(callback)
        if self._listen_task is None:
            self._listen_task = asyncio.create_task(
                listen_for_appends(self.engine, self._changed, self.keys.heard), name="eventstore-listen"
            )

    def _changed(self, position: int | None = None) -> None:
        if position is not None:
            self._heard(position)
        for callback in self._change_callbacks:
            callback()

    def recent(self, after: int, up_to: int) -> list[RecordedEvent] | None:
        """The events in (after, up_to] if this process remembers every one of them, else None."""
        if up_to <= after:
            return []
        if not self._recent or self._recent[0].position > after + 1 or self._recent[-1].position < up_to:
            return None
        first = after + 1 - self._recent[0].position
        return list(itertools.islice(self._recent, first, first + up_to - after))

    async def recent_or_committing(self, after: int, up_to: int) -> list[RecordedEvent] | None:
        """`recent`, after waiting for the batch this process is committing, if any: a follower
        woken by the NOTIFY of our own commit can hear of it before the writer does."""
        found = self.recent(after, up_to)
        if found is None and self._committing is not None:
            await asyncio.shield(self._committing)
            found = self.recent(after, up_to)
        return found

    def _remember(self, events: list[RecordedEvent]) -> None:
        if not events:
            return
        if self._recent and self._recent[-1].position + 1 != events[0].position:
            self._recent.clear()  # another process appended in between: start again
        self._recent.extend(events)
        self._heard(events[-1].position)

    # ---- appending ---------------------------------------------------------------------------
    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: int = ANY_VERSION,
        check: Check | None = None,
    ) -> list[RecordedEvent]:
        """Append `events` to `stream_id` at `expected_version` (0: the stream must be new).

        Returns the recorded events. Re-sending events whose ids are stored returns the originals.
        """
        if not events:
            raise ValueError("append needs at least one event")
        # Refused before the lock: content PostgreSQL would store otherwise than it was hashed.
        try:
            encoded = [_encode(e, self.keys, stream_id) for e in events]
        except MissingKeys:  # a subject's first event: make the keys of all of them, then seal
            subjects = set().union(*(self.keys.subjects_of(stream_id, e) for e in events))
            async with self.acquire() as conn:
                await self.keys.ensure(conn, subjects)
            encoded = [_encode(e, self.keys, stream_id) for e in events]
        await self.start()
        future: asyncio.Future[list[RecordedEvent]] = asyncio.get_running_loop().create_future()
        started = time.perf_counter()
        self._queue.put_nowait(_Request(stream_id, events, encoded, expected_version, check, future))
        try:
            return await future
        finally:
            APPEND_SECONDS.observe(time.perf_counter() - started)

    async def _write_loop(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            self._gather(batch)
            committing = self._committing = asyncio.get_running_loop().create_future()
            try:
                await self._commit_batch(batch, gather=True)
            except Exception as exc:  # the whole transaction failed: isolate the culprit
                if len(batch) == 1:
                    _settle(batch[0], exc)
                    continue
                log.warning("group commit of %d failed (%s); retrying one by one", len(batch), exc)
                for request in batch:
                    if request.future.done():
                        continue
                    try:
                        await self._commit_batch([request])
                    except Exception as single_exc:
                        _settle(request, single_exc)
            finally:
                committing.set_result(None)
                self._committing = None

    async def _commit_batch(self, batch: list[_Request], *, gather: bool = False) -> None:
        """Commit `batch`; with `gather`, the requests queued while the head lock was on its way
        join it (the batch grows in place, so a failure isolates them too)."""
        try:
            try:
                await self._commit(batch, careful=False, gather=gather)
            except _LookFirst:
                await self._commit(batch, careful=True)
        except Exception:
            await self._drop_session()  # the connection may be gone: the next batch opens another
            raise
        finally:
            GROUP_COMMIT_SIZE.observe(len(batch))

    def _gather(self, batch: list[_Request]) -> None:
        while len(batch) < self.max_batch and not self._queue.empty():
            batch.append(self._queue.get_nowait())

    async def _writer_session(self) -> AsyncConnection:
        if self._session is None:
            session = await self.reader.connect()
            driver: Any = (await session.get_raw_connection()).driver_connection
            # A backstop: a wait this long inside a batch is a cycle through the application (a
            # lock held by someone waiting for this very append); the batch fails and is retried.
            await driver.execute(f"SET lock_timeout = '{LOCK_TIMEOUT_SECONDS}s'")
            self._session = session
        return self._session

    async def _drop_session(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            with contextlib.suppress(Exception):
                # Terminated, not returned to the pool: a batch cut off mid-way must not leave a
                # transaction (and the head lock) open on a connection someone reuses.
                driver: Any = (await session.get_raw_connection()).driver_connection
                driver.terminate()
                await session.invalidate()
            with contextlib.suppress(Exception):
                await session.close()

    def _recorded_at(self, head_recorded_at: datetime | None) -> datetime:
        now = self.clock.now()
        check_instant(now, "the clock")
        return now if head_recorded_at is None or now > head_recorded_at else head_recorded_at

    async def _inline_plans(self, events: list[RecordedEvent], before: int) -> list[InlinePlan]:
        plans = []
        for projection in self._inline:
            plan = await projection.plan_inline(events, before)
            if plan is not None:
                plans.append(plan)
        return plans

    async def _commit(self, batch: list[_Request], *, careful: bool, gather: bool = False) -> None:
        """One transaction for the whole batch, on the writer's own driver connection: four round
        trips however many requests it holds. Checks get the same session as a SQLAlchemy
        connection.

        The fast way assumes what is nearly always so: no event id is stored yet (a retry is rare)
        and, when nobody else appended since our last batch, each stream is at the version we left
        it; it also offers the batch to the inline projections. Any refusal, duplicate or failed
        projection undoes it, and the batch is run again the careful way, which looks both up and
        leaves the projections to their runners."""
        session = await self._writer_session()
        conn: Any = (await session.get_raw_connection()).driver_connection
        finishing: list[Callable[[bool], None]] = []
        try:
            async with conn.transaction():
                staged = await self._lock_head(conn)
                if gather:
                    # Writers answered by the last batch often ask again while the lock is on
                    # its way: taken now, they need not wait for a whole commit more.
                    self._gather(batch)
                await self._look_up(conn, staged, batch, careful)
                outcomes = [await self._stage(conn, session, staged, request, careful) for request in batch]
                if staged.position != staged.head_position:
                    finishing = await self._insert_and_project(conn, session, staged, careful)
        except BaseException:
            for finish in finishing:
                finish(False)
            raise
        for finish in finishing:
            finish(True)
        self._acknowledge(batch, outcomes, staged)

    async def _lock_head(self, conn: Any) -> _Staged:
        """Take the log's lock; what the batch starts from."""
        head = await conn.fetchrow(sql.LOCK_HEAD)
        if head["position"] != self._versions_at:
            self._versions.clear()  # another process appended: what we knew may be stale
        return _Staged(
            head_position=head["position"],
            position=head["position"],
            prev_hash=head["hash"],
            # The agency's clock, read once the lock is held and never behind the head, so
            # recorded_at is non-decreasing along position.
            recorded_at=self._recorded_at(head["recorded_at"]),
        )

    async def _look_up(self, conn: Any, staged: _Staged, batch: list[_Request], careful: bool) -> None:
        """The stream versions the batch appends at; the careful way also the ids already stored."""
        if careful:
            found = await conn.fetch(sql.STORED, [e.event_id for r in batch for e in r.events])
            staged.stored = {r["event_id"]: _opened_or_stored(self.keys, record_to_event(r)) for r in found}
        streams = {r.stream_id for r in batch}
        unknown = list(streams if careful else streams - self._versions.keys())
        if not careful:
            staged.versions = {s: self._versions[s] for s in streams if s in self._versions}
        if unknown:
            staged.versions.update({r["stream_id"]: r["version"] for r in await conn.fetch(sql.VERSIONS, unknown)})

    async def _stage(
        self, conn: Any, session: AsyncConnection, staged: _Staged, request: _Request, careful: bool
    ) -> list[RecordedEvent] | BaseException:
        """Check one request and stage its rows; a refusal is its outcome and stages nothing."""
        ids = [e.event_id for e in request.events]
        known = [staged.stored[i] for i in ids if i in staged.stored]
        if known:  # a retry of what is stored: the originals, if it is the same append
            if len(known) == len(ids) and all(k.stream_id == request.stream_id for k in known):
                return known
            return DuplicateEventConflict(
                f"some of these event ids are already stored: {[str(k.event_id) for k in known]}"
            )
        current = staged.versions.get(request.stream_id, 0)
        if request.expected_version not in (ANY_VERSION, current):
            if not careful:
                raise _LookFirst  # perhaps a retry of what is stored: look it up
            return WrongExpectedVersion(request.stream_id, request.expected_version, current)
        if request.check is not None:
            await _insert(conn, staged.rows, careful)  # the check sees everything before it
            staged.rows.clear()
            try:
                async with conn.transaction():  # its own savepoint: a failing check fails alone
                    await request.check(session)
            except Exception as refusal:
                if not careful:
                    raise _LookFirst from refusal
                return refusal
        recorded = staged.hash_rows(request, current)
        staged.versions[request.stream_id] = current + len(request.events)
        return recorded

    async def _insert_and_project(
        self, conn: Any, session: AsyncConnection, staged: _Staged, careful: bool
    ) -> list[Callable[[bool], None]]:
        """Insert the staged rows and move the head (one statement), applying the inline
        projections' share in the same transaction; returns what to call when it ends."""
        plans = [] if careful else await self._inline_plans(staged.committed, staged.head_position)
        try:
            moved = await _insert(
                conn,
                staged.rows,
                careful,
                head=(staged.position, staged.prev_hash, staged.recorded_at),
                checkpoints=[name for plan in plans for name in plan.checkpoints],
            )
            for plan in plans:
                try:
                    await plan.apply(session, conn, moved)
                except Exception as exc:
                    log.info("an inline projection failed (%s); its runner will apply the batch", exc)
                    raise _LookFirst from exc
        except BaseException:
            for plan in plans:  # each plan holds its runner until told how the transaction ended
                plan.finish(False)
            raise
        return [plan.finish for plan in plans]

    def _acknowledge(
        self, batch: list[_Request], outcomes: list[list[RecordedEvent] | BaseException], staged: _Staged
    ) -> None:
        """Committed: remember what the batch left, and only now answer every request of it."""
        if len(self._versions) > 100_000:
            self._versions.clear()
        self._versions.update(staged.versions)
        self._versions_at = staged.position
        self._note_streams(staged.versions)
        self._remember(staged.committed)
        for request, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                _settle(request, outcome)
            elif not request.future.done():
                request.future.set_result(outcome)
        for listener in self._listeners:
            listener(staged.position)


@dataclass
class _Staged:
    """A batch being committed: where the log stood, where it will stand, and the rows so far."""

    head_position: int
    position: int
    prev_hash: str
    recorded_at: datetime
    stored: dict[uuid.UUID, RecordedEvent] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    committed: list[RecordedEvent] = field(default_factory=list)
    recorded_at_text: str | None = None

    def hash_rows(self, request: _Request, current: int) -> list[RecordedEvent]:
        """The request's events at the next positions, each chained to the one before."""
        recorded: list[RecordedEvent] = []
        stream_id = request.stream_id
        recorded_at = self.recorded_at
        if self.recorded_at_text is None:
            self.recorded_at_text = timestamp_text(recorded_at)
        for offset, (event, stored_form) in enumerate(zip(request.events, request.encoded, strict=True)):
            self.position += 1
            stream_version = current + offset + 1
            child_ids = tuple(event.child_ids)
            # The hash covers the stored (round-tripped) form of the payload.
            digest = event_hash(
                position=self.position,
                event_id=event.event_id,
                stream_id=stream_id,
                stream_version=stream_version,
                type=event.type,
                schema_version=event.schema_version,
                data=stored_form.data,
                metadata=stored_form.metadata,
                child_ids=child_ids,
                occurred_at=event.occurred_at,
                recorded_at=recorded_at,
                prev_hash=self.prev_hash,
                checked=True,
                recorded_at_text=self.recorded_at_text,
            )
            # What the caller and the inline projections get: the event as read, its fields open.
            opened = RecordedEvent(
                self.position,
                event.event_id,
                stream_id,
                stream_version,
                event.type,
                event.schema_version,
                stored_form.clear_data,
                stored_form.clear_metadata,
                child_ids,
                event.occurred_at,
                recorded_at,
                self.prev_hash,
                digest,
            )  # fmt: skip
            self.rows.append(_row(opened, stored_form))
            recorded.append(opened)
            self.prev_hash = digest
        self.stored.update({r.event_id: r for r in recorded})
        self.committed.extend(recorded)
        return recorded


def _row(event: RecordedEvent, stored_form: _Encoded) -> tuple[Any, ...]:
    """The event's row as inserted: its payload as the sealed text, not the opened fields."""
    return (
        event.position,
        event.event_id,
        event.stream_id,
        event.stream_version,
        event.type,
        event.schema_version,
        stored_form.data_text,
        stored_form.metadata_text,
        _array_literal(event.child_ids),
        event.occurred_at,
        event.recorded_at,
        event.prev_hash,
        event.hash,
    )


def _opened_or_stored(keys: KeyRing, event: RecordedEvent) -> RecordedEvent:
    """A stored event found again by a retry: opened with the keys at hand (the append ensured
    its subjects'), or as stored."""
    try:
        return open_event(keys, event)
    except MissingKeys:
        return event


class _LookFirst(Exception):
    """The fast way met a refusal or a duplicate: run the batch again, looking things up."""


async def _insert(
    conn: Any,
    rows: list[tuple[Any, ...]],
    careful: bool,
    *,
    head: tuple[int, str, datetime] | None = None,
    checkpoints: Sequence[str] = (),
) -> dict[str, int]:
    """Insert `rows`; with `head` (position, hash, recorded_at) also move the head, notify, and
    move `checkpoints` there: their former positions are returned."""
    if not rows and head is None:
        return {}
    columns = [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(13)]
    try:
        if head is None:
            await conn.execute(sql.INSERT, *columns)
            return {}
        found = await conn.fetch(sql.INSERT_AND_MOVE_HEAD, *columns, *head, NOTIFY_CHANNEL, list(checkpoints))
    except asyncpg.UniqueViolationError as exc:
        if careful:
            raise
        raise _LookFirst from exc
    except asyncpg.LockNotAvailableError as exc:
        if careful:
            raise
        raise _LookFirst from exc  # a runner elsewhere holds a checkpoint: no inline this time
    return {r["name"]: int(r["was"]) for r in found}


def _array_literal(values: Sequence[uuid.UUID]) -> str:
    """A uuid[] as PostgreSQL's text form, e.g. '{0b1f...,9c2e...}'."""
    return "{" + ",".join(str(v) for v in values) + "}"


@dataclass
class InlinePlan:
    """A projection's share of the batch: the checkpoint rows to move with the events, what to
    apply once they moved (given where they were), and what to call when the transaction ends."""

    checkpoints: list[str]
    apply: Callable[[AsyncConnection, Any, dict[str, int]], Awaitable[None]]
    finish: Callable[[bool], None]


class InlineProjection(Protocol):
    async def plan_inline(self, events: list[RecordedEvent], before: int) -> InlinePlan | None: ...


def _settle(request: _Request, outcome: BaseException) -> None:
    if not request.future.done():
        request.future.set_exception(outcome)


async def listen_for_appends(
    engine: AsyncEngine, wake: Callable[[int | None], None], destroyed: Callable[[str], None] | None = None
) -> None:
    """LISTEN for appends and call `wake(head position)`; reconnect when the connection drops. On
    the same connection, `destroyed(payload)` hears each data key another process destroys.

    `wake(None)` is also called on every (re)connect, so whatever was appended while we were not
    listening is caught up; followers poll as well, in case a notification is missed."""
    while True:
        try:
            async with engine.connect() as conn:
                raw: Any = (await conn.get_raw_connection()).driver_connection

                def on_notify(_conn: object, _pid: int, _channel: str, payload: str) -> None:
                    wake(int(payload) if payload.isdigit() else None)

                closed = asyncio.Event()
                raw.add_termination_listener(lambda *_, closed=closed: closed.set())

                def on_key(_conn: object, _pid: int, _channel: str, payload: str) -> None:
                    if destroyed is not None:
                        destroyed(payload)

                await raw.add_listener(NOTIFY_CHANNEL, on_notify)
                await raw.add_listener(KEYS_CHANNEL, on_key)
                wake(None)
                try:
                    await closed.wait()
                finally:
                    with contextlib.suppress(Exception):
                        await raw.remove_listener(NOTIFY_CHANNEL, on_notify)
                        await raw.remove_listener(KEYS_CHANNEL, on_key)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.info("LISTEN connection lost; reconnecting")
        await asyncio.sleep(1.0)
