"""Headers are bounded before anything keeps them: oversized requests get 431, ids that go into
events have a fixed shape (400 otherwise), a break-glass reason is a paragraph at most (422), and
none of the refused requests writes anything."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from shared.access.guard import MAX_BREAK_GLASS_REASON_CHARS
from shared.auth import Role
from shared.settings import Settings
from tests import builders
from tests.conftest import AuthHeaders


def child_body(name: str) -> dict[str, Any]:
    return builders.child_body(name=name, social_worker_id="sw-away")


async def events_naming(app: FastAPI, name: str) -> int:
    return (await builders.registered_names(app)).count(name)


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"].endswith(f"/{slug}") and body["status"] == status
    return body


OVERSIZED = {
    "a 500 KB X-Request-ID": {"X-Request-ID": "r" * 500_000},
    "a 500 KB X-Correlation-ID": {"X-Correlation-ID": "c" * 500_000},
    "a 60 KB X-Break-Glass-Reason": {"X-Break-Glass-Reason": "because " * 7_500},
    "headers that add up past 16 KiB": {f"X-Note-{i}": "n" * 1_000 for i in range(20)},
}


@pytest.mark.parametrize("case", list(OVERSIZED), ids=list(OVERSIZED))
async def test_oversized_headers_are_refused_with_431_and_nothing_written(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, case: str
) -> None:
    name = f"Oversized {uuid.uuid4().hex[:8]}"
    headers = {**auth(Role.REGISTERED_MANAGER), **OVERSIZED[case]}
    response = await client.post("/v1/children", json=child_body(name), headers=headers)
    assert_problem(response, 431, "headers-too-large")
    assert "r" * 200 not in response.text and "c" * 200 not in response.text  # nothing echoed back
    assert await events_naming(app, name) == 0


async def test_a_megabyte_token_is_refused_at_the_edge(client: httpx.AsyncClient, settings: Settings) -> None:
    claims = {"sub": "rm-1", "role": "registered_manager", "iss": "carelog", "aud": "carelog", "exp": 2_000_000_000}
    token = jwt.encode({**claims, "padding": "p" * 1_000_000}, settings.jwt_secret, algorithm="HS256")
    assert len(token) > 1_300_000
    response = await client.get("/v1/visits/due", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 431, "headers-too-large")


MALFORMED_IDS = {
    "129 characters": "i" * 129,
    "empty": "",
    "a space": "req 1",
    "markup": "<script>",
    "a semicolon": "a;b",
    "a slash": "a/b",
}


@pytest.mark.parametrize("header", ["X-Request-ID", "X-Correlation-ID"])
@pytest.mark.parametrize("value", list(MALFORMED_IDS.values()), ids=list(MALFORMED_IDS))
async def test_request_and_correlation_ids_have_a_fixed_shape(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, header: str, value: str
) -> None:
    name = f"Malformed id {uuid.uuid4().hex[:8]}"
    response = await client.post(
        "/v1/children", json=child_body(name), headers={**auth(Role.REGISTERED_MANAGER), header: value}
    )
    body = assert_problem(response, 400, "malformed-request")
    assert body["header"] == header and header in body["detail"]
    assert response.headers["x-request-id"] != value  # a fresh id of our own, not the one sent
    assert await events_naming(app, name) == 0


async def test_ids_of_the_allowed_shape_are_kept(client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders) -> None:
    request_id, correlation_id = "req:2026-11-25.a_" + "9" * 100, "trace:ABC.def-1"
    response = await client.post(
        "/v1/children",
        json=child_body("Shaped ids"),
        headers={**auth(Role.REGISTERED_MANAGER), "X-Request-ID": request_id, "X-Correlation-ID": correlation_id},
    )
    assert response.status_code == 201, response.text
    assert response.headers["x-request-id"] == request_id
    stream = await client.get(f"/v1/streams/child-{response.json()['child_id']}", headers=auth(Role.ADMIN))
    kept = {(e["metadata"]["request_id"], e["metadata"]["correlation_id"]) for e in stream.json()["events"]}
    assert kept == {(request_id, correlation_id)}
    assert await events_naming(app, "Shaped ids") >= 1  # the check the refusals above rely on can see a name


async def test_a_break_glass_reason_is_at_most_2000_characters(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders
) -> None:
    rm = auth(Role.REGISTERED_MANAGER)
    created = await client.post("/v1/children", json=child_body("Break glass length"), headers=rm)
    child = created.json()["child_id"]
    duty = auth(Role.CHILD_SOCIAL_WORKER, subject=f"duty-{uuid.uuid4().hex[:6]}")

    too_long = "x" * (MAX_BREAK_GLASS_REASON_CHARS + 1)
    refused = await client.get(f"/v1/children/{child}", headers={**duty, "X-Break-Glass-Reason": too_long})
    body = assert_problem(refused, 422, "validation")
    assert [e["location"] for e in body["errors"]] == [["header", "x-break-glass-reason"]]
    log = await client.get(f"/v1/children/{child}/access-log", headers=rm)
    assert log.json()["entries"] == []
    async with app.state.engine.connect() as conn:
        used = await conn.execute(
            text("SELECT count(*) FROM events WHERE type = 'access.BreakGlassUsed' AND stream_id = :s"),
            {"s": f"access-{child}"},
        )
        assert used.scalar_one() == 0

    longest = "y" * MAX_BREAK_GLASS_REASON_CHARS
    opened = await client.get(f"/v1/children/{child}", headers={**duty, "X-Break-Glass-Reason": longest})
    assert opened.status_code == 200, opened.text
    entries = (await client.get(f"/v1/children/{child}/access-log", headers=rm)).json()["entries"]
    assert [(e["break_glass"], e["reason"]) for e in entries] == [(True, longest)]
