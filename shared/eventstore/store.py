"""The append-only event store (DESIGN.md §2).

Appends go through one writer task per process that gathers concurrent requests into a batch
(group commit): it takes the head lock once, checks and inserts each request in order, commits
once, and only then acknowledges every request in the batch. A refused request fails alone.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import asyncpg
import orjson
from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.clock import Clock, SystemClock
from shared.db import create_pool
from shared.eventstore.content import check_instant, encode
from shared.eventstore.hashing import event_hash
from shared.eventstore.model import (
    ANY_VERSION,
    DuplicateEventConflict,
    NewEvent,
    RecordedEvent,
    WrongExpectedVersion,
)
from shared.observability import APPEND_SECONDS, GROUP_COMMIT_SIZE
from shared.tasks import stop_task

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "carelog_events"
LOCK_TIMEOUT_SECONDS = 5

# An invariant check run inside the locked append transaction; raise to refuse the append.
Check = Callable[[AsyncConnection], Awaitable[None]]

EVENT_COLUMNS = (
    "position, event_id, stream_id, stream_version, type, schema_version, data, metadata, "
    "child_ids, occurred_at, recorded_at, prev_hash, hash"
)

# The group commit's statements, in the driver's own ($n) form.
# Every row of a batch in one statement, from one array per column (child_ids as array literals:
# an array of arrays would not unnest into rows); with the batch's last rows, the head moves and
# the append is announced in the same statement.
_ROWS = (
    "SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::int[], $5::text[], $6::int[], "
    "$7::jsonb[], $8::jsonb[], $9::text[], $10::timestamptz[], $11::timestamptz[], $12::text[], $13::text[]) "
    "AS r(position, event_id, stream_id, stream_version, type, schema_version, data, metadata, child_ids, "
    "occurred_at, recorded_at, prev_hash, hash)"
)
_INSERT = (
    f"INSERT INTO events ({EVENT_COLUMNS}) SELECT position, event_id, stream_id, stream_version, type, "
    f"schema_version, data, metadata, child_ids::uuid[], occurred_at, recorded_at, prev_hash, hash FROM ({_ROWS}) r"
)
# ... and the checkpoints of the inline projections (locked without waiting: a runner elsewhere
# holding one makes the batch run again without them) move to the new head; their rows come back
# with where they were.
_INSERT_AND_MOVE_HEAD = (
    f"WITH inserted AS ({_INSERT} RETURNING 1), "
    "moved AS (UPDATE events_head SET position = $14, hash = $15, recorded_at = $16 WHERE id "
    "RETURNING pg_notify($17, position::text)), "
    "checkpoints AS (UPDATE projector_checkpoints c SET position = $14 FROM (SELECT name, position AS was "
    "FROM projector_checkpoints WHERE name = ANY($18::text[]) ORDER BY name FOR UPDATE NOWAIT) locked "
    "WHERE c.name = locked.name RETURNING c.name, locked.was) "
    "SELECT name, was FROM checkpoints"
)
_LOCK_HEAD = "SELECT position, hash, recorded_at FROM events_head WHERE id FOR UPDATE"
_STORED = f"SELECT {EVENT_COLUMNS} FROM events WHERE event_id = ANY($1::uuid[])"
# Each stream's last version by one descent of the (stream_id, stream_version) index.
_VERSIONS = (
    "SELECT s.stream_id, v.version FROM unnest($1::text[]) AS s(stream_id) CROSS JOIN LATERAL "
    "(SELECT stream_version AS version FROM events e WHERE e.stream_id = s.stream_id "
    "ORDER BY stream_version DESC LIMIT 1) v"
)
_STREAM_EXISTS = "SELECT EXISTS (SELECT 1 FROM events WHERE stream_id = $1)"
_STREAM_VERSION = "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1"
_STREAM_VERSION_NAMED = "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = :s"


def row_to_event(row: Row[Any]) -> RecordedEvent:
    return record_to_event(row._mapping)


def record_to_event(record: Any) -> RecordedEvent:
    """An event from a driver (asyncpg) record, or a SQLAlchemy row mapping, of EVENT_COLUMNS."""
    data, metadata = record["data"], record["metadata"]
    return RecordedEvent(
        position=record["position"],
        event_id=record["event_id"],
        stream_id=record["stream_id"],
        stream_version=record["stream_version"],
        type=record["type"],
        schema_version=record["schema_version"],
        data=orjson.loads(data) if isinstance(data, str | bytes) else data,
        metadata=orjson.loads(metadata) if isinstance(metadata, str | bytes) else metadata,
        child_ids=tuple(record["child_ids"] or ()),
        occurred_at=record["occurred_at"],
        recorded_at=record["recorded_at"],
        prev_hash=record["prev_hash"],
        hash=record["hash"],
    )


@dataclass(frozen=True, slots=True)
class _Encoded:
    """An event's payloads as stored (text) and as hashed (that text read back)."""

    data_text: str
    data: dict[str, Any]
    metadata_text: str
    metadata: dict[str, Any]


