"""The set-based forms of a replay's writes (shared/eventstore/staging.py): which statements are
rewritten and how, and the runs of rows that may be written as one set. That a rebuild written
set-based equals the live tables is tests/investigations/test_demo_agency.py."""

from __future__ import annotations

import pytest

from shared.eventstore.staging import runs, set_based

REWRITES = [
    (
        "INSERT INTO t (a, b) VALUES ($1, CAST($2 AS jsonb)) ON CONFLICT (a) DO NOTHING",
        "INSERT INTO t (a, b) SELECT s._p1, CAST(s._p2 AS jsonb) FROM {stage} s ORDER BY s._so "
        "ON CONFLICT (a) DO NOTHING",
    ),
    (
        "INSERT INTO t (a, n) VALUES ($1, 1) ON CONFLICT (a) DO UPDATE SET n = t.n + 1",
        "INSERT INTO t (a, n) SELECT s._p1, 1 FROM {stage} s ORDER BY s._so ON CONFLICT (a) DO UPDATE SET n = t.n + 1",
    ),
    (
        "UPDATE t SET x = coalesce(x, $1) WHERE id = $2 AND status = 'open'",
        "UPDATE t SET x = coalesce(x, s._p1) FROM {stage} s WHERE id = s._p2 AND status = 'open'",
    ),
    ("DELETE FROM t WHERE a = $1 AND b = $2", "DELETE FROM t USING {stage} s WHERE a = s._p1 AND b = s._p2"),
    # Left to executemany: a result, a subquery, a parameter where only EXCLUDED is seen, no row named.
    ("UPDATE t SET x = $1 WHERE id = $2 RETURNING id", None),
    ("UPDATE t SET x = (SELECT y FROM u WHERE u.id = $1) WHERE id = $2", None),
    ("INSERT INTO t (a) VALUES ($1) ON CONFLICT (a) DO UPDATE SET b = $2", None),
    ("INSERT INTO t (a) SELECT $1 WHERE true", None),
    ("UPDATE t SET x = $1 WHERE flag", None),
]


@pytest.mark.parametrize(("statement", "rewritten"), REWRITES)
def test_set_based_forms(statement: str, rewritten: str | None) -> None:
    assert set_based(statement) == rewritten


def test_runs_share_no_key_and_keep_each_keys_order() -> None:
    keys = [("a",), ("b",), ("a",), ("c", "b"), ("d",), ("a",)]
    assert runs(keys) == [[0, 1, 4], [2, 3], [5]]
