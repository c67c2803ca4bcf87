"""Every read that returns any part of a child's record is in the access log: each GET route of the
API, called as a role allowed to call it, is checked against the children its answer names. And
break-glass opens a record for reading only."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from shared.access import PUBLIC_PATHS, RouteRule
from shared.auth import Role
from shared.clock import ManualClock
from tests.conftest import AuthHeaders
from tests.security.test_matrix import app_routes, build_world, fill

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Who reads, in order of preference: the first allowed to call the route.
READERS = (Role.REGISTERED_MANAGER, Role.INSPECTOR, Role.ADMIN)
QUERY = {
    "/v1/reports/kpis": {"month": "2026-11"},
    "/v1/reports/ofsted-fostering": {"year": "2026"},
    "/v1/reports/ssda903": {"year": "2025"},
}


async def test_every_read_naming_a_child_writes_an_access_log_row_for_that_child(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, clock: ManualClock, tmp_path: Path
) -> None:
    app.state.settings.checkpoint_key_file = tmp_path / "key.pem"
    world = await build_world(client, app, auth, clock)
    children = {world.own.child, world.other.child}
    rules: dict[tuple[str, str], RouteRule] = app.state.route_rules
    gets = sorted(t for m, t in app_routes(app) if m == "GET" and t not in PUBLIC_PATHS and (m, t) in rules)
    unlogged: list[str] = []
    reads = 0
    for template in gets:
        if template == "/v1/children/{id}/access-log":
            continue  # the log of reads is not itself the child's record
        if template == "/v1/notifications/{notification_id}/ofsted-form":
            continue  # the world's notification is not one for Ofsted (tests/notifications/test_ofsted_form.py)
        params: dict[str, str] = dict(QUERY.get(template, {}))
        rule = rules[("GET", template)]
        if rule.source == "query":
            params[rule.param] = world.own.child
        for role in READERS:
            async with app.state.engine.connect() as conn:
                before = (await conn.execute(text("SELECT coalesce(max(id), 0) FROM access_log"))).scalar_one()
            response = await client.get(fill(template, world.own, world), params=params, headers=auth(role))
            if response.status_code in (401, 403, 404):
                continue
            assert response.status_code == 200, (template, role, response.text[:300])
            named = set(UUID.findall(response.text)) & children
            async with app.state.engine.connect() as conn:
                logged = {
                    str(r.child_id)
                    for r in await conn.execute(
                        text("SELECT child_id FROM access_log WHERE id > :b AND route = :r"),
                        {"b": before, "r": template},
                    )
                }
            reads += 1
            if named - logged:
                unlogged.append(f"{template} as {role}: names {sorted(named - logged)} without a row")
            break
    assert reads >= 20
    assert unlogged == [], "\n".join(unlogged)


async def test_break_glass_opens_a_record_for_reading_only(client: httpx.AsyncClient, auth: AuthHeaders) -> None:
    rm = auth(Role.REGISTERED_MANAGER, subject="rm-bg-write")
    child = (
        await client.post(
            "/v1/children",
            json={"name": "Kept", "date_of_birth": "2011-05-01", "legal_status": "s31", "placing_authority": "X",
                  "social_worker_id": "sw-away"},
            headers=rm,
        )
    ).json()["child_id"]  # fmt: skip
    household = (
        await client.post(
            "/v1/households",
            json={
                "local_authority": "E06000062",
                "name": "Other household",
                "supervising_social_worker_id": "ssw-away",
            },
            headers=rm,
        )
    ).json()["household_id"]
    duty = {**auth(Role.CHILD_SOCIAL_WORKER, subject="duty-sw"), "X-Break-Glass-Reason": "Out of hours call"}
    statement = await client.post(
        f"/v1/children/{child}/statements", json={"occurred_at": clock_iso(), "words": "Not mine."}, headers=duty
    )
    assert statement.status_code == 403, statement.text
    ssw = {**auth(Role.SUPERVISING_SOCIAL_WORKER, subject="ssw-duty"), "X-Break-Glass-Reason": "Out of hours"}
    hold = await client.post(f"/v1/households/{household}/holds", json={"reason": "Not mine to hold."}, headers=ssw)
    assert hold.status_code == 403, hold.text
    version = (await client.get(f"/v1/children/{child}", headers=rm)).json()["version"]
    assert version == 1 + 3  # registered, with its three clocks: nothing was written
    assert (await client.get(f"/v1/children/{child}", headers=duty)).status_code == 200  # reading is allowed


def clock_iso() -> str:
    return "2026-11-24T10:00:00+00:00"


async def test_a_carer_cannot_tell_a_missing_record_from_one_they_may_not_see(
    client: httpx.AsyncClient, auth: AuthHeaders
) -> None:
    rm = auth(Role.REGISTERED_MANAGER)
    theirs = (
        await client.post("/v1/households", json={"local_authority": "E06000062", "name": "Theirs"}, headers=rm)
    ).json()["household_id"]
    another = (
        await client.post("/v1/households", json={"local_authority": "E06000062", "name": "Another"}, headers=rm)
    ).json()["household_id"]
    child = (
        await client.post(
            "/v1/children",
            json={"name": "Not theirs", "date_of_birth": "2012-01-01", "legal_status": "s20", "placing_authority": "X"},
            headers=rm,
        )
    ).json()["child_id"]
    carer = auth(Role.CARER, households=[uuid.UUID(theirs)])
    for path, existing_id in (
        ("/v1/households/{}", another),
        ("/v1/households/{}/compliance", another),
        ("/v1/children/{}", child),
        ("/v1/children/{}/shared-plans", child),
    ):
        existing = await client.get(path.format(existing_id), headers=carer)
        missing = await client.get(path.format(uuid.uuid4()), headers=carer)
        assert existing.status_code == missing.status_code == 404, path
        drop = ("instance",)
        assert {k: v for k, v in existing.json().items() if k not in drop} == {
            k: v for k, v in missing.json().items() if k not in drop
        }, path
