"""The lists of children and households (GET /v1/children, GET /v1/households): the same policy as
a read by id (a worker lists only what they may open; a carer only their own household), every
child listed is access-logged, filters and name search narrow them, and the cursor's pages are
stable while the agency keeps recording."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from shared.auth import Role
from shared.clock import ManualClock
from tests.builders import child_body, get, place_child, post
from tests.carers.helpers import household
from tests.conftest import AuthHeaders, settle


async def _child(client: httpx.AsyncClient, manager: dict[str, str], name: str, worker: str = "sw-a") -> str:
    created = await post(client, manager, "/v1/children", child_body(name=name, social_worker_id=worker))
    return str(created["child_id"])


async def _household(client: httpx.AsyncClient, manager: dict[str, str], name: str, ssw: str) -> str:
    created = await post(
        client,
        manager,
        "/v1/households",
        {"local_authority": "E06000062", "name": name, "supervising_social_worker_id": ssw},
    )
    return str(created["household_id"])


async def _get(client: httpx.AsyncClient, headers: dict[str, str], url: str, **params: Any) -> Any:
    """GET a list (tests.builders.get names its expected HTTP status `status`, a filter here)."""
    response = await client.get(url, params=params, headers=headers)
    assert response.status_code == 200, (url, params, response.status_code, response.text)
    return response.json()


async def _all_pages(
    client: httpx.AsyncClient, headers: dict[str, str], url: str, key: str, **params: Any
) -> list[Any]:
    rows: list[Any] = []
    cursor = None
    while True:
        page = await _get(client, headers, url, **{**params, **({"cursor": cursor} if cursor else {})})
        rows += page[key]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows


async def test_a_worker_lists_only_the_children_they_may_read_and_each_is_access_logged(
    client: httpx.AsyncClient, auth: AuthHeaders, app: FastAPI, owner_engine: Any
) -> None:
    manager = auth(Role.REGISTERED_MANAGER)
    ada = await _child(client, manager, "Ada Smith", "sw-a")
    ben = await _child(client, manager, "Ben Jones", "sw-a")
    cat = await _child(client, manager, "Cat Brown", "sw-b")
    dan = await _child(client, manager, "Dan Green", "sw-b")
    household = await _household(client, manager, "The Okafor household", "ssw-x")
    await place_child(app, dan, at=app.state.clock.now(), household_id=household)
    await settle(app)

    def names(page: dict[str, Any]) -> list[str]:
        return [c["name"] for c in page["children"]]

    assert names(await get(client, auth(Role.CHILD_SOCIAL_WORKER, "sw-a"), "/v1/children")) == [
        "Ada Smith",
        "Ben Jones",
    ]
    assert names(await get(client, auth(Role.CHILD_SOCIAL_WORKER, "sw-b"), "/v1/children")) == [
        "Cat Brown",
        "Dan Green",
    ]
    assert names(await get(client, auth(Role.CHILD_SOCIAL_WORKER, "sw-nobody"), "/v1/children")) == []
    # The supervising social worker of the household a child is placed with reads that child.
    assert names(await get(client, auth(Role.SUPERVISING_SOCIAL_WORKER, "ssw-x"), "/v1/children")) == ["Dan Green"]
    # Reassigned: a worker allocated later lists the child too.
    await post(
        client, manager, "/v1/allocations", {"worker_id": "sw-b", "role": "child_social_worker", "child_id": ada}
    )
    assert names(await get(client, auth(Role.CHILD_SOCIAL_WORKER, "sw-b"), "/v1/children")) == [
        "Ada Smith",
        "Cat Brown",
        "Dan Green",
    ]
    every = await get(client, auth(Role.INSPECTOR, "ofsted-1"), "/v1/children")
    assert names(every) == ["Ada Smith", "Ben Jones", "Cat Brown", "Dan Green"]
    # A carer may not learn that children exist: the list is not found, as a child would be.
    await get(client, auth(Role.CARER, "carer-1", households=[uuid.UUID(household)]), "/v1/children", status=404)

    async with owner_engine.connect() as conn:
        logged = (
            await conn.execute(
                text("SELECT actor_id, child_id::text FROM access_log WHERE route = '/v1/children' ORDER BY id")
            )
        ).all()
    by_actor: dict[str, set[str]] = {}
    for actor, child in logged:
        by_actor.setdefault(actor, set()).add(child)
    assert by_actor["sw-a"] == {ada, ben}
    assert by_actor["ssw-x"] == {dan}
    assert by_actor["ofsted-1"] == {ada, ben, cat, dan}
    assert "sw-nobody" not in by_actor


async def test_children_are_filtered_and_searched_by_name(
    client: httpx.AsyncClient, auth: AuthHeaders, app: FastAPI, clock: ManualClock
) -> None:
    manager = auth(Role.REGISTERED_MANAGER)
    early = await _child(client, manager, "Ada Smith-Jones", "sw-a")
    clock.advance(timedelta(days=90))  # the registration clocks of the first child pass their due dates
    placed = await _child(client, manager, "Bea O'Brien", "sw-b")
    await _child(client, manager, "Cy Smithers", "sw-b")
    household = await _household(client, manager, "The Patel household", "ssw-y")
    await place_child(app, placed, at=clock.now(), household_id=household)
    await settle(app)

    async def listed(**params: Any) -> list[str]:
        page = await _get(client, manager, "/v1/children", **params)
        return [c["name"] for c in page["children"]]

    assert await listed(q="smith") == ["Ada Smith-Jones", "Cy Smithers"]
    assert await listed(q="SMITH jon") == ["Ada Smith-Jones"]
    assert await listed(q="brien") == ["Bea O'Brien"]
    assert await listed(q="zz") == []
    assert await listed(worker="sw-b") == ["Bea O'Brien", "Cy Smithers"]
    assert await listed(household_id=household) == ["Bea O'Brien"]
    assert await listed(status="placed") == ["Bea O'Brien"]
    assert await listed(status="not_placed") == ["Ada Smith-Jones", "Cy Smithers"]
    assert await listed(overdue="true") == ["Ada Smith-Jones"]
    assert await listed(overdue="false") == ["Bea O'Brien", "Cy Smithers"]
    page = await get(client, manager, "/v1/children", q="ada")
    [ada] = page["children"]
    assert ada["child_id"] == early and ada["status"] == "not_placed" and ada["overdue_clocks"] > 0
    placed_row = (await _get(client, manager, "/v1/children", status="placed"))["children"][0]
    assert placed_row["household_id"] == household and placed_row["placement_id"] is not None


async def test_the_cursor_pages_are_stable_while_children_are_registered(
    client: httpx.AsyncClient, auth: AuthHeaders
) -> None:
    manager = auth(Role.REGISTERED_MANAGER)
    names = ["Bo", "Cy", "Di", "Ed", "Fi"]
    for name in names:
        await _child(client, manager, name)
    first = await get(client, manager, "/v1/children", limit=2)
    assert [c["name"] for c in first["children"]] == ["Bo", "Cy"] and first["next_cursor"]
    # Registered between pages: one sorts before the cursor, one after it.
    await _child(client, manager, "Al")
    await _child(client, manager, "Ez")
    rest = await _all_pages(client, manager, "/v1/children", "children", limit=2, cursor=first["next_cursor"])
    seen = [c["name"] for c in first["children"] + rest]
    assert seen == ["Bo", "Cy", "Di", "Ed", "Ez", "Fi"]  # nothing repeated, nothing skipped, in order
    # Two children of the same name are told apart by id, and both appear.
    await _child(client, manager, "Di")
    all_rows = await _all_pages(client, manager, "/v1/children", "children", limit=1)
    assert [c["name"] for c in all_rows] == ["Al", "Bo", "Cy", "Di", "Di", "Ed", "Ez", "Fi"]
    assert len({c["child_id"] for c in all_rows}) == 8


async def test_a_bad_cursor_search_or_page_size_is_a_problem(client: httpx.AsyncClient, auth: AuthHeaders) -> None:
    manager = auth(Role.REGISTERED_MANAGER)
    for url in ("/v1/children", "/v1/households"):
        for params in ({"cursor": "not-a-cursor"}, {"q": "'&|!"}, {"limit": 0}, {"limit": 10_000}):
            response = await client.get(url, params=params, headers=manager)
            assert response.status_code == 422, (url, params, response.text)
            assert response.headers["content-type"] == "application/problem+json"


async def test_households_are_listed_by_the_same_policy_filtered_and_paged(
    client: httpx.AsyncClient, auth: AuthHeaders, app: FastAPI
) -> None:
    manager = auth(Role.REGISTERED_MANAGER)
    okafor = await _household(client, manager, "The Okafor household", "ssw-x")
    patel = await _household(client, manager, "The Patel household", "ssw-x")
    smith = await _household(client, manager, "The Smith household", "ssw-y")
    await post(
        client,
        manager,
        f"/v1/households/{patel}/approval",
        {"decision": "refused", "reason": "The assessment found the home unsafe."},
    )
    child = await _child(client, manager, "Ada", "sw-a")
    await place_child(app, child, at=app.state.clock.now(), household_id=smith)
    await settle(app)

    async def listed(headers: dict[str, str], **params: Any) -> list[str]:
        rows = await _all_pages(client, headers, "/v1/households", "households", limit=1, **params)
        return [h["household_id"] for h in rows]

    assert await listed(auth(Role.SUPERVISING_SOCIAL_WORKER, "ssw-x")) == [okafor, patel]
    assert await listed(auth(Role.SUPERVISING_SOCIAL_WORKER, "ssw-y")) == [smith]
    # A child's social worker reads the household their child is placed with, and only that.
    assert await listed(auth(Role.CHILD_SOCIAL_WORKER, "sw-a")) == [smith]
    assert await listed(auth(Role.CARER, "carer-1", households=[uuid.UUID(okafor)])) == [okafor]
    assert await listed(manager) == [okafor, patel, smith]
    assert await listed(manager, worker="ssw-x") == [okafor, patel]
    assert await listed(manager, status="refused") == [patel]
    assert await listed(manager, q="pat") == [patel]
    overdue = await listed(manager, overdue="true")
    not_overdue = await listed(manager, overdue="false")
    assert sorted(overdue + not_overdue) == sorted([okafor, patel, smith]) and not set(overdue) & set(not_overdue)


async def test_households_with_anything_overdue_are_listed_apart(
    client: httpx.AsyncClient, auth: AuthHeaders, clock: ManualClock
) -> None:
    manager = auth(Role.REGISTERED_MANAGER)
    approved = (await household(client, manager))["household_id"]  # its supervision is due in a month
    assessing = await _household(client, manager, "The Assessing household", "ssw-z")
    assert [
        h["household_id"] for h in (await _get(client, manager, "/v1/households", overdue="true"))["households"]
    ] == []
    clock.advance(timedelta(days=40))
    manager = auth(Role.REGISTERED_MANAGER)
    overdue = (await _get(client, manager, "/v1/households", overdue="true"))["households"]
    assert [h["household_id"] for h in overdue] == [approved] and overdue[0]["overdue_count"] > 0
    on_time = (await _get(client, manager, "/v1/households", overdue="false"))["households"]
    assert [h["household_id"] for h in on_time] == [assessing]