def _encode(event: NewEvent) -> _Encoded:
    check_instant(event.occurred_at, "occurred_at")
    data_text, data = encode(event.data)
    metadata_text, metadata = encode(event.metadata)
    return _Encoded(data_text, data, metadata_text, metadata)


@dataclass
class _Request:
    stream_id: str
    events: Sequence[NewEvent]
    encoded: list[_Encoded]
    expected_version: int
    check: Check | None
    future: asyncio.Future[list[RecordedEvent]] = field(repr=False)


@dataclass
class EventFilter:
    after: int = 0
    limit: int = 100
    stream_id: str | None = None
    child_id: uuid.UUID | None = None
    types: Sequence[str] | None = None
    type_prefix: str | None = None
    actor_id: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    recorded_from: datetime | None = None
    recorded_to: datetime | None = None
    as_of: datetime | None = None
    to_position: int | None = None


class EventStore:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Clock | None = None,
        max_batch: int = 256,
        remember: int = 4096,
        pool_size: int = 10,
    ) -> None:
        self.engine = engine
        # recorded_at comes from the agency's clock (the one every command reads), so "as of T"
        # and "late" mean the same to the log as to the commands, in production and in tests.
        self.clock: Clock = clock or SystemClock()
        self.pool_size = pool_size
        self._pool: Any = None
        self._pool_lock = asyncio.Lock()
        # Reads need no transaction: the same pool in autocommit saves BEGIN and ROLLBACK.
        self.reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Request] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[int], None]] = []
        self._change_callbacks: list[Callable[[], None]] = []
        self._listen_task: asyncio.Task[None] | None = None
        # The last events this process appended, so its projectors need not read them back.
        self._recent: collections.deque[RecordedEvent] = collections.deque(maxlen=remember)
        self._known_head: int | None = None
        self._committing: asyncio.Future[None] | None = None
        # Each stream's version as our last batch left it, valid while the head is where we left it.
        self._versions: dict[str, int] = {}
        self._versions_at = -1
        # Streams seen to have events: once true, always true in an append-only log.
        self._existing: set[str] = set()
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
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

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
                listen_for_appends(self.engine, self._changed), name="eventstore-listen"
            )

    def _changed(self, position: int | None = None) -> None:
        if position is not None:
            self._heard(position)
        for callback in self._change_callbacks:
            callback()

    def _heard(self, position: int) -> None:
        if self._known_head is None or position > self._known_head:
            self._known_head = position

    @property
    def known_head(self) -> int | None:
        """The highest position this process has appended or been notified of (None: none yet)."""
        return self._known_head

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
        encoded = [_encode(e) for e in events]
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
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            committing = self._committing = asyncio.get_running_loop().create_future()
            try:
                await self._commit_batch(batch)
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

    async def _commit_batch(self, batch: list[_Request]) -> None:
        GROUP_COMMIT_SIZE.observe(len(batch))
        try:
            try:
                await self._commit(batch, careful=False)
            except _LookFirst:
                await self._commit(batch, careful=True)
        except Exception:
            await self._drop_session()  # the connection may be gone: the next batch opens another
            raise

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

    async def _commit(self, batch: list[_Request], *, careful: bool) -> None:
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
        outcomes: list[list[RecordedEvent] | BaseException] = []
        committed: list[RecordedEvent] = []
        finishing: list[Callable[[bool], None]] = []
        try:
            async with conn.transaction():
                head = await conn.fetchrow(_LOCK_HEAD)
                # The agency's clock, read once the lock is held and never behind the head, so
                # recorded_at is non-decreasing along position.
                recorded_at = self._recorded_at(head["recorded_at"])
                position, prev_hash = head["position"], head["hash"]
                if head["position"] != self._versions_at:
                    self._versions.clear()  # another process appended: what we knew may be stale
                stored: dict[uuid.UUID, RecordedEvent] = {}
                if careful:
                    stored = {
                        r["event_id"]: record_to_event(r)
                        for r in await conn.fetch(_STORED, [e.event_id for r in batch for e in r.events])
                    }
                streams = {r.stream_id for r in batch}
                unknown = list(streams if careful else streams - self._versions.keys())
                versions = {s: self._versions[s] for s in streams if s in self._versions and not careful}
                if unknown:
                    versions.update({r["stream_id"]: r["version"] for r in await conn.fetch(_VERSIONS, unknown)})
                rows: list[tuple[Any, ...]] = []
                for request in batch:
                    ids = [e.event_id for e in request.events]
                    known = [stored[i] for i in ids if i in stored]
                    if known:
                        if len(known) == len(ids) and all(k.stream_id == request.stream_id for k in known):
                            outcomes.append(known)
                        else:
                            outcomes.append(
                                DuplicateEventConflict(
                                    f"some of these event ids are already stored: {[str(k.event_id) for k in known]}"
                                )
                            )
                        continue
                    current = versions.get(request.stream_id, 0)
                    if request.expected_version != ANY_VERSION and request.expected_version != current:
                        if not careful:
                            raise _LookFirst  # perhaps a retry of what is stored: look it up
                        outcomes.append(WrongExpectedVersion(request.stream_id, request.expected_version, current))
                        continue
                    if request.check is not None:
                        await _insert(conn, rows, careful)  # the check sees everything before it
                        rows.clear()
                        try:
                            async with conn.transaction():  # its own savepoint: a failing check fails alone
                                await request.check(session)
                        except Exception as refusal:
                            if not careful:
                                raise _LookFirst from refusal
                            outcomes.append(refusal)
                            continue
                    recorded: list[RecordedEvent] = []
                    for offset, (event, stored_form) in enumerate(zip(request.events, request.encoded, strict=True)):
                        position += 1
                        version = current + offset + 1
                        # The hash covers the stored (round-tripped) form of the payload.
                        data, metadata = stored_form.data, stored_form.metadata
                        digest = event_hash(
                            position=position,
                            event_id=event.event_id,
                            stream_id=request.stream_id,
                            stream_version=version,
                            type=event.type,
                            schema_version=event.schema_version,
                            data=data,
                            metadata=metadata,
                            child_ids=event.child_ids,
                            occurred_at=event.occurred_at,
                            recorded_at=recorded_at,
                            prev_hash=prev_hash,
                        )
                        rows.append(
                            (
                                position,
                                event.event_id,
                                request.stream_id,
                                version,
                                event.type,
                                event.schema_version,
                                stored_form.data_text,
                                stored_form.metadata_text,
                                _array_literal(event.child_ids),
                                event.occurred_at,
                                recorded_at,
                                prev_hash,
                                digest,
                            )
                        )
                        recorded.append(
                            RecordedEvent(
                                position=position,
                                event_id=event.event_id,
                                stream_id=request.stream_id,
                                stream_version=version,
                                type=event.type,
                                schema_version=event.schema_version,
                                data=data,
                                metadata=metadata,
                                child_ids=tuple(event.child_ids),
                                occurred_at=event.occurred_at,
                                recorded_at=recorded_at,
                                prev_hash=prev_hash,
                                hash=digest,
                            )
                        )
                        prev_hash = digest
                        stored[event.event_id] = recorded[-1]
                    versions[request.stream_id] = current + len(request.events)
                    outcomes.append(recorded)
                    committed.extend(recorded)
                if position != head["position"]:
                    plans = [] if careful else await self._inline_plans(committed, head["position"])
                    finishing = [plan.finish for plan in plans]
                    moved = await _insert(
                        conn,
                        rows,
                        careful,
                        head=(position, prev_hash, recorded_at),
                        checkpoints=[name for plan in plans for name in plan.checkpoints],
                    )
                    for plan in plans:
                        try:
                            await plan.apply(session, conn, moved)
                        except Exception as exc:
                            log.info("an inline projection failed (%s); its runner will apply the batch", exc)
                            raise _LookFirst from exc
        except BaseException:
            for finish in finishing:
                finish(False)
            raise
        for finish in finishing:
            finish(True)
        # Committed: only now acknowledge every request of the batch.
        if len(self._versions) > 100_000:
            self._versions.clear()
        self._versions.update(versions)
        self._versions_at = position
        self._note_streams(versions)
        self._remember(committed)
        for request, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                _settle(request, outcome)
            elif not request.future.done():
                request.future.set_result(outcome)
        for listener in self._listeners:
            listener(position)

    # ---- reading -----------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[Any]:
        """A driver (asyncpg) connection from the store's own pool, for reads on hot paths: a
        checkout and a query cost tens of microseconds, against hundreds through SQLAlchemy."""
        pool = self._pool or await self._open_pool()
        async with pool.acquire() as conn:
            yield conn

    async def _open_pool(self) -> Any:
        async with self._pool_lock:
            if self._pool is None:
                self._pool = await create_pool(self.engine.url.render_as_string(hide_password=False), self.pool_size)
        return self._pool

    async def stream_exists(self, stream_id: str, conn: Any | None = None) -> bool:
        """Whether `stream_id` has events. A yes is remembered: the log only grows."""
        if stream_id in self._existing:
            return True
        if conn is not None:
            found = bool(await conn.fetchval(_STREAM_EXISTS, stream_id))
        else:
            async with self.acquire() as own:
                found = bool(await own.fetchval(_STREAM_EXISTS, stream_id))
        if found:
            self._note_streams((stream_id,))
        return found

    def _note_streams(self, streams: Iterable[str]) -> None:
        if len(self._existing) > 100_000:
            self._existing.clear()
        self._existing.update(streams)

    async def stream_version(self, stream_id: str, conn: AsyncConnection | None = None) -> int:
        if conn is not None:
            return int((await conn.execute(text(_STREAM_VERSION_NAMED), {"s": stream_id})).scalar_one())
        async with self.acquire() as own:
            return int(await own.fetchval(_STREAM_VERSION, stream_id))

    async def read_stream(
        self, stream_id: str, *, after_version: int = 0, as_of: datetime | None = None
    ) -> list[RecordedEvent]:
        sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version > $2"
        args: list[Any] = [stream_id, after_version]
        if as_of is not None:
            sql += " AND recorded_at <= $3"
            args.append(as_of)
        async with self.acquire() as conn:
            return [record_to_event(r) for r in await conn.fetch(sql + " ORDER BY stream_version", *args)]

    async def read(self, flt: EventFilter, conn: AsyncConnection | None = None) -> list[RecordedEvent]:
        """The global feed by position, narrowed by `flt` (stream, child, types, actor, times)."""
        sql, params = build_filter_query(flt)
        if conn is not None:
            return [row_to_event(r) for r in await conn.execute(text(sql), params)]
        async with self.reader.connect() as own:
            return [row_to_event(r) for r in await own.execute(text(sql), params)]

    async def iterate(self, flt: EventFilter, chunk: int = 1000) -> AsyncIterator[RecordedEvent]:
        """Every event matching `flt` after `flt.after`, read in chunks of `chunk`."""
        after = flt.after
        while True:
            page = await self.read(EventFilter(**{**flt.__dict__, "after": after, "limit": chunk}))
            for event in page:
                yield event
            if len(page) < chunk:
                return
            after = page[-1].position

    async def head(self) -> tuple[int, str]:
        async with self.acquire() as conn:
            row = await conn.fetchrow("SELECT position, hash FROM events_head WHERE id")
        self._heard(int(row["position"]))
        return int(row["position"]), str(row["hash"])


