"""Reading the log: a stream, the global feed, a child's record and chronology, one event, the head.

Hot reads run on the store's own driver (asyncpg) pool: a checkout and a query cost tens of
microseconds, against hundreds through SQLAlchemy. Every statement is in shared/eventstore/sql.py."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

import orjson
from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.db import create_pool
from shared.eventstore import sql
from shared.eventstore.model import RecordedEvent
from shared.eventstore.shredding import KeyRing, MissingKeys, install, open_event, readable


def row_to_event(row: Row[Any], summary: bool = True) -> RecordedEvent:
    return record_to_event(row._mapping, summary)


def record_to_event(record: Any, summary: bool = True) -> RecordedEvent:
    """An event from a driver (asyncpg) record, or a SQLAlchemy row mapping, of EVENT_COLUMNS;
    without its chronology line (`summary`, sealed) unless `summary`."""
    data, metadata = record["data"], record["metadata"]
    if isinstance(metadata, str | bytes):
        metadata = orjson.loads(metadata)
        if not summary:
            metadata.pop("summary", None)  # decoded here: nobody else holds this dict
    elif not summary and "summary" in metadata:
        metadata = {k: v for k, v in metadata.items() if k != "summary"}
    return RecordedEvent(
        position=record["position"],
        event_id=record["event_id"],
        stream_id=record["stream_id"],
        stream_version=record["stream_version"],
        type=record["type"],
        schema_version=record["schema_version"],
        data=orjson.loads(data) if isinstance(data, str | bytes) else data,
        metadata=metadata,
        child_ids=tuple(record["child_ids"] or ()),
        occurred_at=record["occurred_at"],
        recorded_at=record["recorded_at"],
        prev_hash=record["prev_hash"],
        hash=record["hash"],
    )


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
    # False: each event's chronology line is left out, never opened (a fold that does not read it
    # then decrypts about half as much).
    summaries: bool = True
    # False: the events as stored, nothing opened (sealed texts stay sealed), for a read of their
    # positions, types and instants only.
    opened: bool = True


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
    query = f"SELECT {sql.EVENT_COLUMNS} FROM events WHERE {' AND '.join(clauses)} ORDER BY position LIMIT :limit"
    return query, params


@dataclass(frozen=True)
class ChronologyQuery:
    """A page of a child's chronology: the record as known at `as_of`, narrowed and ordered."""

    child_id: uuid.UUID
    as_of: datetime | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    types: Sequence[str] | None = None
    order: Literal["occurred", "recorded"] = "occurred"
    after: tuple[datetime, int] | None = None  # the (occurred_at, position) of the last entry seen
    limit: int = 100


