"""A replay folds while its last batch is flushed behind it, but never more than one flush behind:
a fold that never reads back (nothing to wait for) would otherwise queue flush after flush in
memory while the database falls behind."""

from __future__ import annotations

import asyncio
from typing import Any

from shared.eventstore.projector import _Folding


class _SlowFlushes:
    """A batch always full, whose flushes take a while and count how many are not done yet."""

    pending = 1
    unfinished = 0
    most = 0

    def __init__(self, before: asyncio.Future[None] | None = None) -> None:
        self.before = before

    async def settled(self) -> None:
        if self.before is not None:
            await self.before

    def flush_behind(self) -> _SlowFlushes:
        async def flush() -> None:
            await self.settled()  # as Batch.flush: after the flush before it
            await asyncio.sleep(0.01)
            _SlowFlushes.unfinished -= 1

        _SlowFlushes.unfinished += 1
        _SlowFlushes.most = max(_SlowFlushes.most, _SlowFlushes.unfinished)
        return _SlowFlushes(asyncio.ensure_future(flush()))


async def test_folding_waits_for_the_flush_behind_it_before_starting_another() -> None:
    batch: Any = _SlowFlushes()
    folding = _Folding([], batch, driver=None, tables=[], flush_every=1)
    for _ in range(20):
        await folding.fold([])
    await folding.batch.settled()
    # Each fold started its flush only once the one before had landed.
    assert _SlowFlushes.most == 1
