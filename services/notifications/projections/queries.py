"""notifications: reading the read models into typed rows (the API's answers), on the store's
driver pool. "Overdue" is computed here, from the stored due time and the caller's clock."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PlainSerializer, WithJsonSchema

from services.notifications import destinations, rules

# An instant as the API has always written it: datetime.isoformat() (an offset, never `Z`).
Isoformat = Annotated[
    datetime,
    PlainSerializer(lambda value: value.isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
SubscriptionStatus = Literal["active", "disabled"]


class _Where:
    """A WHERE clause from fixed fragments, numbering the driver's parameters as they are added."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.args: list[Any] = []

    def arg(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, fragment: str, value: Any) -> None:
        """`fragment` with `{}` where the value goes; nothing when the value is None."""
        if value is not None:
            self.clauses.append(fragment.format(self.arg(value)))

    def __str__(self) -> str:
        return " AND ".join(self.clauses) or "true"


# ---- subscriptions ---------------------------------------------------------------------------
class Subscription(BaseModel):
    subscription_id: uuid.UUID
    url: str
    recipient: str
    event_types: list[str]
    placing_authority: str | None
    local_authority: str | None = None
    description: str | None
    status: SubscriptionStatus
    secret_version: int
    version: int
    created_at: Isoformat | None
    created_by: str | None
    disabled_at: Isoformat | None
    disabled_reason: str | None


class Subscriptions(BaseModel):
    subscriptions: list[Subscription]