class LogReader:
    """The reading half of the EventStore."""

    def __init__(self, engine: AsyncEngine, *, pool_size: int = 10, keys: KeyRing | None = None) -> None:
        self.engine = engine
        # The data keys that open the personal fields of what is read (shared/eventstore/shredding.py).
        self.keys = keys or KeyRing()
        install(self.keys)
        self.pool_size = pool_size
        self._pool: Any = None
        self._pool_lock = asyncio.Lock()
        # Reads need no transaction: the same pool in autocommit saves BEGIN and ROLLBACK.
        self.reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        # Streams seen to have events: once true, always true in an append-only log.
        self._existing: set[str] = set()
        self._known_head: int | None = None

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[Any]:
        """A driver (asyncpg) connection from the store's own pool (projections read on it too)."""
        pool = self._pool or await self._open_pool()
        async with pool.acquire() as conn:
            yield conn

    async def _open_pool(self) -> Any:
        async with self._pool_lock:
            if self._pool is None:
                self._pool = await create_pool(self.engine.url.render_as_string(hide_password=False), self.pool_size)
        return self._pool

    async def _close_pool(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    def _heard(self, position: int) -> None:
        if self._known_head is None or position > self._known_head:
            self._known_head = position

    @property
    def known_head(self) -> int | None:
        """The highest position this process has appended or been notified of (None: none yet)."""
        return self._known_head

    async def head(self) -> tuple[int, str]:
        async with self.acquire() as conn:
            row = await conn.fetchrow(sql.HEAD)
        self._heard(int(row["position"]))
        return int(row["position"]), str(row["hash"])

    async def head_recorded_at(self) -> datetime | None:
        """When the last event was recorded (None: the log is empty)."""
        async with self.acquire() as conn:
            row = await conn.fetchrow(sql.HEAD)
        return row["recorded_at"]  # type: ignore[no-any-return]

    async def _one(self, statement: str, *args: Any) -> RecordedEvent | None:
        async with self.acquire() as conn:
            row = await conn.fetchrow(statement, *args)
            return (await readable(self.keys, conn, [record_to_event(row)]))[0] if row is not None else None

    async def first_event(self, stream_id: str) -> RecordedEvent | None:
        """The event that opened `stream_id` (what the stream is about), or None."""
        return await self._one(sql.FIRST_OF_STREAM, stream_id)

    async def last_event(self, stream_id: str, types: Sequence[str] | None = None) -> RecordedEvent | None:
        """The stream's latest event (of `types`, when given), or None."""
        return await self._one(sql.LAST_OF_STREAM, stream_id, list(types) if types else None)

    async def event_by_id(self, event_id: uuid.UUID) -> RecordedEvent | None:
        return await self._one(sql.EVENT_BY_ID, event_id)

    async def event_at(self, position: int) -> RecordedEvent | None:
        return await self._one(sql.EVENT_AT, position)

    async def last_as_of(self, as_of: datetime) -> tuple[int, str | None]:
        """(position, hash) of the last event recorded by `as_of`; (0, None) before the first."""
        async with self.acquire() as conn:
            row = await conn.fetchrow(sql.LAST_AS_OF, as_of)
        return (int(row["position"]), str(row["hash"])) if row is not None else (0, None)

    async def deadline_closed(self, deadline_id: uuid.UUID, conn: AsyncConnection | None = None) -> bool:
        """Whether a DeadlineMet or DeadlineCancelled names the clock (on `conn`: inside an append)."""
        if conn is not None:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            return bool(await driver.fetchval(sql.DEADLINE_CLOSED, str(deadline_id)))
        async with self.acquire() as own:
            return bool(await own.fetchval(sql.DEADLINE_CLOSED, str(deadline_id)))

    async def stream_exists(self, stream_id: str, conn: Any | None = None) -> bool:
        """Whether `stream_id` has events. A yes is remembered: the log only grows."""
        if stream_id in self._existing:
            return True
        if conn is not None:
            found = bool(await conn.fetchval(sql.STREAM_EXISTS, stream_id))
        else:
            async with self.acquire() as own:
                found = bool(await own.fetchval(sql.STREAM_EXISTS, stream_id))
        if found:
            self._note_streams((stream_id,))
        return found

    def _note_streams(self, streams: Iterable[str]) -> None:
        if len(self._existing) > 100_000:
            self._existing.clear()
        self._existing.update(streams)

    async def stream_version(self, stream_id: str, conn: AsyncConnection | None = None) -> int:
        if conn is not None:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            return int(await driver.fetchval(sql.STREAM_VERSION, stream_id))
        async with self.acquire() as own:
            return int(await own.fetchval(sql.STREAM_VERSION, stream_id))

    async def read_stream(
        self, stream_id: str, *, after_version: int = 0, as_of: datetime | None = None
    ) -> list[RecordedEvent]:
        async with self.acquire() as conn:
            rows = await conn.fetch(sql.STREAM, stream_id, after_version, as_of)
            return await readable(self.keys, conn, [record_to_event(r) for r in rows])

    async def read_stream_and_related(
        self, stream_id: str, *, types: Sequence[str], key: str, value: str, conn: AsyncConnection | None = None
    ) -> list[RecordedEvent]:
        """The stream's events and, in log order with them, the events of `types` on other streams
        whose payload's `key` is `value` (a household's placements and allegations, say)."""
        args = (stream_id, list(types), key, value)
        if conn is not None:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            rows = await driver.fetch(sql.STREAM_AND_RELATED, *args)
            return await readable(self.keys, driver, [record_to_event(r) for r in rows])
        async with self.acquire() as own:
            rows = await own.fetch(sql.STREAM_AND_RELATED, *args)
            return await readable(self.keys, own, [record_to_event(r) for r in rows])

    async def read(self, flt: EventFilter, conn: AsyncConnection | None = None) -> list[RecordedEvent]:
        """The global feed by position, narrowed by `flt` (stream, child, types, actor, times)."""
        query, params = build_filter_query(flt)
        if conn is not None:
            events = [row_to_event(r, flt.summaries) for r in await conn.execute(text(query), params)]
            if not flt.opened:
                return events
            return await readable(self.keys, (await conn.get_raw_connection()).driver_connection, events)
        async with self.reader.connect() as own:
            events = [row_to_event(r, flt.summaries) for r in await own.execute(text(query), params)]
        if not flt.opened:
            return events
        try:
            return [open_event(self.keys, e) for e in events]
        except MissingKeys:
            async with self.acquire() as driver:
                return await readable(self.keys, driver, events)

    async def iterate(self, flt: EventFilter, chunk: int = 1000) -> AsyncIterator[list[RecordedEvent]]:
        """Every event matching `flt` after `flt.after`, a page of `chunk` at a time."""
        after = flt.after
        while True:
            page = await self.read(replace(flt, after=after, limit=chunk))
            if page:
                yield page
            if len(page) < chunk:
                return
            after = page[-1].position

    async def child_record(self, child_id: uuid.UUID, as_of: datetime | None = None) -> list[RecordedEvent]:
        """Every event about the child as known at `as_of`, by occurred_at then position."""
        async with self.acquire() as conn:
            rows = await conn.fetch(sql.CHILD_RECORD, child_id, as_of)
            return await readable(self.keys, conn, [record_to_event(r) for r in rows])

    async def chronology(self, query: ChronologyQuery, amended_type: str) -> list[Any]:
        """A page of the child's chronology and one more row (so the caller knows whether there is
        more): records of position, event_id, stream_id, type, data (text), amends, service,
        summary, actor_id, actor_role, occurred_at, recorded_at and the amendments of each. The one
        more row only says there is more: its sealed texts are left unopened."""
        args: list[Any] = [query.child_id, query.as_of, amended_type]

        def arg(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        wanted: list[str] = []
        if query.occurred_from is not None:
            wanted.append(f"occurred_at >= {arg(query.occurred_from)}")
        if query.occurred_to is not None:
            wanted.append(f"occurred_at <= {arg(query.occurred_to)}")
        if query.types:
            wanted.append(f"type = ANY({arg(list(query.types))}::text[])")
        if query.after is not None:
            after_t, after_p = query.after
            if query.order == "occurred":
                wanted.append(f"(occurred_at, position) > ({arg(after_t)}::timestamptz, {arg(after_p)}::bigint)")
            else:
                wanted.append(f"position > {arg(after_p)}::bigint")
        statement = sql.CHRONOLOGY.format(
            wanted=" AND ".join(wanted) or "true",
            sort="occurred_at, position" if query.order == "occurred" else "position",
            limit=arg(query.limit + 1),
        )
        async with self.acquire() as conn:
            records = list(await conn.fetch(statement, *args))
            return [*await self._opened_entries(conn, records[: query.limit]), *map(dict, records[query.limit :])]

    async def _opened_entries(self, conn: Any, records: list[Any]) -> list[dict[str, Any]]:
        """Chronology rows with their sealed texts opened, loading the keys not seen yet."""
        rows = [dict(r) for r in records]
        for row in rows:
            row["amendments"] = [tuple(a) for a in row["amendments"]] if row["amendments"] else row["amendments"]
        for _ in range(2):
            try:
                return [self._open_entry(r) for r in rows]
            except MissingKeys:
                await self.keys.after_miss(conn, lambda: [(r["data"], r["summary"], r["amendments"]) for r in rows])
        return [self._open_entry(r) for r in rows]

    def _open_entry(self, row: dict[str, Any]) -> dict[str, Any]:
        """A chronology row with its sealed texts opened (the payload stays JSON text)."""
        amendments = row["amendments"]
        return {
            **row,
            "data": self.keys.open_json(row["data"]),
            "summary": self.keys.open_value(row["summary"]),
            "amendments": [self.keys.open_value(a) for a in amendments] if amendments else amendments,
        }
