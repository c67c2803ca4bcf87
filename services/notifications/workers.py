"""notifications: the long-running workers started by the app (ServiceSpec.workers).

- `dispatcher`: works the outbox. Each delivery claims its row with FOR UPDATE SKIP LOCKED and
  keeps the lock until the attempt is recorded, so several dispatchers (in one process or many)
  never send the same attempt twice; a dispatcher killed mid-delivery rolls back, and the row is
  tried again with the same `webhook-id`. Retry timing is operational and runs on the wall clock.
- `clock`: the generic deadline clock, on the injected clock (`app_state.clock`): every DeadlineSet
  whose due time passes unmet becomes one EscalationRaised in `escalation-<uuid5(deadline_id)>`,
  appended at expected version 0, so it is raised once however many clocks run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from standardwebhooks import Webhook

from services.notifications import destinations, rules
from services.notifications import events as ev
from services.notifications.projections import OUTBOX_CHANNEL, SERVICE
from shared.deadlines import DEADLINE_CANCELLED, DEADLINE_MET
from shared.eventstore import NO_STREAM, NewEvent, WrongExpectedVersion
from shared.tasks import stop_task

log = logging.getLogger(__name__)

DISPATCH_CONCURRENCY = 4
USER_AGENT = "carelog-webhooks/1"


def _system_metadata(*, causation_id: uuid.UUID | None, summary: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"actor_id": f"system:{SERVICE}", "actor_role": "system", "service": SERVICE}
    if causation_id is not None:
        meta["causation_id"] = str(causation_id)
        meta["correlation_id"] = str(causation_id)
    meta["summary"] = summary
    return meta


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
    engine = app_state.engine
    store = app_state.store
    settings = app_state.settings
    now = app_state.clock.now()
    async with engine.connect() as conn, conn.begin():
        row = (
            await conn.execute(
                text(
                    "SELECT * FROM notifications_outbox WHERE status = 'pending' AND next_attempt_at <= :now "
                    "ORDER BY next_attempt_at, outbox_id LIMIT 1 FOR UPDATE SKIP LOCKED"
                ),
                {"now": now},
            )
        ).first()
        if row is None:
            return False
        sub = (
            await conn.execute(
                text(
                    "SELECT s.url, s.status, s.secret_version, k.secret FROM notifications_subscriptions s "
                    "LEFT JOIN notifications_subscription_secrets k ON k.subscription_id = s.subscription_id "
                    "AND k.secret_version = s.secret_version WHERE s.subscription_id = :id"
                ),
                {"id": row.subscription_id},
            )
        ).first()
        if sub is None or sub.status != "active" or not sub.secret:
            await conn.execute(
                text(
                    "UPDATE notifications_outbox SET status = 'cancelled', last_error = 'subscription not active', "
                    "updated_at = :at WHERE outbox_id = :id"
                ),
                {"id": row.outbox_id, "at": now},
            )
            return True

        attempt = row.attempts + 1
        body = orjson.dumps(row.body).decode()
        attempted_at = now
        signed_at = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": row.webhook_id,
            "webhook-timestamp": str(int(signed_at.timestamp())),
            "webhook-signature": sign(sub.secret, row.webhook_id, signed_at, body),
        }
        started = time.monotonic()
        status_code: int | None = None
        error: str | None = None
        try:
            # Resolved and checked now, and sent to the address checked (see destinations.py).
            async with asyncio.timeout(settings.webhook_timeout_seconds):
                target = await destinations.destination(
                    sub.url, rules.parse_networks(settings.webhook_allowed_networks)
                )
            response = await http.post(
                target.url,
                content=body,
                headers={**headers, **target.headers},
                extensions=target.extensions,
                timeout=settings.webhook_timeout_seconds,
            )
            status_code = response.status_code
            if not rules.is_delivered(status_code):
                error = f"HTTP {status_code}"
        except destinations.DestinationRefused as exc:
            error = f"not sent: {exc.reason}"
        except TimeoutError:
            error = "not sent: resolving the receiver's host name timed out"
        except httpx.HTTPError as exc:
            # The kind of failure only: httpx's message names the address and port it tried.
            error = type(exc).__name__
        duration_ms = int((time.monotonic() - started) * 1000)

        next_at: datetime | None = None
        if rules.is_delivered(status_code):
            outcome, new_status = "delivered", "delivered"
        elif rules.is_gone(status_code):
            outcome, new_status = "gone", "cancelled"
        else:
            delay = rules.next_attempt_delay(settings.webhook_retry_schedule, attempt)
            if delay is None:
                outcome, new_status = "dead_lettered", "dead"
            else:
                outcome, new_status = "failed", "pending"
                next_at = attempted_at + timedelta(seconds=delay)

        attempted = ev.DeliveryAttempted(
            outbox_id=row.outbox_id,
            webhook_id=row.webhook_id,
            notification_id=row.notification_id,
            escalation_id=row.escalation_id,
            subscription_id=row.subscription_id,
            recipient=row.recipient,
            url=destinations.without_credentials(sub.url),
            attempt=attempt,
            outcome=outcome,
            status_code=status_code,
            error=error,
            attempted_at=attempted_at,
            duration_ms=duration_ms,
            next_attempt_at=next_at,
        )
        # The summary is in the child's chronology: the outcome, not why (status code and error are
        # in the event, for those who may read the raw log).
        summary = {
            "delivered": f"Webhook delivered to {row.recipient.replace('_', ' ')}",
            "failed": f"Webhook to {row.recipient.replace('_', ' ')} failed; will retry",
            "dead_lettered": f"Webhook to {row.recipient.replace('_', ' ')} failed after every retry; dead-lettered",
            "gone": f"Webhook receiver for {row.recipient.replace('_', ' ')} is gone (HTTP 410); disabled",
        }[outcome]
        await store.append(
            row.message_stream,
            [
                NewEvent(
                    type=ev.DELIVERY_ATTEMPTED,
                    data=attempted.model_dump(mode="json"),
                    occurred_at=attempted_at,
                    child_ids=tuple(row.child_ids or ()),
                    metadata=_system_metadata(causation_id=row.source_event_id, summary=summary),
                )
            ],
        )
        if outcome == "gone":
            await _disable_gone(app_state, row.subscription_id, row.source_event_id)
        elif outcome == "dead_lettered" and not _is_dead_letter_escalation(row):
            await _escalate_dead_letter(app_state, row)
        await conn.execute(
            text(
                "UPDATE notifications_outbox SET attempts = :a, status = :st, "
                "next_attempt_at = coalesce(:next, next_attempt_at), last_status_code = :code, "
                "last_error = :err, updated_at = :at WHERE outbox_id = :id"
            ),
            {
                "a": attempt,
                "st": new_status,
                "next": next_at,
                "code": status_code,
                "err": error,
                "at": attempted_at,
                "id": row.outbox_id,
            },
        )
    return True


def _is_dead_letter_escalation(row: Any) -> bool:
    data = (row.body or {}).get("data") or {}
    return row.message_type == ev.ESCALATION_RAISED and data.get("reason") == "delivery_dead_lettered"


async def _disable_gone(app_state: Any, subscription_id: uuid.UUID, cause: uuid.UUID) -> None:
    store = app_state.store
    stream = f"subscription-{subscription_id}"
    events = await store.read_stream(stream)
    if any(e.type == ev.SUBSCRIPTION_DISABLED for e in events):
        return
    now = app_state.clock.now()
    reason = "the receiver answered 410 Gone"
    await store.append(
        stream,
        [
            NewEvent(
                type=ev.SUBSCRIPTION_DISABLED,
                data=ev.SubscriptionDisabled(subscription_id=subscription_id, reason=reason).model_dump(mode="json"),
                occurred_at=now,
                metadata=_system_metadata(causation_id=cause, summary=f"Webhook receiver disabled: {reason}"),
                event_id=uuid.uuid5(subscription_id, "disabled:gone"),
            )
        ],
    )


async def _escalate_dead_letter(app_state: Any, row: Any) -> None:
    escalation_id = rules.escalation_id_for_dead_letter(row.outbox_id)
    what = "notification" if row.notification_id else "escalation"
    # Every reader of escalations sees this: the receiver by its subscription, not its URL, and no
    # error text (the attempts hold it for those who may read the raw log).
    description = (
        f"A {what} could not be delivered to {row.recipient.replace('_', ' ')} "
        f"(subscription {row.subscription_id}) after every retry. "
        "Send it another way and record the acknowledgement."
    )
    raised = ev.EscalationRaised(
        escalation_id=escalation_id,
        reason="delivery_dead_lettered",
        child_ids=list(row.child_ids or ()),
        raised_at=app_state.clock.now(),
        escalate_to="registered_manager",
        description=description,
        source="Fostering Services (England) Regulations 2011 reg 36; NMS 29",
        notification_id=row.notification_id,
        outbox_id=row.outbox_id,
        subject=row.message_stream,
    )
    with contextlib.suppress(WrongExpectedVersion):
        await app_state.store.append(
            f"escalation-{escalation_id}",
            [
                NewEvent(
                    type=ev.ESCALATION_RAISED,
                    data=raised.model_dump(mode="json"),
                    occurred_at=raised.raised_at,
                    child_ids=tuple(row.child_ids or ()),
                    metadata=_system_metadata(
                        causation_id=row.source_event_id,
                        summary=f"Escalated to the registered manager: {description}",
                    ),
                    event_id=uuid.uuid5(escalation_id, "raised"),
                )
            ],
            NO_STREAM,
        )


async def wait_or_timeout(event: asyncio.Event, seconds: float) -> None:
    """Wait for `event` at most `seconds`. Not `asyncio.wait_for`: on Python 3.11 it can swallow a
    cancellation that arrives as the event is set, and the worker would then never stop."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


