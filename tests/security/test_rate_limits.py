"""Rate limits that a client cannot reset: failed authentication per client address, writes per
principal, and a client address that X-Forwarded-For changes only through a configured proxy."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from services.app import create_app
from shared.auth import Role
from shared.clock import ManualClock
from shared.db import as_role
from shared.settings import Settings
from tests import builders
from tests.conftest import AuthHeaders, test_settings
from tests.foundation.test_cli import CARELOG, free_port, wait_ready


@asynccontextmanager
async def running(settings: Settings, app_url: str, clock: ManualClock) -> AsyncIterator[FastAPI]:
    application = create_app(settings, database_url=app_url, clock=clock, run_workers=False)
    async with application.router.lifespan_context(application):
        yield application


def client_from(application: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://carelog.test")


def child_body(name: str) -> dict[str, Any]:
    return builders.child_body(name=name, social_worker_id="sw-limit")


async def test_failed_authentication_is_limited_per_client_address(
    app_url: str, clock: ManualClock, auth: AuthHeaders
) -> None:
    settings = test_settings(failed_authentications_per_minute=5)
    good = auth(Role.REGISTERED_MANAGER)
    async with running(settings, app_url, clock) as application:
        async with client_from(application, "203.0.113.7") as guesser, client_from(application, "203.0.113.8") as other:
            for n in range(5):
                wrong = await guesser.get(
                    "/v1/visits/due",
                    headers={"Authorization": f"Bearer guess-{n}", "X-Forwarded-For": f"198.51.100.{n}"},
                )
                assert wrong.status_code == 401
            blocked = await guesser.get("/v1/visits/due", headers={**good, "X-Forwarded-For": "198.51.100.99"})
            assert blocked.status_code == 429, blocked.text  # even a good token waits: the address is locked out
            assert blocked.headers["content-type"].startswith("application/problem+json")
            assert 1 <= int(blocked.headers["retry-after"]) <= 60
            assert (await guesser.get("/metrics")).status_code == 429  # the metrics token is not guessable either
            assert (await other.get("/v1/visits/due", headers=good)).status_code == 200


async def test_successful_requests_do_not_count_as_failures(
    app_url: str, clock: ManualClock, auth: AuthHeaders
) -> None:
    settings = test_settings(failed_authentications_per_minute=2)
    good = auth(Role.REGISTERED_MANAGER)
    async with running(settings, app_url, clock) as application, client_from(application, "203.0.113.9") as c:
        statuses = [(await c.get("/v1/visits/due", headers=good)).status_code for _ in range(10)]
        assert statuses == [200] * 10


async def test_writes_are_limited_per_principal_and_refused_writes_write_nothing(
    app_url: str, clock: ManualClock, auth: AuthHeaders
) -> None:
    settings = test_settings(writes_per_minute=3)
    busy, other = auth(Role.REGISTERED_MANAGER, subject="rm-busy"), auth(Role.REGISTERED_MANAGER, subject="rm-calm")
    prefix = f"Limited {uuid.uuid4().hex[:8]}"
    async with running(settings, app_url, clock) as application, client_from(application, "203.0.113.10") as c:
        first = {**busy, "Idempotency-Key": f"k-{uuid.uuid4()}"}
        created = [await c.post("/v1/children", json=child_body(f"{prefix} 0"), headers=first)]
        for n in (1, 2):
            created.append(await c.post("/v1/children", json=child_body(f"{prefix} {n}"), headers=busy))
        assert [r.status_code for r in created] == [201, 201, 201]
        refused = await c.post("/v1/children", json=child_body(f"{prefix} 3"), headers=busy)
        assert refused.status_code == 429, refused.text
        assert refused.json()["type"].endswith("/rate-limited")
        assert int(refused.headers["retry-after"]) >= 1
        # A retry of an answered request is replayed, not counted; reads and other callers go on.
        replayed = await c.post("/v1/children", json=child_body(f"{prefix} 0"), headers=first)
        assert replayed.status_code == 201 and replayed.headers.get("idempotent-replayed") == "true"
        assert (await c.get("/v1/visits/due", headers=busy)).status_code == 200
        assert (await c.post("/v1/children", json=child_body(f"{prefix} 4"), headers=other)).status_code == 201
        names = [n for n in await builders.registered_names(application) if n.startswith(prefix)]
        assert sorted(names) == [f"{prefix} {n}" for n in (0, 1, 2, 4)]


def _serve(database_url: str, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CARELOG_")}
    process = subprocess.Popen(
        [*CARELOG, "serve", "--port", str(port), "--no-migrate"],
        env={**clean, "CARELOG_DATABASE_URL": as_role(database_url), "CARELOG_CHECKPOINT_INTERVAL": "0", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{base}/healthz", timeout=90, process=process)
    except BaseException:
        process.kill()
        raise
    return process, base


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _statuses(base: str, forwarded_for: list[str]) -> list[int]:
    with httpx.Client(base_url=base, timeout=10) as c:
        return [c.get("/healthz", headers={"X-Forwarded-For": f}).status_code for f in forwarded_for]


async def test_a_new_x_forwarded_for_does_not_reset_the_bucket(fresh_database_url: str) -> None:
    # wait_ready spent one token of the first bucket, so 4 of 5 are left.
    spoofed = [f"192.0.2.{n}" for n in range(8)]
    process, base = await asyncio.to_thread(_serve, fresh_database_url, CARELOG_LOGIN_FREE_REQUESTS_PER_MINUTE="5")
    try:
        statuses = await asyncio.to_thread(_statuses, base, spoofed)
    finally:
        await asyncio.to_thread(_stop, process)
    assert statuses[:4] == [200] * 4 and statuses[4:] == [429] * 4, statuses

    # Behind a configured proxy, X-Forwarded-For is the client: each address has its own bucket.
    process, base = await asyncio.to_thread(
        _serve,
        fresh_database_url,
        CARELOG_LOGIN_FREE_REQUESTS_PER_MINUTE="5",
        CARELOG_TRUSTED_PROXIES="127.0.0.1/32,::1",
    )
    try:
        per_client = await asyncio.to_thread(_statuses, base, spoofed)
        one_client = await asyncio.to_thread(_statuses, base, ["192.0.2.200"] * 7)
    finally:
        await asyncio.to_thread(_stop, process)
    assert per_client == [200] * 8
    assert one_client[:5] == [200] * 5 and one_client[5:] == [429] * 2
