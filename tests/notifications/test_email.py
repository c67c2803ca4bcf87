"""Delivery by secure email: a real SMTP relay (aiosmtpd) on this machine that requires STARTTLS
with a certificate the test makes, driven attempt by attempt on the test's clock. The same outbox
as webhooks: retries on the schedule, dead letters escalated, and the Schedule 7 clock met only by
a recorded acknowledgement, never by the relay accepting the message."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI

from services.app import create_app
from services.notifications import workers
from shared.auth import Role
from shared.clock import ManualClock
from shared.eventstore import EventFilter
from shared.settings import Settings
from tests.builders import place_child, register_child
from tests.conftest import settle
from tests.conftest import test_settings as make_settings
from tests.foundation.test_cli import free_port
from tests.notifications import helpers as h

ADDRESS = "mailto:referrals@authority.example.org"
MINUTE = timedelta(minutes=1)


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (the relay's) that the client is told to trust."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relay.test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "relay.pem", directory / "relay.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class Relay:
    """An SMTP server that requires STARTTLS; `mode` says what it does with a message."""

    def __init__(self, port: int, cert: Path, key: Path) -> None:
        self.port = port
        self.cert_path = cert
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.mode = "accept"  # or "refuse" (550), or "drop" (the connection closed mid-message)
        self.received: list[tuple[Envelope, bool]] = []  # each message and whether it came over TLS
        self.controller: Controller | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.mode == "refuse":
            return "550 5.7.1 Referrals are not accepted at this address"
        self.received.append((envelope, session.ssl is not None))
        if self.mode == "drop":
            assert server.transport is not None
            server.transport.close()
        return "250 2.0.0 Accepted"

    async def start(self) -> None:
        self.controller = Controller(
            self, hostname="127.0.0.1", port=self.port, tls_context=self.context, require_starttls=True
        )
        await asyncio.to_thread(self.controller.start)

    async def stop(self) -> None:
        if self.controller is not None:
            await asyncio.to_thread(self.controller.stop)
            self.controller = None

    def messages(self) -> list[Message]:
        return [message_from_bytes(bytes(envelope.content or b"")) for envelope, _ in self.received]  # type: ignore[arg-type]


@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[Relay]:
    cert, key = self_signed(tmp_path)
    server = Relay(free_port(), cert, key)
    yield server
    await server.stop()


def email_settings(relay: Relay, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": relay.port,
        "smtp_from": "notifications@agency.example.org",
        "smtp_timeout_seconds": 5.0,
        "smtp_ca_file": relay.cert_path,
        "webhook_retry_schedule": [0, 60, 60, 60, 60],  # five tries a minute apart, then dead
    }
    values.update(overrides)
    return make_settings(**values)


@contextlib.asynccontextmanager
async def agency(app_url: str, settings: Settings, clock: ManualClock) -> AsyncIterator[tuple[FastAPI, Any]]:
    """The app without its workers: the test makes each delivery attempt itself."""
    application = create_app(settings, database_url=app_url, clock=clock, run_workers=False)
    async with h.lifespan(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://carelog.test") as client:
            yield application, client


async def overdose(app: FastAPI, clock: ManualClock, authority: str) -> uuid.UUID:
    child = await register_child(app, at=clock.now() - timedelta(days=30), placing_authority=authority)
    await place_child(app, child, at=clock.now() - timedelta(days=20), placing_authority=authority)
    await h.incident(app, child, clock.now(), "overdose")
    await settle(app)
    return child


async def attempt(app: FastAPI) -> None:
    async with httpx.AsyncClient() as unused_for_email:
        assert await workers.deliver_next(app.state, unused_for_email), "nothing was due"
    await settle(app)


async def attempts(app: FastAPI, child: uuid.UUID) -> list[dict[str, Any]]:
    found = await app.state.store.read(EventFilter(child_id=child, types=["notifications.DeliveryAttempted"]))
    return [e.data for e in found]


async def notification_of(client: httpx.AsyncClient, auth: Any, child: uuid.UUID) -> dict[str, Any]:
    listed = await client.get("/v1/notifications", params={"child_id": str(child)}, headers=auth())
    [notification] = listed.json()["notifications"]
    return dict(notification)


async def escalations(client: httpx.AsyncClient, auth: Any, child: uuid.UUID) -> list[dict[str, Any]]:
    listed = await client.get("/v1/escalations", params={"child_id": str(child)}, headers=auth())
    return list(listed.json()["escalations"])


async def acknowledgement_missed(client: httpx.AsyncClient, auth: Any, child: uuid.UUID) -> list[dict[str, Any]]:
    """The placing authority's missed acknowledgement clock (each recipient has its own; the email
    receiver here is the placing authority's)."""
    return [
        e
        for e in await escalations(client, auth, child)
        if e["reason"] == "deadline_missed"
        and e["deadline_kind"] == "notifications.acknowledgement"
        and "placing authority" in e["description"].lower()
    ]


