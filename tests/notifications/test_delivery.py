"""Webhook delivery from the outbox: Standard Webhooks signatures, retries, dead letters, 410,
receivers that go down, dispatchers that are killed, and several dispatchers at once."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from services.app import create_app
from services.notifications import workers
from shared.auth import Role
from shared.clock import ManualClock
from shared.eventstore import EventFilter
from shared.settings import Settings
from tests.builders import place_child, register_child
from tests.conftest import settle
from tests.conftest import test_settings as make_settings
from tests.notifications import helpers as h

PATIENT = [0.0] + [0.25] * 60  # retries for ~15 s: long enough to outlast a receiver restart


@contextlib.asynccontextmanager
async def running(
    app_url: str, settings: Settings, clock: ManualClock, *, workers: bool = True
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    application = create_app(settings, database_url=app_url, clock=clock, run_workers=workers)
    async with h.lifespan(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://carelog.test") as client:
            yield application, client


async def overdose_for_placed_child(app: FastAPI, clock: ManualClock, authority: str) -> uuid.UUID:
    child = await register_child(app, at=clock.now() - timedelta(days=30), placing_authority=authority)
    await place_child(app, child, at=clock.now() - timedelta(days=20), placing_authority=authority)
    await h.incident(app, child, clock.now(), "overdose")
    return child


async def outbox_rows(app: FastAPI, subscription_id: str) -> list[Any]:
    async with app.state.engine.connect() as conn:
        return list(
            await conn.execute(
                text("SELECT * FROM notifications_outbox WHERE subscription_id = :s ORDER BY created_at"),
                {"s": subscription_id},
            )
        )


async def attempts_for(app: FastAPI, child: uuid.UUID) -> list[Any]:
    return await app.state.store.read(
        EventFilter(child_id=child, types=["notifications.DeliveryAttempted"], limit=1000)
    )


async def test_signatures_verify_and_follow_a_rotated_secret(
    app: FastAPI,
    client: httpx.AsyncClient,
    auth: Any,
    clock: ManualClock,
    receiver: h.Receiver,
    subs: h.Subscriptions,
    authority: str,
) -> None:
    sid, old_secret = await subs.add(receiver.url("/ofsted"), "ofsted", placing_authority=authority)
    await overdose_for_placed_child(app, clock, authority)
    await h.eventually(lambda: len(receiver.requests) == 1)
    first = receiver.requests[0]
    assert first.headers["content-type"] == "application/json"
    assert first.headers["webhook-id"].startswith("msg_")
    assert abs(int(first.headers["webhook-timestamp"]) - int(__import__("time").time())) < 60
    assert first.headers["webhook-signature"].startswith("v1,")
    payload = Webhook(old_secret).verify(first.body, first.headers)
    assert set(payload) == {"type", "timestamp", "data"}
    assert payload["type"] == "notifications.NotificationRaised"
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(first.body, first.headers)
    tampered = first.body.replace(b"overdose", b"headache")
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(tampered, first.headers)

    rotated = await client.post(f"/v1/subscriptions/{sid}/rotate-secret", headers=auth(Role.ADMIN))
    new_secret = rotated.json()["secret"]
    await overdose_for_placed_child(app, clock, authority)
    await h.eventually(lambda: len(receiver.requests) == 2)
    second = receiver.requests[1]
    assert Webhook(new_secret).verify(second.body, second.headers)["type"] == "notifications.NotificationRaised"
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(second.body, second.headers)


class TestReceiverDownThenBack:
    @pytest.fixture
    def settings(self) -> Settings:
        return make_settings(webhook_retry_schedule=PATIENT)

    async def test_every_notification_is_delivered_none_lost_duplicates_share_a_webhook_id(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        auth: Any,
        clock: ManualClock,
        receiver: h.Receiver,
        subs: h.Subscriptions,
        authority: str,
    ) -> None:
        clock.run()  # the retries are due as real time passes
        sid, secret = await subs.add(receiver.url("/ofsted"), "ofsted", placing_authority=authority)
        await receiver.stop()  # down: connection refused
        children = [await overdose_for_placed_child(app, clock, authority) for _ in range(5)]
        await settle(app)

        async def failed_twice() -> bool:
            counts = [len(await attempts_for(app, c)) for c in children]
            return min(counts) >= 2

        await h.eventually(failed_twice, timeout=15)
        for child in children:
            assert all(a.data["outcome"] == "failed" for a in await attempts_for(app, child))

        await receiver.start()  # back, on the same port
        rows = await outbox_rows(app, sid)
        expected_ids = {r.webhook_id for r in rows}
        assert len(expected_ids) == 5
        await h.eventually(lambda: {r.webhook_id for r in receiver.requests} == expected_ids, timeout=15)

        by_id: dict[str, set[bytes]] = {}
        for request in receiver.requests:
            Webhook(secret).verify(request.body, request.headers)
            by_id.setdefault(request.webhook_id, set()).add(request.body)
        assert all(len(bodies) == 1 for bodies in by_id.values())  # a duplicate is the same message

        async def all_delivered() -> bool:
            await settle(app)
            return {r.status for r in await outbox_rows(app, sid)} == {"delivered"}

        await h.eventually(all_delivered, timeout=10)
        for child in children:
            listed = (await client.get("/v1/notifications", params={"child_id": str(child)}, headers=auth())).json()
            assert [n["status"] for n in listed["notifications"]] == ["delivered"]
            outcomes = [a.data["outcome"] for a in await attempts_for(app, child)]
            assert outcomes[-1] == "delivered" and set(outcomes[:-1]) == {"failed"}
            numbers = [a.data["attempt"] for a in await attempts_for(app, child)]
            assert numbers == list(range(1, len(numbers) + 1))


async def test_killing_the_dispatcher_mid_delivery_loses_nothing(
    app_url: str, settings: Settings, clock: ManualClock, auth: Any, receiver: h.Receiver, authority: str
) -> None:
    async with running(app_url, settings, clock, workers=False) as (app, client):
        subs = h.Subscriptions(client, auth(Role.ADMIN))
        try:
            _, secret = await subs.add(receiver.url("/ofsted"), "ofsted", placing_authority=authority)
            child = await overdose_for_placed_child(app, clock, authority)
            await settle(app)

            receiver.hang = True
            first = asyncio.create_task(workers.dispatcher(app.state, concurrency=1))
            await asyncio.wait_for(receiver.arrived.wait(), timeout=10)
            first.cancel()  # killed while the receiver holds the request
            with contextlib.suppress(asyncio.CancelledError):
                await first
            receiver.release.set()

            async with app.state.engine.connect() as conn:
                row = (
                    await conn.execute(
                        text(
                            "SELECT status, attempts FROM notifications_outbox WHERE $1 = ANY(child_ids)".replace(
                                "$1", ":c"
                            )
                        ),
                        {"c": child},
                    )
                ).one()
            assert (row.status, row.attempts) == ("pending", 0)
            assert await attempts_for(app, child) == []

            receiver.hang = False
            second = asyncio.create_task(workers.dispatcher(app.state, concurrency=1))
            try:
                await h.eventually(lambda: len(receiver.requests) == 2)

                async def recorded() -> bool:
                    await settle(app)
                    return len(await attempts_for(app, child)) == 1

                await h.eventually(recorded)
            finally:
                second.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await second
            assert receiver.requests[0].webhook_id == receiver.requests[1].webhook_id
            assert receiver.requests[0].body == receiver.requests[1].body
            Webhook(secret).verify(receiver.requests[1].body, receiver.requests[1].headers)
            [attempt] = await attempts_for(app, child)
            assert attempt.data["outcome"] == "delivered" and attempt.data["attempt"] == 1
        finally:
            await subs.close()


async def test_a_graceful_shutdown_records_the_delivery_in_flight(
    app_url: str, settings: Settings, clock: ManualClock, auth: Any, receiver: h.Receiver, authority: str
) -> None:
    """Stopping the app (a deploy, a scale-down) lets a webhook already sent be recorded as sent:
    cancelled, its transaction would roll back and the receiver would get it again after restart."""
    async with running(app_url, settings, clock) as (app, client):
        subs = h.Subscriptions(client, auth(Role.ADMIN))
        await subs.add(receiver.url("/ofsted"), "ofsted", placing_authority=authority)
        receiver.hang = True
        child = await overdose_for_placed_child(app, clock, authority)
        await settle(app)
        await asyncio.wait_for(receiver.arrived.wait(), timeout=10)
        # The receiver answers only once shut-down has begun (leaving this block begins it).
        asyncio.get_running_loop().call_later(0.5, receiver.release.set)
    assert receiver.release.is_set()  # shut-down waited for the answer
    async with running(app_url, settings, clock, workers=False) as (app, client):
        try:
            [attempt] = await attempts_for(app, child)
            assert (attempt.data["outcome"], attempt.data["attempt"]) == ("delivered", 1)
            [row] = await outbox_rows(app, str(attempt.data["subscription_id"]))
            assert (row.status, row.attempts) == ("delivered", 1)
            assert len(receiver.requests) == 1
        finally:
            subs.client = client  # disabled through the app still running
            await subs.close()


async def test_after_every_retry_a_delivery_is_dead_lettered_and_escalated(
    app: FastAPI,
    client: httpx.AsyncClient,
    auth: Any,
    clock: ManualClock,
    settings: Settings,
    receiver: h.Receiver,
    subs: h.Subscriptions,
    authority: str,
) -> None:
    clock.run()  # the retries are due as real time passes
    receiver.statuses["/ofsted"] = 500
    await subs.add(receiver.url("/ofsted"), "ofsted", placing_authority=authority)
    internal_id, internal_secret = await subs.add(receiver.url("/internal"), "internal")
    child = await overdose_for_placed_child(app, clock, authority)

    async def dead() -> bool:
        await settle(app)
        return any(a.data["outcome"] == "dead_lettered" for a in await attempts_for(app, child))

    await h.eventually(dead, timeout=15)
    await settle(app)  # the last attempt may have landed after dead()'s own settle
    attempts = [a for a in await attempts_for(app, child) if a.data["recipient"] == "ofsted"]
    schedule = settings.webhook_retry_schedule
    assert [a.data["attempt"] for a in attempts] == list(range(1, len(schedule) + 1))
    assert [a.data["outcome"] for a in attempts] == ["failed"] * (len(schedule) - 1) + ["dead_lettered"]
    assert {a.data["status_code"] for a in attempts} == {500}
    assert len(receiver.on("/ofsted")) == len(schedule)
    assert len({r.webhook_id for r in receiver.on("/ofsted")}) == 1  # one message, retried

    listed = (await client.get("/v1/notifications", params={"child_id": str(child)}, headers=auth())).json()
    assert listed["notifications"][0]["status"] == "dead_lettered"
    escalations = (await client.get("/v1/escalations", params={"child_id": str(child)}, headers=auth())).json()
    # (Other services' clocks may escalate about this child too, e.g. the first statutory visit.)
    [escalation] = [e for e in escalations["escalations"] if e["reason"] == "delivery_dead_lettered"]
    assert escalation["reason"] == "delivery_dead_lettered"
    assert escalation["escalate_to"] == "registered_manager"
    assert escalation["open"] is True

    # The agency's own receiver hears about the dead letter.
    def told() -> bool:
        return any(
            r.json()["type"] == "notifications.EscalationRaised"
            and r.json()["data"]["escalation_id"] == escalation["escalation_id"]
            for r in receiver.on("/internal")
        )

    await h.eventually(told)
    message = next(
        r for r in receiver.on("/internal") if r.json()["data"]["escalation_id"] == escalation["escalation_id"]
    )
    Webhook(internal_secret).verify(message.body, message.headers)
    assert internal_id


async def test_a_410_disables_the_subscription(
    app: FastAPI,
    client: httpx.AsyncClient,
    auth: Any,
    clock: ManualClock,
    receiver: h.Receiver,
    subs: h.Subscriptions,
    authority: str,
) -> None:
    receiver.statuses["/gone"] = 410
    sid, _ = await subs.add(receiver.url("/gone"), "ofsted", placing_authority=authority)
    child = await overdose_for_placed_child(app, clock, authority)

    async def disabled() -> bool:
        await settle(app)
        got = await client.get(f"/v1/subscriptions/{sid}", headers=auth(Role.ADMIN))
        return got.json()["status"] == "disabled"

    await h.eventually(disabled)
    [attempt] = await attempts_for(app, child)
    assert attempt.data["outcome"] == "gone" and attempt.data["status_code"] == 410
    subscription = (await client.get(f"/v1/subscriptions/{sid}", headers=auth(Role.ADMIN))).json()
    assert "410" in subscription["disabled_reason"]

    later = await overdose_for_placed_child(app, clock, authority)
    await settle(app)
    await asyncio.sleep(0.3)
    assert len(receiver.on("/gone")) == 1
    assert await attempts_for(app, later) == []


async def test_two_dispatchers_never_send_the_same_attempt_twice(
    app_url: str, settings: Settings, clock: ManualClock, auth: Any, receiver: h.Receiver, authority: str
) -> None:
    async with running(app_url, settings, clock) as (one, client), running(app_url, settings, clock) as (two, _):
        subs = h.Subscriptions(client, auth(Role.ADMIN))
        try:
            sid, _ = await subs.add(receiver.url("/ofsted"), "ofsted", placing_authority=authority)
            await subs.add(receiver.url("/la"), "placing_authority", placing_authority=authority)
            children = [await overdose_for_placed_child(one if i % 2 else two, clock, authority) for i in range(12)]
            await settle(one)

            async def everything_delivered() -> bool:
                await settle(one)
                async with one.state.engine.connect() as conn:
                    statuses = (
                        (
                            await conn.execute(
                                text("SELECT status FROM notifications_outbox WHERE child_ids && CAST(:c AS uuid[])"),
                                {"c": [str(c) for c in children]},
                            )
                        )
                        .scalars()
                        .all()
                    )
                return len(statuses) == 24 and set(statuses) == {"delivered"}

            await h.eventually(everything_delivered, timeout=20)
            ids = [r.webhook_id for r in receiver.requests]
            assert len(ids) == 24 and len(set(ids)) == 24  # each message sent exactly once
            for child in children:
                attempts = await attempts_for(one, child)
                assert len(attempts) == 2 and {a.data["attempt"] for a in attempts} == {1}
            assert sid
        finally:
            await subs.close()
