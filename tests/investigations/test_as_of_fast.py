"""A child's compliance as the agency knew it at a past instant, without a full replay
(`GET /v1/children/{id}/compliance?as_of=T`): for every child of a demo agency and 12 instants
across its recording, the same bytes as the compliance query read on projections rebuilt from
position 0 as of that instant (the full as-of replay, into a schema of its own)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from bench.demo import load_via_api, ticker
from bench.demo_recruitment import KIN
from services.visits import projections as vpj
from shared.auth import Role
from shared.db import create_engine
from shared.eventstore import ProjectorRunner
from tests.builders import post
from tests.conftest import AuthHeaders, settle

DATES = 12


@pytest.fixture
async def moving_client(fresh_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose every request moves the agency's clock on 20 s: the demo's events are then
    recorded over hours, so each past instant knows a different part of the record."""

    async def tick(_request: httpx.Request) -> None:
        fresh_app.state.clock.advance(timedelta(seconds=20))

    transport = httpx.ASGITransport(app=fresh_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://carelog.test", timeout=60, event_hooks={"request": [tick]}
    ) as client:
        yield client


async def rebuilt_as_of(owner_url: str, schema: str, as_of: datetime) -> Any:
    """The full as-of replay of the visits projections (every event from position 0 recorded by
    `as_of`) into `schema`; an engine whose unqualified names resolve there first."""
    owner = create_engine(owner_url, pool_size=1)
    projector = vpj.projectors(_settings())[0]
    try:
        async with owner.begin() as conn:
            await conn.execute(text(f"CREATE SCHEMA {schema}"))
            for table in [*projector.tables, "projector_checkpoints"]:
                await conn.execute(text(f"CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)"))
    finally:
        await owner.dispose()
    engine = create_engine(
        owner_url, pool_size=1, connect_args={"server_settings": {"search_path": f"{schema},public"}}
    )
    await ProjectorRunner(engine, [projector]).replay(projector, as_of=as_of)
    return engine


def _settings() -> Any:
    from tests.conftest import test_settings

    return test_settings()


async def test_compliance_as_of_is_the_full_as_of_replay_for_12_instants(
    moving_client: httpx.AsyncClient, fresh_app: FastAPI, auth: AuthHeaders, fresh_database_url: str
) -> None:
    manager = auth(Role.REGISTERED_MANAGER, subject="demo-manager", ttl=timedelta(days=30))
    now = fresh_app.state.clock.now()
    agency = await load_via_api(
        moving_client,
        manager,
        now.date(),
        clock=fresh_app.state.clock,
        tick=ticker(fresh_app),
        carer_headers=lambda h: auth(Role.CARER, households=[uuid.UUID(h)], ttl=timedelta(days=30)),
        seed=11,
        children=6,
        households=3,
    )
    await settle(fresh_app)
    assert not [f for f in agency.failures if " -> 500" in f]  # no server error (refusals are the story's)
    store = fresh_app.state.store
    async with fresh_app.state.engine.connect() as conn:
        first, last = (await conn.execute(text("SELECT min(recorded_at), max(recorded_at) FROM events"))).one()
        children = [r[0] for r in await conn.execute(text("SELECT child_id FROM visits_children ORDER BY child_id"))]
    # The demo's children and each connected person's grandchild.
    assert last - first > timedelta(hours=1) and len(children) == len(agency.children) + len(KIN)
    first = max(first, last - timedelta(days=365))  # the demo's year, not the households' earlier years
    instants = [first + (last - first) * (k + 1) / (DATES + 1) for k in range(DATES)]
    projectors = vpj.projectors(fresh_app.state.settings)

    seen: set[str] = set()
    known_at: list[int] = []
    for k, instant in enumerate(instants):
        engine = await rebuilt_as_of(fresh_database_url, f"asof_t{k}", instant)
        try:
            async with engine.connect() as conn:
                driver = (await conn.get_raw_connection()).driver_connection
                full = {c: await vpj.compliance(driver, c, instant) for c in children}
        finally:
            await engine.dispose()
        fast = {c: await vpj.compliance_as_of(store, projectors, c, instant) for c in children}
        for child in children:
            expected = full[child].model_dump_json() if full[child] is not None else None
            got = fast[child].model_dump_json() if fast[child] is not None else None
            assert got == expected, (k, instant, child)
            seen.add(expected or "none")
        known_at.append(sum(1 for v in full.values() if v is not None))
        # Through the API: the same answer, as JSON.
        child = next((c for c in children if full[c] is not None), None)
        if child is not None:
            response = await moving_client.get(
                f"/v1/children/{child}/compliance", params={"as_of": instant.isoformat()}, headers=manager
            )
            assert response.status_code == 200, response.text
            assert response.json() == full[child].model_dump(mode="json")  # type: ignore[union-attr]
    # The instants see different records: children not yet registered, then all of them, and
    # their compliance changing as more was known.
    assert known_at[0] < known_at[-1] == len(children)
    assert len(seen) > 2 * len(children)


async def test_compliance_as_of_refuses_the_future_and_unknown_children(
    moving_client: httpx.AsyncClient, fresh_app: FastAPI, auth: AuthHeaders
) -> None:
    manager = auth(Role.REGISTERED_MANAGER, subject="demo-manager", ttl=timedelta(days=30))
    registered_at = fresh_app.state.clock.now()
    child = await post(
        moving_client,
        manager,
        "/v1/children",
        {
            "name": "Ada Example",
            "date_of_birth": "2014-05-01",
            "legal_status": "section_31_care_order",
            "placing_authority": "West Northamptonshire Council",
            "social_worker_id": "sw-1",
        },
    )
    child_id = child["child_id"]
    async with fresh_app.state.engine.connect() as conn:
        head_before = (await conn.execute(text("SELECT position FROM events_head WHERE id"))).scalar_one()
    later = fresh_app.state.clock.now() + timedelta(days=1)
    response = await moving_client.get(
        f"/v1/children/{child_id}/compliance", params={"as_of": later.isoformat()}, headers=manager
    )
    assert response.status_code == 422 and response.headers["content-type"].startswith("application/problem+json")
    # Before the child was registered, the agency knew of no such child.
    response = await moving_client.get(
        f"/v1/children/{child_id}/compliance",
        params={"as_of": (registered_at - timedelta(days=1)).isoformat()},
        headers=manager,
    )
    assert response.status_code == 404, response.text
    response = await moving_client.get(
        f"/v1/children/{child_id}/compliance", params={"as_of": "2026-01-01T00:00:00"}, headers=manager
    )
    assert response.status_code == 422
    # Just after it was: the child, by the clock then.
    response = await moving_client.get(
        f"/v1/children/{child_id}/compliance",
        params={"as_of": fresh_app.state.clock.now().isoformat()},
        headers=manager,
    )
    assert response.status_code == 200 and response.json()["child_id"] == child_id
    async with fresh_app.state.engine.connect() as conn:
        assert (await conn.execute(text("SELECT position FROM events_head WHERE id"))).scalar_one() == head_before
