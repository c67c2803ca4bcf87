"""The notifications service's published events (streams `notification-<id>`, `escalation-<id>`,
`subscription-<id>`)."""

from __future__ import annotations

import uuid
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared.contracts.base import Code, Event, Personal, RecordText

# What became of one delivery attempt, and why an escalation was raised.
DeliveryOutcome = Literal["delivered", "failed", "dead_lettered", "gone"]
EscalationReason = Literal["deadline_missed", "delivery_dead_lettered"]
# The clock every notification starts: acknowledged by its due time, or it escalates.
ACKNOWLEDGEMENT_DEADLINE_KIND = "notifications.acknowledgement"


class NotificationRaised(Event):
    event_type: ClassVar[str] = "notifications.NotificationRaised"

    notification_id: uuid.UUID
    rule_set: Code = Field(description="`schedule7` or `lado`.")
    rule_id: Code = Field(description="e.g. `schedule7.row3`, `lado.lado`.")
    rule_version: int
    rule_source: Code
    triggers: list[Code] = Field(description="The triggers of the rule file that matched.")
    row: int | None = Field(description="Schedule 7 row, None for LADO.")
    title: Code
    recipients: list[Code]
    due_by: AwareDatetime
    source_event_id: uuid.UUID
    source_event_type: Code
    source_stream_id: Code
    child_ids: list[uuid.UUID]
    household_id: uuid.UUID | None = None
    placing_authorities: list[Code] = Field(default_factory=list)
    area_authority: Code | None = Field(
        default=None,
        description="ONS code of the local authority where the child lives, when it is a recipient "
        "(it differs from the placing authority); None when unknown or not told.",
    )
    details: Annotated[dict[str, object], Personal("record")] = Field(
        default_factory=dict, description="The facts of the source event."
    )


class NotificationAcknowledged(Event):
    event_type: ClassVar[str] = "notifications.NotificationAcknowledged"

    notification_id: uuid.UUID
    acknowledged_by: RecordText = Field(description="Who acknowledged (person and organisation).")
    recipient: Code | None = None
    action_taken: RecordText
    outcome: RecordText
    acknowledged_at: AwareDatetime
    recorded_by: Code
    late: bool
    # How it reached the log: None when a member of staff recorded it (the first events had no
    # such field), `signed_link` when the recipient followed the link in the notification's email.
    via: Code | None = None


class DeliveryAttempted(Event):
    event_type: ClassVar[str] = "notifications.DeliveryAttempted"

    outbox_id: uuid.UUID
    webhook_id: Code = Field(description="The `webhook-id` header: stable across retries.")
    notification_id: uuid.UUID | None = None
    escalation_id: uuid.UUID | None = None
    subscription_id: uuid.UUID
    recipient: Code
    url: Code
    attempt: int
    outcome: DeliveryOutcome
    status_code: int | None = None
    error: Code | None = None
    attempted_at: AwareDatetime
    duration_ms: int
    next_attempt_at: AwareDatetime | None = None


class EscalationRaised(Event):
    event_type: ClassVar[str] = "notifications.EscalationRaised"

    escalation_id: uuid.UUID
    reason: EscalationReason
    deadline_id: uuid.UUID | None = None
    deadline_kind: Code | None = None
    subject: Code | None = None
    child_ids: list[uuid.UUID] = Field(default_factory=list)
    household_id: uuid.UUID | None = None
    due_at: AwareDatetime | None = None
    raised_at: AwareDatetime
    escalate_to: Code
    description: RecordText
    source: Code | None = None
    notification_id: uuid.UUID | None = None
    outbox_id: uuid.UUID | None = None


class SubscriptionCreated(Event):
    event_type: ClassVar[str] = "notifications.SubscriptionCreated"

    subscription_id: uuid.UUID
    url: Code
    recipient: Code
    event_types: list[Code]
    placing_authority: Code | None = None
    description: Code | None = None
    secret_version: int = 1
    local_authority: Code | None = Field(
        default=None, description="The authority (ONS code) an area_authority receiver speaks for."
    )


class SubscriptionDisabled(Event):
    event_type: ClassVar[str] = "notifications.SubscriptionDisabled"

    subscription_id: uuid.UUID
    reason: Code


class SubscriptionSecretRotated(Event):
    event_type: ClassVar[str] = "notifications.SubscriptionSecretRotated"

    subscription_id: uuid.UUID
    secret_version: int
