from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from shared.auth import Role


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text


async def test_global_feed_needs_a_token_and_a_reader_role(client: httpx.AsyncClient, auth) -> None:  # type: ignore[no-untyped-def]
    missing = await client.get("/v1/events")
    assert missing.status_code == 401
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["type"].endswith("/unauthenticated")
    worker = await client.get("/v1/events", headers=auth(Role.CHILD_SOCIAL_WORKER))
    assert worker.status_code == 403
    admin = await client.get("/v1/events", headers=auth(Role.ADMIN), params={"limit": 5})
    assert admin.status_code == 200
    assert "events" in admin.json()


async def test_bad_query_values_are_problems(client: httpx.AsyncClient, auth) -> None:  # type: ignore[no-untyped-def]
    response = await client.get("/v1/events", headers=auth(Role.ADMIN), params={"limit": 10**9})
    assert response.status_code == 422
    assert response.json()["errors"]


async def test_metrics_expose_requests_append_latency_and_projector_lag(client: httpx.AsyncClient, auth) -> None:  # type: ignore[no-untyped-def]
    await client.get("/healthz")
    response = await client.get("/metrics", headers=auth(Role.INSPECTOR))
    assert response.status_code == 200
    body = response.text
    assert 'carelog_http_requests_total{method="GET",route="/healthz",status="200"}' in body
    assert "carelog_append_seconds_bucket" in body
    assert "carelog_projector_lag_positions" in body
    for figure in ("outbox_depth", "oldest_undelivered_seconds", "open_escalations"):
        assert f'carelog_service_gauge{{name="{figure}",service="notifications"}}' in body
    assert "x-request-id" in response.headers


