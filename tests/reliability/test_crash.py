"""kill -9 of the server at random moments during a stream of writes; the client retries each
write with the same Idempotency-Key until it is acknowledged. Every acknowledged write is in the
log exactly once, nothing doubles, and the hash chain verifies."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable

import httpx
import pytest

from shared.auth import Role
from tests.builders import visit_body
from tests.reliability.support import (
    VISITED_AT,
    Server,
    log_facts,
    record,
    register_children,
    replay_and_compare,
    server_client,
    start_server,
    token,
    verify_chain,
    wait_projections_at_head,
)

pytestmark = pytest.mark.reliability

CLIENTS = 4


async def test_kill_9_during_writes_loses_and_doubles_nothing(
    fresh_database_url: str, server_factory: Callable[..., Server], full_size: bool
) -> None:
    writes = 1000 if full_size else 200
    kills = 20 if full_size else 5
    rng = random.Random(20261125)
    # A claim left by a killed process may be taken over after 1 s (instead of 30).
    server = server_factory(fresh_database_url, CARELOG_IDEMPOTENCY_LEASE_SECONDS="1")
    await start_server(server)
    auth = token(Role.REGISTERED_MANAGER, "rm-crash")
    acknowledged: dict[str, str] = {}  # idempotency key -> event id
    attempts = 0
    retries_after_error = 0
    in_flight_409 = 0
    restart_seconds: list[float] = []
    up = asyncio.Event()
    up.set()
    async with server_client(server.url, httpx.Timeout(10, connect=2)) as client:
        children = await register_children(client, auth, CLIENTS)
        queue: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
        for n in range(writes):
            queue.put_nowait((f"crash-{n}-{uuid.uuid4()}", n))

        async def client_task(c: int) -> None:
            nonlocal attempts, retries_after_error, in_flight_409
            child = children[c]  # one stream per client: no version races, only crashes
            while not queue.empty():
                key, n = queue.get_nowait()
                while True:
                    await up.wait()
                    attempts += 1
                    try:
                        response = await client.post(
                            f"/v1/children/{child}/visits",
                            json=visit_body(VISITED_AT, n),
                            headers={**auth, "Idempotency-Key": key},
                        )
                    except httpx.HTTPError:
                        retries_after_error += 1
                        await asyncio.sleep(0.1)
                        continue
                    if response.status_code == 409 and response.json()["type"].endswith("idempotency-in-flight"):
                        in_flight_409 += 1  # the claim of the killed process, until its lease ends
                        await asyncio.sleep(0.3)
                        continue
                    if response.status_code >= 500:
                        retries_after_error += 1
                        await asyncio.sleep(0.1)
                        continue
                    assert response.status_code == 201, response.text
                    event_id = response.json()["event_id"]
                    assert acknowledged.setdefault(key, event_id) == event_id
                    break

        thresholds = sorted(rng.sample(range(5, writes - 5), kills))

        async def killer() -> None:
            for threshold in thresholds:
                while len(acknowledged) < threshold:  # noqa: ASYNC110
                    await asyncio.sleep(0.005)
                await asyncio.sleep(rng.uniform(0, 0.05))  # a random moment, requests in flight
                up.clear()
                server.kill()
                up.set()  # clients now see refused connections and keep retrying
                await asyncio.sleep(rng.uniform(0, 0.3))
                started = time.monotonic()
                await start_server(server)
                restart_seconds.append(time.monotonic() - started)

        started = time.monotonic()
        async with asyncio.timeout(1800 if full_size else 400):
            kill_task = asyncio.create_task(killer())
            await asyncio.gather(*(client_task(c) for c in range(CLIENTS)))
            await kill_task
        elapsed = time.monotonic() - started
        await wait_projections_at_head(fresh_database_url)
    server.stop()

    facts = await log_facts(fresh_database_url)
    acked_ids = set(acknowledged.values())
    missing = [e for e in acked_ids if facts.event_ids[e] == 0]
    verified = verify_chain(server.env)
    replay = await replay_and_compare(fresh_database_url, server.env)
    record(
        "crash",
        {
            "writes": writes,
            "kills": len(restart_seconds),
            "acknowledged": len(acknowledged),
            "missing": len(missing),
            "stored_visits": facts.types["visits.VisitRecorded"],
            "duplicates": facts.duplicates,
            "gaps": facts.gaps,
            "attempts": attempts,
            "retries_after_error": retries_after_error,
            "in_flight_409_after_crash": in_flight_409,
            "restart_seconds_max": round(max(restart_seconds, default=0), 2),
            "seconds": round(elapsed, 1),
            "verify": verified,
            "replay_differences": replay.differences,
        },
    )
    assert len(restart_seconds) >= kills
    assert len(acknowledged) == writes
    assert missing == []
    assert facts.types["visits.VisitRecorded"] == writes  # 0 duplicates: one event per write
    assert facts.duplicates == 0 and facts.gaps == 0 and facts.streams_contiguous
    assert verified["ok"] is True
    assert replay.differences == 0, replay.detail
