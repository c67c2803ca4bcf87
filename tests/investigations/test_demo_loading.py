"""Issue 18, `carelog demo`: it refuses to load into a log that already holds records (unless
forced), tells its progress phase by phase, and the same seed gives the same agency, with the same
ids."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from bench.generator import DemoRefused, load_via_api, run_demo
from shared.auth import Role
from shared.db import as_role
from tests.builders import register_child
from tests.conftest import AuthHeaders, settle, test_settings


async def test_the_demo_refuses_a_log_that_already_holds_records(fresh_app: FastAPI, fresh_database_url: str) -> None:
    await register_child(fresh_app)
    head = (await fresh_app.state.store.head())[0]
    told: list[str] = []
    with pytest.raises(DemoRefused, match=f"already holds {head} events"):
        await run_demo(test_settings(), as_role(fresh_database_url), children=2, households=1, progress=told.append)
    assert (await fresh_app.state.store.head())[0] == head and told == []


async def test_the_same_seed_gives_the_same_agency_with_the_same_ids_and_tells_its_progress(
    client: httpx.AsyncClient,
    app: FastAPI,
    fclient: httpx.AsyncClient,
    fresh_app: FastAPI,
    auth: AuthHeaders,
) -> None:
    manager = auth(Role.REGISTERED_MANAGER, subject="demo-manager", ttl=timedelta(hours=8))
    now = app.state.clock.now()
    told: list[str] = []
    one = await load_via_api(
        client, manager, now, seed=5, children=12, households=5, settle=lambda: settle(app), progress=told.append
    )
    other = await load_via_api(
        fclient, manager, now, seed=5, children=12, households=5, settle=lambda: settle(fresh_app)
    )
    assert one.households == other.households and one.children == other.children
    assert one.placements == other.placements and one.unanswered_complaint == other.unanswered_complaint
    assert [line.split(" (")[0] for line in told][:3] == [
        "5 households approved, their carers checked",
        "12 children registered",
        f"{len(one.placements)} children placed",
    ]
    different = await load_via_api(fclient, manager, now, seed=6, children=12, households=5)
    assert not set(different.children) & set(one.children)
