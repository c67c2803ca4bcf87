"""A full replay split over processes (`carelog replay --workers N`): how the projectors are
grouped, and that the rebuilt tables and checkpoints are those of a replay in one process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import text

from bench.generator import load_bulk
from services.app import all_projectors
from shared.db import create_engine
from shared.eventstore import EventStore, Projector
from shared.eventstore.projector import replay_groups
from shared.settings import Settings

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _projector(name: str, cost: float | None, tables: tuple[str, ...] = ("t",)) -> Projector:
    kind = type(name, (Projector,), {"name": name, "tables": tables, "replay_cost": cost})
    return kind()


def test_groups_hold_every_projector_once_in_the_given_order_and_balance_the_cost() -> None:
    projectors = [
        _projector("a", 6),
        _projector("b", 8),
        _projector("c", None),  # keeps rows: 1
        _projector("d", 13),
        _projector("e", None, tables=()),  # only a checkpoint: 0
    ]
    groups = replay_groups(projectors, 2)
    assert sorted(p.name for g in groups for p in g) == ["a", "b", "c", "d", "e"]
    order = [p.name for p in projectors]
    for group in groups:
        assert [p.name for p in group] == sorted((p.name for p in group), key=order.index)
    assert [[p.name for p in g] for g in groups] == [["c", "d", "e"], ["a", "b"]]


def test_one_worker_is_one_group_and_never_more_groups_than_projectors() -> None:
    projectors = [_projector("a", 2), _projector("b", 1)]
    assert replay_groups(projectors, 1) == [projectors]
    assert [[p.name for p in g] for g in replay_groups(projectors, 8)] == [["a"], ["b"]]


def test_the_application_projectors_own_disjoint_tables() -> None:
    # What lets each group of a parallel replay rebuild in its own transaction.
    tables = [t for p in all_projectors(Settings(_env_file=None)) for t in p.tables]
    assert len(tables) == len(set(tables))


async def _rebuilt(url: str, workers: int) -> tuple[dict[str, Counter[str]], dict[str, int]]:
    env = {**os.environ, "CARELOG_DATABASE_URL": url}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "services.cli", "replay", "--workers", str(workers)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            rows: dict[str, Counter[str]] = {}
            for projector in all_projectors(Settings(_env_file=None)):
                for table in projector.tables:
                    found = await conn.execute(text(f"SELECT to_jsonb(t)::text FROM {table} t"))
                    rows[table] = Counter(r[0] for r in found)
            found = await conn.execute(text("SELECT name, position FROM projector_checkpoints"))
            return rows, {r.name: int(r.position) for r in found}
    finally:
        await engine.dispose()


async def test_a_replay_in_three_processes_rebuilds_what_one_process_does(fresh_database_url: str) -> None:
    engine = create_engine(fresh_database_url, pool_size=4)
    store = EventStore(engine, max_batch=64)
    try:
        await load_bulk(store, 600, now=NOW, concurrency=8)
        head = (await store.head())[0]
    finally:
        await store.stop()
        await engine.dispose()
    alone, alone_checkpoints = await _rebuilt(fresh_database_url, 1)
    split, split_checkpoints = await _rebuilt(fresh_database_url, 3)
    assert sum(sum(c.values()) for c in alone.values()) > head // 2  # the rows of a real log, not empty tables
    assert split == alone
    names = {p.name for p in all_projectors(Settings(_env_file=None))}
    assert split_checkpoints == alone_checkpoints == dict.fromkeys(names, head)
