"""Projectors: read models built from the log, each event applied exactly once.

A runner steps its projectors together: it takes the new events once (from the store's memory of
what this process just appended, else from the log), and opens a transaction only when one of its
projectors has something to apply. In that transaction it locks the projectors' checkpoint rows,
applies the events after each checkpoint through one `Batch` of writes, and moves the checkpoints,
so several processes may run the same projector without double-applying. A projector with nothing
to apply only moves forward in memory; its checkpoint row catches up with its next write, at least
every `checkpoint_every` positions, and when the runner stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.contracts.base import Event, load_as
from shared.eventstore import sql
from shared.eventstore.batch import Batch
from shared.eventstore.model import NewEvent, RecordedEvent
from shared.eventstore.reader import record_to_event
from shared.eventstore.shredding import MissingKeys, active, open_event, readable
from shared.eventstore.staging import SET_BASED_FROM, Staging
from shared.eventstore.store import EventStore, InlinePlan, listen_for_appends
from shared.tasks import stop_task

log = logging.getLogger(__name__)


Handler = Callable[[Any, Batch, Any, RecordedEvent], Awaitable[None]]
Reactions = Sequence[tuple[str, Sequence[NewEvent]]]
Reaction = Callable[[Any, AsyncConnection, Any, RecordedEvent], Awaitable[Reactions]]
F = TypeVar("F", bound=Callable[..., Any])


def handles(*contracts: type[Event]) -> Callable[[F], F]:
    """Declare a projector method the handler of these events. It is called as
    `handler(self, batch, payload, event)`, the payload loaded into its contract class (upcast if
    old); the projector follows exactly the types its handlers declare."""

    def mark(handler: F) -> F:
        handler.__handles__ = contracts  # type: ignore[attr-defined]
        return handler

    return mark


def reacts(*contracts: type[Event]) -> Callable[[F], F]:
    """Declare a reactor method the reaction to these events, called as
    `reaction(self, conn, payload, event)` once the event is applied; it returns what to append."""

    def mark(reaction: F) -> F:
        reaction.__reacts__ = contracts  # type: ignore[attr-defined]
        return reaction

    return mark


def _declared(cls: type, marker: str) -> dict[str, tuple[type[Event], Callable[..., Any]]]:
    found: dict[str, tuple[type[Event], Callable[..., Any]]] = {}
    for klass in reversed(cls.__mro__):
        for member in vars(klass).values():
            for contract in getattr(member, marker, ()):
                found[contract.event_type] = (contract, member)
    return found


class Projector:
    """Subclass with a `name`, the `tables` it owns and `@handles(...)` methods.

    A handler queues its writes on the batch and must be a pure function of the event and the
    projector's own rows: never the wall clock, never another service's tables.
    """

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]] = ()
    # Derived from the handlers; None (every event) only for a projector with its own `apply`.
    types: ClassVar[frozenset[str] | None] = None
    # Applied in the append's own transaction when it can be (ProjectorRunner.plan_inline). False
    # for a projector whose rows an appender may hold locked while it waits for its append: the
    # append would wait for the appender, which waits for the append.
    inline: ClassVar[bool] = True
    # Its share of a full replay's time, to balance the processes of a parallel replay
    # (`replay_groups`): about the seconds it takes alone at 100k bench events, at least 1 when it
    # keeps rows. A projector without tables only moves its checkpoint.
    replay_cost: ClassVar[float | None] = None
    _handlers: ClassVar[dict[str, tuple[type[Event], Callable[..., Any]]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._handlers = _declared(cls, "__handles__")
        if cls._handlers:
            cls.types = frozenset(cls._handlers)

    async def apply(self, batch: Batch, event: RecordedEvent) -> None:
        contract, handler = self._handlers[event.type]
        await handler(self, batch, loaded(contract, event), event)

    def wants(self, event_type: str) -> bool:
        return self.types is None or event_type in self.types


class Reactor(Projector):
    """A projector that also reacts: its `@reacts(...)` methods return events to append (stream id,
    events), after the event is applied and every queued write is flushed, on the step's
    connection. Reactions are appended at least once; give each an id derived from its cause
    (`reaction_id`) so a repeat is a no-op. Rebuilding a reactor replays its rows only.
    """

    reacts_to: ClassVar[frozenset[str] | None] = None
    _reactions: ClassVar[dict[str, tuple[type[Event], Callable[..., Any]]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._reactions = _declared(cls, "__reacts__")
        if cls._reactions:
            cls.reacts_to = frozenset(cls._reactions)
            # A type reacted to is followed even when no handler keeps rows for it.
            cls.types = frozenset(cls.types or ()) | cls.reacts_to

    async def apply(self, batch: Batch, event: RecordedEvent) -> None:
        if event.type in self._handlers:
            await super().apply(batch, event)

    async def react(self, conn: AsyncConnection, event: RecordedEvent) -> Reactions:
        found = self._reactions.get(event.type)
        if found is None:
            return ()
        contract, reaction = found
        reactions: Reactions = await reaction(self, conn, loaded(contract, event), event)
        return reactions

    def reacts(self, event_type: str) -> bool:
        chosen = self.reacts_to if self.reacts_to is not None else self.types
        return chosen is None or event_type in chosen


# The last event loaded, its contract and payload: the projectors that follow one event get the
# same (frozen) payload, validated once instead of once a projector (2.6 a replayed event).
_LAST_LOADED: list[Any] = [None, None, None]


def loaded(contract: type[Event], event: RecordedEvent) -> Any:
    last = _LAST_LOADED
    if last[0] is event and last[1] is contract:
        return last[2]
    payload = load_as(contract, event)
    last[:] = (event, contract, payload)
    return payload


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


def replay_groups(projectors: Sequence[Projector], workers: int) -> list[list[Projector]]:
    """`projectors` in at most `workers` groups of about equal replay cost (the costliest first,
    each to the group costing least so far), each group in the given order. Projectors own
    disjoint tables, so each group can be replayed by its own process."""
    count = max(1, min(workers, len(projectors)))
    groups: list[list[int]] = [[] for _ in range(count)]
    costs = [0.0] * count
    by_cost = sorted(range(len(projectors)), key=lambda i: (-_replay_cost(projectors[i]), i))
    for index in by_cost:
        cheapest = min(range(count), key=lambda g: (costs[g], g))
        groups[cheapest].append(index)
        costs[cheapest] += _replay_cost(projectors[index])
    return [[projectors[i] for i in sorted(group)] for group in groups if group]


def _replay_cost(projector: Projector) -> float:
    if projector.replay_cost is not None:
        return projector.replay_cost
    return 1.0 if projector.tables else 0.0


def union_of_types(projectors: Iterable[Projector]) -> list[str] | None:
    """Every event type some projector wants, sorted; None when one of them wants every event."""
    found: set[str] = set()
    for projector in projectors:
        if projector.types is None:
            return None
        found |= projector.types
    return sorted(found)


class ProjectorRunner:
    def __init__(
        self,
        engine: AsyncEngine,
        projectors: Sequence[Projector],
        *,
        batch_size: int = 500,
        poll_interval: float = 2.0,
        checkpoint_every: int = 10_000,
    ) -> None:
        self.engine = engine
        self.reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.projectors = list(projectors)
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.checkpoint_every = checkpoint_every
        self._lock = asyncio.Lock()
        self._known: dict[str, int] = {}  # every event up to here is applied (or not wanted)
        self._stored: dict[str, int] = {}  # the checkpoint row, as far as this process knows
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.store: EventStore | None = None

    def by_name(self, name: str) -> Projector:
        for projector in self.projectors:
            if projector.name == name:
                return projector
        raise KeyError(name)

    # ---- catching up -------------------------------------------------------------------------
    async def catch_up(self, up_to: int | None = None) -> None:
        """Bring every projector to `up_to` (default: the head of the log as it is now)."""
        if not self.projectors:
            return
        if up_to is None:
            up_to = await self._head()
        if self._reached(up_to):
            return
        async with self._lock:
            # Concurrent callers wait here and are served by the step the first one takes, which
            # goes as far as this process knows the log to reach (a group commit's whole batch).
            if not self._known:
                await self._load_checkpoints()
            if self.store is not None and self.store.known_head is not None:
                up_to = max(up_to, self.store.known_head)
            while not self._reached(up_to):
                await self._step(up_to)

    @property
    def applied(self) -> int | None:
        """Every projector has applied every event up to here (None: not known yet). A read of the
        projections started after this was read sees all of it."""
        return min(self._known.values()) if self._known else None

    def _reached(self, position: int) -> bool:
        return bool(self._known) and min(self._known.values()) >= position

    async def _head(self) -> int:
        if self.store is not None:
            return (await self.store.head())[0]
        async with self.reader.connect() as conn:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            return int(await driver.fetchval(sql.HEAD))

    async def _load_checkpoints(self) -> None:
        names = [p.name for p in self.projectors]
        async with step_transaction(self.reader) as (_conn, driver):
            await driver.execute(_ENSURE_CHECKPOINTS, names)
            stored = {r["name"]: int(r["position"]) for r in await driver.fetch(_CHECKPOINTS, names)}
        self._stored = dict(stored)
        self._known = {p.name: stored[p.name] for p in self.projectors}

    async def _step(self, up_to: int) -> None:
        start = min(self._known.values())
        events, end = await self._events(start, up_to)
        due = {
            p.name
            for p in self.projectors
            if any(e.position > self._known[p.name] and p.wants(e.type) for e in events)
            or end - self._stored.get(p.name, 0) >= self.checkpoint_every
        }
        if due:
            try:
                await self._apply([p for p in self.projectors if p.name in due], events, end)
            except Exception:
                if len(due) == 1:
                    raise
                await self._apply_one_by_one([p for p in self.projectors if p.name in due], events, end)
        for projector in self.projectors:
            self._known[projector.name] = max(self._known[projector.name], end)

    async def _apply_one_by_one(self, projectors: list[Projector], events: list[RecordedEvent], end: int) -> None:
        """One projector's failure must not hold the others back."""
        log.exception("projector step failed; retrying projectors one by one")
        failed: Exception | None = None
        for projector in projectors:
            try:
                await self._apply([projector], events, end)
            except Exception as exc:
                failed = exc
        if failed is not None:
            raise failed from None

    async def _events(self, after: int, up_to: int) -> tuple[list[RecordedEvent], int]:
        """The events in (after, up_to] that some projector wants, at most `batch_size` of them,
        and the position they cover through."""
        if self.store is not None:
            remembered = await self.store.recent_or_committing(after, up_to)
            if remembered is not None:
                return remembered, up_to
        events = await read_range(self.reader, after, up_to, self.batch_size, union_of_types(self.projectors))
        end = events[-1].position if len(events) == self.batch_size else up_to
        return events, end

    async def _apply(self, projectors: list[Projector], events: list[RecordedEvent], end: int) -> None:
        names = sorted(p.name for p in projectors)
        async with step_transaction(self.reader) as (conn, driver):
            # Locked (in name order, so runners in other processes never deadlock with this one)
            # and moved to `end` in one statement; the rows come back with where they were.
            stored = {r["name"]: int(r["was"]) for r in await driver.fetch(_LOCK_AND_MOVE, names, end)}
            todo = [
                (projector, await self._unapplied(driver, projector, stored[projector.name], events, end))
                for projector in projectors
                if stored[projector.name] < end  # else another process got here first (the row stays)
            ]
            batch = Batch(conn, driver)
            for projector, event in _in_log_order(todo):
                await projector.apply(batch, event)
                if isinstance(projector, Reactor) and projector.reacts(event.type) and self.store is not None:
                    await batch.flush()
                    for stream_id, reactions in await projector.react(conn, event):
                        await self.store.append(stream_id, reactions)
            await batch.flush()
        for projector in projectors:
            self._stored[projector.name] = max(stored[projector.name], end)

    async def _unapplied(
        self, driver: Any, projector: Projector, done: int, events: list[RecordedEvent], end: int
    ) -> list[RecordedEvent]:
        """What `projector` has yet to apply of `events`, its checkpoint row being at `done`."""
        mine = [e for e in events if e.position > done and projector.wants(e.type)]
        known = min(self._known[projector.name], end)
        if done < known:
            # The row is behind what this process thought (a rebuild, or positions only skipped
            # in memory): read what lies between from the log.
            skipped = await read_all(driver, done, known, projector.types)
            mine = skipped + [e for e in mine if e.position > known]
        return mine

    async def plan_inline(self, events: list[RecordedEvent], before: int) -> InlinePlan | None:
        """Apply the batch the store is committing, inside its transaction, so the read models are
        current the moment the events are: no step of its own, no second commit. Only when this
        runner is idle and exactly at `before`, and no reactor must react to the batch (reactions
        are appended by a step). The store moves the checkpoint rows with the events; applying
        raises (and the store commits without us) when a row is not where this process left it."""
        if not events or self._lock.locked() or not self._known or any(v != before for v in self._known.values()):
            return None
        wanted = [p for p in self.projectors if any(p.wants(e.type) for e in events)]
        if any(not p.inline or isinstance(p, Reactor) and any(p.reacts(e.type) for e in events) for p in wanted):
            return None
        # Free, so this takes it at once (no suspension since the check): steps of this process
        # wait until the transaction ends.
        await self._lock.acquire()
        # Every checkpoint of the runner moves with the events (the same statement): also those
        # with nothing to apply, so the rows say how far each projector is.
        names = sorted(p.name for p in self.projectors)
        after = events[-1].position

        async def apply(session: AsyncConnection, driver: Any, was: dict[str, int]) -> None:
            # `was` holds every inline runner's rows; this runner's must be where it left them.
            if any(was.get(n) != self._stored.get(n) for n in names):
                # Another process moved them (a replica, or a rebuild): what this process knows is
                # stale. Forget it; the next step starts again from the rows.
                self._known.clear()
                raise _Moved(f"checkpoints of {names} are not where this process left them")
            batch = Batch(session, driver)
            for event in events:
                for projector in wanted:
                    if projector.wants(event.type):
                        await projector.apply(batch, event)
            await batch.flush()

        def finish(committed: bool) -> None:
            if committed:
                for projector in self.projectors:
                    self._known[projector.name] = after
                for name in names:
                    self._stored[name] = after
            self._lock.release()

        return InlinePlan(names, apply, finish)

    async def checkpoints(self) -> dict[str, int]:
        """Each projector's position: what this process knows, else its checkpoint row."""
        async with self.reader.connect() as conn:
            rows = await conn.execute(text("SELECT name, position FROM projector_checkpoints"))
            stored = {r.name: int(r.position) for r in rows}
        return {p.name: max(stored.get(p.name, 0), self._known.get(p.name, 0)) for p in self.projectors}

    async def persist(self) -> None:
        """Write every checkpoint this process moved only in memory."""
        if not any(self._known.get(p.name, 0) > self._stored.get(p.name, 0) for p in self.projectors):
            return
        async with self._lock:
            behind = {
                p.name: self._known[p.name]
                for p in self.projectors
                if self._known.get(p.name, 0) > self._stored.get(p.name, 0)
            }
            if not behind:
                return
            async with step_transaction(self.reader) as (_conn, driver):
                for name in sorted(behind):
                    self._stored[name] = int(await driver.fetchval(_RAISE_CHECKPOINT, name, behind[name]))

    # ---- rebuilding --------------------------------------------------------------------------
    async def replay(
        self,
        projectors: Projector | Sequence[Projector] | None = None,
        *,
        to_position: int | None = None,
        as_of: datetime | None = None,
        progress: Callable[[int, int], None] | None = None,
        flush_every: int = 5000,
        set_based_from: int | None = SET_BASED_FROM,
    ) -> int:
        """Rebuild `projectors` (default: all) from position 0 in one pass over the log and one
        transaction; readers never see them half-built.

        `to_position` and `as_of` (recorded_at <= T) rebuild the projections as they stood then.
        A statement with `set_based_from` rows or more in a flush is written through a staging
        table (staging.py); None writes one executemany a statement, as a live step does.
        """
        chosen = [projectors] if isinstance(projectors, Projector) else list(projectors or self.projectors)
        names = sorted(p.name for p in chosen)
        async with self._lock:
            with _collecting_less():
                async with step_transaction(self.reader) as (conn, driver):
                    await driver.execute(_ENSURE_CHECKPOINTS, names)
                    await driver.execute(_LOCK_CHECKPOINTS, names)
                    tables = [t for p in chosen for t in p.tables]
                    if tables:
                        await driver.execute(f"TRUNCATE {', '.join(tables)}")
                    head = int(await driver.fetchval(sql.HEAD))
                    target = head if to_position is None else min(head, to_position)
                    batch = Batch(conn, driver, None if set_based_from is None else Staging(driver, set_based_from))
                    folding = _Folding(chosen, batch, driver, tables, flush_every)
                    async for events in read_pages(self.reader, 0, target, union_of_types(chosen), as_of):
                        await folding.fold(events)
                        if progress is not None:
                            progress(events[-1].position, target)
                    await folding.batch.flush()
                    await driver.execute(_MOVE_CHECKPOINTS, names, target)
            for name in names:
                self._known[name] = self._stored[name] = target
            if progress is not None:
                progress(target, target)
            return target

    # ---- following the log -------------------------------------------------------------------
    def wake(self, _position: int | None = None) -> None:
        self._wake.set()

    async def start(self, store: EventStore | None = None) -> None:
        if store is not None:
            self.store = store
            store.on_change(self.wake)
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._follow(), name="projector-follower")

    async def stop(self) -> None:
        if self._task is not None:
            # The flag as well as the cancellation: on 3.11 a cancellation that meets the poll's
            # timeout can be lost, and the follower must still stop.
            self._stopping = True
            self._wake.set()
            await stop_task(self._task)
            self._task = None
        with contextlib.suppress(Exception):
            await self.persist()

    async def _follow(self) -> None:
        # With a store, its one LISTEN connection wakes every runner; alone, listen ourselves.
        listener = (
            asyncio.create_task(listen_for_appends(self.engine, self.wake, active().heard), name="projector-listen")
            if self.store is None
            else None
        )
        polled = 0.0
        try:
            while not self._stopping:
                try:
                    # Woken: what this process has heard of. Every poll interval: the head itself.
                    heard = self.store.known_head if self.store is not None else None
                    if heard is None or time.monotonic() - polled >= self.poll_interval:
                        polled = time.monotonic()
                        heard = None
                    await self.catch_up(heard)
                except Exception:
                    log.exception("projector catch-up failed; will retry")
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
                # arrives just as the event is set, and stop() would then wait forever.
                try:
                    async with asyncio.timeout(self.poll_interval):
                        await self._wake.wait()
                except TimeoutError:
                    # The log is quiet: write the checkpoints that moved only in memory.
                    try:
                        await self.persist()
                    except Exception:
                        log.exception("could not write projector checkpoints; will retry")
                self._wake.clear()
        finally:
            if listener is not None:
                await stop_task(listener)


