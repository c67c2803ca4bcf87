"""Many writers and tailing readers against one real `carelog serve` process: every acknowledged
write is stored once, the global order has no gaps, and no reader ever sees position N+1 before N.
And contention: 20 writers racing for the same stream version (If-Match: one wins), or racing with
no precondition (every one lands)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from shared.auth import Role
from tests.builders import visit_body
from tests.reliability.support import (
    VISITED_AT,
    Server,
    command_retries,
    log_facts,
    percentile,
    record,
    register_children,
    replay_and_compare,
    server_client,
    start_server,
    token,
    verify_chain,
)

pytestmark = pytest.mark.reliability

STREAMS = 50
WRITERS = 16
READERS = 4


async def test_writers_and_tailing_readers_lose_nothing_and_see_no_gaps(
    fresh_database_url: str, server_factory: Callable[..., Server], full_size: bool
) -> None:
    per_writer = 1000 if full_size else 100
    server = server_factory(fresh_database_url)
    await start_server(server)
    writer_auth = token(Role.REGISTERED_MANAGER, "rm-writer")
    reader_auth = token(Role.INSPECTOR, "ofsted-reader")
    async with server_client(server.url, connections=WRITERS + READERS + 4) as client:
        children = await register_children(client, writer_auth, STREAMS)
        acknowledged: dict[str, int] = {}  # event id -> stream version
        latencies: list[float] = []
        writers_done = asyncio.Event()

        async def writer(w: int) -> None:
            for i in range(per_writer):
                n = w * per_writer + i
                child = children[n % STREAMS]
                started = time.perf_counter()
                response = await client.post(
                    f"/v1/children/{child}/visits",
                    json=visit_body(VISITED_AT, n),
                    headers={**writer_auth, "Idempotency-Key": str(uuid.uuid4())},
                )
                # No If-Match: a race for a version is the server's to settle (it decides again).
                assert response.status_code == 201, response.text
                latencies.append(time.perf_counter() - started)
                body = response.json()
                assert body["event_id"] not in acknowledged
                acknowledged[body["event_id"]] = body["version"]

        reader_stats: list[dict[str, Any]] = []

        async def reader(r: int) -> None:
            after, pages, seen, out_of_order = 0, 0, 0, 0
            final: int | None = None
            while True:
                response = await client.get("/v1/events", params={"after": after, "limit": 500}, headers=reader_auth)
                assert response.status_code == 200, response.text
                events = response.json()["events"]
                pages += 1
                for event in events:
                    if event["position"] != after + 1:  # N+1 seen before N (or N seen twice)
                        out_of_order += 1
                    after = event["position"]
                    seen += 1
                if writers_done.is_set():
                    if final is None:
                        final = (await log_facts(fresh_database_url)).head
                    if after >= final:
                        break
                if not events:
                    await asyncio.sleep(0.02)
            reader_stats.append({"reader": r, "pages": pages, "seen": seen, "out_of_order": out_of_order})

        retries_before = await command_retries(client)
        started = time.monotonic()
        readers = [asyncio.create_task(reader(r)) for r in range(READERS)]
        async with asyncio.timeout(1800 if full_size else 300):
            await asyncio.gather(*(writer(w) for w in range(WRITERS)))
            elapsed = time.monotonic() - started
            writers_done.set()
            await asyncio.gather(*readers)
        retried = (await command_retries(client)).get("visits", 0) - retries_before.get("visits", 0)

    facts = await log_facts(fresh_database_url)
    visits = facts.types["visits.VisitRecorded"]
    stored_acked = sum(1 for e in acknowledged if facts.event_ids[e] == 1)
    figures = {
        "writers": WRITERS,
        "events_per_writer": per_writer,
        "streams": STREAMS,
        "acknowledged": len(acknowledged),
        "stored_visits": visits,
        "acknowledged_and_stored_once": stored_acked,
        "duplicates": facts.duplicates,
        "gaps": facts.gaps,
        "head": facts.head,
        "reader_out_of_order": sum(s["out_of_order"] for s in reader_stats),
        "reader_events_seen": [s["seen"] for s in reader_stats],
        "server_retries": retried,
        "seconds": round(elapsed, 1),
        "writes_per_second": round(len(acknowledged) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
    }
    server.stop()
    replay = await replay_and_compare(fresh_database_url, server.env)
    figures["replay_rows"] = replay.rows
    figures["replay_differences"] = replay.differences
    figures["verify"] = verify_chain(server.env)
    record("concurrency", figures)

    assert len(acknowledged) == WRITERS * per_writer
    assert stored_acked == len(acknowledged)  # acknowledged = stored
    assert visits == len(acknowledged)  # and nothing stored that was not acknowledged
    assert facts.duplicates == 0
    assert facts.gaps == 0 and facts.min_position == 1 and facts.max_position == facts.head
    assert facts.streams_contiguous
    assert figures["reader_out_of_order"] == 0
    assert all(s["seen"] == facts.head for s in reader_stats)
    assert replay.differences == 0, replay.detail
    assert figures["verify"]["ok"] is True


async def test_contention_one_winner_per_version(
    fresh_database_url: str, server_factory: Callable[..., Server], full_size: bool
) -> None:
    rounds = 25 if full_size else 5
    racers = 20
    server = server_factory(fresh_database_url)
    await start_server(server)
    auth = token(Role.REGISTERED_MANAGER, "rm-racer")
    async with server_client(server.url, connections=racers + 2) as client:
        [child] = await register_children(client, auth, 1)
        path = f"/v1/children/{child}/visits"

        async def version() -> int:
            response = await client.get(f"/v1/children/{child}", headers=auth)
            return int(response.json()["version"])

        async def race(headers: dict[str, str], n: int) -> httpx.Response:
            return await client.post(
                path, json=visit_body(VISITED_AT, n), headers={**auth, **headers, "Idempotency-Key": str(uuid.uuid4())}
            )

        initial = await version()  # registering may append more than one event (clocks)

        # 1. Same expected version sent explicitly (If-Match): one winner, every loser 412.
        if_match = {"winners": 0, "losers": 0, "loser_statuses": set()}
        for r in range(rounds):
            expected = await version()
            responses = await asyncio.gather(
                *(race({"If-Match": str(expected)}, r * racers + i) for i in range(racers))
            )
            winners = [x for x in responses if x.status_code == 201]
            losers = [x for x in responses if x.status_code != 201]
            assert len(winners) == 1, [x.status_code for x in responses]
            assert winners[0].json()["version"] == expected + 1
            for loser in losers:
                assert loser.status_code == 412 and loser.json()["current_version"] >= expected + 1, loser.text
                assert loser.headers["content-type"].startswith("application/problem+json")
            if_match["winners"] += 1
            if_match["losers"] += len(losers)
            if_match["loser_statuses"] |= {x.status_code for x in losers}
            assert await version() == expected + 1

        # 2. No If-Match: the callers asked for no precondition. A request whose read is overtaken
        #    decides again on the new version: every one lands, each on a version of its own.
        plain = {"winners": 0, "losers": 0, "loser_statuses": set()}
        retries_before = await command_retries(client)
        for r in range(rounds):
            before = await version()
            responses = await asyncio.gather(*(race({}, 10_000 + r * racers + i) for i in range(racers)))
            winners = [x for x in responses if x.status_code == 201]
            losers = [x for x in responses if x.status_code != 201]
            assert losers == [], ([x.text for x in losers], server.errors())
            versions = sorted(x.json()["version"] for x in winners)
            assert versions == list(range(before + 1, before + 1 + racers))  # one version each, none shared
            assert await version() == before + racers
            plain["winners"] += len(winners)
            plain["losers"] += len(losers)
            plain["loser_statuses"] |= {x.status_code for x in losers}
        final = await version()
        retried = (await command_retries(client)).get("visits", 0) - retries_before.get("visits", 0)
    facts = await log_facts(fresh_database_url)
    record(
        "contention",
        {
            "racers": racers,
            "rounds_each_mode": rounds,
            "if_match": {**if_match, "loser_statuses": sorted(if_match["loser_statuses"])},
            "no_if_match": {**plain, "loser_statuses": sorted(plain["loser_statuses"]), "server_retries": retried},
            "final_version": final,
            "successes": if_match["winners"] + plain["winners"],
            "duplicates": facts.duplicates,
        },
    )
    assert final == initial + if_match["winners"] + plain["winners"]
    assert plain["winners"] == rounds * racers
    assert retried > 0  # the race really happened: the server decided again
    assert facts.streams_contiguous and facts.duplicates == 0 and facts.gaps == 0
