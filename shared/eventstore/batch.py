"""The writes of a projector step, sent to PostgreSQL in as few round trips as order allows.

A projection's `apply` queues rows with `batch.write(statement, params, *keys)`. The keys name
what the statement reads or changes (a row, or a set of rows such as "the placements of child c"),
so two writes that share no key commute. `flush` sends the writes in layers: a write goes into the
first layer after every earlier write that shares a key with it (into the same layer when that
write used the same statement, whose rows PostgreSQL runs in the order given), and each statement
of a layer is one `executemany`. Rebuilding a year of records then takes a few round trips per
thousand events instead of one or more per event, and every row ends as one-by-one would leave it.
A replay's batch goes further (`staging`): a statement's rows are COPYed into a staging table and
written by one statement, in runs of rows that share no key (staging.py).

Reads see every earlier write: `fetch` and `first` flush first, unless they name keys that no
queued write touches. `execute` runs at once after a flush (for RETURNING or a row count).
"""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from sqlalchemy import TextClause
from sqlalchemy.engine import CursorResult, Row
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.eventstore.staging import Staging, runs

# A row's parameters, or (for `put`) what makes them when the batch is flushed.
Params = Mapping[str, Any] | Callable[[], Mapping[str, Any]]
# What a statement of a layer writes: each row's parameters and the keys it touches.
Rows = tuple[list[Params], list[tuple[Hashable, ...]]]


