"""notifications: request bodies, pure deciders, and the thin shells that run them.

The request's deciders (subscriptions, acknowledgements) read the instant and mint ids only through
their Recorder. The system's (the notifications a fact raises, the escalations the clock raises, a
delivery attempt and what follows it) are pure functions of what they are given: ids derived from
their cause, so a repeat is a no-op."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifications import destinations, rules
from services.notifications.events import (
    ACKNOWLEDGEMENT_DEADLINE_KIND,
    DeliveryAttempted,
    EscalationRaised,
    NotificationAcknowledged,
    NotificationRaised,
    SubscriptionCreated,
    SubscriptionDisabled,
    SubscriptionSecretRotated,
    escalation_stream,
    notification_stream,
    subscription_stream,
)
from services.notifications.rules import acknowledgement_deadline_id
from shared.auth import Role
from shared.commanding import CommandContext
from shared.contracts.base import Event, load_as
from shared.contracts.deadlines import DeadlineMet, DeadlineSet
from shared.eventstore import NO_STREAM, NewEvent, RecordedEvent, reaction_id, reaction_metadata
from shared.eventstore.projector import Reactions
from shared.policy import require_role, require_writer
from shared.problems import FieldError, Problem
from shared.recording import Recorder
from shared.refusals import Reason, in_the_future, refusal, refuse_if
from shared.types import Instant

SERVICE = "notifications"
SUBSCRIPTION_MANAGERS = frozenset({Role.ADMIN, Role.REGISTERED_MANAGER})
ACKNOWLEDGERS = frozenset(
    {Role.CHILD_SOCIAL_WORKER, Role.SUPERVISING_SOCIAL_WORKER, Role.MANAGER, Role.REGISTERED_MANAGER, Role.LADO}
)

Recipient = Literal[
    "ofsted",
    "placing_authority",
    "lado",
    "police",
    "area_authority",
    "health",
    "internal",
    "secretary_of_state",
]
assert set(Recipient.__args__) == set(rules.RECIPIENTS)  # type: ignore[attr-defined]


# How an acknowledgement came, as a chronology line says it (none: a member of staff recorded it).
VIA_WORDS = {"signed_link": " through the link in the email"}


# ---- request bodies ----------------------------------------------------------------------------
class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# An email receiver (delivered through the agency's relay: services/notifications/email.py).
MailtoUrl = Annotated[str, Field(pattern=r"^mailto:[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$", max_length=320)]


class SubscriptionIn(Strict):
    url: AnyHttpUrl | MailtoUrl = Field(
        description="The webhook receiver (https://...), or `mailto:<address>` for delivery by secure email."
    )
    recipient: Recipient
    event_types: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=50, description="Message types to receive; empty: all. `prefix.*` allowed."
    )
    placing_authority: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="Only messages about children placed by this authority."
    )
    description: Annotated[str, Field(max_length=500)] | None = None
    local_authority: Annotated[str, Field(pattern=r"^E\d{8}$")] | None = Field(
        default=None,
        description="For an area_authority receiver: the authority it speaks for (ONS code). It gets the "
        "notifications naming that authority as the area authority; without one, every area authority's.",
    )


class DisableIn(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=500)] = "disabled by an administrator"


class AcknowledgeIn(Strict):
    acknowledged_by: Annotated[str, Field(min_length=1, max_length=300)] = Field(
        description="Who acknowledged: person and organisation."
    )
    recipient: Recipient | None = None
    action_taken: Annotated[str, Field(min_length=1, max_length=5000)]
    outcome: Annotated[str, Field(min_length=1, max_length=5000)]
    acknowledged_at: Instant | None = None


# ---- what a stream says ------------------------------------------------------------------------
@dataclass(frozen=True)
class SubscriptionState:
    subscription_id: uuid.UUID
    version: int = 0
    created: SubscriptionCreated | None = None
    active: bool = False
    secret_version: int = 0

    @property
    def next_secret_version(self) -> int:
        return self.secret_version + 1


def subscription_state(subscription_id: uuid.UUID, events: Sequence[RecordedEvent]) -> SubscriptionState:
    state = SubscriptionState(subscription_id)
    for event in events:
        if event.type == SubscriptionCreated.event_type:
            created = load_as(SubscriptionCreated, event)
            state = replace(state, created=created, active=True, secret_version=created.secret_version or 1)
        elif event.type == SubscriptionDisabled.event_type:
            state = replace(state, active=False)
        elif event.type == SubscriptionSecretRotated.event_type:
            state = replace(state, secret_version=load_as(SubscriptionSecretRotated, event).secret_version)
        state = replace(state, version=event.stream_version)
    return state


@dataclass(frozen=True)
class NotificationState:
    version: int = 0
    raised: NotificationRaised | None = None
    raised_event_id: uuid.UUID | None = None
    child_ids: tuple[uuid.UUID, ...] = ()
    acknowledged: bool = False
    open_clocks: tuple[uuid.UUID, ...] = ()


def notification_state(events: Sequence[RecordedEvent]) -> NotificationState:
    """The notification a stream holds: what was raised, whether anyone has answered it yet, and
    its acknowledgement clocks still open (one per recipient; one in all for older notifications)."""
    raised = next((e for e in events if e.type == NotificationRaised.event_type), None)
    if raised is None:
        return NotificationState(version=events[-1].stream_version if events else 0)
    set_ids = [uuid.UUID(str(e.data["deadline_id"])) for e in events if e.type == DeadlineSet.event_type]
    closed = {str(e.data["deadline_id"]) for e in events if e.type == DeadlineMet.event_type}
    return NotificationState(
        version=events[-1].stream_version,
        raised=load_as(NotificationRaised, raised),
        raised_event_id=raised.event_id,
        child_ids=raised.child_ids,
        acknowledged=any(e.type == NotificationAcknowledged.event_type for e in events),
        open_clocks=tuple(d for d in set_ids if str(d) not in closed),
    )


# ---- deciders: subscriptions -------------------------------------------------------------------
def _humanised(value: str) -> str:
    return value.replace("_", " ")


def decide_subscription(rec: Recorder, subscription_id: uuid.UUID, body: SubscriptionIn) -> list[NewEvent]:
    require_role(rec.principal, SUBSCRIPTION_MANAGERS, "manage webhook subscriptions")
    created = SubscriptionCreated(
        subscription_id=subscription_id,
        url=str(body.url),
        recipient=body.recipient,
        event_types=body.event_types,
        placing_authority=body.placing_authority,
        description=body.description,
        secret_version=1,
        local_authority=body.local_authority,
    )
    channel = "Email receiver" if created.url.startswith("mailto:") else "Webhook receiver"
    return [rec.event(created, summary=f"{channel} registered for {_humanised(body.recipient)}: {created.url}")]


def _subscribed(rec: Recorder, state: SubscriptionState, refused_when_disabled: str) -> SubscriptionCreated:
    require_role(rec.principal, SUBSCRIPTION_MANAGERS, "manage webhook subscriptions")
    if state.created is None:
        raise Problem("not-found", f"There is no subscription {state.subscription_id}.")
    if not state.active:
        raise refusal([Reason("subscription_disabled", refused_when_disabled)], slug="state-conflict")
    return state.created


def decide_disable(rec: Recorder, state: SubscriptionState, reason: str) -> list[NewEvent]:
    _subscribed(rec, state, "This subscription is already disabled.")
    disabled = SubscriptionDisabled(subscription_id=state.subscription_id, reason=reason)
    return [rec.event(disabled, summary=f"Webhook receiver disabled: {reason}")]


def decide_rotation(rec: Recorder, state: SubscriptionState) -> list[NewEvent]:
    _subscribed(rec, state, "A disabled subscription has no secret to rotate.")
    version = state.next_secret_version
    rotated = SubscriptionSecretRotated(subscription_id=state.subscription_id, secret_version=version)
    return [rec.event(rotated, summary=f"Webhook signing secret rotated (version {version})")]


# ---- shells: subscriptions ---------------------------------------------------------------------
def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


_KEEP_SECRET = text(
    "INSERT INTO notifications_subscription_secrets (subscription_id, secret_version, secret) "
    "VALUES (:s, :v, :secret) ON CONFLICT DO NOTHING"
)
_SECRET = "SELECT secret FROM notifications_subscription_secrets WHERE subscription_id = $1 AND secret_version = $2"


def _keep_secret(subscription_id: uuid.UUID, version: int, secret: str) -> Callable[[AsyncConnection], Any]:
    """An append check that keeps the secret in the append's own transaction (never in the log):
    it lands with its event or not at all."""

    async def check(conn: AsyncConnection) -> None:
        await conn.execute(_KEEP_SECRET, {"s": subscription_id, "v": version, "secret": secret})

    return check


async def _kept_secret(ctx: CommandContext, subscription_id: uuid.UUID, version: int) -> str:
    """The secret stored for `version`: a retry with the same Idempotency-Key gets the first one."""
    async with ctx.store.acquire() as conn:
        return str(await conn.fetchval(_SECRET, subscription_id, version))


async def check_receiver_url(url: str, allowed_networks: tuple[rules.Network, ...], email_enabled: bool) -> None:
    """A receiver outside the agency's own networks, named without credentials (checked again at
    every delivery: a name may resolve elsewhere later); an email address only when there is a relay."""
    if url.startswith("mailto:"):
        if not email_enabled:
            reason = "email delivery is not configured (CARELOG_SMTP_HOST)"
            raise Problem(
                "destination-refused", f"Email is not sent: {reason}.", reasons=[Reason("email_not_configured", reason)]
            )
        return
    if destinations.has_credentials(url):
        raise Problem(
            "validation",
            "The receiver URL must not carry credentials (user:password@): they would be stored and "
            "shown with it. Authenticate the receiver by the webhook signature instead.",
            errors=[FieldError(location=["body", "url"], message="credentials in the URL", type="url_credentials")],
        )
    try:
        await destinations.check(url, allowed_networks)
    except destinations.DestinationRefused as exc:
        raise Problem(
            "destination-refused",
            f"Webhooks are not sent there: {exc.reason}. Receivers on the agency's own networks must be "
            "listed in CARELOG_WEBHOOK_ALLOWED_NETWORKS.",
            reasons=[Reason(exc.code, exc.reason)],
        ) from exc


@dataclass(frozen=True)
class Recorded:
    """What a subscription command recorded, and the secret to show once."""

    events: list[RecordedEvent]
    subscription_id: uuid.UUID
    secret: str | None = None
    secret_version: int | None = None


async def create_subscription(
    ctx: CommandContext, body: SubscriptionIn, allowed_networks: tuple[rules.Network, ...], email_enabled: bool = False
) -> Recorded:
    subscription_id = ctx.new_id()
    events = decide_subscription(ctx, subscription_id, body)
    await check_receiver_url(str(body.url), allowed_networks, email_enabled)
    recorded = await ctx.append(
        subscription_stream(subscription_id), events, NO_STREAM, _keep_secret(subscription_id, 1, new_secret())
    )
    return Recorded(recorded, subscription_id, await _kept_secret(ctx, subscription_id, 1), 1)


async def _subscription(ctx: CommandContext, subscription_id: uuid.UUID) -> SubscriptionState:
    return subscription_state(subscription_id, await ctx.store.read_stream(subscription_stream(subscription_id)))


async def disable_subscription(ctx: CommandContext, subscription_id: uuid.UUID, reason: str) -> Recorded:
    state = await _subscription(ctx, subscription_id)
    events = decide_disable(ctx, state, reason)
    recorded = await ctx.append(subscription_stream(subscription_id), events, ctx.expected(state.version))
    return Recorded(recorded, subscription_id)


async def rotate_secret(ctx: CommandContext, subscription_id: uuid.UUID) -> Recorded:
    state = await _subscription(ctx, subscription_id)
    events = decide_rotation(ctx, state)
    version = state.next_secret_version
    recorded = await ctx.append(
        subscription_stream(subscription_id),
        events,
        ctx.expected(state.version),
        _keep_secret(subscription_id, version, new_secret()),
    )
    return Recorded(recorded, subscription_id, await _kept_secret(ctx, subscription_id, version), version)


# ---- acknowledgements --------------------------------------------------------------------------
def _not_a_recipient(raised: NotificationRaised, recipient: str | None) -> Reason | None:
    if recipient is None and len(raised.recipients) > 1:
        return Reason(
            "recipient_required",
            "Say which recipient acknowledged: each of "
            f"{', '.join(raised.recipients)} must be told, and one's answer does not stand for another's.",
        )
    if recipient is None or recipient in raised.recipients:
        return None
    return Reason(
        "not_a_recipient", f"{recipient} is not a recipient of this notification: {', '.join(raised.recipients)} are."
    )


def clocks_answered(state: NotificationState, notification_id: uuid.UUID, recipient: str | None) -> list[uuid.UUID]:
    """The open clocks an answer from `recipient` meets: that recipient's own, and the single clock
    of a notification raised before clocks were kept per recipient."""
    answered = {acknowledgement_deadline_id(notification_id, recipient), acknowledgement_deadline_id(notification_id)}
    return [d for d in state.open_clocks if d in answered]


def decide_acknowledgement(
    rec: Recorder, state: NotificationState, notification_id: uuid.UUID, body: AcknowledgeIn
) -> list[NewEvent]:
    """The recipient's answer, recorded by a member of staff (see `acknowledgement_events`)."""
    require_writer(rec.principal)
    require_role(rec.principal, ACKNOWLEDGERS, "record an acknowledgement")
    return acknowledgement_events(rec, state, notification_id, body, recorded_by=rec.principal.subject)