async def _delivery_loop(app_state: Any, http: httpx.AsyncClient, wake: asyncio.Event) -> None:
    interval = app_state.settings.dispatcher_interval
    while True:
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


async def dispatcher(app_state: Any, concurrency: int = DISPATCH_CONCURRENCY) -> None:
    """Work the outbox until cancelled."""
    wake = asyncio.Event()
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as http:
        tasks = [asyncio.create_task(_listen(app_state, wake), name="notifications-outbox-listen")]
        tasks += [
            asyncio.create_task(_delivery_loop(app_state, http, wake), name=f"notifications-dispatch-{i}")
            for i in range(concurrency)
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                await stop_task(task)


# ---- the generic clock -----------------------------------------------------------------------
# The types are literals so that the planner matches the partial index events_deadline_closed.
_DEADLINE_CLOSED = text(
    f"SELECT 1 FROM events WHERE type IN ('{DEADLINE_MET}', '{DEADLINE_CANCELLED}') "
    "AND data->>'deadline_id' = :id LIMIT 1"
)


def _deadline_still_open(deadline_id: uuid.UUID) -> Any:
    """Checked inside the locked append: no DeadlineMet/Cancelled may slip in before the escalation."""

    async def check(conn: AsyncConnection) -> None:
        closed = (await conn.execute(_DEADLINE_CLOSED, {"id": str(deadline_id)})).first()
        if closed is not None:
            raise DeadlineClosed(str(deadline_id))

    return check


async def raise_due_escalations(app_state: Any, limit: int = 500) -> int:
    """One tick of the clock: escalate every open deadline whose due time has passed. Returns how many."""
    runner = app_state.runners.get(SERVICE) if getattr(app_state, "runners", None) else None
    if runner is not None:
        await runner.catch_up()
    now = app_state.clock.now()
    async with app_state.engine.connect() as conn:
        due = list(
            await conn.execute(
                text(
                    "SELECT * FROM notifications_deadlines WHERE status = 'open' AND escalation_id IS NULL "
                    "AND due_at < :now ORDER BY due_at LIMIT :n"
                ),
                {"now": now, "n": limit},
            )
        )
    raised = 0
    for deadline in due:
        escalation_id = rules.escalation_id_for_deadline(deadline.deadline_id)
        data = ev.EscalationRaised(
            escalation_id=escalation_id,
            reason="deadline_missed",
            deadline_id=deadline.deadline_id,
            deadline_kind=deadline.kind,
            subject=deadline.subject,
            child_ids=list(deadline.child_ids or ()),
            household_id=deadline.household_id,
            due_at=deadline.due_at,
            raised_at=now,
            escalate_to=deadline.escalate_to,
            description=deadline.description,
            source=deadline.source,
        )
        who = deadline.escalate_to.replace("_", " ")
        summary = f"Escalated to the {who}: {deadline.description} was due {deadline.due_at:%d %b %Y %H:%M}"
        try:
            await app_state.store.append(
                f"escalation-{escalation_id}",
                [
                    NewEvent(
                        type=ev.ESCALATION_RAISED,
                        data=data.model_dump(mode="json"),
                        occurred_at=now,
                        child_ids=tuple(deadline.child_ids or ()),
                        metadata=_system_metadata(causation_id=deadline.set_event_id, summary=summary),
                        event_id=uuid.uuid5(escalation_id, "raised"),
                    )
                ],
                NO_STREAM,
                _deadline_still_open(deadline.deadline_id),
            )
            raised += 1
        except (WrongExpectedVersion, DeadlineClosed):
            continue
    if raised and runner is not None:
        await runner.catch_up()
    return raised


async def clock(app_state: Any) -> None:
    """Tick every settings.clock_interval until cancelled."""
    while True:
        try:
            await raise_due_escalations(app_state)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("deadline clock tick failed; will retry")
        await asyncio.sleep(app_state.settings.clock_interval)
