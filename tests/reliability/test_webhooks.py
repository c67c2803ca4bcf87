"""A webhook receiver that is down (connections reset, then 5xx) for longer than several retry
intervals, then back: every message is delivered afterwards, none lost. A receiver that never
comes back is dead-lettered and escalated, and an unacknowledged notification escalates when its
due time passes."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from services.app import create_app
from shared.auth import Role
from shared.clock import ManualClock
from shared.db import as_role
from tests.builders import place_child, register_child
from tests.conftest import settle
from tests.conftest import test_settings as make_settings
from tests.notifications import helpers as h
from tests.reliability.support import JWT_SECRET, app_env, record, replay_and_compare, token

pytestmark = pytest.mark.reliability

SCHEDULE = [0, 0.5, 1, 1, 1, 1, 1, 1]  # 6.5 s of retries, then dead letter


class FlakyReceiver:
    """A raw HTTP/1.1 receiver on 127.0.0.1 whose mode is `reset` (RST on accept), `error` (503)
    or `up` (200, recording each webhook-id)."""

    def __init__(self) -> None:
        self.mode = "up"
        self.delivered: Counter[str] = Counter()
        self.refused = Counter[str]()
        self.server: asyncio.base_events.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self.mode == "reset":
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.refused["reset"] += 1
                writer.transport.abort()
                return
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                await reader.readexactly(int(headers.get("content-length", "0")))
                if self.mode == "up":
                    self.delivered[headers["webhook-id"]] += 1
                    status = b"200 OK"
                else:
                    self.refused["5xx"] += 1
                    status = b"503 Service Unavailable"
                writer.write(b"HTTP/1.1 " + status + b"\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nno")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()


async def test_receiver_down_then_back_loses_nothing_and_the_dead_one_escalates(
    fresh_database_url: str, full_size: bool
) -> None:
    messages = 100 if full_size else 20
    clock = ManualClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    clock.run()  # the retry schedule is due as real time passes
    settings = make_settings(
        jwt_secret=JWT_SECRET, webhook_retry_schedule=SCHEDULE, dispatcher_interval=0.1, webhook_timeout_seconds=2.0
    )
    application = create_app(settings, database_url=as_role(fresh_database_url), clock=clock)
    flaky, dead = FlakyReceiver(), FlakyReceiver()
    await flaky.start()
    await dead.start()
    dead.mode = "error"
    admin = token(Role.ADMIN, "admin-hooks")
    manager = token(Role.REGISTERED_MANAGER, "rm-hooks")
    try:
        async with h.lifespan(application):
            transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://carelog.test", timeout=30) as client:
                for url, recipient in ((flaky.url("/ofsted"), "ofsted"), (dead.url("/pa"), "placing_authority")):
                    response = await client.post(
                        "/v1/subscriptions", json={"url": url, "recipient": recipient}, headers=admin
                    )
                    assert response.status_code == 201, response.text

                # The receiver goes down: resets first, then 5xx; meanwhile the notifications are raised.
                flaky.mode = "reset"
                down_started = time.monotonic()

                async def overdose(n: int) -> None:
                    authority = f"Authority {n}"
                    child = await register_child(
                        application, at=clock.now() - timedelta(days=30), placing_authority=authority
                    )
                    await place_child(
                        application, child, at=clock.now() - timedelta(days=20), placing_authority=authority
                    )
                    await h.incident(application, child, clock.now(), "overdose")

                async def outbox(path: str) -> list[Any]:
                    async with application.state.engine.connect() as conn:
                        return list(
                            await conn.execute(
                                text(
                                    "SELECT o.* FROM notifications_outbox o JOIN notifications_subscriptions s "
                                    "ON s.subscription_id = o.subscription_id WHERE s.url LIKE :u"
                                ),
                                {"u": f"%{path}"},
                            )
                        )

                async def each_refused_once() -> bool:
                    await settle(application)
                    rows = await outbox("/ofsted")
                    return len(rows) == messages and all(r.attempts >= 1 for r in rows)

                await asyncio.gather(*(overdose(n) for n in range(messages)))  # group-committed: quick
                # Down for at least 3.2 s (longer than the first four retry intervals: 0, 0.5, 1, 1), and
                # until every message has been refused once, however slowly a loaded machine raised them.
                await asyncio.sleep(max(0.0, 1.6 - (time.monotonic() - down_started)))
                flaky.mode = "error"
                await asyncio.sleep(1.6)
                await h.eventually(each_refused_once, timeout=60, interval=0.2)
                down_for = time.monotonic() - down_started
                flaky.mode = "up"

                progress: dict[str, Any] = {}

                async def all_settled() -> bool:
                    await settle(application)
                    rows = await outbox("/ofsted")
                    dead_rows = await outbox("/pa")
                    progress["ofsted"] = Counter(r.status for r in rows)
                    progress["pa"] = Counter(r.status for r in dead_rows)
                    progress["attempts"] = Counter(r.attempts for r in rows + dead_rows)
                    progress["errors"] = Counter(r.last_error for r in rows)
                    return (
                        len(rows) == messages
                        and all(r.status == "delivered" for r in rows)
                        and len(dead_rows) == messages
                        and all(r.status == "dead" for r in dead_rows)
                    )

                try:
                    await h.eventually(all_settled, timeout=120 if full_size else 60, interval=0.3)
                except AssertionError as exc:
                    raise AssertionError(f"outbox not settled: {progress}") from exc
                rows = await outbox("/ofsted")
                dead_rows = await outbox("/pa")
                lost = [r.webhook_id for r in rows if flaky.delivered[r.webhook_id] == 0]
                retried = sum(1 for r in rows if r.attempts > 1)

                # Every dead letter is escalated to the registered manager.
                async def dead_letters() -> list[dict[str, Any]]:
                    listed = await client.get("/v1/escalations", params={"limit": 1000}, headers=manager)
                    return [e for e in listed.json()["escalations"] if e["reason"] == "delivery_dead_lettered"]

                async def all_dead_escalated() -> bool:
                    await settle(application)
                    return len(await dead_letters()) == messages

                await h.eventually(all_dead_escalated, timeout=30, interval=0.3)

                # Nobody acknowledged: when the due time passes, each notification escalates.
                clock.advance(timedelta(hours=25))

                async def overdue_escalated() -> bool:
                    await settle(application)
                    listed = await client.get("/v1/escalations", params={"limit": 1000}, headers=manager)
                    kinds = Counter(e["deadline_kind"] for e in listed.json()["escalations"])
                    return kinds["notifications.acknowledgement"] >= messages

                await h.eventually(overdue_escalated, timeout=30, interval=0.3)
                escalations = (await client.get("/v1/escalations", params={"limit": 1000}, headers=manager)).json()[
                    "escalations"
                ]

                # The clock and the dispatcher keep working in the background: before the live
                # tables are compared with a replay, wait until they have nothing left to append
                # and every projection has applied the head.
                async def quiet() -> bool:
                    before = (await application.state.store.head())[0]
                    await settle(application)
                    await asyncio.sleep(0.5)
                    await settle(application)
                    return (await application.state.store.head())[0] == before

                await h.eventually(quiet, timeout=30, interval=0.1)
    finally:
        await flaky.stop()
        await dead.stop()
    replay = await replay_and_compare(fresh_database_url, app_env(fresh_database_url))
    figures = {
        "messages": messages,
        "down_seconds": round(down_for, 1),
        "resets": flaky.refused["reset"],
        "5xx": flaky.refused["5xx"],
        "delivered": sum(1 for r in rows if r.status == "delivered"),
        "lost": len(lost),
        "retried_messages": retried,
        "max_attempts": max(r.attempts for r in rows),
        "redelivered_duplicates": sum(n - 1 for n in flaky.delivered.values()),
        "dead_lettered": len(dead_rows),
        "dead_letter_escalations": len([e for e in escalations if e["reason"] == "delivery_dead_lettered"]),
        "due_time_escalations": len([e for e in escalations if e["deadline_kind"] == "notifications.acknowledgement"]),
        "replay_differences": replay.differences,
    }
    record("webhooks", figures)
    assert figures["delivered"] == messages and lost == []
    assert retried == messages  # every message was refused at least once before it got through
    assert flaky.refused["reset"] > 0 and flaky.refused["5xx"] > 0
    assert figures["dead_letter_escalations"] == messages
    assert figures["due_time_escalations"] >= messages
    assert replay.differences == 0, replay.detail