class Batch:
    """`conn` is a SQLAlchemy connection in autocommit mode whose session is inside a transaction
    opened on its driver connection `driver`: writes go straight to the driver (one `executemany`
    per statement and layer), reads and `execute` through SQLAlchemy."""

    def __init__(self, conn: AsyncConnection, driver: Any, staging: Staging | None = None) -> None:
        self.conn = conn
        self.driver = driver
        self.staging = staging  # set-based writes (a replay's), else one executemany a statement
        self._before: asyncio.Future[None] | None = None  # a flush still running on the connection
        self._layers: list[dict[TextClause, Rows]] = []
        self._last: dict[Hashable, tuple[int, TextClause]] = {}  # key -> (layer, statement) of its last write
        self._puts: dict[tuple[TextClause, Hashable], tuple[int, int]] = {}  # (statement, key) -> (layer, index)
        self._notify: set[str] = set()
        self._kept: dict[Hashable, Any] = {}

    @property
    def pending(self) -> int:
        return sum(len(params) for layer in self._layers for params, _ in layer.values())

    def write(self, statement: TextClause, params: Params, key: Hashable, *keys: Hashable) -> None:
        """Queue `statement` with `params`; `key` and `keys` name everything it reads or changes."""
        self._queue(statement, params, (key, *keys))

    def put(self, statement: TextClause, key: Hashable, params: Callable[[], Mapping[str, Any]]) -> None:
        """Queue the latest value of the row `key` by an upsert: when the last write of `key` is
        this statement's, it is replaced rather than followed, and `params` is called only when
        the batch is flushed. A fold over a household's events is then written, and serialised,
        once a flush instead of once an event."""
        last = self._last.get(key)
        slot = self._puts.get((statement, key))
        if slot is not None and last == (slot[0], statement):
            layer, index = slot
            self._layers[layer][statement][0][index] = params
            self._kept.pop(key, None)
            return
        self._puts[(statement, key)] = self._queue(statement, params, (key,))

    def _queue(self, statement: TextClause, params: Params, touched: tuple[Hashable, ...]) -> tuple[int, int]:
        layer = 0
        for k in touched:
            earlier = self._last.get(k)
            if earlier is not None:
                index, used = earlier
                layer = max(layer, index if used is statement else index + 1)
        while len(self._layers) <= layer:
            self._layers.append({})
        rows, keys = self._layers[layer].setdefault(statement, ([], []))
        rows.append(params)
        keys.append(touched)
        for k in touched:
            self._last[k] = (layer, statement)
            self._kept.pop(k, None)  # what a fold kept of it is stale now, unless it keeps it again
        return layer, len(rows) - 1

    def notify(self, channel: str) -> None:
        """`pg_notify(channel)` with the next flush, in the same transaction."""
        self._notify.add(channel)

    def flush_behind(self) -> Batch:
        """Flush in the background and go on with a new batch, which waits for that flush before
        it uses the connection and starts with what the folds kept (still true once it lands)."""
        following = Batch(self.conn, self.driver, self.staging)
        # The folds' most recent rows only: memory stays the same however long the log is.
        kept = list(self._kept.items())[-KEPT_ACROSS_FLUSHES:]
        following._kept = dict(kept)
        self._kept = {}
        following._before = asyncio.ensure_future(self.flush())
        return following

    async def settled(self) -> None:
        """Wait for the flush still running behind this batch, if any."""
        if self._before is not None:
            before, self._before = self._before, None
            await before

    async def flush(self) -> None:
        await self.settled()
        layers, self._layers, self._last = self._layers, [], {}
        self._puts.clear()
        self._kept.clear()
        for layer in layers:
            for statement, (rows, keys) in layer.items():
                sql, arguments = self._compiled(statement)
                await self._write(sql, [arguments(row() if callable(row) else row) for row in rows], keys)
        for channel in sorted(self._notify):
            await self.driver.execute("SELECT pg_notify($1, '')", channel)
        self._notify.clear()

    async def _write(self, sql: str, rows: list[tuple[Any, ...]], keys: list[tuple[Hashable, ...]]) -> None:
        least = self.staging.least if self.staging is not None else 0
        form = await self.staging.form(sql) if self.staging is not None and len(rows) >= least else None
        if form is None or self.staging is None:
            await self.driver.executemany(sql, rows)
            return
        split = runs(keys)
        if sum(len(run) for run in split if len(run) >= least) * 2 < len(rows):
            await self.driver.executemany(sql, rows)  # mostly rows that follow each other
            return
        few: list[tuple[Any, ...]] = []  # short runs back to back: one executemany, in order
        for run in split:
            if len(run) < least:
                few.extend(rows[i] for i in run)
                continue
            if few:
                await self.driver.executemany(sql, few)
                few = []
            await self.staging.write(form, [rows[i] for i in run])
        if few:
            await self.driver.executemany(sql, few)

    def _compiled(self, statement: TextClause) -> tuple[str, Callable[[Mapping[str, Any]], tuple[Any, ...]]]:
        """The statement in the driver's form ($1, $2, ...) and what turns a row's parameters into
        the driver's arguments, in order."""
        found = _COMPILED.get(statement)
        if found is None:
            compiled = statement.compile(dialect=self.conn.dialect)
            names = tuple(compiled.positiontup or ())
            pick = operator.itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
            found = _COMPILED[statement] = (str(compiled), pick)
        return found

    # ---- reading -------------------------------------------------------------------------------------
    async def fetch(
        self, statement: TextClause, params: Mapping[str, Any] | None = None, *keys: Hashable
    ) -> Sequence[Row[Any]]:
        """The rows of `statement`, after every queued write that shares one of `keys` (all when none)."""
        await self._before_read(keys)
        return (await self.conn.execute(statement, dict(params or {}))).all()

    async def first(
        self, statement: TextClause, params: Mapping[str, Any] | None = None, *keys: Hashable
    ) -> Row[Any] | None:
        await self._before_read(keys)
        return (await self.conn.execute(statement, dict(params or {}))).first()

    async def execute(self, statement: TextClause, params: Mapping[str, Any] | None = None) -> CursorResult[Any]:
        """Run `statement` now, after every queued write."""
        await self.flush()
        return await self.conn.execute(statement, dict(params or {}))

    async def _before_read(self, keys: Sequence[Hashable]) -> None:
        await self.settled()
        if self._layers and (not keys or any(k in self._last for k in keys)):
            await self.flush()

    # ---- read-modify-write folds ---------------------------------------------------------------------
    def kept(self, key: Hashable) -> Any:
        """What a fold kept for `key` since the last flush and its last write, or None."""
        return self._kept.get(key)

    def keep(self, key: Hashable, value: Any) -> None:
        """Keep the value a fold just queued a write of, so the next event need not read it back."""
        self._kept.pop(key, None)  # the most recent last
        self._kept[key] = value


# How many of the folds' rows a batch flushed in the background hands to the next one.
KEPT_ACROSS_FLUSHES = 2000

# Statements are module constants (writes are grouped by statement), so this stays small.
_COMPILED: dict[TextClause, tuple[str, Callable[[Mapping[str, Any]], tuple[Any, ...]]]] = {}
