"""notifications: its streams, and its contracts (shared/contracts/notifications.py) re-exported."""

from __future__ import annotations

import uuid

from shared.contracts.notifications import (
    ACKNOWLEDGEMENT_DEADLINE_KIND,
    DeliveryAttempted,
    DeliveryOutcome,
    EscalationRaised,
    EscalationReason,
    NotificationAcknowledged,
    NotificationRaised,
    SubscriptionCreated,
    SubscriptionDisabled,
    SubscriptionSecretRotated,
)

# Type names, for code that filters the log by type.
NOTIFICATION_RAISED = NotificationRaised.event_type
NOTIFICATION_ACKNOWLEDGED = NotificationAcknowledged.event_type
DELIVERY_ATTEMPTED = DeliveryAttempted.event_type
ESCALATION_RAISED = EscalationRaised.event_type
SUBSCRIPTION_CREATED = SubscriptionCreated.event_type
SUBSCRIPTION_DISABLED = SubscriptionDisabled.event_type
SUBSCRIPTION_SECRET_ROTATED = SubscriptionSecretRotated.event_type


def notification_stream(notification_id: uuid.UUID) -> str:
    return f"notification-{notification_id}"


def escalation_stream(escalation_id: uuid.UUID) -> str:
    return f"escalation-{escalation_id}"


def subscription_stream(subscription_id: uuid.UUID) -> str:
    return f"subscription-{subscription_id}"


__all__ = [
    "ACKNOWLEDGEMENT_DEADLINE_KIND",
    "DELIVERY_ATTEMPTED",
    "ESCALATION_RAISED",
    "NOTIFICATION_ACKNOWLEDGED",
    "NOTIFICATION_RAISED",
    "SUBSCRIPTION_CREATED",
    "SUBSCRIPTION_DISABLED",
    "SUBSCRIPTION_SECRET_ROTATED",
    "DeliveryAttempted",
    "DeliveryOutcome",
    "EscalationRaised",
    "EscalationReason",
    "NotificationAcknowledged",
    "NotificationRaised",
    "SubscriptionCreated",
    "SubscriptionDisabled",
    "SubscriptionSecretRotated",
    "escalation_stream",
    "notification_stream",
    "subscription_stream",
]
