"""notifications: commands (validate, check, append)."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifications import destinations, rules
from services.notifications import events as ev
from services.notifications.projections import acknowledgement_deadline_id
from shared.auth import Role
from shared.commanding import CommandContext
from shared.deadlines import DeadlineMet
from shared.eventstore import NO_STREAM, NewEvent, RecordedEvent
from shared.policy import require_role, require_writer
from shared.problems import Problem

SUBSCRIPTION_MANAGERS = frozenset({Role.ADMIN, Role.REGISTERED_MANAGER})
ACKNOWLEDGERS = frozenset(
    {Role.CHILD_SOCIAL_WORKER, Role.SUPERVISING_SOCIAL_WORKER, Role.MANAGER, Role.REGISTERED_MANAGER, Role.LADO}
)


def subscription_stream(subscription_id: uuid.UUID) -> str:
    return f"subscription-{subscription_id}"


def notification_stream(notification_id: uuid.UUID) -> str:
    return f"notification-{notification_id}"


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _store_secret(subscription_id: uuid.UUID, version: int, secret: str) -> Any:
    """An append check that stores the secret in the append's own transaction (never in the log)."""

    async def check(conn: AsyncConnection) -> None:
        await conn.execute(
            text(
                "INSERT INTO notifications_subscription_secrets (subscription_id, secret_version, secret) "
                "VALUES (:s, :v, :secret) ON CONFLICT DO NOTHING"
            ),
            {"s": subscription_id, "v": version, "secret": secret},
        )

    return check


async def _stored_secret(ctx: CommandContext, subscription_id: uuid.UUID, version: int) -> str:
    async with ctx.store.reader.connect() as conn:
        value = (
            await conn.execute(
                text(
                    "SELECT secret FROM notifications_subscription_secrets "
                    "WHERE subscription_id = :s AND secret_version = :v"
                ),
                {"s": subscription_id, "v": version},
            )
        ).scalar_one()
    return str(value)


# ---- subscriptions ---------------------------------------------------------------------------
class SubscriptionState:
    def __init__(self, events: list[RecordedEvent]) -> None:
        self.version = events[-1].stream_version if events else 0
        self.created: dict[str, Any] | None = None
        self.active = False
        self.secret_version = 0
        for e in events:
            if e.type == ev.SUBSCRIPTION_CREATED:
                self.created = e.data
                self.active = True
                self.secret_version = int(e.data.get("secret_version") or 1)
            elif e.type == ev.SUBSCRIPTION_DISABLED:
                self.active = False
            elif e.type == ev.SUBSCRIPTION_SECRET_ROTATED:
                self.secret_version = int(e.data["secret_version"])


async def _subscription(ctx: CommandContext, subscription_id: uuid.UUID) -> SubscriptionState:
    state = SubscriptionState(await ctx.store.read_stream(subscription_stream(subscription_id)))
    if state.created is None:
        raise Problem("not-found", f"There is no subscription {subscription_id}.")
    return state


async def check_receiver_url(url: str, allowed_networks: tuple[rules.Network, ...]) -> None:
    """A receiver outside the agency's own networks, named without credentials (checked again at
    every delivery: a name may resolve elsewhere later)."""
    if destinations.has_credentials(url):
        raise Problem(
            "validation",
            "The receiver URL must not carry credentials (user:password@): they would be stored and "
            "shown with it. Authenticate the receiver by the webhook signature instead.",
            errors=[{"location": ["body", "url"], "message": "credentials in the URL", "type": "url_credentials"}],
        )
    try:
        await destinations.check(url, allowed_networks)
    except destinations.DestinationRefused as exc:
        raise Problem(
            "destination-refused",
            f"Webhooks are not sent there: {exc.reason}. Receivers on the agency's own networks must be "
            "listed in CARELOG_WEBHOOK_ALLOWED_NETWORKS.",
            reasons=[exc.reason],
        ) from exc


async def create_subscription(
    ctx: CommandContext,
    *,
    url: str,
    recipient: str,
    event_types: list[str],
    placing_authority: str | None,
    description: str | None,
    allowed_networks: tuple[rules.Network, ...],
) -> tuple[uuid.UUID, str]:
    require_role(ctx.principal, SUBSCRIPTION_MANAGERS, "manage webhook subscriptions")
    await check_receiver_url(url, allowed_networks)
    subscription_id = ctx.new_id()
    secret = new_secret()
    created = ev.SubscriptionCreated(
        subscription_id=subscription_id,
        url=url,
        recipient=recipient,
        event_types=event_types,
        placing_authority=placing_authority,
        description=description,
        secret_version=1,
    )
    event = ctx.event(
        ev.SUBSCRIPTION_CREATED,
        created,
        summary=f"Webhook receiver registered for {recipient.replace('_', ' ')}: {url}",
    )
    await ctx.append(
        subscription_stream(subscription_id),
        [event],
        expected_version=NO_STREAM,
        check=_store_secret(subscription_id, 1, secret),
    )
    # A retry with the same Idempotency-Key returns the secret first stored, not a new one.
    return subscription_id, await _stored_secret(ctx, subscription_id, 1)


