"""Projections of a few events, folded apart: "as the agency knew it at T" for one subject without
rebuilding every projection from position 0 (docs/architecture.md, "As of a past instant").

The events are folded through the projectors into empty temporary copies of the projectors'
tables, on a connection of its own (never a pooled one: a pooled connection's cached statements
would still name the real tables). PostgreSQL looks a session's temporary tables up before any
schema on the search path, so the projectors' own writes and the caller's queries, which name
their tables unqualified, read and write the copies; the copies go with the transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from shared.eventstore.batch import Batch
from shared.eventstore.model import RecordedEvent
from shared.eventstore.projector import Projector

T = TypeVar("T")


async def fold_apart(
    engine: AsyncEngine,
    projectors: Sequence[Projector],
    events: Sequence[RecordedEvent],
    read: Callable[[Any], Awaitable[T]],
) -> T:
    """Fold `events` (in log order) through `projectors` into temporary copies of their tables,
    then `read(driver)` on the same session, in the same transaction, and drop the copies."""
    apart = create_async_engine(
        engine.url, poolclass=NullPool, json_deserializer=orjson.loads, isolation_level="AUTOCOMMIT"
    )
    tables = [t for p in projectors for t in p.tables]
    try:
        async with apart.connect() as conn:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            async with driver.transaction():
                # One round trip for every copy.
                await driver.execute(
                    "; ".join(f"CREATE TEMP TABLE {t} (LIKE public.{t} INCLUDING ALL) ON COMMIT DROP" for t in tables)
                )
                batch = Batch(conn, driver)
                for event in events:
                    for projector in projectors:
                        if projector.wants(event.type):
                            await projector.apply(batch, event)
                await batch.flush()
                return await read(driver)
    finally:
        await apart.dispose()
