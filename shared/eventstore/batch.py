"""The writes of a projector step, sent to PostgreSQL in as few round trips as order allows.

A projection's `apply` queues rows with `batch.write(statement, params, *keys)`. The keys name
what the statement reads or changes (a row, or a set of rows such as "the placements of child c"),
so two writes that share no key commute. `flush` sends the writes in layers: a write goes into the
first layer after every earlier write that shares a key with it (into the same layer when that
write used the same statement, whose rows PostgreSQL runs in the order given), and each statement
of a layer is one `executemany`. Rebuilding a year of records then takes a few round trips per
thousand events instead of one or more per event, and every row ends as one-by-one would leave it.

Reads see every earlier write: `fetch` and `first` flush first, unless they name keys that no
queued write touches. `execute` runs at once after a flush (for RETURNING or a row count).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from sqlalchemy import TextClause
from sqlalchemy.engine import CursorResult, Row
from sqlalchemy.ext.asyncio import AsyncConnection


class Batch:
    """`conn` is a SQLAlchemy connection in autocommit mode whose session is inside a transaction
    opened on its driver connection `driver`: writes go straight to the driver (one `executemany`
    per statement and layer), reads and `execute` through SQLAlchemy."""

    def __init__(self, conn: AsyncConnection, driver: Any) -> None:
        self.conn = conn
        self.driver = driver
        self._layers: list[dict[TextClause, list[Mapping[str, Any]]]] = []
        self._last: dict[Hashable, tuple[int, TextClause]] = {}  # key -> (layer, statement) of its last write
        self._notify: set[str] = set()
        self._kept: dict[Hashable, Any] = {}

    @property
    def pending(self) -> int:
        return sum(len(rows) for layer in self._layers for rows in layer.values())

    def write(self, statement: TextClause, params: Mapping[str, Any], key: Hashable, *keys: Hashable) -> None:
        """Queue `statement` with `params`; `key` and `keys` name everything it reads or changes."""
        touched = (key, *keys)
        layer = 0
        for k in touched:
            earlier = self._last.get(k)
            if earlier is not None:
                index, used = earlier
                layer = max(layer, index if used is statement else index + 1)
        while len(self._layers) <= layer:
            self._layers.append({})
        self._layers[layer].setdefault(statement, []).append(params)
        for k in touched:
            self._last[k] = (layer, statement)

    def notify(self, channel: str) -> None:
        """`pg_notify(channel)` with the next flush, in the same transaction."""
        self._notify.add(channel)

    async def flush(self) -> None:
        layers, self._layers, self._last = self._layers, [], {}
        self._kept.clear()
        for layer in layers:
            for statement, rows in layer.items():
                sql, names = self._compiled(statement)
                await self.driver.executemany(sql, [tuple(row[n] for n in names) for row in rows])
        for channel in sorted(self._notify):
            await self.driver.execute("SELECT pg_notify($1, '')", channel)
        self._notify.clear()

    def _compiled(self, statement: TextClause) -> tuple[str, tuple[str, ...]]:
        """The statement in the driver's form ($1, $2, ...) and the parameter names in order."""
        found = _COMPILED.get(statement)
        if found is None:
            compiled = statement.compile(dialect=self.conn.dialect)
            found = _COMPILED[statement] = (str(compiled), tuple(compiled.positiontup or ()))
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
        if self._layers and (not keys or any(k in self._last for k in keys)):
            await self.flush()

    # ---- read-modify-write folds ---------------------------------------------------------------------
    def kept(self, key: Hashable) -> Any:
        """What a fold kept for `key` since the last flush, or None: then nothing is queued for it."""
        return self._kept.get(key)

    def keep(self, key: Hashable, value: Any) -> None:
        """Keep the value a fold just queued a write of, so the next event need not read it back."""
        self._kept[key] = value


# Statements are module constants (writes are grouped by statement), so this stays small.
_COMPILED: dict[TextClause, tuple[str, tuple[str, ...]]] = {}
