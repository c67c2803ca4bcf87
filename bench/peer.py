"""The peer: the `eventsourcing` library (PyPI) with its PostgreSQL persistence, measured beside
carelog in the same run, on the same PostgreSQL server.

Store to store: the library's `PostgresApplicationRecorder.insert_events` (one event per call,
each writer its own aggregate, 16 threads on a 16-connection pool, as its documentation has an
application used from threads) against carelog's `EventStore.append` (one event per call, each
writer its own stream, 16 concurrent tasks, hash chain and gap-free positions as always). Reading:
the library's notification log from position 0 (`select_notifications`, pages of 5,000) against
carelog's replay read path (`shared.eventstore.projector.read_pages`, pages of 5,000), and one
aggregate's events (`select_events`) against one child's chronology through the API.

The library's table for reading is filled set-based from carelog's own `events` (same payload
bytes, one aggregate per stream, notification ids in log order), so both read the same events.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from typing import Any
from urllib.parse import urlsplit

import orjson

PEER_TABLE = "peer_stored_events"
THREADS = 16
PAGE = 5000
VISIT_TYPE = "visits.VisitRecorded"


@dataclass(frozen=True)
class PeerSettings:
    """The library's configuration, as reported beside its figures."""

    pool_size: int = THREADS
    max_overflow: int = 0
    enable_db_functions: bool = False

    def describe(self) -> str:
        return (
            f"eventsourcing {version('eventsourcing')} (psycopg {version('psycopg')}), "
            f"PostgresApplicationRecorder, pool_size={self.pool_size}, max_overflow={self.max_overflow}, "
            f"enable_db_functions={self.enable_db_functions}, originator_id_type=uuid"
        )


def _visit_data(child: uuid.UUID, occurred: datetime, body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "visit_id": str(uuid.uuid4()), "child_id": str(child), "occurred_at": occurred.isoformat()}


class Peer:
    """The library's datastore and application recorder on one database."""

    def __init__(self, url: str, settings: PeerSettings | None = None) -> None:
        from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

        self.settings = settings or PeerSettings()
        parts = urlsplit(url)
        self.datastore = PostgresDatastore(
            dbname=parts.path.lstrip("/"),
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password or "",
            pool_size=self.settings.pool_size,
            max_overflow=self.settings.max_overflow,
            enable_db_functions=self.settings.enable_db_functions,
        )
        self.recorder = PostgresApplicationRecorder(self.datastore, events_table_name=PEER_TABLE)
        self.recorder.create_table()

    def close(self) -> None:
        self.datastore.close()

    def append_throughput(self, seconds: float, body: dict[str, Any], warmup: float = 0.5) -> float:
        """THREADS writers, one event per `insert_events` call to its own aggregate; events/s."""
        from eventsourcing.persistence import StoredEvent

        counted = [0] * THREADS
        start = time.perf_counter()
        measure_from, stop = start + warmup, start + warmup + seconds
        failures: list[BaseException] = []

        def writer(k: int) -> None:
            aggregate = uuid.uuid4()
            version_ = 0
            try:
                while (now := time.perf_counter()) < stop:
                    version_ += 1
                    occurred = datetime.now(UTC) - timedelta(hours=2)
                    state = orjson.dumps(_visit_data(aggregate, occurred, body))
                    self.recorder.insert_events([StoredEvent(aggregate, version_, VISIT_TYPE, state)])
                    if now >= measure_from and time.perf_counter() <= stop:
                        counted[k] += 1
            except BaseException as exc:  # reported, not swallowed
                failures.append(exc)

        threads = [threading.Thread(target=writer, args=(k,)) for k in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failures:
            raise RuntimeError(f"peer append failed: {failures[0]!r}")
        return sum(counted) / seconds

    def fill_from_events(self, url: str) -> int:
        """The library's table holds carelog's events: same payload bytes, one aggregate per
        stream (a UUID from the stream id), notification ids in log order."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(f"TRUNCATE {PEER_TABLE} RESTART IDENTITY")
            curs.execute(
                f"INSERT INTO {PEER_TABLE} (originator_id, originator_version, topic, state) "
                "SELECT md5(stream_id)::uuid, stream_version, type, convert_to(data::text, 'UTF8') "
                "FROM events ORDER BY position"
            )
            count = int(curs.rowcount)
        with self.datastore.get_connection() as conn:
            conn.autocommit = True
            conn.execute(f"VACUUM (ANALYZE) {PEER_TABLE}")
        return count

    def read_all(self) -> tuple[int, float]:
        """The notification log from position 0 to its end, PAGE at a time; (events, seconds)."""
        started = time.perf_counter()
        count, start = 0, 1
        while True:
            page = self.recorder.select_notifications(start, PAGE)
            if not page:
                break
            count += len(page)
            start = page[-1].id + 1
            if len(page) < PAGE:
                break
        return count, time.perf_counter() - started

    def read_aggregate(self, stream_id: str) -> int:
        """One aggregate's events (the stream's UUID as filled by `fill_from_events`)."""
        import hashlib

        aggregate = uuid.UUID(hashlib.md5(stream_id.encode()).hexdigest())  # noqa: S324 (an id, as md5() in SQL)
        return len(self.recorder.select_events(aggregate))


async def carelog_store_throughput(url: str, seconds: float, body: dict[str, Any], warmup: float = 0.5) -> float:
    """THREADS concurrent `EventStore.append` calls, one event each to its own stream, with the
    expected version (as the library's primary key checks it); events/s."""
    from shared.db import create_engine
    from shared.eventstore import EventStore, NewEvent

    engine = create_engine(url, pool_size=4)
    store = EventStore(engine)
    counted = [0]
    start = time.perf_counter()
    measure_from, stop = start + warmup, start + warmup + seconds

    async def writer() -> None:
        child = uuid.uuid4()
        stream, version_ = f"child-{child}", 0
        while (now := time.perf_counter()) < stop:
            occurred = datetime.now(UTC) - timedelta(hours=2)
            event = NewEvent(
                type=VISIT_TYPE,
                data=_visit_data(child, occurred, body),
                occurred_at=occurred,
                child_ids=(child,),
                metadata={"actor_id": "sw-bench", "actor_role": "child_social_worker", "service": "visits"},
            )
            await store.append(stream, [event], version_)
            version_ += 1
            if now >= measure_from and time.perf_counter() <= stop:
                counted[0] += 1

    try:
        await asyncio.gather(*(writer() for _ in range(THREADS)))
    finally:
        await store.stop()
        await engine.dispose()
    return counted[0] / seconds


async def carelog_read_all(url: str) -> tuple[int, float]:
    """carelog's replay read path over the whole log; (events, seconds)."""
    from shared.db import create_engine
    from shared.eventstore.projector import read_pages

    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            head = int((await conn.exec_driver_sql("SELECT position FROM events_head WHERE id")).scalar_one())
        started = time.perf_counter()
        count = 0
        async for events in read_pages(engine, 0, head, None):
            count += len(events)
        return count, time.perf_counter() - started
    finally:
        await engine.dispose()
