"""What sealing personal fields costs a full replay (issue 21's target: the replay ratio with
encryption within 15% of the same ratio without it, both in one run).

    python -m bench.sealing --events 10000 [--database-url URL]

The database's public schema is dropped and migrated again for each of the two logs (a log
appended with every field in clear, then the same generated log sealed), so point it only at a
database of your own. Each log is replayed by `carelog replay` in a fresh process (no key in
memory, as after a restart) beside the raw cursor read of the same rows, alternating, best of
`--rounds`; the verdict is the sealed ratio over the clear one. Opening alone (every event of the
sealed log, keys loaded as the replay loads them) is timed per event in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench.run import raw_cursor_read, replay_subprocess
from shared.eventstore.model import NewEvent
from shared.eventstore.shredding import KeyRing

# One instant for both logs, so they are the same log but for the sealing.
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


class ClearRing(KeyRing):
    """Seals nothing: the log as it was before encryption."""

    def subjects_of(self, stream_id: str, event: NewEvent) -> set[str]:
        return set()

    def seal_payloads(
        self,
        stream_id: str,
        event_type: str,
        data: dict[str, Any],
        metadata: dict[str, Any],
        child_ids: Collection[uuid.UUID],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        return data, metadata


async def reset(url: str) -> None:
    from shared.db import migrate_async

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    await migrate_async(url)


async def load(url: str, events: int, sealed: bool) -> int:
    from bench.generator import load_bulk
    from shared.db import create_engine
    from shared.eventstore import EventStore

    engine = create_engine(url, pool_size=4)
    store = EventStore(engine, max_batch=64, keys=KeyRing() if sealed else ClearRing())
    try:
        await load_bulk(store, events, now=NOW, concurrency=32)
        head = (await store.head())[0]
    finally:
        await store.stop()
        await engine.dispose()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()
    return head


async def opening(url: str) -> tuple[int, float]:
    """Every event read as the replay reads it, in a fresh key ring: (events, seconds)."""
    from shared.db import create_engine
    from shared.eventstore import shredding
    from shared.eventstore.projector import read_pages

    shredding.install(KeyRing())
    engine = create_engine(url, pool_size=2)
    count, started = 0, time.perf_counter()
    try:
        async for page in read_pages(engine, 0, 1 << 62, None):
            count += len(page)
    finally:
        await engine.dispose()
    return count, time.perf_counter() - started


def measure(url: str, rounds: int) -> dict[str, Any]:
    best_raw, best_replay, rss = float("inf"), float("inf"), 0.0
    count = 0
    for _ in range(rounds):
        count, raw_s = asyncio.run(raw_cursor_read(url))
        replay = replay_subprocess(url)
        best_raw, best_replay = min(best_raw, raw_s), min(best_replay, replay["seconds"])
        rss = max(rss, replay["peak_rss_mb"])
    read_count, read_s = asyncio.run(opening(url))
    return {
        "events": count,
        "raw_s": best_raw,
        "replay_s": best_replay,
        "ratio": best_raw / best_replay,  # replay rate over raw read rate
        "read_us": read_s / read_count * 1e6,
        "rss_mb": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    default = os.environ.get("CARELOG_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--database-url", default=default)
    args = parser.parse_args()
    found: dict[str, dict[str, Any]] = {}
    for mode in ("clear", "sealed"):
        asyncio.run(reset(args.database_url))
        asyncio.run(load(args.database_url, args.events, sealed=mode == "sealed"))
        found[mode] = measure(args.database_url, args.rounds)
        f = found[mode]
        print(
            f"{mode:7} {f['events']:,} events: raw {f['raw_s']:.2f}s, replay {f['replay_s']:.2f}s, "
            f"replay/raw rate {f['ratio']:.3f}, read path {f['read_us']:.1f} us/event, peak RSS {f['rss_mb']:.0f} MB",
            flush=True,
        )
    print(f"sealed ratio / clear ratio: {found['sealed']['ratio'] / found['clear']['ratio']:.3f} (target >= 0.85)")


if __name__ == "__main__":
    main()