def acknowledgement_events(
    rec: Recorder,
    state: NotificationState,
    notification_id: uuid.UUID,
    body: AcknowledgeIn,
    *,
    recorded_by: str,
    via: str | None = None,
) -> list[NewEvent]:
    """The recipient's answer, late if after the notification's due time; it meets that recipient's
    acknowledgement clock (a notification with several recipients needs to be told whose answer it
    is: one recipient's answer never closes another's clock). Who may record it is the caller's
    to check: a member of staff's role, or the signature of the recipient's link."""
    raised = state.raised
    if raised is None:
        raise Problem("not-found", f"There is no notification {notification_id}.")
    now = rec.now()
    at = body.acknowledged_at or now
    refuse_if(r for r in (_not_a_recipient(raised, body.recipient), in_the_future("acknowledged_at", at, now)) if r)
    late = at > raised.due_by
    sole = raised.recipients[0] if len(raised.recipients) == 1 else None
    recipient = body.recipient or sole
    who = f" ({_humanised(recipient)})" if recipient else ""
    acknowledged = rec.event(
        NotificationAcknowledged(
            notification_id=notification_id,
            acknowledged_by=body.acknowledged_by,
            recipient=recipient,
            action_taken=body.action_taken,
            outcome=body.outcome,
            acknowledged_at=at,
            recorded_by=recorded_by,
            late=late,
            via=via,
        ),
        occurred_at=at,
        child_ids=state.child_ids,
        causation_id=state.raised_event_id,
        summary=(
            f"Notification acknowledged by {body.acknowledged_by}{who}{VIA_WORDS.get(via or '', '')}: "
            f"{body.action_taken}; outcome: {body.outcome}"
        ),
    )
    met = [
        rec.deadline_met(
            DeadlineMet(
                deadline_id=deadline_id,
                kind=ACKNOWLEDGEMENT_DEADLINE_KIND,
                met_at=at,
                met_by_event_id=acknowledged.event_id,
                late=late,
            ),
            child_ids=state.child_ids,
            causation_id=state.raised_event_id,
        )
        for deadline_id in clocks_answered(state, notification_id, recipient)
    ]
    return [acknowledged, *met]