def build_filter_query(flt: EventFilter) -> tuple[str, dict[str, Any]]:
    clauses = ["position > :after"]
    params: dict[str, Any] = {"after": flt.after, "limit": flt.limit}
    if flt.stream_id is not None:
        clauses.append("stream_id = :stream_id")
        params["stream_id"] = flt.stream_id
    if flt.child_id is not None:
        clauses.append("child_ids @> ARRAY[CAST(:child_id AS uuid)]")
        params["child_id"] = str(flt.child_id)
    if flt.types:
        clauses.append("type = ANY(:types)")
        params["types"] = list(flt.types)
    if flt.type_prefix:
        clauses.append("type LIKE :type_prefix")
        params["type_prefix"] = flt.type_prefix.replace("%", r"\%").replace("_", r"\_") + "%"
    if flt.actor_id is not None:
        clauses.append("metadata->>'actor_id' = :actor_id")
        params["actor_id"] = flt.actor_id
    for column, op, key, value in (
        ("occurred_at", ">=", "occurred_from", flt.occurred_from),
        ("occurred_at", "<=", "occurred_to", flt.occurred_to),
        ("recorded_at", ">=", "recorded_from", flt.recorded_from),
        ("recorded_at", "<=", "recorded_to", flt.recorded_to),
        ("recorded_at", "<=", "as_of", flt.as_of),
        ("position", "<=", "to_position", flt.to_position),
    ):
        if value is not None:
            clauses.append(f"{column} {op} :{key}")
            params[key] = value
    sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE {' AND '.join(clauses)} ORDER BY position LIMIT :limit"
    return sql, params


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
            await conn.execute(_INSERT, *columns)
            return {}
        found = await conn.fetch(_INSERT_AND_MOVE_HEAD, *columns, *head, NOTIFY_CHANNEL, list(checkpoints))
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


async def listen_for_appends(engine: AsyncEngine, wake: Callable[[int | None], None]) -> None:
    """LISTEN for appends and call `wake(head position)`; reconnect when the connection drops.

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
                await raw.add_listener(NOTIFY_CHANNEL, on_notify)
                wake(None)
                try:
                    await closed.wait()
                finally:
                    with contextlib.suppress(Exception):
                        await raw.remove_listener(NOTIFY_CHANNEL, on_notify)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.info("LISTEN connection lost; reconnecting")
        await asyncio.sleep(1.0)