@contextlib.asynccontextmanager
async def step_transaction(reader: AsyncEngine) -> AsyncIterator[tuple[AsyncConnection, Any]]:
    """A transaction opened on the driver connection, and the same session as a SQLAlchemy
    connection (autocommit, so it never begins or ends a transaction of its own)."""
    async with reader.connect() as conn:
        driver: Any = (await conn.get_raw_connection()).driver_connection
        async with driver.transaction():
            yield conn, driver


@contextlib.contextmanager
def _collecting_less() -> Iterator[None]:
    """A replay makes a few objects an event that live until the next flush, and almost no cycles;
    the cyclic collector, left as it is, ran its full passes over every object of the process (the
    imported modules' too) and took about a third of the replay's Python time. What lives already
    is frozen (never scanned again) and the youngest generation collected ten times less often;
    both come back afterwards."""
    was = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(was[0], 7000), was[1], was[2])
    try:
        yield
    finally:
        gc.set_threshold(*was)
        gc.unfreeze()


class _Moved(Exception):
    """A checkpoint row moved under this process (another replica, or a rebuild)."""


class _Folding:
    """A replay's pass over the log: each event through the projectors that want it. Each full
    batch is flushed while the next fills: PostgreSQL writes the rows as Python folds the next page
    (the next batch waits for it before touching the database, and inherits what the folds kept)."""

    def __init__(self, chosen: list[Projector], batch: Batch, driver: Any, tables: list[str], flush_every: int):
        self.chosen, self.batch, self.driver, self.tables = chosen, batch, driver, tables
        self.flush_every = flush_every
        self.wanted_by: dict[str, list[Projector]] = {}
        self.written, self.analyse_at = 0, flush_every

    async def fold(self, events: list[RecordedEvent]) -> None:
        for event in events:
            wanting = self.wanted_by.get(event.type)
            if wanting is None:
                wanting = self.wanted_by[event.type] = [p for p in self.chosen if p.wants(event.type)]
            for projector in wanting:
                await projector.apply(self.batch, event)
        if self.batch.pending >= self.flush_every:
            self.written += self.batch.pending
            # At most one flush behind: a fold that never reads back would otherwise queue flush
            # after flush in memory while the database falls behind (notifications_view: 184 MB
            # peak at 450k events became 468 MB once its read-backs went).
            await self.batch.settled()
            self.batch = self.batch.flush_behind()
            if self.tables and self.written >= self.analyse_at:
                # Emptied by the TRUNCATE, the tables have no statistics, and the plans cached for
                # the writes would find each row to update by scanning an index from end to end:
                # quadratic, hours at a million events. Fresh statistics, each time the tables
                # have grown tenfold, keep the keys.
                await self.batch.flush()
                await self.driver.execute(f"ANALYZE {', '.join(self.tables)}")
                self.analyse_at *= 10


