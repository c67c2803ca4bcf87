"""notifications: the read model of notifications, deliveries, escalations, subscriptions and
deadlines, and the webhook outbox, which is written in the transaction of the checkpoint.

A pure function of the log: no wall clock here (the outbox's first attempt is due when the message
was recorded; retries are scheduled by the dispatcher and carried in DeliveryAttempted)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text

from services.notifications import rules
from shared.contracts.base import Event
from shared.contracts.deadlines import DeadlineCancelled, DeadlineMet, DeadlineSet
from shared.contracts.notifications import (
    DeliveryAttempted,
    EscalationRaised,
    NotificationAcknowledged,
    NotificationRaised,
    SubscriptionCreated,
    SubscriptionDisabled,
    SubscriptionSecretRotated,
)
from shared.eventstore import Batch, Projector, RecordedEvent, handles

# Dispatchers LISTEN here: a new outbox row is announced when its transaction commits.
OUTBOX_CHANNEL = "carelog_notifications_outbox"
# Subscriptions are read as a set (every active one for some recipients): their writes share one key.
_SUBSCRIPTIONS = ("notifications_subscriptions",)


class NotificationsView(Projector):
    """Notifications, deliveries, escalations, subscriptions, deadlines and the outbox."""

    # The dispatcher appends DeliveryAttempted while it holds the outbox row locked: never in the
    # append's own transaction (see Projector.inline).
    inline = False

    name = "notifications_view"
    tables = (
        "notifications_deadlines",
        "notifications_notifications",
        "notifications_attempts",
        "notifications_escalations",
        "notifications_subscriptions",
        "notifications_outbox",
    )
    replay_cost = 9  # seconds alone at 100k bench events (Projector.replay_cost)

    # ---- deadlines ---------------------------------------------------------------------------
    @handles(DeadlineSet)
    async def _deadline_set(self, batch: Batch, deadline: DeadlineSet, event: RecordedEvent) -> None:
        batch.write(
            _UPSERT_DEADLINE,
            {
                "id": deadline.deadline_id,
                "e": event.event_id,
                "k": deadline.kind,
                "s": deadline.subject,
                "c": [str(c) for c in deadline.child_ids or event.child_ids],
                "h": deadline.household_id,
                "st": deadline.started_at,
                "due": deadline.due_at,
                "to": deadline.escalate_to or "registered_manager",
                "desc": deadline.description or deadline.kind,
                "src": deadline.source,
            },
            ("notifications_deadlines", deadline.deadline_id),
        )

    @handles(DeadlineMet)
    async def _deadline_met(self, batch: Batch, met: DeadlineMet, event: RecordedEvent) -> None:
        _close_deadline(batch, met.deadline_id, "met", met.met_at, "deadline met")

    @handles(DeadlineCancelled)
    async def _deadline_cancelled(self, batch: Batch, cancelled: DeadlineCancelled, event: RecordedEvent) -> None:
        resolution = f"deadline cancelled: {cancelled.reason}".strip(": ")
        _close_deadline(batch, cancelled.deadline_id, "cancelled", event.occurred_at, resolution)

    # ---- notifications -----------------------------------------------------------------------
    @handles(NotificationRaised)
    async def _raised(self, batch: Batch, raised: NotificationRaised, event: RecordedEvent) -> None:
        subscribed, queued = await _enqueue(
            batch,
            event,
            raised,
            recipients=raised.recipients,
            authorities=raised.placing_authorities,
            notification_id=raised.notification_id,
            area_authority=raised.area_authority,
        )
        # A new notification: nothing acknowledged yet, and only the messages just queued.
        standing = _Standing(list(raised.recipients), [], dict.fromkeys(queued, (0, "pending")))
        status = standing.status()[0]
        batch.write(
            _INSERT_NOTIFICATION,
            {
                "id": raised.notification_id,
                "v": event.stream_version,
                "e": event.event_id,
                "rs": raised.rule_set,
                "rid": raised.rule_id,
                "rv": raised.rule_version,
                "row": raised.row,
                "title": raised.title,
                "rec": raised.recipients,
                "unsub": [r for r in raised.recipients if r not in subscribed],
                "due": raised.due_by,
                "at": event.recorded_at,
                "src": raised.source_event_id,
                "srctype": raised.source_event_type,
                "c": [str(c) for c in event.child_ids],
                "h": raised.household_id,
                "pa": raised.placing_authorities,
                "area": raised.area_authority,
                "data": orjson.dumps(raised.payload()).decode(),
                "status": status,
            },
            ("notifications_notifications", raised.notification_id),
        )
        # Its stream's first event is its only raise: a later one (none is ever appended) would
        # leave the row as it is, which only reading it would tell.
        if event.stream_version == 1:
            batch.keep(("notifications_notifications", raised.notification_id), standing)

    @handles(NotificationAcknowledged)
    async def _acknowledged(self, batch: Batch, ack: NotificationAcknowledged, event: RecordedEvent) -> None:
        standing = await _standing(batch, ack.notification_id)
        entry = {**ack.payload(), "event_id": str(event.event_id)}
        batch.write(
            _ACKNOWLEDGE_NOTIFICATION,
            {"v": event.stream_version, "entry": orjson.dumps([entry]).decode(), "id": ack.notification_id},
            ("notifications_notifications", ack.notification_id),
        )
        if standing is not None:
            # Acknowledged only once every recipient has answered (and since the last of them did).
            standing.acknowledgements.append(entry)
            _write_status(batch, ack.notification_id, standing)

    @handles(DeliveryAttempted)
    async def _attempted(self, batch: Batch, attempt: DeliveryAttempted, event: RecordedEvent) -> None:
        standing = None if attempt.notification_id is None else await _standing(batch, attempt.notification_id)
        batch.write(
            _INSERT_ATTEMPT,
            {
                "e": event.event_id,
                "p": event.position,
                "o": attempt.outbox_id,
                "w": attempt.webhook_id,
                "n": attempt.notification_id,
                "esc": attempt.escalation_id,
                "s": attempt.subscription_id,
                "r": attempt.recipient,
                "a": attempt.attempt,
                "out": attempt.outcome,
                "code": attempt.status_code,
                "err": attempt.error,
                "at": attempt.attempted_at,
                "next": attempt.next_attempt_at,
            },
            ("notifications_attempts", event.event_id),
        )
        # The dispatcher already moved the row when it recorded the attempt; this makes the outbox a
        # function of the log (a rebuild does not re-send what was delivered or dead-lettered).
        batch.write(
            _ATTEMPTED,
            {
                "a": attempt.attempt,
                "st": rules.OUTBOX_STATUS_AFTER[attempt.outcome],
                "next": attempt.next_attempt_at,
                "code": attempt.status_code,
                "err": attempt.error,
                "at": attempt.attempted_at,
                "o": attempt.outbox_id,
            },
            ("notifications_outbox", attempt.outbox_id),
            ("notifications_outbox.notification", attempt.notification_id),
            ("notifications_outbox.subscription", attempt.subscription_id),
        )
        if standing is not None and attempt.notification_id is not None:
            standing.attempted(attempt.outbox_id, attempt.attempt, rules.OUTBOX_STATUS_AFTER[attempt.outcome])
            _write_status(batch, attempt.notification_id, standing)

    # ---- escalations -------------------------------------------------------------------------
    @handles(EscalationRaised)
    async def _escalated(self, batch: Batch, raised: EscalationRaised, event: RecordedEvent) -> None:
        # Resolved at once when its deadline was closed before the escalation was applied: the
        # statement reads the deadline's row after every earlier write of it (its key), not a
        # read-back, which would flush the batch first.
        batch.write(
            _INSERT_ESCALATION,
            {
                "id": raised.escalation_id,
                "e": event.event_id,
                "reason": raised.reason,
                "dl": raised.deadline_id,
                "kind": raised.deadline_kind,
                "subj": raised.subject,
                "c": [str(c) for c in event.child_ids],
                "h": raised.household_id,
                "due": raised.due_at,
                "at": raised.raised_at,
                "to": raised.escalate_to or "registered_manager",
                "desc": raised.description,
                "src": raised.source,
            },
            ("notifications_escalations", raised.escalation_id),
            ("notifications_escalations.deadline", raised.deadline_id),
            ("notifications_deadlines", raised.deadline_id),
        )
        if raised.deadline_id is not None:
            batch.write(
                _ESCALATE_DEADLINE,
                {"e": raised.escalation_id, "id": raised.deadline_id},
                ("notifications_deadlines", raised.deadline_id),
            )
        # Escalations go to the agency's own receivers (`internal`); a dead-lettered delivery of a
        # dead-letter escalation is not escalated again (see workers.py).
        await _enqueue(
            batch, event, raised, recipients=["internal"], authorities=[], escalation_id=raised.escalation_id
        )

    # ---- subscriptions -----------------------------------------------------------------------
    @handles(SubscriptionCreated)
    async def _subscribed(self, batch: Batch, created: SubscriptionCreated, event: RecordedEvent) -> None:
        batch.write(
            _INSERT_SUBSCRIPTION,
            {
                "id": created.subscription_id,
                "v": event.stream_version,
                "url": created.url,
                "r": created.recipient,
                "types": created.event_types,
                "pa": created.placing_authority,
                "desc": created.description,
                "la": created.local_authority,
                "sv": created.secret_version or 1,
                "at": event.occurred_at,
                "by": event.metadata.get("actor_id"),
            },
            _SUBSCRIPTIONS,
        )

    @handles(SubscriptionDisabled)
    async def _disabled(self, batch: Batch, disabled: SubscriptionDisabled, event: RecordedEvent) -> None:
        batch.write(
            _DISABLE_SUBSCRIPTION,
            {"v": event.stream_version, "at": event.occurred_at, "r": disabled.reason, "id": disabled.subscription_id},
            _SUBSCRIPTIONS,
        )
        cancelled = await batch.execute(
            _CANCEL_SUBSCRIPTION_OUTBOX,
            {"id": disabled.subscription_id, "r": f"subscription disabled: {disabled.reason}"},
        )
        for notification_id in {r.notification_id for r in cancelled if r.notification_id is not None}:
            standing = await _standing(batch, notification_id)
            if standing is not None:
                _write_status(batch, notification_id, standing)

    @handles(SubscriptionSecretRotated)
    async def _rotated(self, batch: Batch, rotated: SubscriptionSecretRotated, event: RecordedEvent) -> None:
        batch.write(
            _ROTATE_SUBSCRIPTION_SECRET,
            {"v": event.stream_version, "sv": rotated.secret_version, "id": rotated.subscription_id},
            _SUBSCRIPTIONS,
        )


def _close_deadline(batch: Batch, deadline_id: uuid.UUID, status: str, closed_at: Any, resolution: str) -> None:
    batch.write(
        _CLOSE_DEADLINE,
        {"st": status, "at": closed_at, "id": deadline_id},
        ("notifications_deadlines", deadline_id),
    )
    batch.write(
        _RESOLVE_ESCALATIONS,
        {"at": closed_at, "r": resolution, "id": deadline_id},
        ("notifications_escalations.deadline", deadline_id),
    )


@dataclass
class _Standing:
    """What a notification's status derives from: its recipients, the answers recorded (as stored)
    and each of its messages' (attempts, outbox status) by outbox id. Kept in the batch for the
    notifications it has touched: reading them back after each acknowledgement or attempt flushed
    the batch first, and a replay wrote one event at a time (19.6 s of 33 s at 100k events)."""

    recipients: list[str]
    acknowledgements: list[dict[str, Any]]
    messages: dict[uuid.UUID, tuple[int, str]]

    def attempted(self, outbox_id: uuid.UUID, attempt: int, status: str) -> None:
        """As _ATTEMPTED moves the outbox row: only a later attempt of a message still pending."""
        found = self.messages.get(outbox_id)
        if found is not None and found[0] < attempt and found[1] == "pending":
            self.messages[outbox_id] = (attempt, status)

    def status(self) -> tuple[str, datetime | None]:
        """The notification's status, and when every recipient had answered (if all have)."""
        answered = rules.answered_by(self.recipients, self.acknowledgements)
        statuses = [status for _, status in self.messages.values()]
        status = rules.notification_status(recipients=self.recipients, answered=answered, outbox_statuses=statuses)
        if status != "acknowledged":
            return status, None
        return status, max(datetime.fromisoformat(str(a["acknowledged_at"])) for a in self.acknowledgements)