async def acknowledge(ctx: CommandContext, notification_id: uuid.UUID, body: AcknowledgeIn) -> list[RecordedEvent]:
    events = await ctx.store.read_stream(notification_stream(notification_id))
    state = notification_state(events)
    decided = decide_acknowledgement(ctx, state, notification_id, body)
    # At the version read: whether this is the first answer (which meets the clock) was decided on
    # it. A delivery attempt appended meanwhile makes the command decide again, not refuse.
    return await ctx.append(notification_stream(notification_id), decided, ctx.expected(state.version))


# ---- the notifications a fact raises (the rules reactor's decision) ----------------------------
def decide_notifications(
    cause: RecordedEvent,
    fact: rules.Notifiable,
    found: Sequence[rules.Match],
    subjects: rules.Subjects,
    on_file: rules.OnFile,
) -> Reactions:
    """A notification and its acknowledgement clock for each rule row `fact` matched (`found`);
    a row for placed children only is raised only when one of the children is placed."""
    at = rules.event_time(fact)
    day = rules.local_date(at)
    placed = on_file.placed(subjects.child_ids, day)
    home = on_file.household_of(placed, day) or subjects.household_id  # where the children live
    authorities = on_file.placing_authorities(subjects.child_ids, day)
    raising = _Raising(
        cause=cause,
        fact=fact,
        at=at,
        household_id=subjects.household_id or home,
        authorities=authorities,
        on_file=on_file,
        area=rules.area_of(on_file.households.get(home) if home else None, authorities),
    )
    return [
        raising.notification(match, placed if match.row.placed_child_only else subjects.child_ids)
        for match in found
        if placed or not match.row.placed_child_only
    ]


