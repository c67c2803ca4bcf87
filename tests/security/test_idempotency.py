"""Idempotency-Key after authentication (docs/architecture.md §4-5): keys belong to the authenticated caller, a
request without a valid token claims and replays nothing, an answer a retry should decide again is
never kept, and a secret is never stored for replay."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from shared.auth import Role, mint_token
from shared.settings import Settings

CHILD = {
    "name": "Idem Child",
    "date_of_birth": "2014-06-01",
    "legal_status": "section_31_care_order",
    "placing_authority": "Idem Council",
}


def bearer(settings: Settings, subject: str, role: Role = Role.REGISTERED_MANAGER, **kwargs: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(settings, role=role, subject=subject, **kwargs)}"}


async def kept(app: FastAPI, *keys: str) -> list[Any]:
    """The idempotency rows of `keys`, as stored."""
    async with app.state.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT scope, key, state, status, body FROM idempotency_keys WHERE key = ANY(:k)"), {"k": list(keys)}
        )
        return list(rows)


def subscription(recipient: str) -> dict[str, str]:
    """A receiver of messages about an authority of its own: the session's other tests' messages
    (on the same log) never go to it."""
    return {"url": "http://127.0.0.1:9/hook", "recipient": recipient, "placing_authority": f"Idem {uuid.uuid4()}"}


def replayed(response: httpx.Response) -> bool:
    return response.headers.get("idempotent-replayed") == "true"


async def test_requests_without_a_valid_token_claim_no_key(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    expired = mint_token(
        settings, role=Role.REGISTERED_MANAGER, subject="rm-idem", now=datetime.now(UTC) - timedelta(hours=9)
    )
    junk = [
        {"Authorization": f"Bearer junk-{n}"}
        if n % 4 == 0
        else {"Authorization": f"Bearer {expired}"}
        if n % 4 == 1
        else {"Authorization": f"Basic dXNlcjpwYXNz{n}"}
        if n % 4 == 2
        else {}
        for n in range(20)
    ]
    keys = [f"junk-{uuid.uuid4()}" for _ in junk]
    for headers, key in zip(junk, keys, strict=True):
        response = await client.post("/v1/children", json=CHILD, headers={**headers, "Idempotency-Key": key})
        assert response.status_code == 401, response.text
        assert response.json()["type"].endswith("/unauthenticated") and not replayed(response)
    assert await kept(app, *keys) == []


async def test_a_stored_answer_is_not_replayed_once_the_token_expired(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    short = bearer(settings, f"rm-{uuid.uuid4().hex[:6]}", ttl=timedelta(seconds=2))
    key = {"Idempotency-Key": f"expiring-{uuid.uuid4()}"}
    first = await client.post("/v1/children", json=CHILD, headers={**short, **key})
    assert first.status_code == 201, first.text
    await asyncio.sleep(2.2)
    again = await client.post("/v1/children", json=CHILD, headers={**short, **key})
    assert again.status_code == 401, again.text
    assert not replayed(again) and first.json()["child_id"] not in again.text


async def test_keys_belong_to_the_caller_not_to_the_token(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    subject = f"rm-{uuid.uuid4().hex[:6]}"
    key = {"Idempotency-Key": f"caller-{uuid.uuid4()}"}
    first = await client.post("/v1/children", json=CHILD, headers={**bearer(settings, subject), **key})
    assert first.status_code == 201, first.text
    # A refreshed token of the same caller: the same key is the same request, replayed.
    refreshed = bearer(settings, subject, ttl=timedelta(hours=2))
    again = await client.post("/v1/children", json=CHILD, headers={**refreshed, **key})
    assert again.status_code == 201 and replayed(again) and again.content == first.content
    # Another caller's key of the same name is theirs: their own child, not a replay.
    other = await client.post(
        "/v1/children", json=CHILD, headers={**bearer(settings, f"rm-{uuid.uuid4().hex[:6]}"), **key}
    )
    assert other.status_code == 201 and not replayed(other)
    assert other.json()["child_id"] != first.json()["child_id"]
    [row] = [r for r in await kept(app, key["Idempotency-Key"]) if r.scope.endswith(subject)]
    assert row.scope == f"registered_manager|{subject}" and row.status == 201


async def test_answers_a_retry_should_decide_again_keep_no_claim(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    writer = bearer(settings, f"rm-{uuid.uuid4().hex[:6]}")
    child = (await client.post("/v1/children", json=CHILD, headers=writer)).json()["child_id"]
    visit = {
        "occurred_at": "2026-11-20T10:00:00Z",
        "visitor_id": "sw-1",
        "visitor_role": "child_social_worker",
        "child_seen": True,
        "seen_alone": True,
        "child_views": "Happy at school.",
        "narrative": "Spoke with the child alone.",
    }
    path = f"/v1/children/{child}/visits"

    # 403: a read-only role. Nothing kept.
    forbidden_key = f"forbidden-{uuid.uuid4()}"
    inspector = bearer(settings, "ofsted-1", Role.INSPECTOR)
    response = await client.post(path, json=visit, headers={**inspector, "Idempotency-Key": forbidden_key})
    assert response.status_code == 403, response.text

    # 412: a stale If-Match. Nothing kept, so the retry (read again, no If-Match) records the visit.
    stale_key = {"Idempotency-Key": f"stale-{uuid.uuid4()}"}
    stale = await client.post(path, json=visit, headers={**writer, **stale_key, "If-Match": '"1"'})
    assert stale.status_code == 412, stale.text
    assert await kept(app, stale_key["Idempotency-Key"]) == []
    retried = await client.post(path, json=visit, headers={**writer, **stale_key})
    assert retried.status_code == 201 and not replayed(retried), retried.text

    # 409: a state conflict. Nothing kept: the retry runs the command again (and is refused again).
    admin = bearer(settings, f"admin-{uuid.uuid4().hex[:6]}", Role.ADMIN)
    created = await client.post("/v1/subscriptions", json=subscription("internal"), headers=admin)
    sid = created.json()["subscription_id"]
    assert (await client.post(f"/v1/subscriptions/{sid}/disable", headers=admin)).status_code == 200
    conflict_key = {"Idempotency-Key": f"conflict-{uuid.uuid4()}"}
    for _ in range(2):
        conflict = await client.post(f"/v1/subscriptions/{sid}/disable", headers={**admin, **conflict_key})
        assert conflict.status_code == 409 and not replayed(conflict), conflict.text
    assert await kept(app, forbidden_key, conflict_key["Idempotency-Key"]) == []


async def test_a_secret_is_sent_once_never_cached_and_never_stored_for_replay(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = bearer(settings, f"admin-{uuid.uuid4().hex[:6]}", Role.ADMIN)
    create_key = {"Idempotency-Key": f"subscribe-{uuid.uuid4()}"}
    body = subscription("ofsted")
    first = await client.post("/v1/subscriptions", json=body, headers={**admin, **create_key})
    assert first.status_code == 201, first.text
    secret = first.json()["secret"]
    assert secret.startswith("whsec_") and first.headers["cache-control"] == "no-store"
    sid = first.json()["subscription_id"]

    rotate_key = {"Idempotency-Key": f"rotate-{uuid.uuid4()}"}
    rotated = await client.post(f"/v1/subscriptions/{sid}/rotate-secret", headers={**admin, **rotate_key})
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_") and rotated.headers["cache-control"] == "no-store"

    rows = await kept(app, create_key["Idempotency-Key"], rotate_key["Idempotency-Key"])
    assert len(rows) == 2
    for row in rows:
        assert secret.encode() not in row.body and new_secret.encode() not in row.body

    for original, path, key in (
        (first, "/v1/subscriptions", create_key),
        (rotated, f"/v1/subscriptions/{sid}/rotate-secret", rotate_key),
    ):
        again = await client.post(path, json=body if path == "/v1/subscriptions" else None, headers={**admin, **key})
        assert again.status_code == original.status_code and replayed(again), again.text
        assert again.headers["cache-control"] == "no-store"
        assert again.headers.get("location") == original.headers.get("location")
        shown, replay = original.json(), again.json()
        assert replay["secret"] is None and "rotate-secret" in replay["secret_note"]
        assert {k: v for k, v in replay.items() if k != "secret_note"} == {**shown, "secret": None}
        assert secret not in again.text and new_secret not in again.text