def _in_log_order(todo: list[tuple[Projector, list[RecordedEvent]]]) -> list[tuple[Projector, RecordedEvent]]:
    """Every (projector, event) of a step, by position; at one position, in the runner's order."""
    pairs = [
        (event.position, index, projector, event) for index, (projector, mine) in enumerate(todo) for event in mine
    ]
    pairs.sort(key=lambda p: (p[0], p[1]))
    return [(projector, event) for _, _, projector, event in pairs]


# ---- reading the log -----------------------------------------------------------------------------
async def read_range(
    reader: AsyncEngine, after: int, up_to: int, limit: int, types: Sequence[str] | None
) -> list[RecordedEvent]:
    async with reader.connect() as conn:
        raw: Any = (await conn.get_raw_connection()).driver_connection
        if types is None:
            records = await raw.fetch(sql.RANGE, after, up_to, limit)
        else:
            records = await raw.fetch(sql.RANGE_OF_TYPES, after, up_to, limit, list(types))
        return await readable(active(), raw, [record_to_event(r) for r in records])


async def read_all(driver: Any, after: int, up_to: int, types: frozenset[str] | None) -> list[RecordedEvent]:
    """Every event in (after, up_to] of `types`, on `driver` (inside a step's transaction)."""
    if types is None:
        records = await driver.fetch(sql.RANGE, after, up_to, up_to - after)
    else:
        records = await driver.fetch(sql.RANGE_OF_TYPES, after, up_to, up_to - after, sorted(types))
    return await readable(active(), driver, [record_to_event(r) for r in records])