@dataclass(frozen=True)
class _Raising:
    cause: RecordedEvent
    fact: rules.Notifiable
    at: datetime
    household_id: uuid.UUID | None
    authorities: list[str]
    on_file: rules.OnFile
    area: rules.Area

    def recipients(self, match: rules.Match) -> list[str]:
        """The row's recipients; the area authority only when it is told (rules.area_of)."""
        return [r for r in match.row.recipients if r != "area_authority" or self.area.told]

    def _details(self, child_ids: Sequence[uuid.UUID]) -> dict[str, object]:
        """The facts of the source event, and the children concerned by name."""
        children = [
            {"child_id": str(c), "name": child.name if (child := self.on_file.children.get(c)) else None}
            for c in child_ids
            if c in self.on_file.children
        ]
        return {**self.fact.payload(), "children": children}

    def notification(self, match: rules.Match, child_ids: Sequence[uuid.UUID]) -> tuple[str, list[NewEvent]]:
        nid = rules.notification_id(self.cause.event_id, match.rule_id)
        due = rules.due_by(self.at, match.row)
        recipients = self.recipients(match)
        raised = NotificationRaised(
            notification_id=nid,
            rule_set=match.rule_set.name,
            rule_id=match.rule_id,
            rule_version=match.rule_set.version,
            rule_source=match.rule_set.source,
            triggers=list(match.trigger_ids),
            row=match.row_number,
            title=match.row.title,
            recipients=recipients,
            due_by=due,
            source_event_id=self.cause.event_id,
            source_event_type=self.cause.type,
            source_stream_id=self.cause.stream_id,
            child_ids=list(child_ids),
            household_id=self.household_id,
            placing_authorities=list(self.authorities),
            area_authority=self.area.code if "area_authority" in recipients else None,
            details=self._details(child_ids),
        )
        told = ", ".join(_humanised(r) for r in recipients)
        summary = f"{match.label} notification raised ({match.row.title}): notify {told} by {due:%d %b %Y %H:%M}"
        return notification_stream(nid), [
            self._reaction(raised, f"notification:{match.rule_id}", summary, child_ids),
            *(self._clock(match, nid, recipient, due, child_ids) for recipient in recipients),
        ]

    def _clock(
        self, match: rules.Match, nid: uuid.UUID, recipient: str, due: datetime, child_ids: Sequence[uuid.UUID]
    ) -> NewEvent:
        """One recipient's acknowledgement clock: each recipient is told, and answers, on its own."""
        clock = DeadlineSet(
            deadline_id=acknowledgement_deadline_id(nid, recipient),
            kind=ACKNOWLEDGEMENT_DEADLINE_KIND,
            subject=notification_stream(nid),
            child_ids=list(child_ids),
            household_id=self.household_id,
            started_at=self.at,
            due_at=due,
            escalate_to="registered_manager",
            description=f"{match.label} notification acknowledged by {_humanised(recipient)}",
            source=rules.REGULATION_36,
        )
        return self._reaction(
            clock,
            f"notification:{match.rule_id}:deadline:{recipient}",
            f"Clock started: {clock.description} (due {due:%d %b %Y %H:%M})",
            child_ids,
        )

    def _reaction(self, payload: Event, key: str, summary: str, child_ids: Sequence[uuid.UUID]) -> NewEvent:
        return NewEvent(
            type=payload.event_type,
            data=payload.payload(),
            occurred_at=max(self.cause.occurred_at, self.cause.recorded_at),
            child_ids=tuple(child_ids),
            metadata={**reaction_metadata(SERVICE, self.cause), "summary": summary},
            event_id=reaction_id(self.cause, key),
        )


