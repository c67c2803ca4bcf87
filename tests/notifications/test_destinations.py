"""Webhooks never reach the agency's own machines (SSRF): loopback, private, link-local,
unspecified, reserved and multicast receivers are refused when registered and again, on the
address resolved at that moment, at every delivery, which goes to the address checked (so DNS
rebinding fails). URLs with credentials are refused; attempt errors are for raw-log readers only;
httpx's request log line is silent."""

from __future__ import annotations

import contextlib
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from standardwebhooks import Webhook

from services.app import create_app
from shared.auth import Role
from shared.clock import ManualClock
from shared.eventstore import NewEvent
from shared.settings import Settings
from tests.conftest import AuthHeaders, settle, test_settings
from tests.notifications import helpers as h
from tests.notifications.test_delivery import attempts_for, overdose_for_placed_child


@pytest.fixture
def settings() -> Settings:
    """This module's `app` runs as production does: no network allowed beyond public addresses."""
    return test_settings(webhook_allowed_networks=[])


@contextlib.asynccontextmanager
async def local_receivers_allowed(
    app_url: str, clock: ManualClock, *, workers: bool
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """An app that allows receivers on this machine (as tests/conftest.py's test_settings does)."""
    application = create_app(test_settings(), database_url=app_url, clock=clock, run_workers=workers)
    async with h.lifespan(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://carelog.test") as client:
            yield application, client


async def subscriptions_naming(app: FastAPI, marker: str) -> int:
    async with app.state.engine.connect() as conn:
        found = await conn.execute(
            text("SELECT count(*) FROM events WHERE type = 'notifications.SubscriptionCreated' AND data::text LIKE :m"),
            {"m": f"%{marker}%"},
        )
        return int(found.scalar_one())


INTERNAL = {
    "loopback": ("http://127.0.0.1:9/{m}", "loopback"),
    "localhost, the database's port": ("http://localhost:5432/{m}", "loopback"),
    "IPv6 loopback": ("http://[::1]/{m}", "loopback"),
    "unspecified": ("http://0.0.0.0/{m}", "unspecified"),
    "private": ("http://10.0.0.1/{m}", "private"),
    "another private range": ("https://192.168.1.1/{m}", "private"),
    "cloud metadata": ("http://169.254.169.254/latest/meta-data/{m}", "link-local"),
    "IPv6 link-local": ("http://[fe80::1]/{m}", "link-local"),
    "IPv6 unique local": ("http://[fd00::1]/{m}", "private"),
    "IPv4-mapped loopback": ("http://[::ffff:127.0.0.1]/{m}", "loopback"),
    "6to4 wrapping a private address": ("http://[2002:a00:1::1]/{m}", "private"),
    "loopback as a decimal number": ("http://2130706433/{m}", "loopback"),
    "shared address space (carrier NAT)": ("http://100.64.0.1/{m}", "not publicly routable"),
    "multicast": ("http://224.0.0.1/{m}", "multicast"),
    "reserved": ("http://240.0.0.1/{m}", "reserved"),
}


@pytest.mark.parametrize("case", list(INTERNAL), ids=list(INTERNAL))
async def test_internal_receivers_are_refused_at_registration(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, case: str
) -> None:
    marker = f"refused-{uuid.uuid4().hex[:10]}"
    url, kind = INTERNAL[case]
    for role in (Role.ADMIN, Role.REGISTERED_MANAGER):
        response = await client.post(
            "/v1/subscriptions", json={"url": url.format(m=marker), "recipient": "ofsted"}, headers=auth(role)
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert body["type"].endswith("/destination-refused")
        assert body["reasons"] == [{"code": "address_refused", "detail": f"the receiver's address is {kind}"}]
        assert "CARELOG_WEBHOOK_ALLOWED_NETWORKS" in body["detail"]
    assert await subscriptions_naming(app, marker) == 0


async def test_credentials_in_a_receiver_url_are_refused_and_never_echoed(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders
) -> None:
    marker = f"creds-{uuid.uuid4().hex[:10]}"
    for url in (f"https://carelog:s3cret-pass@receiver.example.org/{marker}", f"https://token@203.0.113.5/{marker}"):
        response = await client.post(
            "/v1/subscriptions", json={"url": url, "recipient": "ofsted"}, headers=auth(Role.ADMIN)
        )
        assert response.status_code == 422, response.text
        assert response.json()["type"].endswith("/validation")
        assert response.json()["errors"][0]["location"] == ["body", "url"]
        assert "s3cret" not in response.text and "token@" not in response.text
    assert await subscriptions_naming(app, marker) == 0


async def test_a_receiver_is_checked_again_at_delivery_and_non_admins_see_only_the_status(
    app: FastAPI,
    client: httpx.AsyncClient,
    app_url: str,
    auth: AuthHeaders,
    clock: ManualClock,
    receiver: h.Receiver,
    authority: str,
) -> None:
    # Registered where local receivers were allowed; delivered by this app, where they are not.
    async with local_receivers_allowed(app_url, clock, workers=False) as (_, allowing):
        created = await allowing.post(
            "/v1/subscriptions",
            json={"url": receiver.url("/ofsted"), "recipient": "ofsted", "placing_authority": authority},
            headers=auth(Role.ADMIN),
        )
        assert created.status_code == 201, created.text
    try:
        child = await overdose_for_placed_child(app, clock, authority)

        async def attempted() -> bool:
            await settle(app)
            return bool(await attempts_for(app, child))

        await h.eventually(attempted, timeout=15)
        [first, *_] = await attempts_for(app, child)
        assert first.data["outcome"] == "failed" and first.data["status_code"] is None
        assert first.data["error"] == "not sent: the receiver's address is loopback"
        assert "127.0.0.1" not in first.metadata["summary"]
        assert receiver.requests == []  # never contacted

        listed = await client.get("/v1/notifications", params={"child_id": str(child)}, headers=auth())
        notification_id = listed.json()["notifications"][0]["notification_id"]
        social_worker = await client.get(
            f"/v1/notifications/{notification_id}", headers=auth(Role.CHILD_SOCIAL_WORKER, subject="sw-1")
        )
        assert social_worker.status_code == 200, social_worker.text
        detail = social_worker.json()
        assert detail["attempts"] and {a["status"] for a in detail["attempts"]} == {"retrying"}
        for attempt in detail["attempts"]:
            assert not {"error", "status_code", "outcome"} & set(attempt)
        for delivery in detail["deliveries"]:
            assert not {"last_error", "last_status_code"} & set(delivery)
        assert "not sent" not in social_worker.text and "loopback" not in social_worker.text
        inspector = (await client.get(f"/v1/notifications/{notification_id}", headers=auth(Role.INSPECTOR))).json()
        assert inspector["attempts"][0]["error"] == "not sent: the receiver's address is loopback"
    finally:
        await client.post(
            f"/v1/subscriptions/{created.json()['subscription_id']}/disable", json={}, headers=auth(Role.ADMIN)
        )


@pytest.fixture
def rebinding_dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """A resolver where `hooks.partner.test` answers 127.0.0.1 for its first two questions (the
    registration's check and the delivery's) and 10.255.255.1 after; `rebind.partner.test`
    answers 127.0.0.1 once (registration) then the cloud metadata address; `mixed.partner.test`
    answers an allowed and a private address at once."""
    real = socket.getaddrinfo
    asked: dict[str, int] = {}
    answers = {
        "hooks.partner.test": lambda n: ["127.0.0.1"] if n <= 2 else ["10.255.255.1"],
        "rebind.partner.test": lambda n: ["127.0.0.1"] if n <= 1 else ["169.254.169.254"],
        "mixed.partner.test": lambda n: ["127.0.0.1", "10.0.0.7"],
    }

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in answers:
            return real(host, port, *args, **kwargs)
        asked[name] = asked.get(name, 0) + 1
        return [
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (ip, int(port or 0)))
            for ip in answers[name](asked[name])
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield asked


async def test_delivery_goes_to_the_address_checked_so_dns_rebinding_fails(
    app_url: str,
    auth: AuthHeaders,
    clock: ManualClock,
    receiver: h.Receiver,
    rebinding_dns: dict[str, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    authority = f"Authority {uuid.uuid4().hex[:8]}"
    async with local_receivers_allowed(app_url, clock, workers=True) as (application, client):
        helper = h.Subscriptions(client, auth(Role.ADMIN))
        try:
            _, secret = await helper.add(
                f"http://hooks.partner.test:{receiver.port}/hook-path-token-7f3a", "ofsted", placing_authority=authority
            )
            await helper.add(
                f"http://rebind.partner.test:{receiver.port}/rebound", "ofsted", placing_authority=authority
            )
            mixed = await client.post(
                "/v1/subscriptions",
                json={"url": f"http://mixed.partner.test:{receiver.port}/x", "recipient": "ofsted"},
                headers=auth(Role.ADMIN),
            )
            assert mixed.status_code == 422  # every address a name resolves to is checked
            private = {"code": "address_refused", "detail": "the receiver's address is private"}
            assert mixed.json()["reasons"] == [private]

            child = await overdose_for_placed_child(application, clock, authority)

            async def both_attempted() -> bool:
                await settle(application)
                return len({a.data["subscription_id"] for a in await attempts_for(application, child)}) == 2

            await h.eventually(both_attempted, timeout=15)
        finally:
            await helper.close()
    # Sent to 127.0.0.1, the address checked, though the name answers 10.255.255.1 by then; the
    # receiver is told the name it was registered under.
    [delivered] = receiver.on("/hook-path-token-7f3a")
    assert delivered.headers["host"] == f"hooks.partner.test:{receiver.port}"
    assert Webhook(secret).verify(delivered.body, delivered.headers)["type"] == "notifications.NotificationRaised"
    assert rebinding_dns["hooks.partner.test"] == 2  # registration, delivery: never asked again to connect
    # The name that moved to the metadata service after registration is not sent to.
    assert receiver.on("/rebound") == []
    rebound = [a for a in await _attempts(app_url, child) if "rebind" in a["url"]]
    assert rebound and rebound[0]["error"] == "not sent: the receiver's address is link-local"
    # httpx's own log line (the full URL, path included) is not written.
    assert not [r for r in caplog.records if "hook-path-token" in r.getMessage()]


async def _attempts(app_url: str, child: uuid.UUID) -> list[dict[str, Any]]:
    from shared.db import create_engine

    engine = create_engine(app_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT data FROM events WHERE type = 'notifications.DeliveryAttempted' "
                    "AND child_ids @> ARRAY[CAST(:c AS uuid)] ORDER BY position"
                ),
                {"c": str(child)},
            )
            return [dict(r.data) for r in rows]
    finally:
        await engine.dispose()


async def test_a_receiver_registered_with_credentials_before_is_neither_shown_nor_sent_them(
    app_url: str, auth: AuthHeaders, clock: ManualClock, receiver: h.Receiver
) -> None:
    authority = f"Authority {uuid.uuid4().hex[:8]}"
    subscription_id = uuid.uuid4()
    url = f"http://olduser:old-pass-9@127.0.0.1:{receiver.port}/legacy"
    async with local_receivers_allowed(app_url, clock, workers=True) as (application, client):
        # As a subscription made before credentials were refused would be in the log.
        await application.state.store.append(
            f"subscription-{subscription_id}",
            [
                NewEvent(
                    type="notifications.SubscriptionCreated",
                    data={"subscription_id": str(subscription_id), "url": url, "recipient": "ofsted",
                          "event_types": [], "placing_authority": authority, "description": None,
                          "secret_version": 1},
                    occurred_at=datetime.now(UTC),
                    metadata={"actor_id": "admin-legacy", "actor_role": "admin", "service": "notifications",
                              "summary": "Webhook receiver registered"},
                )
            ],
        )  # fmt: skip
        async with application.state.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO notifications_subscription_secrets (subscription_id, secret_version, secret) "
                    "VALUES (:s, 1, :k)"
                ),
                {"s": subscription_id, "k": "whsec_" + "A" * 43 + "="},
            )
        await settle(application)
        shown = await client.get(f"/v1/subscriptions/{subscription_id}", headers=auth(Role.ADMIN))
        assert shown.json()["url"] == f"http://127.0.0.1:{receiver.port}/legacy"
        child = await overdose_for_placed_child(application, clock, authority)

        async def attempted() -> bool:
            await settle(application)
            return bool(await attempts_for(application, child))

        try:
            await h.eventually(attempted, timeout=15)
        finally:
            await client.post(f"/v1/subscriptions/{subscription_id}/disable", json={}, headers=auth(Role.ADMIN))
    [first, *_] = await _attempts(app_url, child)
    assert first["error"] == "not sent: the receiver's URL carries credentials, which carelog never sends"
    assert "old-pass" not in first["url"] and receiver.requests == []