async def read_pages(
    reader: AsyncEngine,
    after: int,
    up_to: int,
    types: Sequence[str] | None,
    as_of: datetime | None = None,
    page: int = 5000,
    summaries: bool = False,
) -> AsyncIterator[list[RecordedEvent]]:
    """The events in (after, up_to] of `types` (and recorded by `as_of`), a page at a time; the
    next page is read while the caller works on this one. Without their chronology lines unless
    `summaries`: no projection folds one (the chronology reads them from the log), and opening
    them was a third of the decryption a replay does."""
    args: list[Any] = [up_to, *([list(types)] if types is not None else []), *([as_of] if as_of else [])]
    statement_text = sql.page_of_log(types=types is not None, as_of=as_of is not None, page=page)
    # The next page is fetched on `conn` while this one is opened; keys a page needs and this process
    # has not seen are loaded on the same connection once that fetch is done (one connection each).
    async with reader.connect() as conn:
        raw: Any = (await conn.get_raw_connection()).driver_connection
        statement = await raw.prepare(statement_text)

        async def fetch(position: int) -> list[Any]:
            return list(await statement.fetch(position, *args))

        if not active().complete:  # every key in one query, before the connection is busy
            await active().load_all(raw)
        ahead = asyncio.ensure_future(fetch(after))
        try:
            while True:
                records = await ahead
                if not records:
                    return
                if len(records) == page:
                    ahead = asyncio.ensure_future(fetch(records[-1]["position"]))
                sealed, ring = [record_to_event(r, summaries) for r in records], active()
                try:
                    events = [open_event(ring, e) for e in sealed]
                except MissingKeys:
                    await asyncio.wait([ahead])  # the connection is free once the next page is in
                    events = await readable(ring, raw, sealed)
                yield events
                if len(records) < page:
                    return
        finally:
            if not ahead.done():
                ahead.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await ahead


# The projector's own checkpoint rows.
_ENSURE_CHECKPOINTS = (
    "INSERT INTO projector_checkpoints (name, position) SELECT unnest($1::text[]), 0 ON CONFLICT DO NOTHING"
)
_CHECKPOINTS = "SELECT name, position FROM projector_checkpoints WHERE name = ANY($1::text[])"
_LOCK_CHECKPOINTS = "SELECT name FROM projector_checkpoints WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE"
_MOVE_CHECKPOINTS = "UPDATE projector_checkpoints SET position = $2 WHERE name = ANY($1::text[])"
# Rows already past `end` (another process) keep their position.
_LOCK_AND_MOVE = (
    "UPDATE projector_checkpoints c SET position = GREATEST(c.position, $2) FROM "
    "(SELECT name, position AS was FROM projector_checkpoints WHERE name = ANY($1::text[]) "
    "ORDER BY name FOR UPDATE) locked WHERE c.name = locked.name RETURNING c.name, locked.was"
)
_RAISE_CHECKPOINT = (
    "UPDATE projector_checkpoints SET position = GREATEST(position, $2) WHERE name = $1 RETURNING position"
)