async def _standing(batch: Batch, notification_id: uuid.UUID) -> _Standing | None:
    """The notification's standing before the event at hand: kept, else read (None: no such
    notification). Read before the event queues its own writes, so reading flushes nothing the
    batch has not already written."""
    key = ("notifications_notifications", notification_id)
    kept: _Standing | None = batch.kept(key)
    if kept is not None:
        return kept
    messages = ("notifications_outbox.notification", notification_id)
    row = await batch.first(_NOTIFICATION_ACKNOWLEDGED, {"id": notification_id}, key, messages)
    if row is None:
        return None
    outbox = await batch.fetch(_OUTBOX_STATUSES, {"id": notification_id}, messages)
    stored = row.acknowledgements or []
    return _Standing(
        list(row.recipients),
        orjson.loads(stored) if isinstance(stored, str) else list(stored),
        {r.outbox_id: (r.attempts, r.status) for r in outbox},
    )


def _write_status(batch: Batch, notification_id: uuid.UUID, standing: _Standing) -> None:
    status, acknowledged_at = standing.status()
    key = ("notifications_notifications", notification_id)
    batch.write(_NOTIFICATION_STATUS, {"s": status, "at": acknowledged_at, "id": notification_id}, key)
    batch.keep(key, standing)  # still true once the writes just queued land


