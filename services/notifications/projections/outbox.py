"""notifications: the rows the workers work on: the outbox row a dispatcher claims (locked until its
attempt is recorded), the receiver it goes to, and the deadlines due for the clock."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifications.rules import OpenDeadline, OutboxRow


# ---- the outbox --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Receiver:
    """Where a subscription's messages go, if it is active and has its secret."""

    url: str
    secret: str


_CLAIM = text(
    "SELECT * FROM notifications_outbox WHERE status = 'pending' AND next_attempt_at <= :now "
    "ORDER BY next_attempt_at, outbox_id LIMIT 1 FOR UPDATE SKIP LOCKED"
)
_RECEIVER = text(
    "SELECT s.url, s.status, s.secret_version, k.secret FROM notifications_subscriptions s "
    "LEFT JOIN notifications_subscription_secrets k ON k.subscription_id = s.subscription_id "
    "AND k.secret_version = s.secret_version WHERE s.subscription_id = :id"
)
_CANCEL = text(
    "UPDATE notifications_outbox SET status = 'cancelled', last_error = 'subscription not active', "
    "updated_at = :at WHERE outbox_id = :id"
)
_ATTEMPTED = text(
    "UPDATE notifications_outbox SET attempts = :a, status = :st, "
    "next_attempt_at = coalesce(:next, next_attempt_at), last_status_code = :code, "
    "last_error = :err, updated_at = :at WHERE outbox_id = :id"
)


async def claim_due(conn: AsyncConnection, now: datetime) -> OutboxRow | None:
    """The next due row, locked (FOR UPDATE SKIP LOCKED) for the rest of `conn`'s transaction."""
    row = (await conn.execute(_CLAIM, {"now": now})).first()
    if row is None:
        return None
    return OutboxRow(
        outbox_id=row.outbox_id,
        webhook_id=row.webhook_id,
        subscription_id=row.subscription_id,
        recipient=row.recipient,
        message_type=row.message_type,
        message_stream=row.message_stream,
        source_event_id=row.source_event_id,
        notification_id=row.notification_id,
        escalation_id=row.escalation_id,
        child_ids=tuple(row.child_ids or ()),
        body=row.body or {},
        attempts=row.attempts,
    )


async def receiver(conn: AsyncConnection, subscription_id: uuid.UUID) -> Receiver | None:
    row = (await conn.execute(_RECEIVER, {"id": subscription_id})).first()
    if row is None or row.status != "active" or not row.secret:
        return None
    return Receiver(url=row.url, secret=row.secret)


async def cancel(conn: AsyncConnection, outbox_id: uuid.UUID, at: datetime) -> None:
    await conn.execute(_CANCEL, {"id": outbox_id, "at": at})


async def attempted(
    conn: AsyncConnection,
    outbox_id: uuid.UUID,
    *,
    attempt: int,
    status: str,
    next_attempt_at: datetime | None,
    status_code: int | None,
    error: str | None,
    at: datetime,
) -> None:
    """Move the claimed row as its attempt left it (the projector does the same from the log)."""
    await conn.execute(
        _ATTEMPTED,
        {
            "a": attempt,
            "st": status,
            "next": next_attempt_at,
            "code": status_code,
            "err": error,
            "at": at,
            "id": outbox_id,
        },
    )


# ---- the clock ---------------------------------------------------------------------------------
_DUE = (
    "SELECT deadline_id, set_event_id, kind, subject, child_ids, household_id, due_at, escalate_to, description, "
    "source FROM notifications_deadlines WHERE status = 'open' AND escalation_id IS NULL AND due_at < $1 "
    "ORDER BY due_at, deadline_id LIMIT $2"
)


async def due_deadlines(conn: Any, now: datetime, limit: int) -> list[OpenDeadline]:
    """Open, unescalated deadlines due before `now`, the most overdue first (ties by id, so the same
    log escalates in the same order: the demo is the same twice).
    A driver connection."""
    rows = await conn.fetch(_DUE, now, limit)
    return [OpenDeadline(**{**dict(r), "child_ids": tuple(r["child_ids"] or ())}) for r in rows]
