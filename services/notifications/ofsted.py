"""notifications: Ofsted's online notification form.

Ofsted takes Schedule 7 notifications through its own online form, not by webhook or email. For
each notification that names Ofsted, carelog renders the text to paste, field by field in the order
of `OFSTED_FORM_FIELDS`; once a manager has submitted the form, they record Ofsted's submission
reference, which is Ofsted's acknowledgement (FSR 2011 reg 36): it meets the notification's
acknowledgement clock like any recorded acknowledgement.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field

from services.notifications import commands
from services.notifications.commands import AcknowledgeIn, NotificationState
from services.notifications.events import notification_stream
from shared.commanding import CommandContext
from shared.contracts.notifications import NotificationRaised
from shared.eventstore import EventStore, NewEvent, RecordedEvent
from shared.problems import Problem
from shared.recording import Recorder
from shared.refusals import Reason, refuse_if
from shared.types import Instant

OFSTED: Final = "ofsted"


def _first(raised: NotificationRaised, *names: str) -> str:
    """The first of the source event's facts that it has, as written."""
    for name in names:
        value = raised.details.get(name)
        if value not in (None, ""):
            return str(value)
    return "-"


def _children(raised: NotificationRaised) -> str:
    children = raised.details.get("children")
    listed = children if isinstance(children, list) else []
    names = [str(c.get("name")) for c in listed if isinstance(c, dict) and c.get("name")]
    return ", ".join(names) or ", ".join(str(c) for c in raised.child_ids) or "-"


# The form's fields in the order the form asks for them, and where each value comes from. The
# order is data: when Ofsted changes its form, this table changes with it.
OFSTED_FORM_FIELDS: tuple[tuple[str, Callable[[NotificationRaised], str]], ...] = (
    ("Provider's reference", lambda r: str(r.notification_id)),
    ("Type of event", lambda r: f"{r.title} (Schedule 7 row {r.row})" if r.row else r.title),
    ("Name of child", _children),
    ("Placing authority", lambda r: ", ".join(r.placing_authorities) or "-"),
    ("Date and time of the event", lambda r: _first(r, "occurred_at", "received_at", "decided_at")),
    ("What happened", lambda r: _first(r, "narrative", "summary", "category", "outcome")),
    ("Action taken", lambda r: _first(r, "action_taken", "outcome")),
    ("Others notified", lambda r: ", ".join(x.replace("_", " ") for x in r.recipients if x != OFSTED) or "-"),
    ("Legal basis", lambda r: r.rule_source),
)


class OfstedFormField(BaseModel):
    label: str
    value: str


class OfstedForm(BaseModel):
    """What to paste into Ofsted's online form for one notification."""

    notification_id: uuid.UUID
    fields: list[OfstedFormField] = Field(description="In the form's order.")
    text: str = Field(description="Every field as `label:` and its value, for pasting in one go.")


class OfstedSubmissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._/-]*$")] = Field(
        description="The submission reference Ofsted's form gave."
    )
    submitted_at: Instant | None = Field(default=None, description="When the form was submitted (default: now).")


def _names_ofsted(raised: NotificationRaised | None, notification_id: uuid.UUID) -> NotificationRaised:
    if raised is None:
        raise Problem("not-found", f"There is no notification {notification_id}.")
    refuse_if(
        [Reason("not_for_ofsted", "Ofsted is not a recipient of this notification.")]
        if OFSTED not in raised.recipients
        else []
    )
    return raised


def render_form(state: NotificationState, notification_id: uuid.UUID) -> OfstedForm:
    raised = _names_ofsted(state.raised, notification_id)
    fields = [OfstedFormField(label=label, value=value(raised)) for label, value in OFSTED_FORM_FIELDS]
    text = "\n\n".join(f"{f.label}:\n{f.value}" for f in fields) + "\n"
    return OfstedForm(notification_id=notification_id, fields=fields, text=text)


def decide_submission(
    rec: Recorder, state: NotificationState, notification_id: uuid.UUID, body: OfstedSubmissionIn
) -> list[NewEvent]:
    """The record of the form submitted (by a manager, in practice): Ofsted's acknowledgement, with
    its reference. Whoever may record the notification's acknowledgements may record it."""
    _names_ofsted(state.raised, notification_id)
    answer = AcknowledgeIn(
        acknowledged_by="Ofsted (online notification form)",
        recipient=OFSTED,
        action_taken=f"Notified through Ofsted's online form; submission reference {body.reference}",
        outcome=f"Ofsted submission reference {body.reference} recorded",
        acknowledged_at=body.submitted_at,
    )
    return commands.decide_acknowledgement(rec, state, notification_id, answer)


async def read_state(store: EventStore, notification_id: uuid.UUID) -> NotificationState:
    return commands.notification_state(await store.read_stream(notification_stream(notification_id)))


async def record_submission(
    ctx: CommandContext, notification_id: uuid.UUID, body: OfstedSubmissionIn
) -> list[RecordedEvent]:
    state = await read_state(ctx.store, notification_id)
    decided = decide_submission(ctx, state, notification_id, body)
    return await ctx.append(notification_stream(notification_id), decided, ctx.expected(state.version))