def _subscription(row: Any) -> Subscription:
    return Subscription(
        subscription_id=row["subscription_id"],
        url=destinations.without_credentials(row["url"]),  # one registered before they were refused
        recipient=row["recipient"],
        event_types=list(row["event_types"] or []),
        placing_authority=row["placing_authority"],
        local_authority=row["local_authority"],
        description=row["description"],
        status=row["status"],
        secret_version=row["secret_version"],
        version=row["version"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        disabled_at=row["disabled_at"],
        disabled_reason=row["disabled_reason"],
    )


_SUBSCRIPTION = "SELECT * FROM notifications_subscriptions WHERE subscription_id = $1"


async def subscription(conn: Any, subscription_id: uuid.UUID) -> Subscription | None:
    row = await conn.fetchrow(_SUBSCRIPTION, subscription_id)
    return _subscription(row) if row is not None else None


async def subscriptions(conn: Any, *, recipient: str | None, status: SubscriptionStatus | None) -> Subscriptions:
    where = _Where()
    where.add("recipient = {}", recipient)
    where.add("status = {}", status)
    rows = await conn.fetch(
        f"SELECT * FROM notifications_subscriptions WHERE {where} ORDER BY created_at, subscription_id", *where.args
    )
    return Subscriptions(subscriptions=[_subscription(r) for r in rows])


# ---- deliveries and attempts -----------------------------------------------------------------
class Attempt(BaseModel):
    """One delivery attempt as anyone who may see the notification sees it."""

    event_id: uuid.UUID
    outbox_id: uuid.UUID
    webhook_id: str
    subscription_id: uuid.UUID
    recipient: str
    attempt: int
    status: str
    attempted_at: Isoformat
    next_attempt_at: Isoformat | None


class DiagnosedAttempt(Attempt):
    """... and why it failed, for those who may read the raw log (it says what listens where)."""

    outcome: str
    status_code: int | None
    error: str | None


class Delivery(BaseModel):
    webhook_id: str
    subscription_id: uuid.UUID
    recipient: str
    status: str
    attempts: int
    next_attempt_at: Isoformat | None


class DiagnosedDelivery(Delivery):
    last_status_code: int | None
    last_error: str | None


def _attempt(row: Any, diagnostics: bool) -> Attempt:
    seen = Attempt(
        event_id=row["event_id"],
        outbox_id=row["outbox_id"],
        webhook_id=row["webhook_id"],
        subscription_id=row["subscription_id"],
        recipient=row["recipient"],
        attempt=row["attempt"],
        status=rules.attempt_status(row["outcome"]),
        attempted_at=row["attempted_at"],
        next_attempt_at=row["next_attempt_at"],
    )
    if not diagnostics:
        return seen
    return DiagnosedAttempt(
        **seen.model_dump(), outcome=row["outcome"], status_code=row["status_code"], error=row["error"]
    )


def _delivery(row: Any, diagnostics: bool) -> Delivery:
    seen = Delivery(
        webhook_id=row["webhook_id"],
        subscription_id=row["subscription_id"],
        recipient=row["recipient"],
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"] if row["status"] == "pending" else None,
    )
    if not diagnostics:
        return seen
    return DiagnosedDelivery(
        **seen.model_dump(), last_status_code=row["last_status_code"], last_error=row["last_error"]
    )


# ---- notifications ---------------------------------------------------------------------------
class Acknowledgement(BaseModel):
    """A recipient's answer, as recorded (NMS 29.2: who, the action taken and the outcome)."""

    event_id: uuid.UUID
    notification_id: uuid.UUID
    acknowledged_by: str
    recipient: str | None = None
    action_taken: str
    outcome: str
    acknowledged_at: datetime
    recorded_by: str
    late: bool
    via: str | None = Field(
        default=None, description="`signed_link`: by the recipient, through the link in the email; null: by staff."
    )


class RecipientClock(BaseModel):
    """A recipient's acknowledgement clock (reg 36): each recipient's runs on its own."""

    deadline_id: uuid.UUID
    due_at: Isoformat
    status: Literal["open", "met", "cancelled"]
    closed_at: Isoformat | None
    overdue: bool
    escalation_id: uuid.UUID | None


class RecipientState(BaseModel):
    """Where one recipient stands: told (by which receivers), answered, and its clock."""

    recipient: str
    authority: str | None = Field(description="The authority it is, where the record names it (area authority).")
    status: str = Field(description=f"One of {', '.join(rules.RECIPIENT_STATUSES)}.")
    has_destination: bool = Field(description="Whether any receiver was subscribed for it when it was raised.")
    acknowledged_at: Isoformat | None
    clock: RecipientClock | None


class Notification(BaseModel):
    notification_id: uuid.UUID
    version: int
    rule_set: str
    rule_id: str
    rule_version: int
    row: int | None
    title: str
    recipients: list[str]
    unsubscribed_recipients: list[str]
    due_by: Isoformat
    raised_at: Isoformat
    overdue: bool
    status: str
    source_event_id: uuid.UUID
    source_event_type: str
    child_ids: list[uuid.UUID]
    household_id: uuid.UUID | None
    placing_authorities: list[str]
    area_authority: str | None = None
    acknowledged_at: Isoformat | None = Field(description="When every recipient had acknowledged it.")
    acknowledgements: list[Acknowledgement]
    by_recipient: list[RecipientState] = Field(
        default_factory=list, description="Each recipient's status and acknowledgement clock."
    )
    details: dict[str, Any]
    triggers: list[str]
    rule_source: str | None


class Notifications(BaseModel):
    notifications: list[Notification]


class NotificationDetail(Notification):
    deliveries: list[DiagnosedDelivery | Delivery]
    attempts: list[DiagnosedAttempt | Attempt]


def _notification(row: Any, now: datetime) -> dict[str, Any]:
    """The fields of a Notification (a dict, so a detail can add to them)."""
    data = row["data"] or {}
    return {
        "notification_id": row["notification_id"],
        "version": row["stream_version"],
        "rule_set": row["rule_set"],
        "rule_id": row["rule_id"],
        "rule_version": row["rule_version"],
        "row": row["row_number"],
        "title": row["title"],
        "recipients": list(row["recipients"]),
        "unsubscribed_recipients": list(row["unsubscribed_recipients"] or []),
        "due_by": row["due_by"],
        "raised_at": row["raised_at"],
        "overdue": row["acknowledged_at"] is None and now > row["due_by"],
        "status": row["status"],
        "source_event_id": row["source_event_id"],
        "source_event_type": row["source_event_type"],
        "child_ids": list(row["child_ids"]),
        "household_id": row["household_id"],
        "placing_authorities": list(row["placing_authorities"] or []),
        "area_authority": row["area_authority"],
        "acknowledged_at": row["acknowledged_at"],
        "acknowledgements": row["acknowledgements"],
        "details": data.get("details", {}),
        "triggers": data.get("triggers", []),
        "rule_source": data.get("rule_source"),
    }


async def notifications(
    conn: Any,
    *,
    now: datetime,
    child_id: uuid.UUID | None,
    status: str | None,
    recipient: str | None,
    limit: int,
) -> Notifications:
    where = _Where()
    where.add("child_ids @> ARRAY[{}::uuid]", child_id)
    where.add("status = {}", status)
    where.add("{} = ANY(recipients)", recipient)
    rows = await conn.fetch(
        f"SELECT * FROM notifications_notifications WHERE {where} "
        f"ORDER BY raised_at, notification_id LIMIT {where.arg(limit)}",
        *where.args,
    )
    found = await _by_recipient(conn, rows, now)
    return Notifications(
        notifications=[Notification(**_notification(r, now), by_recipient=found[r["notification_id"]]) for r in rows]
    )


_CLOCKS = (
    "SELECT deadline_id, due_at, status, closed_at, escalation_id FROM notifications_deadlines "
    "WHERE deadline_id = ANY($1::uuid[])"
)
_RECIPIENT_OUTBOX = (
    "SELECT notification_id, recipient, status FROM notifications_outbox WHERE notification_id = ANY($1::uuid[])"
)


async def _by_recipient(conn: Any, rows: Sequence[Any], now: datetime) -> dict[uuid.UUID, list[RecipientState]]:
    """Each notification's recipients as they stand, read in two statements for every row."""
    ids = [r["notification_id"] for r in rows]
    wanted = [
        rules.acknowledgement_deadline_id(r["notification_id"], recipient)
        for r in rows
        for recipient in [*r["recipients"], None]  # None: the one clock of a notification raised before
    ]
    clocks = {c["deadline_id"]: c for c in await conn.fetch(_CLOCKS, wanted)} if wanted else {}
    sent: dict[tuple[uuid.UUID, str], list[str]] = {}
    for o in await conn.fetch(_RECIPIENT_OUTBOX, ids) if ids else []:
        sent.setdefault((o["notification_id"], o["recipient"]), []).append(o["status"])
    return {r["notification_id"]: _recipients(r, clocks, sent, now) for r in rows}


def _recipients(
    row: Any, clocks: dict[uuid.UUID, Any], sent: dict[tuple[uuid.UUID, str], list[str]], now: datetime
) -> list[RecipientState]:
    nid, recipients = row["notification_id"], list(row["recipients"])
    acknowledgements = list(row["acknowledgements"] or [])
    answered = rules.answered_by(recipients, acknowledgements)
    unsubscribed = set(row["unsubscribed_recipients"] or [])
    sole = recipients[0] if len(recipients) == 1 else None
    states = []
    for recipient in recipients:
        times = [str(a["acknowledged_at"]) for a in acknowledgements if (a.get("recipient") or sole) == recipient]
        clock = clocks.get(rules.acknowledgement_deadline_id(nid, recipient)) or clocks.get(
            rules.acknowledgement_deadline_id(nid)
        )
        states.append(
            RecipientState(
                recipient=recipient,
                authority=row["area_authority"] if recipient == "area_authority" else None,
                status=rules.recipient_status(
                    answered=recipient in answered,
                    has_destination=recipient not in unsubscribed,
                    outbox_statuses=sent.get((nid, recipient), []),
                ),
                has_destination=recipient not in unsubscribed,
                acknowledged_at=datetime.fromisoformat(times[0]) if times else None,
                clock=_clock(clock, now) if clock is not None else None,
            )
        )
    return states


def _clock(row: Any, now: datetime) -> RecipientClock:
    return RecipientClock(
        deadline_id=row["deadline_id"],
        due_at=row["due_at"],
        status=row["status"],
        closed_at=row["closed_at"],
        overdue=row["status"] == "open" and now > row["due_at"],
        escalation_id=row["escalation_id"],
    )


_NOTIFICATION = "SELECT * FROM notifications_notifications WHERE notification_id = $1"
_ATTEMPTS_OF_NOTIFICATION = "SELECT * FROM notifications_attempts WHERE notification_id = $1 ORDER BY position"
_DELIVERIES = "SELECT * FROM notifications_outbox WHERE notification_id = $1 ORDER BY created_at, outbox_id"


async def notification_detail(
    conn: Any, notification_id: uuid.UUID, *, now: datetime, diagnostics: bool
) -> NotificationDetail | None:
    row = await conn.fetchrow(_NOTIFICATION, notification_id)
    if row is None:
        return None
    attempts = await conn.fetch(_ATTEMPTS_OF_NOTIFICATION, notification_id)
    deliveries = await conn.fetch(_DELIVERIES, notification_id)
    found = await _by_recipient(conn, [row], now)
    return NotificationDetail(
        **_notification(row, now),
        by_recipient=found[notification_id],
        deliveries=[_delivery(d, diagnostics) for d in deliveries],
        attempts=[_attempt(a, diagnostics) for a in attempts],
    )


# ---- escalations -----------------------------------------------------------------------------
class Escalation(BaseModel):
    escalation_id: uuid.UUID
    reason: str
    status: Literal["open", "resolved"]
    open: bool
    deadline_id: uuid.UUID | None
    deadline_kind: str | None
    subject: str | None
    child_ids: list[uuid.UUID]
    household_id: uuid.UUID | None
    due_at: Isoformat | None
    raised_at: Isoformat
    escalate_to: str
    description: str
    source: str | None
    resolved_at: Isoformat | None
    resolution: str | None


class Escalations(BaseModel):
    escalations: list[Escalation]


class EscalationDetail(Escalation):
    attempts: list[DiagnosedAttempt | Attempt]


def _escalation(row: Any) -> dict[str, Any]:
    return {
        "escalation_id": row["escalation_id"],
        "reason": row["reason"],
        "status": row["status"],
        "open": row["status"] == "open",
        "deadline_id": row["deadline_id"],
        "deadline_kind": row["deadline_kind"],
        "subject": row["subject"],
        "child_ids": list(row["child_ids"]),
        "household_id": row["household_id"],
        "due_at": row["due_at"],
        "raised_at": row["raised_at"],
        "escalate_to": row["escalate_to"],
        "description": row["description"],
        "source": row["source"],
        "resolved_at": row["resolved_at"],
        "resolution": row["resolution"],
    }


async def escalations(
    conn: Any, *, open: bool | None, child_id: uuid.UUID | None, escalate_to: str | None, limit: int
) -> Escalations:
    where = _Where()
    where.add("status = {}", None if open is None else "open" if open else "resolved")
    where.add("child_ids @> ARRAY[{}::uuid]", child_id)
    where.add("escalate_to = {}", escalate_to)
    rows = await conn.fetch(
        f"SELECT * FROM notifications_escalations WHERE {where} "
        f"ORDER BY raised_at, escalation_id LIMIT {where.arg(limit)}",
        *where.args,
    )
    return Escalations(escalations=[Escalation(**_escalation(r)) for r in rows])


_ESCALATION = "SELECT * FROM notifications_escalations WHERE escalation_id = $1"
_ATTEMPTS_OF_ESCALATION = "SELECT * FROM notifications_attempts WHERE escalation_id = $1 ORDER BY position"


async def escalation_detail(conn: Any, escalation_id: uuid.UUID, *, diagnostics: bool) -> EscalationDetail | None:
    row = await conn.fetchrow(_ESCALATION, escalation_id)
    if row is None:
        return None
    attempts = await conn.fetch(_ATTEMPTS_OF_ESCALATION, escalation_id)
    return EscalationDetail(**_escalation(row), attempts=[_attempt(a, diagnostics) for a in attempts])


def children_of(rows: Sequence[Notification] | Sequence[Escalation]) -> list[uuid.UUID]:
    """Every child a list names (for the access log)."""
    return [c for r in rows for c in r.child_ids]


# ---- figures for /metrics --------------------------------------------------------------------
_FIGURES = (
    "SELECT (SELECT count(*) FROM notifications_outbox WHERE status = 'pending') AS depth, "
    "(SELECT coalesce(extract(epoch FROM $1::timestamptz - min(created_at)), 0) "
    " FROM notifications_outbox WHERE status = 'pending') AS oldest, "
    "(SELECT count(*) FROM notifications_escalations WHERE status = 'open') AS open_escalations"
)


async def outbox_figures(conn: Any, now: datetime) -> dict[str, float]:
    """What is waiting to be delivered, for how long by the agency's clock (an outbox row is
    created at its event's recorded_at), and what is escalated."""
    row = await conn.fetchrow(_FIGURES, now)
    return {
        "outbox_depth": float(row["depth"]),
        "oldest_undelivered_seconds": float(row["oldest"]),
        "open_escalations": float(row["open_escalations"]),
    }