async def test_login_free_endpoints_are_rate_limited(app_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    from services.app import create_app
    from tests.conftest import test_settings

    limited = create_app(test_settings(login_free_requests_per_minute=5), database_url=app_url, clock=clock)
    async with limited.router.lifespan_context(limited):
        transport = httpx.ASGITransport(app=limited, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://carelog.test") as c:
            statuses = [(await c.get("/healthz")).status_code for _ in range(8)]
            assert statuses[:5] == [200] * 5
            assert statuses[5:] == [429] * 3
            last = await c.get("/healthz")
            assert last.headers["content-type"].startswith("application/problem+json")


async def test_the_feed_streams_large_ranges_as_ndjson(client: httpx.AsyncClient, auth, app) -> None:  # type: ignore[no-untyped-def]
    import orjson

    from shared.eventstore import NewEvent
    from tests.conftest import settle

    start, _ = await app.state.store.head()
    stream = f"child-{uuid.uuid4()}"
    for i in range(0, 2500, 250):
        events = [NewEvent("test.Streamed", {"i": j}, datetime.now(UTC)) for j in range(i, i + 250)]
        await app.state.store.append(stream, events)
    await settle(app)
    response = await client.get(
        "/v1/events/stream", params={"after": start, "type": "test.Streamed"}, headers=auth(Role.INSPECTOR)
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    rows = [orjson.loads(line) for line in response.text.splitlines()]
    assert [r["data"]["i"] for r in rows] == list(range(2500))  # every event once, in order, past one chunk
    assert (await client.get("/v1/events/stream", headers=auth(Role.MANAGER))).status_code == 403


async def test_a_commands_events_carry_the_request_id_its_answer_and_log_line_carry(
    client: httpx.AsyncClient,
    auth,  # type: ignore[no-untyped-def]
) -> None:
    manager = auth(Role.REGISTERED_MANAGER)
    body = {
        "name": "Request Id",
        "date_of_birth": "2014-05-01",
        "legal_status": "section_31_care_order",
        "placing_authority": "West Northamptonshire Council",
        "social_worker_id": "sw-ids",
    }
    given = await client.post("/v1/children", json=body, headers=manager)  # no x-request-id: one is made
    sent = await client.post(
        "/v1/children", json=body, headers={**manager, "x-request-id": "rid-7", "x-correlation-id": "c-9"}
    )
    for response, correlation in ((given, None), (sent, "c-9")):
        assert response.status_code == 201, response.text
        request_id = response.headers["x-request-id"]
        stream = await client.get(f"/v1/streams/child-{response.json()['child_id']}", headers=auth(Role.ADMIN))
        metadata = [e["metadata"] for e in stream.json()["events"]]
        assert {m["request_id"] for m in metadata} == {request_id}
        assert {m["correlation_id"] for m in metadata} == {correlation or request_id}
    assert sent.headers["x-request-id"] == "rid-7"


async def test_metrics_need_an_admin_or_inspector_token(client: httpx.AsyncClient, auth) -> None:  # type: ignore[no-untyped-def]
    anonymous = await client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    assert "carelog_log_head_position" not in anonymous.text and "open_escalations" not in anonymous.text
    assert (await client.get("/metrics", headers=auth(Role.CHILD_SOCIAL_WORKER))).status_code == 403
    assert (await client.get("/metrics", headers=auth(Role.REGISTERED_MANAGER))).status_code == 403
    for role in (Role.ADMIN, Role.INSPECTOR):
        allowed = await client.get("/metrics", headers=auth(role))
        assert allowed.status_code == 200 and "carelog_log_head_position" in allowed.text


async def test_metrics_with_a_scrape_token_answer_that_token_only(app_url: str, clock, auth) -> None:  # type: ignore[no-untyped-def]
    from services.app import create_app
    from tests.conftest import test_settings

    scrape_token = "scrape-token-of-the-agencys-prometheus-0123456789"
    application = create_app(test_settings(metrics_token=scrape_token), database_url=app_url, clock=clock)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://carelog.test") as c:
            scraped = await c.get("/metrics", headers={"Authorization": f"Bearer {scrape_token}"})
            assert scraped.status_code == 200 and "carelog_log_head_position" in scraped.text
            for headers in ({}, {"Authorization": f"Bearer {scrape_token}x"}, auth(Role.ADMIN)):
                refused = await c.get("/metrics", headers=headers)
                assert refused.status_code == 401, headers
                assert refused.json()["type"].endswith("/unauthenticated")
                assert "WWW-Authenticate" in refused.headers


async def test_the_oldest_undelivered_message_is_aged_by_the_agencys_clock(
    client: httpx.AsyncClient,
    auth: Any,
    owner_engine: Any,
    clock: Any,
) -> None:
    """An outbox row is created at its event's recorded_at (the agency's clock), so its age is too:
    the database's own clock would age it by however far the machine is from the agency's clock."""
    from datetime import timedelta

    from sqlalchemy import text

    async with owner_engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO notifications_outbox (outbox_id, webhook_id, subscription_id, recipient, message_type, "
                "message_stream, source_event_id, body, status, created_at, updated_at, next_attempt_at) VALUES (:id, "
                ":webhook, :sub, 'ofsted', 'notification', 'notification-x', :source, '{}', 'pending', :created, "
                ":created, :retry)"
            ),
            {
                "id": uuid.uuid4(),
                "webhook": f"msg_{uuid.uuid4().hex}",
                "sub": uuid.uuid4(),
                "source": uuid.uuid4(),
                "created": clock.now() - timedelta(hours=1),
                "retry": clock.now() + timedelta(hours=1),  # not due: no dispatcher takes it meanwhile
            },
        )
    body = (await client.get("/metrics", headers=auth(Role.INSPECTOR))).text
    [line] = [line for line in body.splitlines() if 'name="oldest_undelivered_seconds"' in line]
    assert float(line.rsplit(" ", 1)[1]) == 3600.0


async def test_a_query_parameter_the_route_does_not_take_is_refused(client: httpx.AsyncClient, auth) -> None:  # type: ignore[no-untyped-def]
    """A misspelt filter is a 422 naming it, not a page answered as if there were no filter."""
    misspelt = await client.get("/v1/visits/due", params={"worker": "sw-1"}, headers=auth(Role.REGISTERED_MANAGER))
    assert misspelt.status_code == 422, misspelt.text
    assert misspelt.json()["errors"] == [
        {"location": ["query", "worker"], "message": "not a parameter of this route", "type": "extra_forbidden"}
    ]
    spelt = await client.get("/v1/visits/due", params={"worker_id": "sw-1"}, headers=auth(Role.REGISTERED_MANAGER))
    assert spelt.status_code == 200, spelt.text
    feed = await client.get("/v1/events", params={"limit": 5, "afterr": 1}, headers=auth(Role.ADMIN))
    assert feed.status_code == 422 and "afterr" in feed.json()["detail"]