# ---- what the workers record -------------------------------------------------------------------
def system_event(
    payload: Event,
    *,
    occurred_at: datetime,
    causation_id: uuid.UUID | None,
    summary: str,
    event_id: uuid.UUID,
    child_ids: Sequence[uuid.UUID] = (),
) -> NewEvent:
    """An event this service records of its own accord (the clock, the dispatcher)."""
    metadata: dict[str, Any] = {"actor_id": f"system:{SERVICE}", "actor_role": "system", "service": SERVICE}
    if causation_id is not None:
        metadata["causation_id"] = metadata["correlation_id"] = str(causation_id)
    metadata["summary"] = summary
    return NewEvent(
        type=payload.event_type,
        data=payload.payload(),
        occurred_at=occurred_at,
        child_ids=tuple(child_ids),
        metadata=metadata,
        event_id=event_id,
    )


@dataclass(frozen=True)
class Escalation:
    """An escalation to append as the first event of its own stream (so it is raised once)."""

    stream_id: str
    event: NewEvent
    deadline_id: uuid.UUID | None = None


def decide_escalations(due: Sequence[rules.OpenDeadline], now: datetime) -> list[Escalation]:
    """The clock: every open deadline whose due time has passed at `now` escalates to whom it names."""
    return [_missed(deadline, now) for deadline in due if deadline.due_at < now]