# ---- the outbox --------------------------------------------------------------------------------
def _message(event: RecordedEvent, payload: Event) -> dict[str, Any]:
    """The webhook's body: Standard Webhooks' type, timestamp and data (the payload, and where it
    stands in the log)."""
    return {
        "type": event.type,
        "timestamp": event.recorded_at.isoformat(),
        "data": {
            **payload.payload(),
            "event_id": str(event.event_id),
            "stream_id": event.stream_id,
            "position": event.position,
            "child_ids": [str(c) for c in event.child_ids],
            "occurred_at": event.occurred_at.isoformat(),
        },
    }


async def _enqueue(
    batch: Batch,
    event: RecordedEvent,
    payload: Event,
    *,
    recipients: Sequence[str],
    authorities: Sequence[str],
    notification_id: uuid.UUID | None = None,
    escalation_id: uuid.UUID | None = None,
    area_authority: str | None = None,
) -> tuple[set[str], list[uuid.UUID]]:
    """Outbox rows for every active subscription that wants this message: the recipients
    reached, and the messages queued (their outbox ids)."""
    body = orjson.dumps(_message(event, payload)).decode()
    reached: set[str] = set()
    queued: list[uuid.UUID] = []
    for sub in await _active_subscriptions(batch):
        if not rules.subscription_matches(
            recipient=sub.recipient,
            event_types=list(sub.event_types or []),
            placing_authority=sub.placing_authority,
            message_type=event.type,
            message_recipients=recipients,
            message_placing_authorities=authorities,
            local_authority=sub.local_authority,
            message_area_authority=area_authority,
        ):
            continue
        reached.add(sub.recipient)
        outbox_id = rules.outbox_id(event.event_id, sub.subscription_id)
        queued.append(outbox_id)
        batch.write(
            _INSERT_OUTBOX,
            {
                "id": outbox_id,
                "wid": f"msg_{outbox_id.hex}",
                "sub": sub.subscription_id,
                "rec": sub.recipient,
                "type": event.type,
                "stream": event.stream_id,
                "src": event.event_id,
                "nid": notification_id,
                "eid": escalation_id,
                "c": [str(c) for c in event.child_ids],
                "body": body,
                # From the log, not the wall clock, so a rebuild gives the same row.
                "at": event.recorded_at,
            },
            ("notifications_outbox", outbox_id),
            ("notifications_outbox.notification", notification_id),
            ("notifications_outbox.subscription", sub.subscription_id),
        )
    if queued:
        # Delivered to listening dispatchers when this transaction commits.
        batch.notify(OUTBOX_CHANNEL)
    return reached, queued


