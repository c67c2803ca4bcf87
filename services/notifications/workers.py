"""notifications: the long-running workers started by the app (ServiceSpec.workers).

- `dispatcher`: works the outbox. Each delivery claims its row with FOR UPDATE SKIP LOCKED and
  keeps the lock until the attempt is recorded, so several dispatchers (in one process or many)
  never send the same attempt twice; a dispatcher killed mid-delivery rolls back, and the row is
  tried again with the same `webhook-id`. When the app stops, each delivery in flight is finished
  and recorded first (the app's `stopping` event; shared.tasks.stop_tasks).
- `clock`: the generic deadline clock, on the injected clock (`app_state.clock`): every DeadlineSet
  whose due time passes unmet becomes one EscalationRaised in `escalation-<uuid5(deadline_id)>`,
  appended at expected version 0, so it is raised once however many clocks run.

What to record is decided by commands.py (decide_attempt, decide_escalations...); here is the I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncConnection
from standardwebhooks import Webhook

from services.notifications import commands, destinations, email, rules
from services.notifications.events import subscription_stream
from services.notifications.projections import OUTBOX_CHANNEL, outbox
from shared.eventstore import NO_STREAM, EventStore, WrongExpectedVersion
from shared.settings import Settings
from shared.tasks import stop_task, wait_or_timeout

log = logging.getLogger(__name__)

DISPATCH_CONCURRENCY = 4
USER_AGENT = "carelog-webhooks/1"


class DeadlineClosed(Exception):
    """The deadline was met or cancelled before the escalation could be appended."""


# ---- the dispatcher --------------------------------------------------------------------------
def sign(secret: str, webhook_id: str, timestamp: datetime, body: str) -> str:
    return Webhook(secret).sign(webhook_id, timestamp, body)


async def deliver_next(app_state: Any, http: httpx.AsyncClient) -> bool:
    """Claim one due outbox row, send it, record the attempt. False when nothing is due.

    The outbox is a projection of the log, so its times are the agency's clock (the one recorded_at
    is read from): when an attempt is due, when it was made and when the next is. Only the
    signature's timestamp is the wall clock's: the receiver checks it against its own."""
    now = app_state.clock.now()
    async with app_state.engine.connect() as conn, conn.begin():
        row = await outbox.claim_due(conn, now)
        if row is None:
            return False
        receiver = await outbox.receiver(conn, row.subscription_id)
        if receiver is None:
            await outbox.cancel(conn, row.outbox_id, now)
            return True
        if email.is_email(receiver.url):
            sent = await email.send_email(app_state.settings, row, receiver.url, now)
        else:
            sent = await send(app_state.settings, http, row, receiver)
        attempt = commands.decide_attempt(
            row, receiver.url, sent, app_state.settings.webhook_retry_schedule, now, uuid.uuid4()
        )
        await app_state.store.append(row.message_stream, [attempt.event])
        await _after(app_state, row, attempt.result.outcome, now)
        await _attempted(conn, row, attempt, sent, now)
    return True


async def send(
    settings: Settings, http: httpx.AsyncClient, row: rules.OutboxRow, receiver: outbox.Receiver
) -> commands.Sent:
    """One try: resolved and checked now, and sent to the address checked (see destinations.py)."""
    body = orjson.dumps(row.body).decode()
    signed_at = datetime.now(UTC)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": row.webhook_id,
        "webhook-timestamp": str(int(signed_at.timestamp())),
        "webhook-signature": sign(receiver.secret, row.webhook_id, signed_at, body),
    }
    started = time.monotonic()
    status_code: int | None = None
    error: str | None = None
    try:
        async with asyncio.timeout(settings.webhook_timeout_seconds):
            target = await destinations.destination(
                receiver.url, rules.parse_networks(settings.webhook_allowed_networks)
            )
        response = await http.post(
            target.url,
            content=body,
            headers={**headers, **target.headers},
            extensions=target.extensions,
            timeout=settings.webhook_timeout_seconds,
        )
        status_code = response.status_code
        error = None if rules.is_delivered(status_code) else f"HTTP {status_code}"
    except destinations.DestinationRefused as exc:
        error = f"not sent: {exc.reason}"
    except TimeoutError:
        error = "not sent: resolving the receiver's host name timed out"
    except httpx.HTTPError as exc:
        # The kind of failure only: httpx's message names the address and port it tried.
        error = type(exc).__name__
    return commands.Sent(status_code, error, int((time.monotonic() - started) * 1000))


async def _after(app_state: Any, row: rules.OutboxRow, outcome: str, now: datetime) -> None:
    """A receiver that is gone is disabled; a message no retry delivered is escalated (but not an
    escalation of a dead letter that died itself)."""
    store: EventStore = app_state.store
    if outcome == "gone":
        stream = subscription_stream(row.subscription_id)
        state = commands.subscription_state(row.subscription_id, await store.read_stream(stream))
        disabled = commands.decide_gone(state, row.source_event_id, now)
        if disabled:
            await store.append(stream, disabled)
    elif outcome == "dead_lettered" and not row.escalates_a_dead_letter:
        escalation = commands.decide_dead_letter(row, now)
        with contextlib.suppress(WrongExpectedVersion):
            await store.append(escalation.stream_id, [escalation.event], NO_STREAM)


async def _attempted(
    conn: AsyncConnection, row: rules.OutboxRow, attempt: commands.Attempt, sent: commands.Sent, now: datetime
) -> None:
    await outbox.attempted(
        conn,
        row.outbox_id,
        attempt=attempt.number,
        status=rules.OUTBOX_STATUS_AFTER[attempt.result.outcome],
        next_attempt_at=attempt.result.next_attempt_at,
        status_code=sent.status_code,
        error=sent.error,
        at=now,
    )


async def _delivery_loop(app_state: Any, http: httpx.AsyncClient, wake: asyncio.Event) -> None:
    interval = app_state.settings.dispatcher_interval
    stopping: asyncio.Event = app_state.stopping
    while not stopping.is_set():
        try:
            if await deliver_next(app_state, http):
                continue
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("webhook delivery failed; will retry")
        await wait_or_timeout(wake, interval)
        wake.clear()


async def _listen(app_state: Any, wake: asyncio.Event) -> None:
    """LISTEN for new outbox rows (notified by the projector on commit); polling is the fallback."""
    while True:
        try:
            async with app_state.engine.connect() as conn:
                raw: Any = (await conn.get_raw_connection()).driver_connection

                def on_notify(*_: object) -> None:
                    wake.set()

                await raw.add_listener(OUTBOX_CHANNEL, on_notify)
                try:
                    while not raw.is_closed():  # noqa: ASYNC110  (polls the connection state)
                        await asyncio.sleep(1.0)
                finally:
                    with contextlib.suppress(Exception):
                        await raw.remove_listener(OUTBOX_CHANNEL, on_notify)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.info("outbox LISTEN connection lost; reconnecting")
        await asyncio.sleep(1.0)


async def _wake_when_stopping(stopping: asyncio.Event, wake: asyncio.Event) -> None:
    await stopping.wait()
    wake.set()


async def dispatcher(app_state: Any, concurrency: int = DISPATCH_CONCURRENCY) -> None:
    """Work the outbox until the app is stopping (each delivery in flight is finished and recorded)
    or until cancelled (a delivery in flight rolls back, and is sent again with its webhook-id)."""
    wake = asyncio.Event()
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as http:
        helpers = [
            asyncio.create_task(_listen(app_state, wake), name="notifications-outbox-listen"),
            asyncio.create_task(_wake_when_stopping(app_state.stopping, wake), name="notifications-outbox-stop"),
        ]
        deliveries = [
            asyncio.create_task(_delivery_loop(app_state, http, wake), name=f"notifications-dispatch-{i}")
            for i in range(concurrency)
        ]
        try:
            await asyncio.wait(deliveries)
        finally:
            for task in [*deliveries, *helpers]:
                await stop_task(task)


# ---- the generic clock -----------------------------------------------------------------------
def _still_open(store: EventStore, deadline_id: uuid.UUID) -> Callable[[AsyncConnection], Any]:
    """Checked inside the locked append, in the log itself (the read model may lag): no DeadlineMet
    or DeadlineCancelled may slip in before the escalation."""

    async def check(conn: AsyncConnection) -> None:
        if await store.deadline_closed(deadline_id, conn):
            raise DeadlineClosed(str(deadline_id))

    return check


async def raise_due_escalations(app_state: Any, limit: int = 500) -> int:
    """One tick of the clock: escalate every open deadline whose due time has passed. Returns how many."""
    runner = app_state.runners.get(commands.SERVICE) if getattr(app_state, "runners", None) else None
    if runner is not None:
        await runner.catch_up()
    now = app_state.clock.now()
    store: EventStore = app_state.store
    async with store.acquire() as conn:
        due = await outbox.due_deadlines(conn, now, limit)
    raised = 0
    for escalation in commands.decide_escalations(due, now):
        assert escalation.deadline_id is not None
        try:
            await store.append(
                escalation.stream_id, [escalation.event], NO_STREAM, _still_open(store, escalation.deadline_id)
            )
            raised += 1
        except (WrongExpectedVersion, DeadlineClosed):
            continue
    if raised and runner is not None:
        await runner.catch_up()
    return raised


async def clock(app_state: Any) -> None:
    """Tick every settings.clock_interval until the app is stopping."""
    while not app_state.stopping.is_set():
        try:
            await raise_due_escalations(app_state)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("deadline clock tick failed; will retry")
        await wait_or_timeout(app_state.stopping, app_state.settings.clock_interval)
