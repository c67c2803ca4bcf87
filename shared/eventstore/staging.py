"""Set-based writes for a replay: a statement's rows COPYed into a staging table, then written by
one statement over that table instead of one execution a row.

A projection's write is `INSERT ... VALUES (...) [ON CONFLICT ...]`, `UPDATE t SET ... WHERE ...`
or `DELETE FROM t WHERE ...` with `$n` parameters. Its set-based form reads the parameters from
the staging table's columns (`s._pN`): `INSERT ... SELECT ... FROM s ORDER BY s._so`,
`UPDATE t SET ... FROM s WHERE ...`, `DELETE FROM t USING s WHERE ...`. That equals running
the rows one by one only when no two rows touch the same thing, so the batch hands this module
runs of rows that share no key (batch.py); any other statement stays one `executemany`.

executemany costs ~14.5 us a row (a Bind/Execute each); COPY plus one statement, ~3-6 us.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

# A run shorter than this is cheaper as an executemany than as a COPY and a statement.
SET_BASED_FROM = 64

_TYPE_NAMES = "SELECT format_type(o, NULL) FROM unnest($1::oid[]) WITH ORDINALITY u(o, i) ORDER BY i"
_PARAM = re.compile(r"\$(\d+)\b")
_UPDATE = re.compile(r"^UPDATE (\w+) SET (.+?) WHERE (.+)$", re.DOTALL)
_DELETE = re.compile(r"^DELETE FROM (\w+) WHERE (.+)$", re.DOTALL)
_ROWS = "<staged rows>"  # replaced by the count of rows staged, each time
_BARRED = re.compile(r"\b(RETURNING|FROM|USING|WITH)\b", re.IGNORECASE)


@dataclass(frozen=True)
class SetForm:
    """A statement's set-based form over its staging table."""

    table: str  # the staging table
    columns: tuple[str, ...]  # its columns: the row's order, then each parameter
    statement: str  # the set-based write, then emptying the staging table (one round trip)

    def for_rows(self, count: int) -> str:
        """The statement for `count` staged rows (planned knowing how many there are)."""
        return self.statement.replace(_ROWS, str(count))


def set_based(sql: str) -> str | None:
    """The set-based form of `sql` over the staging table `{stage}` (a format field), or None when
    it is not a shape this module rewrites."""
    if sql.startswith("INSERT INTO "):
        return _insert(sql)
    for pattern, form in (
        (_UPDATE, "UPDATE {0} SET {1} FROM {{stage}} s WHERE {2}"),
        (_DELETE, "DELETE FROM {0} USING {{stage}} s WHERE {1}"),
    ):
        found = pattern.match(sql)
        if found is not None:
            if any(_BARRED.search(part) for part in found.groups()) or not _PARAM.search(found.groups()[-1]):
                return None  # a subquery, a result or no row named by the parameters
            return form.format(*(_staged(part) for part in found.groups()))
    return None


def _insert(sql: str) -> str | None:
    opening = sql.find(" VALUES (")
    if opening < 0:
        return None
    start = opening + len(" VALUES (")
    depth, end = 1, start
    while end < len(sql) and depth:
        depth += {"(": 1, ")": -1}.get(sql[end], 0)
        end += 1
    values, rest = sql[start : end - 1], sql[end:]
    if depth or (rest and not rest.startswith(" ON CONFLICT")) or _BARRED.search(rest) or _BARRED.search(values):
        return None
    if _PARAM.search(rest):
        return None  # DO UPDATE sees only the row and EXCLUDED, not the staging table
    return f"{sql[:opening]} SELECT {_staged(values)} FROM {{stage}} s ORDER BY s._so{rest}"


def _staged(part: str) -> str:
    # Braces are doubled: the result is a format string for the staging table's name.
    return _PARAM.sub(r"s._p\1", part.replace("{", "{{").replace("}", "}}"))


class Staging:
    """The staging tables of one transaction (dropped with it), one per statement written set-based."""

    def __init__(self, driver: Any, least: int = SET_BASED_FROM) -> None:
        self.driver = driver
        self.least = least  # the fewest rows written set-based
        self._forms: dict[str, SetForm | None] = {}

    async def form(self, sql: str) -> SetForm | None:
        if sql not in self._forms:
            self._forms[sql] = await self._create(sql)
        return self._forms[sql]

    async def _create(self, sql: str) -> SetForm | None:
        rewritten = set_based(sql)
        if rewritten is None:
            return None
        prepared = await self.driver.prepare(sql)
        oids = [t.oid for t in prepared.get_parameters()]
        types = await self.driver.fetch(_TYPE_NAMES, oids)
        # Named by the statement: asyncpg caches what a COPY's columns are by the table's name, on
        # the connection, so a name never stands for other columns in a later transaction.
        table = f"carelog_stage_{hashlib.sha1(sql.encode()).hexdigest()[:16]}"
        columns = ("_so", *(f"_p{i}" for i in range(1, len(oids) + 1)))
        typed = ", ".join(f"{c} {t}" for c, t in zip(columns, ["int4", *(r[0] for r in types)], strict=True))
        await self.driver.execute(f"CREATE TEMP TABLE {table} ({typed}) ON COMMIT DROP")
        # A temporary table has no statistics: the planner took a flush's 100 rows for a page's
        # worth and joined them by scanning the whole projection table (170 ms a flush at 40k rows,
        # growing with the table). Read through a LIMIT of the true count, the staged rows are
        # known to be few, and each finds its row by the table's index.
        source = table if rewritten.startswith("INSERT ") else f"(SELECT * FROM {table} LIMIT {_ROWS})"
        return SetForm(table, columns, f"{rewritten.format(stage=source)}; TRUNCATE {table}")

    async def write(self, form: SetForm, rows: Sequence[tuple[Any, ...]]) -> None:
        await self.driver.copy_records_to_table(
            form.table, records=[(i, *row) for i, row in enumerate(rows)], columns=form.columns
        )
        await self.driver.execute(form.for_rows(len(rows)))


def runs(keys: Sequence[tuple[Hashable, ...]]) -> list[list[int]]:
    """The rows (by index) in runs that share no key, each row after every earlier row it shares a
    key with: run after run, that is the rows' own order wherever order matters."""
    last: dict[Hashable, int] = {}
    out: list[list[int]] = []
    for index, touched in enumerate(keys):
        run = max((last[k] + 1 for k in touched if k in last), default=0)
        if run == len(out):
            out.append([])
        out[run].append(index)
        for k in touched:
            last[k] = run
    return out