async def _active_subscriptions(batch: Batch) -> Sequence[Any]:
    """Every active subscription, read once a flush (kept until a subscription changes)."""
    subs = batch.kept(_SUBSCRIPTIONS)
    if subs is None:
        subs = await batch.fetch(_ACTIVE_SUBSCRIPTIONS, {}, _SUBSCRIPTIONS)
        batch.keep(_SUBSCRIPTIONS, subs)
    return subs  # type: ignore[no-any-return]


# ---- statements ------------------------------------------------------------------------------
_UPSERT_DEADLINE = text(
    "INSERT INTO notifications_deadlines (deadline_id, set_event_id, kind, subject, child_ids, "
    "household_id, started_at, due_at, escalate_to, description, source, status) "
    "VALUES (:id, :e, :k, :s, CAST(:c AS uuid[]), :h, :st, :due, :to, :desc, :src, 'open') "
    "ON CONFLICT (deadline_id) DO UPDATE SET set_event_id = EXCLUDED.set_event_id, "
    "due_at = EXCLUDED.due_at, escalate_to = EXCLUDED.escalate_to, "
    "description = EXCLUDED.description, child_ids = EXCLUDED.child_ids"
)
_CLOSE_DEADLINE = text(
    "UPDATE notifications_deadlines SET status = :st, closed_at = :at WHERE deadline_id = :id AND status = 'open'"
)
_RESOLVE_ESCALATIONS = text(
    "UPDATE notifications_escalations SET status = 'resolved', resolved_at = :at, resolution = :r "
    "WHERE deadline_id = :id AND status = 'open'"
)
_INSERT_NOTIFICATION = text(
    "INSERT INTO notifications_notifications (notification_id, stream_version, raised_event_id, "
    "rule_set, rule_id, rule_version, row_number, title, recipients, unsubscribed_recipients, due_by, "
    "raised_at, source_event_id, source_event_type, child_ids, household_id, placing_authorities, "
    "area_authority, data, status) VALUES (:id, :v, :e, :rs, :rid, :rv, :row, :title, :rec, :unsub, :due, :at, "
    ":src, :srctype, CAST(:c AS uuid[]), :h, :pa, :area, CAST(:data AS jsonb), :status) "
    "ON CONFLICT (notification_id) DO NOTHING"
)
_ACKNOWLEDGE_NOTIFICATION = text(
    "UPDATE notifications_notifications SET stream_version = :v, "
    "acknowledgements = acknowledgements || CAST(:entry AS jsonb) WHERE notification_id = :id"
)
_NOTIFICATION_ACKNOWLEDGED = text(
    "SELECT recipients, acknowledgements FROM notifications_notifications WHERE notification_id = :id"
)
_OUTBOX_STATUSES = text("SELECT outbox_id, attempts, status FROM notifications_outbox WHERE notification_id = :id")
# acknowledged_at: when the notification was acknowledged by all (the latest answer's instant).
_NOTIFICATION_STATUS = text(
    "UPDATE notifications_notifications SET status = :s, acknowledged_at = :at WHERE notification_id = :id"
)
_ACTIVE_SUBSCRIPTIONS = text(
    "SELECT subscription_id, recipient, event_types, placing_authority, local_authority "
    "FROM notifications_subscriptions "
    "WHERE status = 'active' ORDER BY created_at, subscription_id"
)
_INSERT_OUTBOX = text(
    "INSERT INTO notifications_outbox (outbox_id, webhook_id, subscription_id, recipient, "
    "message_type, message_stream, source_event_id, notification_id, escalation_id, child_ids, "
    "body, status, created_at, updated_at, next_attempt_at) VALUES (:id, :wid, :sub, :rec, :type, :stream, :src, "
    ":nid, :eid, CAST(:c AS uuid[]), CAST(:body AS jsonb), 'pending', :at, :at, :at) ON CONFLICT (outbox_id) DO NOTHING"
)
_INSERT_ATTEMPT = text(
    "INSERT INTO notifications_attempts (event_id, position, outbox_id, webhook_id, notification_id, "
    "escalation_id, subscription_id, recipient, attempt, outcome, status_code, error, attempted_at, "
    "next_attempt_at) VALUES (:e, :p, :o, :w, :n, :esc, :s, :r, :a, :out, :code, :err, :at, :next) "
    "ON CONFLICT (event_id) DO NOTHING"
)
_ATTEMPTED = text(
    "UPDATE notifications_outbox SET attempts = :a, status = :st, "
    "next_attempt_at = coalesce(:next, next_attempt_at), last_status_code = :code, last_error = :err, "
    "updated_at = :at WHERE outbox_id = :o AND attempts < :a AND status = 'pending'"
)
_ESCALATE_DEADLINE = text("UPDATE notifications_deadlines SET escalation_id = :e WHERE deadline_id = :id")
_INSERT_ESCALATION = text(
    "INSERT INTO notifications_escalations (escalation_id, raised_event_id, reason, deadline_id, "
    "deadline_kind, subject, child_ids, household_id, due_at, raised_at, escalate_to, description, "
    "source, status, resolved_at, resolution) SELECT :id, :e, :reason, :dl, :kind, :subj, "
    "CAST(:c AS uuid[]), :h, :due, :at, :to, :desc, :src, coalesce(closed.status, 'open'), closed.closed_at, "
    "closed.resolution FROM (SELECT 1) one LEFT JOIN (SELECT 'resolved' AS status, closed_at, "
    "'deadline ' || status AS resolution FROM notifications_deadlines WHERE deadline_id = :dl "
    "AND status <> 'open') closed ON true ON CONFLICT (escalation_id) DO NOTHING"
)
_INSERT_SUBSCRIPTION = text(
    "INSERT INTO notifications_subscriptions (subscription_id, version, url, recipient, event_types, "
    "placing_authority, description, local_authority, status, secret_version, created_at, created_by) VALUES "
    "(:id, :v, :url, :r, :types, :pa, :desc, :la, 'active', :sv, :at, :by) ON CONFLICT (subscription_id) DO NOTHING"
)
_DISABLE_SUBSCRIPTION = text(
    "UPDATE notifications_subscriptions SET status = 'disabled', version = :v, disabled_at = :at, "
    "disabled_reason = :r WHERE subscription_id = :id"
)
_CANCEL_SUBSCRIPTION_OUTBOX = text(
    "UPDATE notifications_outbox SET status = 'cancelled', last_error = :r "
    "WHERE subscription_id = :id AND status = 'pending' RETURNING notification_id"
)
_ROTATE_SUBSCRIPTION_SECRET = text(
    "UPDATE notifications_subscriptions SET version = :v, secret_version = :sv WHERE subscription_id = :id"
)