async def test_a_relay_down_for_three_attempts_gets_the_message_on_the_fourth_and_the_clock_still_runs(
    app_url: str, clock: ManualClock, auth: Any, relay: Relay, authority: str
) -> None:
    async with agency(app_url, email_settings(relay), clock) as (app, client):
        subs = h.Subscriptions(client, auth(Role.ADMIN))
        await subs.add(ADDRESS, "placing_authority", placing_authority=authority)
        child = await overdose(app, clock, authority)
        for _ in range(3):  # nothing listens yet
            await attempt(app)
            clock.advance(MINUTE)
        await relay.start()
        await attempt(app)

        made = await attempts(app, child)
        assert [a["outcome"] for a in made] == ["failed", "failed", "failed", "delivered"]
        assert [a["attempt"] for a in made] == [1, 2, 3, 4]
        assert all(a["error"] for a in made[:3]) and made[3]["status_code"] == 250
        assert len({a["webhook_id"] for a in made}) == 1

        registered = await app.state.store.read(EventFilter(types=["notifications.SubscriptionCreated"]))
        assert registered[0].metadata["summary"].startswith("Email receiver registered for placing authority")
        [(envelope, over_tls)] = relay.received
        [message] = relay.messages()
        assert over_tls and envelope.rcpt_tos == ["referrals@authority.example.org"]
        assert message["Message-ID"] == f"<{made[0]['webhook_id']}@carelog>"
        assert message["From"] == "notifications@agency.example.org"
        text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_payload(decode=True)
        assert b"does not acknowledge" in text and b"overdose" in text
        assert any(p.get_filename() == "message.json" for p in message.walk())

        notification = await notification_of(client, auth, child)
        assert notification["status"] == "delivered"
        clock.advance(timedelta(hours=25))  # delivered is not acknowledged: the clock runs out
        await workers.raise_due_escalations(app.state)
        assert len(await acknowledgement_missed(client, auth, child)) == 1
        await subs.close()


async def test_a_relay_that_refuses_dead_letters_the_message_and_an_acknowledgement_meets_the_clock(
    app_url: str, clock: ManualClock, auth: Any, relay: Relay, authority: str
) -> None:
    settings = email_settings(relay, webhook_retry_schedule=[0, 60, 60])
    await relay.start()
    relay.mode = "refuse"
    async with agency(app_url, settings, clock) as (app, client):
        subs = h.Subscriptions(client, auth(Role.ADMIN))
        await subs.add(ADDRESS, "placing_authority", placing_authority=authority)
        child = await overdose(app, clock, authority)
        for _ in range(3):
            await attempt(app)
            clock.advance(MINUTE)

        made = await attempts(app, child)
        assert [a["outcome"] for a in made] == ["failed", "failed", "dead_lettered"]
        assert {a["status_code"] for a in made} == {550} and relay.received == []
        dead = [e for e in await escalations(client, auth, child) if e["reason"] == "delivery_dead_lettered"]
        assert len(dead) == 1 and dead[0]["open"]
        assert (await notification_of(client, auth, child))["status"] == "dead_lettered"

        # The agency reaches the authority another way and records its answer: that meets the clock.
        notification = await notification_of(client, auth, child)
        answered = await client.post(
            f"/v1/notifications/{notification['notification_id']}/acknowledge",
            json={
                "acknowledged_by": "Duty officer, the placing authority (by telephone)",
                "recipient": "placing_authority",
                "action_taken": "Referral taken by telephone after the email was refused",
                "outcome": "Strategy discussion arranged",
            },
            headers=auth(Role.REGISTERED_MANAGER),
        )
        assert answered.status_code == 200, answered.text
        assert [c["kind"] for c in answered.json()["clocks"]] == ["notifications.acknowledgement"]
        clock.advance(timedelta(hours=25))
        await workers.raise_due_escalations(app.state)
        assert await acknowledgement_missed(client, auth, child) == []
        await subs.close()


async def test_a_connection_dropped_mid_message_is_tried_again_with_the_same_message_id(
    app_url: str, clock: ManualClock, auth: Any, relay: Relay, authority: str
) -> None:
    await relay.start()
    relay.mode = "drop"
    async with agency(app_url, email_settings(relay), clock) as (app, client):
        subs = h.Subscriptions(client, auth(Role.ADMIN))
        await subs.add(ADDRESS, "placing_authority", placing_authority=authority)
        child = await overdose(app, clock, authority)
        await attempt(app)
        relay.mode = "accept"
        clock.advance(MINUTE)
        await attempt(app)

        assert [a["outcome"] for a in await attempts(app, child)] == ["failed", "delivered"]
        first, second = relay.messages()  # the relay saw both: the receiver can tell they are one
        assert first["Message-ID"] == second["Message-ID"]
        await subs.close()


async def test_a_relay_without_starttls_is_never_sent_to(
    app_url: str, clock: ManualClock, auth: Any, relay: Relay, authority: str
) -> None:
    plain = Controller(relay, hostname="127.0.0.1", port=relay.port)  # no TLS offered
    await asyncio.to_thread(plain.start)
    try:
        async with agency(app_url, email_settings(relay), clock) as (app, client):
            subs = h.Subscriptions(client, auth(Role.ADMIN))
            await subs.add(ADDRESS, "placing_authority", placing_authority=authority)
            child = await overdose(app, clock, authority)
            await attempt(app)
            [made] = await attempts(app, child)
            assert made["outcome"] == "failed" and relay.received == []
            await subs.close()
    finally:
        await asyncio.to_thread(plain.stop)


@pytest.mark.parametrize(
    ("url", "configured", "status", "slug"),
    [
        pytest.param(ADDRESS, False, 422, "destination-refused", id="no-relay-configured"),
        pytest.param("mailto:not-an-address", True, 422, "validation", id="not-an-address"),
        pytest.param("mailto:a@b.example.org?cc=else@where.org", True, 422, "validation", id="headers-in-the-address"),
    ],
)
async def test_an_email_receiver_is_refused_without_a_relay_or_an_address(
    app_url: str, clock: ManualClock, auth: Any, relay: Relay, url: str, configured: bool, status: int, slug: str
) -> None:
    settings = email_settings(relay) if configured else make_settings()
    async with agency(app_url, settings, clock) as (app, client):
        before = (await app.state.store.head())[0]
        refused = await client.post(
            "/v1/subscriptions", json={"url": url, "recipient": "lado"}, headers=auth(Role.ADMIN)
        )
        assert refused.status_code == status and refused.json()["type"].endswith(slug), refused.text
        assert (await app.state.store.head())[0] == before
