"""A steady agency over years (bench.generator): a past year's households and children have left by
the year's end, as the services record it, so nothing of theirs is on the worklist or a caseload
now. Two years of two households each are loaded through the event store as the benchmark loads
them (no worker running), then followed by the services' own projectors and reactors, and read
through the HTTP API."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from bench.generator import load_bulk
from services.app import create_app
from shared.auth import Role
from shared.clock import ManualClock
from shared.db import create_engine
from shared.eventstore import EventStore
from shared.settings import Settings
from tests.conftest import AuthHeaders, settle

BLOCKS_PER_YEAR = 2  # households a year: blocks 0-1 are the current year, 2-3 the year before


async def load_two_years(url: str, clock: ManualClock) -> tuple[list[list[uuid.UUID]], list[uuid.UUID]]:
    """Blocks 0-3 through a store of their own, as the benchmark loads them: each block's streams
    appended before any reactor follows them. Each block's children, and the households."""
    engine = create_engine(url, pool_size=4)
    store = EventStore(engine, clock=clock, max_batch=64)
    children: list[list[uuid.UUID]] = []
    households: list[uuid.UUID] = []
    try:
        for block in range(2 * BLOCKS_PER_YEAR):  # one block a load
            loaded = await load_bulk(
                store, 1, first_block=block, now=clock.now(), concurrency=8, blocks_per_year=BLOCKS_PER_YEAR
            )
            children.append(loaded.child_ids)
            households += loaded.household_ids
    finally:
        await store.stop()
        await engine.dispose()
    return children, households


async def test_a_past_years_children_and_households_are_on_no_worklist_and_no_caseload(
    app_url: str, settings: Settings, auth: AuthHeaders, clock: ManualClock
) -> None:
    children, households = await load_two_years(app_url, clock)
    this_year = {str(c) for block in children[:BLOCKS_PER_YEAR] for c in block}
    last_year = {str(c) for block in children[BLOCKS_PER_YEAR:] for c in block}
    assert len(this_year) == len(last_year) == 3 * BLOCKS_PER_YEAR
    app = create_app(settings, database_url=app_url, clock=clock)
    async with app.router.lifespan_context(app):
        await settle(app)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://carelog.test", timeout=30) as client:
            manager = auth(Role.REGISTERED_MANAGER)
            # Every visit clock still open, however far ahead it is due: each placed child has one.
            until = (clock.now() + timedelta(days=365)).isoformat()
            due = await client.get("/v1/visits/due", params={"before": until, "limit": 1000}, headers=manager)
            found = await client.get("/v1/caseloads", headers=manager)

    assert due.status_code == 200, due.text
    assert {item["child_id"] for item in due.json()["items"]} == this_year
    assert found.status_code == 200, found.text
    workers = found.json()["workers"]
    assert {c for w in workers for c in w["child_ids"]} == this_year
    assert {h for w in workers for h in w["household_ids"]} == {str(h) for h in households[:BLOCKS_PER_YEAR]}
    assert not {s["child_id"] for w in workers for s in w["children_to_see"]} & last_year
