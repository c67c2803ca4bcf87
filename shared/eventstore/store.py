"""The append-only event store (DESIGN.md §2).

Appends go through one writer task per process that gathers concurrent requests into a batch
(group commit): it takes the head lock once, checks and inserts each request in order, commits
once, and only then acknowledges every request in the batch. A refused request fails alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.eventstore.hashing import event_hash
from shared.eventstore.model import (
    ANY_VERSION,
    DuplicateEventConflict,
    InvalidEventContent,
    NewEvent,
    RecordedEvent,
    WrongExpectedVersion,
)
from shared.observability import APPEND_SECONDS, GROUP_COMMIT_SIZE

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "carelog_events"

# An invariant check run inside the locked append transaction; raise to refuse the append.
Check = Callable[[AsyncConnection], Awaitable[None]]

EVENT_COLUMNS = (
    "position, event_id, stream_id, stream_version, type, schema_version, data, metadata, "
    "child_ids, occurred_at, recorded_at, prev_hash, hash"
)

_INSERT = text(
    f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (:position, :event_id, :stream_id, :stream_version, "
    ":type, :schema_version, CAST(:data AS jsonb), CAST(:metadata AS jsonb), CAST(:child_ids AS uuid[]), "
    ":occurred_at, :recorded_at, :prev_hash, :hash)"
)


def row_to_event(row: Row[Any]) -> RecordedEvent:
    m = row._mapping
    data = m["data"]
    metadata = m["metadata"]
    return RecordedEvent(
        position=m["position"],
        event_id=m["event_id"],
        stream_id=m["stream_id"],
        stream_version=m["stream_version"],
        type=m["type"],
        schema_version=m["schema_version"],
        data=orjson.loads(data) if isinstance(data, str | bytes) else data,
        metadata=orjson.loads(metadata) if isinstance(metadata, str | bytes) else metadata,
        child_ids=tuple(m["child_ids"] or ()),
        occurred_at=m["occurred_at"],
        recorded_at=m["recorded_at"],
        prev_hash=m["prev_hash"],
        hash=m["hash"],
    )


def _dump(value: dict[str, Any]) -> str:
    text_value = orjson.dumps(value, default=str).decode()
    if "\\u0000" in text_value:
        raise InvalidEventContent("text may not contain the NUL character")
    return text_value


@dataclass
class _Request:
    stream_id: str
    events: Sequence[NewEvent]
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
    def __init__(self, engine: AsyncEngine, *, max_batch: int = 256) -> None:
        self.engine = engine
        # Reads need no transaction: the same pool in autocommit saves BEGIN and ROLLBACK.
        self.reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Request] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[int], None]] = []
        self._change_callbacks: list[Callable[[], None]] = []
        self._listen_task: asyncio.Task[None] | None = None

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_loop(), name="eventstore-writer")

    async def stop(self) -> None:
        for task in (self._writer, self._listen_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._writer = None
        self._listen_task = None

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

    def _changed(self) -> None:
        for callback in self._change_callbacks:
            callback()

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
        await self.start()
        future: asyncio.Future[list[RecordedEvent]] = asyncio.get_running_loop().create_future()
        started = time.perf_counter()
        self._queue.put_nowait(_Request(stream_id, events, expected_version, check, future))
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

    async def _commit_batch(self, batch: list[_Request]) -> None:
        GROUP_COMMIT_SIZE.observe(len(batch))
        outcomes: dict[int, list[RecordedEvent] | BaseException] = {}
        async with self.engine.connect() as conn:
            async with conn.begin():
                head = (
                    await conn.execute(text("SELECT position, hash, recorded_at FROM events_head WHERE id FOR UPDATE"))
                ).one()
                # clock_timestamp() is read after the lock, and never behind the head, so
                # recorded_at is non-decreasing along position.
                now = (await conn.execute(text("SELECT clock_timestamp()"))).scalar_one()
                recorded_at = max(now, head.recorded_at) if head.recorded_at else now
                position, prev_hash = head.position, head.hash

                all_ids = [e.event_id for r in batch for e in r.events]
                stored = {
                    ev.event_id: ev
                    for ev in map(
                        row_to_event,
                        await conn.execute(
                            text(f"SELECT {EVENT_COLUMNS} FROM events WHERE event_id = ANY(:ids)"),
                            {"ids": all_ids},
                        ),
                    )
                }
                streams = list({r.stream_id for r in batch})
                versions: dict[str, int] = {
                    row.stream_id: row.version
                    for row in await conn.execute(
                        text(
                            "SELECT stream_id, max(stream_version) AS version FROM events "
                            "WHERE stream_id = ANY(:streams) GROUP BY stream_id"
                        ),
                        {"streams": streams},
                    )
                }
                pending_rows: list[dict[str, Any]] = []

                async def flush() -> None:
                    if pending_rows:
                        await conn.execute(_INSERT, list(pending_rows))
                        pending_rows.clear()

                for index, request in enumerate(batch):
                    ids = [e.event_id for e in request.events]
                    known = [stored[i] for i in ids if i in stored]
                    if known:
                        if len(known) == len(ids) and all(k.stream_id == request.stream_id for k in known):
                            outcomes[index] = known
                        else:
                            outcomes[index] = DuplicateEventConflict(
                                f"some of these event ids are already stored: {[str(k.event_id) for k in known]}"
                            )
                        continue
                    current = versions.get(request.stream_id, 0)
                    if request.expected_version != ANY_VERSION and request.expected_version != current:
                        outcomes[index] = WrongExpectedVersion(request.stream_id, request.expected_version, current)
                        continue
                    if request.check is not None:
                        await flush()
                        # Its own savepoint: a check that fails, even in SQL, fails alone.
                        savepoint = await conn.begin_nested()
                        try:
                            await request.check(conn)
                        except Exception as refusal:
                            await savepoint.rollback()
                            outcomes[index] = refusal
                            continue
                        await savepoint.commit()
                    try:
                        encoded = [(_dump(e.data), _dump(e.metadata)) for e in request.events]
                    except InvalidEventContent as exc:
                        outcomes[index] = exc
                        continue
                    recorded: list[RecordedEvent] = []
                    for offset, (event, (data_text, metadata_text)) in enumerate(
                        zip(request.events, encoded, strict=True)
                    ):
                        position += 1
                        version = current + offset + 1
                        # The hash covers the stored (round-tripped) form of the payload.
                        data = orjson.loads(data_text)
                        metadata = orjson.loads(metadata_text)
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
                        pending_rows.append(
                            {
                                "position": position,
                                "event_id": event.event_id,
                                "stream_id": request.stream_id,
                                "stream_version": version,
                                "type": event.type,
                                "schema_version": event.schema_version,
                                "data": data_text,
                                "metadata": metadata_text,
                                "child_ids": list(event.child_ids),
                                "occurred_at": event.occurred_at,
                                "recorded_at": recorded_at,
                                "prev_hash": prev_hash,
                                "hash": digest,
                            }
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
                    outcomes[index] = recorded
                await flush()
                if position != head.position:
                    await conn.execute(
                        text("UPDATE events_head SET position = :p, hash = :h, recorded_at = :r WHERE id"),
                        {"p": position, "h": prev_hash, "r": recorded_at},
                    )
                    await conn.execute(
                        text("SELECT pg_notify(:channel, :payload)"),
                        {"channel": NOTIFY_CHANNEL, "payload": str(position)},
                    )
        # Committed: only now acknowledge every request of the batch.
        for index, request in enumerate(batch):
            outcome = outcomes[index]
            if isinstance(outcome, BaseException):
                _settle(request, outcome)
            elif not request.future.done():
                request.future.set_result(outcome)
        for listener in self._listeners:
            listener(position)

    # ---- reading -----------------------------------------------------------------------------
    async def stream_version(self, stream_id: str, conn: AsyncConnection | None = None) -> int:
        query = text("SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = :s")
        if conn is not None:
            return int((await conn.execute(query, {"s": stream_id})).scalar_one())
        async with self.reader.connect() as own:
            return int((await own.execute(query, {"s": stream_id})).scalar_one())

    async def read_stream(
        self, stream_id: str, *, after_version: int = 0, as_of: datetime | None = None
    ) -> list[RecordedEvent]:
        sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = :s AND stream_version > :v"
        params: dict[str, Any] = {"s": stream_id, "v": after_version}
        if as_of is not None:
            sql += " AND recorded_at <= :as_of"
            params["as_of"] = as_of
        sql += " ORDER BY stream_version"
        async with self.reader.connect() as conn:
            return [row_to_event(r) for r in await conn.execute(text(sql), params)]

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
        async with self.reader.connect() as conn:
            row = (await conn.execute(text("SELECT position, hash FROM events_head WHERE id"))).one()
            return int(row.position), str(row.hash)


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


def _settle(request: _Request, outcome: BaseException) -> None:
    if not request.future.done():
        request.future.set_exception(outcome)


async def listen_for_appends(engine: AsyncEngine, wake: Callable[[], None]) -> None:
    """LISTEN for appends by other processes and call `wake()`; reconnect when the connection drops.

    `wake()` is also called on every (re)connect, so whatever was appended while we were not
    listening is caught up; followers poll as well, in case a notification is missed."""
    while True:
        try:
            async with engine.connect() as conn:
                raw: Any = (await conn.get_raw_connection()).driver_connection

                def on_notify(*_: object) -> None:
                    wake()

                closed = asyncio.Event()
                raw.add_termination_listener(lambda *_, closed=closed: closed.set())
                await raw.add_listener(NOTIFY_CHANNEL, on_notify)
                wake()
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
