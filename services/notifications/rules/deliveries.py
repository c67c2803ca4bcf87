"""What happens to a message once raised: the escalations, who receives a webhook, when a failed
delivery is tried again, and what its attempts mean to someone waiting for it."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.contracts.notifications import DeliveryOutcome, EscalationRaised, EscalationReason

# Ids derived from their cause, so a repeat is a no-op.
NAMESPACE = uuid.UUID("3a0c2f9e-5d71-4c3b-8f5e-9b2d7c1e4a60")

# Why an escalation is raised.
DEADLINE_MISSED: EscalationReason = "deadline_missed"
DEAD_LETTERED: EscalationReason = "delivery_dead_lettered"

# The rule every acknowledgement clock and escalation cites.
REGULATION_36 = "Fostering Services (England) Regulations 2011 reg 36; NMS 29"


def escalation_id_for_deadline(deadline_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"deadline:{deadline_id}")


def escalation_id_for_dead_letter(outbox_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"dead-letter:{outbox_id}")


def outbox_id(message_event_id: uuid.UUID, subscription_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(message_event_id, f"deliver:{subscription_id}")


# ---- what the workers work on ----------------------------------------------------------------
@dataclass(frozen=True)
class OutboxRow:
    """One message for one receiver, and how far its delivery has got."""

    outbox_id: uuid.UUID
    webhook_id: str
    subscription_id: uuid.UUID
    recipient: str
    message_type: str
    message_stream: str
    source_event_id: uuid.UUID
    notification_id: uuid.UUID | None
    escalation_id: uuid.UUID | None
    child_ids: tuple[uuid.UUID, ...]
    body: dict[str, Any]
    attempts: int

    @property
    def escalates_a_dead_letter(self) -> bool:
        """A message about a dead letter, which is not escalated again when it dies itself."""
        data = self.body.get("data") or {}
        return self.message_type == EscalationRaised.event_type and data.get("reason") == DEAD_LETTERED


@dataclass(frozen=True)
class OpenDeadline:
    """A clock no DeadlineMet or DeadlineCancelled has closed (as far as this read model knows)."""

    deadline_id: uuid.UUID
    set_event_id: uuid.UUID
    kind: str
    subject: str
    child_ids: tuple[uuid.UUID, ...]
    household_id: uuid.UUID | None
    due_at: datetime
    escalate_to: str
    description: str
    source: str


# ---- webhooks -------------------------------------------------------------------------------
def type_filter_matches(filters: Sequence[str], message_type: str) -> bool:
    """No filter: every message. `notifications.*` matches by prefix."""
    if not filters:
        return True
    for f in filters:
        if f == message_type or f == "*" or (f.endswith("*") and message_type.startswith(f[:-1])):
            return True
    return False


def subscription_matches(
    *,
    recipient: str,
    event_types: Sequence[str],
    placing_authority: str | None,
    message_type: str,
    message_recipients: Sequence[str],
    message_placing_authorities: Sequence[str],
    local_authority: str | None = None,
    message_area_authority: str | None = None,
) -> bool:
    """Whether a subscription receives a message. An area_authority receiver that names its
    authority (`local_authority`) receives only what names that authority as the area authority."""
    if recipient not in message_recipients:
        return False
    if not type_filter_matches(event_types, message_type):
        return False
    if recipient == "area_authority" and local_authority and local_authority != message_area_authority:
        return False
    if placing_authority:
        wanted = placing_authority.strip().casefold()
        return any(wanted == (p or "").strip().casefold() for p in message_placing_authorities)
    return True


def next_attempt_delay(schedule: Sequence[float], attempts_made: int) -> float | None:
    """Seconds until the next try after `attempts_made` failed tries; None: dead-letter.

    `schedule[i]` is the wait before try i+1 (schedule[0] before the first, usually 0).
    """
    if attempts_made < len(schedule):
        return float(schedule[attempts_made])
    return None


def is_delivered(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


def is_gone(status_code: int | None) -> bool:
    return status_code == 410


@dataclass(frozen=True)
class AttemptOutcome:
    outcome: DeliveryOutcome
    next_attempt_at: datetime | None = None


def attempt_outcome(
    status_code: int | None, attempt: int, schedule: Sequence[float], attempted_at: datetime
) -> AttemptOutcome:
    """What the `attempt`-th try's answer means: delivered, gone (410), retried later, or dead."""
    if is_delivered(status_code):
        return AttemptOutcome("delivered")
    if is_gone(status_code):
        return AttemptOutcome("gone")
    delay = next_attempt_delay(schedule, attempt)
    if delay is None:
        return AttemptOutcome("dead_lettered")
    return AttemptOutcome("failed", attempted_at + timedelta(seconds=delay))


# Where an outbox row stands after an attempt with that outcome.
OUTBOX_STATUS_AFTER: dict[DeliveryOutcome, str] = {
    "delivered": "delivered",
    "failed": "pending",
    "dead_lettered": "dead",
    "gone": "cancelled",
}

# What a delivery attempt's outcome means to someone waiting for it: the error text and status code
# are for those who may read the raw log (they say what is listening where).
ATTEMPT_STATUSES = {"delivered": "delivered", "failed": "retrying", "dead_lettered": "failed", "gone": "failed"}


def attempt_status(outcome: str) -> str:
    return ATTEMPT_STATUSES.get(outcome, "failed")


def answered_by(recipients: Sequence[str], acknowledgements: Sequence[Mapping[str, Any]]) -> set[str]:
    """The recipients whose answer is recorded. An answer that names no recipient stands for the
    sole recipient only (one recipient's answer never stands for another's)."""
    sole = recipients[0] if len(recipients) == 1 else None
    named = {a.get("recipient") or sole for a in acknowledgements}
    return {r for r in recipients if r in named}


def delivery_status(outbox_statuses: Sequence[str]) -> str:
    """dead_lettered > pending (something still to send) > delivered > raised (nothing sent)."""
    if "dead" in outbox_statuses:
        return "dead_lettered"
    if "pending" in outbox_statuses:
        return "pending"
    if "delivered" in outbox_statuses:
        return "delivered"
    return "raised"


def notification_status(*, recipients: Sequence[str], answered: Collection[str], outbox_statuses: Sequence[str]) -> str:
    """acknowledged (every recipient has answered) > partly_acknowledged (some have) > how its
    messages stand (delivery_status)."""
    if recipients and all(r in answered for r in recipients):
        return "acknowledged"
    if any(r in answered for r in recipients):
        return "partly_acknowledged"
    return delivery_status(outbox_statuses)


def recipient_status(*, answered: bool, has_destination: bool, outbox_statuses: Sequence[str]) -> str:
    """One recipient's: acknowledged > no_destination (nothing carelog can send it to: someone must
    tell it another way) > how its messages stand."""
    if answered:
        return "acknowledged"
    if not has_destination and not outbox_statuses:
        return "no_destination"
    return delivery_status(outbox_statuses)


NOTIFICATION_STATUSES = ("raised", "pending", "delivered", "dead_lettered", "partly_acknowledged", "acknowledged")
RECIPIENT_STATUSES = ("no_destination", "raised", "pending", "delivered", "dead_lettered", "acknowledged")
