"""Idempotency-Key through a real server: retries in sequence and at once, a reused key with a
different body, and a retry while the first request is still running."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import text

from shared.auth import Role
from shared.db import create_engine
from tests.builders import visit_body
from tests.reliability.support import (
    VISITED_AT,
    Server,
    log_facts,
    record,
    register_children,
    server_client,
    start_server,
    token,
)

pytestmark = pytest.mark.reliability


def _replayed(response: httpx.Response) -> bool:
    return response.headers.get("idempotent-replayed") == "true"


async def test_one_event_per_key_in_sequence_at_once_reused_and_in_flight(
    fresh_database_url: str, server_factory: Callable[..., Server], full_size: bool
) -> None:
    keys_each = 100 if full_size else 20
    server = server_factory(fresh_database_url)
    await start_server(server)
    auth = token(Role.REGISTERED_MANAGER, "rm-idem")
    figures: Counter[str] = Counter()
    async with server_client(server.url) as client:
        children = await register_children(client, auth, 4)
        sent_keys: set[str] = set()

        async def post(key: str, n: int, child: str) -> httpx.Response:
            sent_keys.add(key)
            return await client.post(
                f"/v1/children/{child}/visits", json=visit_body(VISITED_AT, n), headers={**auth, "Idempotency-Key": key}
            )

        # 1. Three times in sequence: the first records, the next two replay the same answer.
        for n in range(keys_each):
            key = f"seq-{uuid.uuid4()}"
            first, second, third = [await post(key, n, children[0]) for _ in range(3)]
            assert first.status_code == 201 and not _replayed(first), first.text
            for again in (second, third):
                assert again.status_code == 201 and _replayed(again)
                assert again.content == first.content
                assert again.headers.get("location") == first.headers.get("location")
                assert again.headers.get("etag") == first.headers.get("etag")
            figures["sequential_keys"] += 1
            figures["sequential_replays"] += 2

        # 2. Ten at once: one runs; the others are replays or 409 in flight, and retried become replays.
        for n in range(keys_each):
            key = f"burst-{uuid.uuid4()}"
            burst = await asyncio.gather(*(post(key, 1000 + n, children[1]) for _ in range(10)))
            statuses = Counter(r.status_code for r in burst)
            assert set(statuses) <= {201, 409}, statuses
            assert len([r for r in burst if r.status_code == 201 and not _replayed(r)]) == 1
            for r in burst:
                if r.status_code == 409:
                    assert r.json()["type"].endswith("idempotency-in-flight") and r.headers["retry-after"]
            figures["burst_in_flight_409"] += statuses[409]
            bodies = {r.content for r in burst if r.status_code == 201}
            for _ in range(statuses[409]):
                retried = await post(key, 1000 + n, children[1])
                assert retried.status_code == 201 and _replayed(retried)
                bodies.add(retried.content)
            assert len(bodies) == 1  # every answer for the key is the same body
            figures["burst_keys"] += 1

        # 3. The same key with a different body (or another path) is 422, and writes nothing.
        for n in range(keys_each):
            key = f"reuse-{uuid.uuid4()}"
            assert (await post(key, 2000 + n, children[2])).status_code == 201
            other_body = await post(key, 3000 + n, children[2])
            other_path = await post(key, 2000 + n, children[3])
            for refused in (other_body, other_path):
                assert refused.status_code == 422, refused.text
                assert refused.json()["type"].endswith("idempotency-key-reused")
                assert refused.headers["content-type"].startswith("application/problem+json")
            figures["reused_key_422"] += 2

        # 4. A retry while the first is still running: hold the append lock so the first stays in flight.
        owner = create_engine(fresh_database_url, pool_size=1)
        try:
            for n in range(min(keys_each, 10)):
                key = f"inflight-{uuid.uuid4()}"
                async with owner.connect() as conn:
                    tx = await conn.begin()
                    await conn.execute(text("SELECT 1 FROM events_head WHERE id FOR UPDATE"))
                    first_task = asyncio.create_task(post(key, 4000 + n, children[3]))
                    async with asyncio.timeout(20):
                        while True:
                            async with owner.connect() as probe:
                                state = (
                                    await probe.execute(
                                        text("SELECT state FROM idempotency_keys WHERE key = :k"), {"k": key}
                                    )
                                ).scalar()
                            if state == "in_flight":
                                break
                            await asyncio.sleep(0.02)
                    await asyncio.sleep(0.1)
                    retry = await post(key, 4000 + n, children[3])
                    assert retry.status_code == 409, retry.text
                    assert retry.json()["type"].endswith("idempotency-in-flight")
                    assert not first_task.done()
                    await tx.rollback()
                first = await first_task
                assert first.status_code == 201, first.text
                after = await post(key, 4000 + n, children[3])
                assert after.status_code == 201 and _replayed(after) and after.content == first.content
                figures["in_flight_409"] += 1
        finally:
            await owner.dispose()

    facts = await log_facts(fresh_database_url)
    visit_keys = [k for k in sent_keys if not k.startswith("child-")]
    figures["keys"] = len(visit_keys)
    figures["visit_events"] = facts.types["visits.VisitRecorded"]
    figures["duplicates"] = facts.duplicates
    record("idempotency", dict(figures))
    assert facts.types["visits.VisitRecorded"] == len(visit_keys)  # exactly one event per key
    assert facts.duplicates == 0 and facts.gaps == 0