def _missed(deadline: rules.OpenDeadline, now: datetime) -> Escalation:
    escalation_id = rules.escalation_id_for_deadline(deadline.deadline_id)
    raised = EscalationRaised(
        escalation_id=escalation_id,
        reason=rules.DEADLINE_MISSED,
        deadline_id=deadline.deadline_id,
        deadline_kind=deadline.kind,
        subject=deadline.subject,
        child_ids=list(deadline.child_ids),
        household_id=deadline.household_id,
        due_at=deadline.due_at,
        raised_at=now,
        escalate_to=deadline.escalate_to,
        description=deadline.description,
        source=deadline.source,
    )
    summary = (
        f"Escalated to the {_humanised(deadline.escalate_to)}: {deadline.description} "
        f"was due {deadline.due_at:%d %b %Y %H:%M}"
    )
    event = system_event(
        raised,
        occurred_at=now,
        causation_id=deadline.set_event_id,
        summary=summary,
        child_ids=deadline.child_ids,
        event_id=uuid.uuid5(escalation_id, "raised"),
    )
    return Escalation(escalation_stream(escalation_id), event, deadline.deadline_id)


def decide_dead_letter(row: rules.OutboxRow, now: datetime) -> Escalation:
    """A message no retry delivered: the registered manager sends it another way."""
    escalation_id = rules.escalation_id_for_dead_letter(row.outbox_id)
    what = "notification" if row.notification_id else "escalation"
    # Every reader of escalations sees this: the receiver by its subscription, not its URL, and no
    # error text (the attempts hold it for those who may read the raw log).
    description = (
        f"A {what} could not be delivered to {_humanised(row.recipient)} "
        f"(subscription {row.subscription_id}) after every retry. "
        "Send it another way and record the acknowledgement."
    )
    raised = EscalationRaised(
        escalation_id=escalation_id,
        reason=rules.DEAD_LETTERED,
        child_ids=list(row.child_ids),
        raised_at=now,
        escalate_to="registered_manager",
        description=description,
        source=rules.REGULATION_36,
        notification_id=row.notification_id,
        outbox_id=row.outbox_id,
        subject=row.message_stream,
    )
    event = system_event(
        raised,
        occurred_at=now,
        causation_id=row.source_event_id,
        summary=f"Escalated to the registered manager: {description}",
        child_ids=row.child_ids,
        event_id=uuid.uuid5(escalation_id, "raised"),
    )
    return Escalation(escalation_stream(escalation_id), event)


