"""Projectors: read models built from the log, each event applied exactly once.

A projector's rows and its checkpoint are written in one transaction, under a lock on the
checkpoint row, so several processes may run the same projector without double-applying.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.eventstore.model import NewEvent, RecordedEvent
from shared.eventstore.store import EVENT_COLUMNS, EventStore, listen_for_appends, row_to_event

log = logging.getLogger(__name__)


class Projector:
    """Subclass with a `name`, the `tables` it owns and `apply`.

    `types` narrows the events read (None: every event). `apply` must be a pure function of the
    event and the projector's own rows: never the wall clock, never another service's tables.
    """

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]] = ()
    types: ClassVar[frozenset[str] | None] = None

    async def apply(self, conn: AsyncConnection, event: RecordedEvent) -> None:
        raise NotImplementedError


class Reactor(Projector):
    """A projector that also reacts: `react` returns events to append (stream id, events).

    Reactions are appended at least once; give each an id derived from its cause
    (`reaction_id`) so a repeat is a no-op. Rebuilding a reactor replays its rows only.
    """

    async def react(self, conn: AsyncConnection, event: RecordedEvent) -> Sequence[tuple[str, Sequence[NewEvent]]]:
        return ()


def reaction_id(cause: RecordedEvent, key: str) -> uuid.UUID:
    return uuid.uuid5(cause.event_id, key)


def reaction_metadata(service: str, cause: RecordedEvent) -> dict[str, Any]:
    return {
        "actor_id": f"system:{service}",
        "actor_role": "system",
        "service": service,
        "causation_id": str(cause.event_id),
        "correlation_id": cause.metadata.get("correlation_id", str(cause.event_id)),
    }


class ProjectorRunner:
    def __init__(
        self,
        engine: AsyncEngine,
        projectors: Sequence[Projector],
        *,
        batch_size: int = 500,
        poll_interval: float = 2.0,
    ) -> None:
        self.engine = engine
        self.reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.projectors = list(projectors)
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self._locks = {p.name: asyncio.Lock() for p in self.projectors}
        self._known: dict[str, int] = {}
        self._ensured: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.store: EventStore | None = None

    def by_name(self, name: str) -> Projector:
        for projector in self.projectors:
            if projector.name == name:
                return projector
        raise KeyError(name)

    # ---- catching up -------------------------------------------------------------------------
    async def catch_up(self, up_to: int | None = None) -> None:
        """Bring every projector to `up_to` (default: the head as it is now)."""
        if up_to is None:
            # Read the head once without any lock: projectors already there are skipped, and
            # concurrent callers waiting on one projector's lock are served by one step.
            up_to = await self._head()
        for projector in self.projectors:
            await self.catch_up_one(projector, up_to)

    async def _head(self) -> int:
        async with self.reader.connect() as conn:
            return int((await conn.execute(_HEAD)).scalar_one())

    async def catch_up_one(self, projector: Projector, up_to: int | None = None) -> int:
        if up_to is not None and self._known.get(projector.name, -1) >= up_to:
            return self._known[projector.name]
        async with self._locks[projector.name]:
            # Another request may have brought it this far while we waited for the lock.
            if up_to is not None and self._known.get(projector.name, -1) >= up_to:
                return self._known[projector.name]
            while True:
                reached, more = await self._step(projector)
                self._known[projector.name] = reached
                # The head read under the lock may be older than `up_to` (the snapshot of a
                # statement that waited for the lock): step again until `up_to` is reached.
                if up_to is not None and reached >= up_to or up_to is None and not more:
                    return reached

    async def _step(self, projector: Projector) -> tuple[int, bool]:
        async with self.engine.connect() as conn, conn.begin():
            if projector.name not in self._ensured:
                await _ensure_checkpoint(conn, projector.name)
                self._ensured.add(projector.name)
            # The checkpoint row locked, and the head read, in one round trip.
            row = (await conn.execute(_LOCK_AND_HEAD, {"n": projector.name})).one()
            checkpoint, head = int(row.position), int(row.head)
            if head <= checkpoint:
                return checkpoint, False
            events = await _read_events(conn, projector, checkpoint, head, self.batch_size)
            for event in events:
                await projector.apply(conn, event)
                if isinstance(projector, Reactor) and self.store is not None:
                    for stream_id, reactions in await projector.react(conn, event):
                        await self.store.append(stream_id, reactions)
            # Scanned through `head` unless the batch was full.
            reached = events[-1].position if len(events) == self.batch_size else head
            await conn.execute(
                text("UPDATE projector_checkpoints SET position = :p WHERE name = :n"),
                {"p": reached, "n": projector.name},
            )
            return reached, reached < head

    async def checkpoints(self) -> dict[str, int]:
        async with self.reader.connect() as conn:
            rows = await conn.execute(text("SELECT name, position FROM projector_checkpoints"))
            known = {r.name: int(r.position) for r in rows}
        return {p.name: known.get(p.name, 0) for p in self.projectors}

    # ---- rebuilding --------------------------------------------------------------------------
    async def replay(
        self,
        projector: Projector,
        *,
        to_position: int | None = None,
        as_of: datetime | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Rebuild `projector` from position 0 in one transaction; readers never see it half-built.

        `to_position` and `as_of` (recorded_at <= T) rebuild the projection as it stood then.
        """
        async with self._locks[projector.name]:
            async with self.engine.connect() as conn, conn.begin():
                await _lock_checkpoint(conn, projector.name)
                if projector.tables:
                    await conn.execute(text(f"TRUNCATE {', '.join(projector.tables)}"))
                head = int((await conn.execute(text("SELECT position FROM events_head WHERE id"))).scalar_one())
                target = head if to_position is None else min(head, to_position)
                position = 0
                while position < target:
                    events = await _read_events(conn, projector, position, target, self.batch_size, as_of)
                    for event in events:
                        await projector.apply(conn, event)
                    position = events[-1].position if len(events) == self.batch_size else target
                    if progress is not None:
                        progress(position, target)
                await conn.execute(
                    text("UPDATE projector_checkpoints SET position = :p WHERE name = :n"),
                    {"p": target, "n": projector.name},
                )
                self._known[projector.name] = target
                return target

    # ---- following the log -------------------------------------------------------------------
    def wake(self, _position: int | None = None) -> None:
        self._wake.set()

    async def start(self, store: EventStore | None = None) -> None:
        if store is not None:
            self.store = store
            store.on_change(self.wake)
        if self._task is None:
            self._task = asyncio.create_task(self._follow(), name="projector-follower")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _follow(self) -> None:
        # With a store, its one LISTEN connection wakes every runner; alone, listen ourselves.
        listener = (
            asyncio.create_task(listen_for_appends(self.engine, self.wake), name="projector-listen")
            if self.store is None
            else None
        )
        try:
            while True:
                try:
                    await self.catch_up()
                except Exception:
                    log.exception("projector catch-up failed; will retry")
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
                # arrives just as the event is set, and stop() would then wait forever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_interval):
                        await self._wake.wait()
                self._wake.clear()
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener


