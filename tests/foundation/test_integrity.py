"""No input breaks the record: instants at and past the ends of the recordable range, and numbers
changed in the database behind the hash chain's back."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from shared.auth import Role
from shared.eventstore import InvalidEventContent, NewEvent
from shared.instants import EARLIEST_INSTANT
from tests.conftest import AuthHeaders

# Each instant a client might send that PostgreSQL or Python could not hold as sent.
OUT_OF_RANGE = {
    "year 1": "0001-01-01T00:00:00Z",
    "year 1 at +14:00 (before year 1 in UTC)": "0001-01-01T00:00:00+14:00",
    "year 9999 at -14:00 (after 9999 in UTC)": "9999-12-31T23:59:59-14:00",
    "1899 by a minute": "1899-12-31T23:59:00Z",
    "2200 in UTC, 2199 locally": "2199-12-31T23:00:00-05:00",
}


async def _register(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post(
        "/v1/children",
        json={
            "name": "Edge Case",
            "date_of_birth": "2012-01-01",
            "legal_status": "section_20",
            "placing_authority": "North Northamptonshire Council",
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["child_id"])


@pytest.mark.parametrize("instant", OUT_OF_RANGE.values(), ids=OUT_OF_RANGE.keys())
async def test_an_instant_out_of_range_is_a_problem_and_writes_nothing(
    client: httpx.AsyncClient, auth: AuthHeaders, instant: str
) -> None:
    manager = auth(Role.REGISTERED_MANAGER)
    child = await _register(client, manager)
    before = (await client.get(f"/v1/children/{child}", headers=manager)).json()["version"]
    for path, body in (
        (f"/v1/children/{child}/statements", {"occurred_at": instant, "words": "Hello."}),
        (f"/v1/children/{child}/complaints", {"received_at": instant, "made_by": "child", "summary": "S"}),
        (
            f"/v1/children/{child}/incidents",
            {"category": "missing", "occurred_at": instant, "narrative": "Went missing."},
        ),
    ):
        response = await client.post(path, json=body, headers=manager)
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(f"/v1/children/{child}", headers=manager)).json()["version"] == before
    dob = await client.post(
        "/v1/children",
        json={"name": "X", "date_of_birth": "0001-01-01", "legal_status": "s20", "placing_authority": "P"},
        headers=manager,
    )
    assert dob.status_code == 422, dob.text


async def test_the_earliest_instant_is_recorded_and_every_read_of_the_record_still_works(
    client: httpx.AsyncClient, auth: AuthHeaders
) -> None:
    manager, inspector, admin = auth(Role.REGISTERED_MANAGER), auth(Role.INSPECTOR), auth(Role.ADMIN)
    child = await _register(client, manager)
    earliest = EARLIEST_INSTANT.isoformat()
    written = await client.post(
        f"/v1/children/{child}/statements", json={"occurred_at": earliest, "words": "Long ago."}, headers=manager
    )
    assert written.status_code == 201, written.text
    verified = await client.get("/v1/admin/verify", headers=admin)
    assert verified.status_code == 200 and verified.json()["ok"] is True, verified.text
    chronology = await client.get(f"/v1/children/{child}/chronology", headers=manager)
    assert chronology.status_code == 200
    assert chronology.json()["entries"][0]["occurred_at"].startswith("1900-01-01")
    for params in ({}, {"format": "pdf"}):
        export = await client.get(f"/v1/children/{child}/export", params=params, headers=manager)
        assert export.status_code == 200, export.text
    page = await client.get(f"/inspect/children/{child}", headers=inspector)
    assert page.status_code == 200 and "1900" in page.text


@pytest.mark.parametrize(
    "data",
    [{"n": 1.5}, {"n": 2**53}, {"nested": [{"n": -(2**60)}]}, {"text": "a\u0000b"}, {"text": "\ud800"}],
    ids=["a decimal", "past 2^53", "deep past -2^53", "NUL", "an unpaired surrogate"],
)
async def test_the_store_refuses_content_it_could_not_store_as_hashed(app: FastAPI, data: dict[str, Any]) -> None:
    with pytest.raises(InvalidEventContent):
        await app.state.store.append(f"test-{uuid.uuid4()}", [NewEvent("test.T", data, app.state.clock.now())])


async def test_verify_finds_a_number_changed_behind_the_chain(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, owner_engine: Any
) -> None:
    admin = auth(Role.ADMIN)
    [event] = await app.state.store.append(
        f"test-{uuid.uuid4()}", [NewEvent("test.Counted", {"count": 3}, app.state.clock.now())]
    )
    assert (await client.get("/v1/admin/verify", headers=admin)).json()["ok"] is True
    async with owner_engine.begin() as conn:
        await conn.execute(text("ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete"))
        await conn.execute(
            text(
                "UPDATE events SET data = jsonb_set(data, '{count}', '3.00000000000000001'::jsonb) WHERE position = :p"
            ),
            {"p": event.position},
        )
        await conn.execute(text("ALTER TABLE events ENABLE ALWAYS TRIGGER events_no_update_or_delete"))
    result = (await client.get("/v1/admin/verify", headers=admin)).json()
    assert result["ok"] is False
    assert result["first_bad_position"] == event.position and result["reason"] == "content"


def _cursor(document: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


async def test_nul_bytes_extreme_cursors_and_odd_digits_are_each_a_4xx_problem(
    client: httpx.AsyncClient, auth: AuthHeaders
) -> None:
    manager, admin = auth(Role.REGISTERED_MANAGER), auth(Role.ADMIN)
    child = await _register(client, manager)
    nul = "a\x00b"
    cases: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
        ("GET", "/v1/visits/due", {"worker_id": nul}, manager),
        ("GET", "/v1/caseloads", {"worker_id": nul}, manager),
        ("GET", "/v1/events", {"actor_id": nul}, admin),
        ("GET", "/v1/events", {"type": nul}, admin),
        ("GET", "/v1/escalations", {"escalate_to": nul}, manager),
        ("GET", f"/v1/children/{child}/chronology", {"types": nul}, manager),
        ("GET", "/v1/streams/child-%00", {}, admin),
        (
            "GET",
            f"/v1/children/{child}/chronology",
            {"cursor": _cursor({"o": "occurred", "t": "2026-01-01T00:00:00Z", "p": 10**30})},
            manager,
        ),
        (
            "GET",
            f"/v1/children/{child}/chronology",
            {"cursor": _cursor({"o": "occurred", "t": "0001-01-01T00:00:00+14:00", "p": 1})},
            manager,
        ),
        (
            "GET",
            f"/v1/children/{child}/chronology",
            {"cursor": _cursor({"o": "occurred", "t": "2026-01-01T00:00:00Z", "p": -1})},
            manager,
        ),
    ]
    for method, path, params, headers in cases:
        response = await client.request(method, path, params=params, headers=headers)
        assert 400 <= response.status_code < 500, (path, params, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json"), (path, params)
    # Bytes above 0x7F arrive as Latin-1: '\xb2' is '²', which str.isdigit() takes for a digit.
    for if_match in (b"\xb2", "3\u0663".encode(), b"99999999999999999999", b"-1"):
        response = await client.post(
            f"/v1/children/{child}/statements",
            json={"occurred_at": "2026-11-20T10:00:00Z", "words": "Hi."},
            headers=[*manager.items(), ("If-Match", if_match)],
        )
        assert response.status_code == 400, (if_match, response.text)