async def disable_subscription(ctx: CommandContext, subscription_id: uuid.UUID, reason: str) -> None:
    require_role(ctx.principal, SUBSCRIPTION_MANAGERS, "manage webhook subscriptions")
    state = await _subscription(ctx, subscription_id)
    if not state.active:
        raise Problem("state-conflict", "This subscription is already disabled.")
    event = ctx.event(
        ev.SUBSCRIPTION_DISABLED,
        ev.SubscriptionDisabled(subscription_id=subscription_id, reason=reason),
        summary=f"Webhook receiver disabled: {reason}",
    )
    await ctx.append(subscription_stream(subscription_id), [event], expected_version=ctx.expected(state.version))


async def rotate_secret(ctx: CommandContext, subscription_id: uuid.UUID) -> tuple[int, str]:
    require_role(ctx.principal, SUBSCRIPTION_MANAGERS, "manage webhook subscriptions")
    state = await _subscription(ctx, subscription_id)
    if not state.active:
        raise Problem("state-conflict", "A disabled subscription has no secret to rotate.")
    version = state.secret_version + 1
    secret = new_secret()
    event = ctx.event(
        ev.SUBSCRIPTION_SECRET_ROTATED,
        ev.SubscriptionSecretRotated(subscription_id=subscription_id, secret_version=version),
        summary=f"Webhook signing secret rotated (version {version})",
    )
    await ctx.append(
        subscription_stream(subscription_id),
        [event],
        expected_version=ctx.expected(state.version),
        check=_store_secret(subscription_id, version, secret),
    )
    return version, await _stored_secret(ctx, subscription_id, version)


# ---- acknowledgements ------------------------------------------------------------------------
async def acknowledge(
    ctx: CommandContext,
    notification_id: uuid.UUID,
    *,
    acknowledged_by: str,
    recipient: str | None,
    action_taken: str,
    outcome: str,
    acknowledged_at: datetime | None,
) -> None:
    require_writer(ctx.principal)
    require_role(ctx.principal, ACKNOWLEDGERS, "record an acknowledgement")
    events = await ctx.store.read_stream(notification_stream(notification_id))
    raised = next((e for e in events if e.type == ev.NOTIFICATION_RAISED), None)
    if raised is None:
        raise Problem("not-found", f"There is no notification {notification_id}.")
    if recipient is not None and recipient not in raised.data["recipients"]:
        raise Problem(
            "business-rule",
            f"{recipient} is not a recipient of this notification.",
            reasons=[f"recipients are {', '.join(raised.data['recipients'])}"],
        )
    now = ctx.now()
    at = acknowledged_at or now
    if at > now:
        raise Problem("business-rule", "An acknowledgement cannot be in the future.", reasons=["acknowledged_at"])
    new = acknowledgement_events(
        ctx,
        notification_id,
        events,
        acknowledged_by=acknowledged_by,
        recipient=recipient,
        action_taken=action_taken,
        outcome=outcome,
        at=at,
    )
    # At the version read: whether this is the first answer (which meets the clock) was decided on
    # it. A delivery attempt appended meanwhile makes the command decide again, not refuse.
    expected = ctx.expected(events[-1].stream_version)
    await ctx.append(notification_stream(notification_id), new, expected_version=expected)


def acknowledgement_events(
    ctx: CommandContext,
    notification_id: uuid.UUID,
    events: list[RecordedEvent],
    *,
    acknowledged_by: str,
    recipient: str | None,
    action_taken: str,
    outcome: str,
    at: datetime,
) -> list[NewEvent]:
    """The recipient's answer to the notification whose stream is `events`, late if after its due
    time; the first answer meets the acknowledgement clock."""
    raised = next(e for e in events if e.type == ev.NOTIFICATION_RAISED)
    due_by = datetime.fromisoformat(raised.data["due_by"])
    late = at > due_by
    first = not any(e.type == ev.NOTIFICATION_ACKNOWLEDGED for e in events)
    child_ids = list(raised.child_ids)
    who = f" ({recipient.replace('_', ' ')})" if recipient else ""
    new = [
        ctx.event(
            ev.NOTIFICATION_ACKNOWLEDGED,
            ev.NotificationAcknowledged(
                notification_id=notification_id,
                acknowledged_by=acknowledged_by,
                recipient=recipient,
                action_taken=action_taken,
                outcome=outcome,
                acknowledged_at=at,
                recorded_by=ctx.principal.subject,
                late=late,
            ),
            occurred_at=at,
            child_ids=child_ids,
            causation_id=raised.event_id,
            summary=f"Notification acknowledged by {acknowledged_by}{who}: {action_taken}; outcome: {outcome}",
        )
    ]
    if first:
        new.append(
            ctx.deadline_met(
                DeadlineMet(
                    deadline_id=acknowledgement_deadline_id(notification_id),
                    kind=ev.ACKNOWLEDGEMENT_DEADLINE_KIND,
                    met_at=at,
                    met_by_event_id=new[0].event_id,
                    late=late,
                ),
                child_ids=child_ids,
                causation_id=raised.event_id,
            )
        )
    return new
