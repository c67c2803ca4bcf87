"""Two replicas of each service on one database: no event projected twice, no webhook sent twice."""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from services.app import create_app
from shared.auth import Role
from shared.clock import ManualClock
from shared.db import create_engine
from shared.settings import Settings
from tests.carers.helpers import household, place
from tests.conftest import AuthHeaders, settle
from tests.notifications.helpers import Receiver, eventually


@contextlib.asynccontextmanager
async def replica(url: str, settings: Settings, clock: ManualClock, service: str) -> AsyncIterator[httpx.AsyncClient]:
    application: FastAPI = create_app(settings, services=(service,), database_url=url, clock=clock)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{service}.test") as client:
            client.app = application  # type: ignore[attr-defined]
            yield client


async def test_two_replicas_of_each_service_project_once_and_send_once(
    app_url: str, database_url: str, settings: Settings, clock: ManualClock, auth: AuthHeaders
) -> None:
    rm = auth(Role.REGISTERED_MANAGER, subject="rm-replicas")
    authority = f"Replica Council {uuid.uuid4().hex[:6]}"
    receiver = Receiver()
    await receiver.start()
    try:
        async with contextlib.AsyncExitStack() as stack:
            replicas = {
                name: [await stack.enter_async_context(replica(app_url, settings, clock, name)) for _ in range(2)]
                for name in ("visits", "carers", "notifications")
            }
            subscribed = await replicas["notifications"][0].post(
                "/v1/subscriptions",
                json={"url": receiver.url(), "recipient": "ofsted", "placing_authority": authority},
                headers=auth(Role.ADMIN),
            )
            assert subscribed.status_code == 201, subscribed.text
            children = []
            for i in range(6):
                visits = replicas["visits"][i % 2]
                created = await visits.post(
                    "/v1/children",
                    json={"name": f"Replica {i}", "date_of_birth": "2013-02-02", "legal_status": "s31",
                          "placing_authority": authority, "social_worker_id": "sw-r"},
                    headers=rm,
                )  # fmt: skip
                assert created.status_code == 201, created.text
                children.append(created.json()["child_id"])
            carers = replicas["carers"]
            homes = [(await household(carers[i], rm))["household_id"] for i in range(2)]
            for i, child in enumerate(children):
                placed = await place(carers[i % 2], rm, homes[i % 2], child, clock.now().date().isoformat())
                assert placed.status_code == 201, placed.text
            for round_ in range(3):
                for i, child in enumerate(children):
                    visits = replicas["visits"][(i + round_) % 2]
                    body = {
                        "occurred_at": (clock.now() - timedelta(minutes=30 - round_)).isoformat(),
                        "visitor_id": "sw-r", "visitor_role": "child_social_worker", "kind": "statutory",
                        "child_seen": True, "seen_alone": True, "bedroom_seen": True,
                        "child_views": "Fine", "narrative": "Talked about school.",
                    }  # fmt: skip
                    assert (await visits.post(f"/v1/children/{child}/visits", json=body, headers=rm)).status_code == 201
            for i, child in enumerate(children):
                incident = await replicas["visits"][i % 2].post(
                    f"/v1/children/{child}/incidents",
                    json={"category": "overdose", "occurred_at": clock.now().isoformat(), "narrative": "Overdose"},
                    headers=rm,
                )
                assert incident.status_code == 201, incident.text
            for group in replicas.values():
                for client in group:
                    await settle(client.app)  # type: ignore[attr-defined]
            await eventually(lambda: len(receiver.requests) >= len(children), timeout=20)
            await settle(replicas["notifications"][1].app)  # type: ignore[attr-defined]
    finally:
        await receiver.stop()

    deliveries = Counter(r.webhook_id for r in receiver.requests)
    assert len(deliveries) == len(children)  # one Schedule 7 row 3 notification per overdose, for Ofsted
    owner = create_engine(database_url, pool_size=1)
    try:
        async with owner.connect() as conn:
            attempts = dict((await conn.execute(text("SELECT webhook_id, attempts FROM notifications_outbox"))).all())
            ids = [uuid.UUID(c) for c in children]
            visits_rows = (
                await conn.execute(text("SELECT count(*) FROM visits_visits WHERE child_id = ANY(:c)"), {"c": ids})
            ).scalar_one()
            notified = (
                await conn.execute(
                    text("SELECT count(*) FROM events WHERE type = 'notifications.NotificationRaised' "
                         "AND child_ids && CAST(:c AS uuid[])"),
                    {"c": ids},
                )
            ).scalar_one()  # fmt: skip
    finally:
        await owner.dispose()
    # No attempt sent twice: each request the receiver saw is an attempt the outbox recorded, made by
    # the one replica holding the row's lock (a retry after a timeout on a loaded machine is a new
    # attempt with the same webhook-id, which is what receivers deduplicate on).
    assert all(count <= attempts[webhook_id] for webhook_id, count in deliveries.items()), (deliveries, attempts)
    assert visits_rows == 3 * len(children)  # each VisitRecorded projected exactly once
    assert notified == len(children)  # each overdose raised exactly one notification, not one per replica