_HEAD = text("SELECT position FROM events_head WHERE id")
_LOCK_AND_HEAD = text(
    "SELECT c.position, (SELECT h.position FROM events_head h WHERE h.id) AS head "
    "FROM projector_checkpoints c WHERE c.name = :n FOR UPDATE OF c"
)


async def _ensure_checkpoint(conn: AsyncConnection, name: str) -> None:
    await conn.execute(
        text("INSERT INTO projector_checkpoints (name, position) VALUES (:n, 0) ON CONFLICT DO NOTHING"),
        {"n": name},
    )


async def _lock_checkpoint(conn: AsyncConnection, name: str) -> int:
    await _ensure_checkpoint(conn, name)
    value = (
        await conn.execute(text("SELECT position FROM projector_checkpoints WHERE name = :n FOR UPDATE"), {"n": name})
    ).scalar_one()
    return int(value)


async def _read_events(
    conn: AsyncConnection,
    projector: Projector,
    after: int,
    up_to: int,
    limit: int,
    as_of: datetime | None = None,
) -> list[RecordedEvent]:
    sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE position > :a AND position <= :u"
    params: dict[str, Any] = {"a": after, "u": up_to, "n": limit}
    if as_of is not None:
        sql += " AND recorded_at <= :as_of"
        params["as_of"] = as_of
    if projector.types is not None:
        sql += " AND type = ANY(:types)"
        params["types"] = sorted(projector.types)
    sql += " ORDER BY position LIMIT :n"
    return [row_to_event(r) for r in await conn.execute(text(sql), params)]
