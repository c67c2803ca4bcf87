"""Webhook subscriptions: a `whsec_` secret returned once, never listed, rotated, disabled."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from shared.auth import Role


async def create(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await client.post("/v1/subscriptions", json={"url": "http://127.0.0.1:9/hook", **body}, headers=headers)


async def test_a_subscription_returns_its_secret_once_and_is_an_event(
    app: FastAPI, client: httpx.AsyncClient, auth: Any
) -> None:
    admin = auth(Role.ADMIN)
    response = await create(
        client, admin, recipient="ofsted", event_types=["notifications.NotificationRaised"], placing_authority="Kent"
    )
    assert response.status_code == 201, response.text
    body = response.json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert body["status"] == "active" and body["recipient"] == "ofsted"
    sid = body["subscription_id"]

    listed = await client.get("/v1/subscriptions", headers=admin)
    assert listed.status_code == 200
    assert secret not in listed.text and 'secret"' not in listed.text.replace("secret_version", "")
    assert sid in [s["subscription_id"] for s in listed.json()["subscriptions"]]
    one = await client.get(f"/v1/subscriptions/{sid}", headers=auth(Role.REGISTERED_MANAGER))
    assert one.status_code == 200 and secret not in one.text

    # The log holds the subscription but never its secret.
    events = await app.state.store.read_stream(f"subscription-{sid}")
    assert [e.type for e in events] == ["notifications.SubscriptionCreated"]
    assert secret not in str(events[0].data) and secret not in str(events[0].metadata)


async def test_rotating_the_secret_returns_a_new_one(app: FastAPI, client: httpx.AsyncClient, auth: Any) -> None:
    admin = auth(Role.ADMIN)
    created = (await create(client, admin, recipient="internal")).json()
    rotated = await client.post(f"/v1/subscriptions/{created['subscription_id']}/rotate-secret", headers=admin)
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != created["secret"]
    assert rotated.json()["secret_version"] == 2
    async with app.state.engine.connect() as conn:
        stored = (
            await conn.execute(
                text(
                    "SELECT secret_version, secret FROM notifications_subscription_secrets "
                    "WHERE subscription_id = :s ORDER BY secret_version"
                ),
                {"s": created["subscription_id"]},
            )
        ).all()
    assert [tuple(r) for r in stored] == [(1, created["secret"]), (2, rotated.json()["secret"])]


async def test_disable_is_recorded_and_only_once(client: httpx.AsyncClient, auth: Any) -> None:
    admin = auth(Role.ADMIN)
    sid = (await create(client, admin, recipient="police")).json()["subscription_id"]
    disabled = await client.post(f"/v1/subscriptions/{sid}/disable", json={"reason": "contract ended"}, headers=admin)
    assert disabled.status_code == 200
    assert disabled.json()["status"] == "disabled" and disabled.json()["disabled_reason"] == "contract ended"
    again = await client.post(f"/v1/subscriptions/{sid}/disable", headers=admin)
    assert again.status_code == 409
    rotate = await client.post(f"/v1/subscriptions/{sid}/rotate-secret", headers=admin)
    assert rotate.status_code == 409


@pytest.mark.parametrize("action", ["disable", "rotate-secret"])
async def test_unknown_subscription_is_404(action: str, client: httpx.AsyncClient, auth: Any) -> None:
    response = await client.post(f"/v1/subscriptions/{uuid.uuid4()}/{action}", headers=auth(Role.ADMIN))
    assert response.status_code == 404
    assert response.json()["type"].endswith("/not-found")


@pytest.mark.parametrize("role", [Role.CHILD_SOCIAL_WORKER, Role.MANAGER, Role.INSPECTOR, Role.CARER, Role.LADO])
async def test_only_admins_and_the_registered_manager_manage_subscriptions(
    role: Role, client: httpx.AsyncClient, auth: Any
) -> None:
    refused = {403, 404} if role == Role.CARER else {403}  # a carer is not told the endpoint exists
    assert (await create(client, auth(role), recipient="ofsted")).status_code in refused
    assert (await client.get("/v1/subscriptions", headers=auth(role))).status_code in refused


async def test_registered_manager_may_subscribe(client: httpx.AsyncClient, auth: Any) -> None:
    response = await create(client, auth(Role.REGISTERED_MANAGER), recipient="lado")
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("case", "body"),
    [
        ("unknown recipient", {"recipient": "press"}),
        ("unknown field", {"recipient": "ofsted", "colour": "red"}),
        ("not a URL", {"recipient": "ofsted", "url": "not a url"}),
        ("not http", {"recipient": "ofsted", "url": "ftp://example.org/x"}),
    ],
)
async def test_bad_subscriptions_are_refused_and_nothing_is_written(
    case: str, body: dict[str, Any], app: FastAPI, client: httpx.AsyncClient, auth: Any
) -> None:
    before = (await app.state.store.head())[0]
    response = await create(client, auth(Role.ADMIN), **body)
    assert response.status_code == 422, case
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (await app.state.store.head())[0] == before


async def test_subscriptions_need_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.post("/v1/subscriptions", json={"url": "http://x", "recipient": "ofsted"})).status_code == 401