@dataclass(frozen=True)
class Sent:
    """What one try at sending a message got back."""

    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True)
class Attempt:
    number: int
    result: rules.AttemptOutcome
    event: NewEvent


# The summary is in the child's chronology: the outcome, not why (status code and error are in the
# event, for those who may read the raw log).
ATTEMPT_SUMMARIES = {
    "delivered": "Webhook delivered to {who}",
    "failed": "Webhook to {who} failed; will retry",
    "dead_lettered": "Webhook to {who} failed after every retry; dead-lettered",
    "gone": "Webhook receiver for {who} is gone (HTTP 410); disabled",
}
EMAIL_ATTEMPT_SUMMARIES = {
    "delivered": "Email accepted by the relay for {who}",
    "failed": "Email to {who} failed; will retry",
    "dead_lettered": "Email to {who} failed after every retry; dead-lettered",
    "gone": "Email receiver for {who} is gone; disabled",
}


def decide_attempt(
    row: rules.OutboxRow, url: str, sent: Sent, schedule: Sequence[float], now: datetime, event_id: uuid.UUID
) -> Attempt:
    """The attempt just made, recorded in the message's stream with what happens next."""
    number = row.attempts + 1
    result = rules.attempt_outcome(sent.status_code, number, schedule, now)
    attempted = DeliveryAttempted(
        outbox_id=row.outbox_id,
        webhook_id=row.webhook_id,
        notification_id=row.notification_id,
        escalation_id=row.escalation_id,
        subscription_id=row.subscription_id,
        recipient=row.recipient,
        url=destinations.without_credentials(url),
        attempt=number,
        outcome=result.outcome,
        status_code=sent.status_code,
        error=sent.error,
        attempted_at=now,
        duration_ms=sent.duration_ms,
        next_attempt_at=result.next_attempt_at,
    )
    event = system_event(
        attempted,
        occurred_at=now,
        causation_id=row.source_event_id,
        summary=(EMAIL_ATTEMPT_SUMMARIES if url.startswith("mailto:") else ATTEMPT_SUMMARIES)[result.outcome].format(
            who=_humanised(row.recipient)
        ),
        child_ids=row.child_ids,
        event_id=event_id,
    )
    return Attempt(number, result, event)


GONE = "the receiver answered 410 Gone"


def decide_gone(state: SubscriptionState, cause: uuid.UUID, now: datetime) -> list[NewEvent]:
    """A receiver that answered 410 is disabled, once."""
    if state.created is not None and not state.active:
        return []
    return [
        system_event(
            SubscriptionDisabled(subscription_id=state.subscription_id, reason=GONE),
            occurred_at=now,
            causation_id=cause,
            summary=f"Webhook receiver disabled: {GONE}",
            event_id=uuid.uuid5(state.subscription_id, "disabled:gone"),
        )
    ]
