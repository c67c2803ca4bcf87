"""notifications: the signed acknowledgement link in each notification email.

The Schedule 7 clock is met only by a recorded acknowledgement. A recipient who takes referrals by
email gets, in the message, a link they follow to acknowledge it themselves:

    <CARELOG_PUBLIC_BASE_URL>/v1/acknowledgements/<notification id>/<recipient>?token=<JWT>

The token is the credential (the route takes no bearer token): an HS256 JWT signed with
CARELOG_ACKNOWLEDGEMENT_LINK_SECRET (never the API's token key), with an audience of its own, that
names the notification, the recipient and the subscription it was sent to, and expires
CARELOG_ACKNOWLEDGEMENT_LINK_DAYS after sending. It acknowledges that one recipient of that one
notification and nothing else. GET shows a confirmation page and changes nothing (mail scanners
follow links); POST records the same NotificationAcknowledged a manager would, `via` the link,
meeting that recipient's clock alone. Once that clock is met, the link only says so.

Expiry is read on the agency's clock (the injected one), never the wall clock: PyJWT's own time
checks are off, and `verified` compares `exp` with the clock itself.
"""

from __future__ import annotations

import html
import urllib.parse
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Final

import jwt
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.notifications import commands, rules
from services.notifications.commands import AcknowledgeIn, NotificationState
from services.notifications.events import NotificationAcknowledged, notification_stream
from shared.auth import Principal, Role
from shared.commanding import CommandContext
from shared.contracts.base import load_as
from shared.eventstore import NewEvent, RecordedEvent
from shared.problems import FieldError, Problem
from shared.recording import Recorder
from shared.settings import Settings

AUDIENCE: Final = "carelog:notification-acknowledgement"
VIA: Final = "signed_link"
PATH: Final = "/v1/acknowledgements/{notification_id}/{recipient}"
# A token is about 400 bytes; anything much longer is not one of ours.
MAX_TOKEN_CHARS: Final = 2048
CLAIMS: Final = ("aud", "iss", "exp", "sub", "notification", "subscription")


@dataclass(frozen=True)
class LinkClaims:
    """What a verified link names: the only thing it may acknowledge."""

    notification_id: uuid.UUID
    recipient: str
    subscription_id: uuid.UUID
    expires_at: datetime


# ---- the token ---------------------------------------------------------------------------------
def mint(
    settings: Settings, notification_id: uuid.UUID, recipient: str, subscription_id: uuid.UUID, now: datetime
) -> str:
    claims = {
        "aud": AUDIENCE,
        "iss": settings.jwt_issuer,
        "sub": recipient,
        "notification": str(notification_id),
        "subscription": str(subscription_id),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(days=settings.acknowledgement_link_days)).timestamp()),
    }
    return jwt.encode(claims, settings.acknowledgement_link_secret, algorithm="HS256")


def link_for(settings: Settings, row: rules.OutboxRow, now: datetime) -> str | None:
    """The link an email of `row` carries: none for an escalation, or without a public base URL."""
    if row.notification_id is None or settings.public_base_url is None:
        return None
    token = mint(settings, row.notification_id, row.recipient, row.subscription_id, now)
    path = PATH.format(notification_id=row.notification_id, recipient=urllib.parse.quote(row.recipient))
    return f"{settings.public_base_url}{path}?token={token}"


def refused(reason: str) -> Problem:
    """A link that is not a valid credential: 401, so it is counted like a failed authentication
    (shared/ratelimit.FailedAuthenticationLimit) and guessing is slow."""
    return Problem(
        "unauthenticated",
        f"This acknowledgement link is not valid: {reason}. Ask the agency for the notification again.",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def verified(settings: Settings, token: str, notification_id: uuid.UUID, recipient: str, now: datetime) -> LinkClaims:
    """The link's claims, if its signature, audience, issuer and expiry hold on the agency's clock
    and it names exactly this notification and recipient; otherwise a 401 problem."""
    if len(token) > MAX_TOKEN_CHARS:
        raise refused("malformed")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.acknowledgement_link_secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=settings.jwt_issuer,
            options={"require": list(CLAIMS), "verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
        named = LinkClaims(
            notification_id=uuid.UUID(str(claims["notification"])),
            recipient=str(claims["sub"]),
            subscription_id=uuid.UUID(str(claims["subscription"])),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=now.tzinfo),
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        raise refused("malformed, altered or not signed by this agency") from None
    if named.notification_id != notification_id or named.recipient != recipient:
        raise refused("it was issued for another notification or recipient")
    if now >= named.expires_at:
        raise refused(f"it expired at {named.expires_at:%d %b %Y %H:%M}")
    return named


# ---- what the recipient says -------------------------------------------------------------------
Text = Annotated[str, Field(min_length=1, max_length=5000)]


class LinkAnswerIn(BaseModel):
    """The confirmation page's form (or JSON): every field may be left as it is."""

    model_config = ConfigDict(extra="forbid")

    acknowledged_by: Annotated[str, Field(min_length=1, max_length=300)] | None = Field(
        default=None, description="Your name and organisation (default: the recipient)."
    )
    action_taken: Text = "Notification received and read"
    outcome: Text = "Not stated when acknowledging"


def answer_of(content_type: str, body: bytes) -> LinkAnswerIn:
    """The body as the page's form posts it (urlencoded) or as JSON; empty fields are left out."""
    try:
        if content_type.startswith("application/x-www-form-urlencoded"):
            fields: Any = {k: v for k, v in urllib.parse.parse_qsl(body.decode(), strict_parsing=False) if v.strip()}
        else:
            fields = orjson.loads(body) if body.strip() else {}
        return LinkAnswerIn.model_validate(fields)
    except (UnicodeDecodeError, orjson.JSONDecodeError):
        raise Problem("malformed-request", "Send the form, or JSON.") from None
    except ValidationError as exc:
        errors = [
            FieldError(location=["body", *(str(p) for p in err["loc"])], message=err["msg"], type=err["type"])
            for err in exc.errors()
        ]
        raise Problem("validation", "The acknowledgement is not valid.", errors=errors) from None


def _humanised(value: str) -> str:
    return value.replace("_", " ")


def earlier_answer(events: list[RecordedEvent], recipient: str) -> NotificationAcknowledged | None:
    found = [
        e for e in events if e.type == NotificationAcknowledged.event_type and e.data.get("recipient") == recipient
    ]
    return load_as(NotificationAcknowledged, found[0]) if found else None


def already_acknowledged(state: NotificationState, claims: LinkClaims) -> bool:
    """The recipient's clock is met: by this link, another of theirs, or a manager recording it."""
    return not commands.clocks_answered(state, claims.notification_id, claims.recipient)


def decide_link_acknowledgement(
    rec: Recorder, state: NotificationState, claims: LinkClaims, answer: LinkAnswerIn, events: list[RecordedEvent]
) -> list[NewEvent]:
    """The recipient's own acknowledgement: the signature stands for the role a member of staff
    would need. Now, never back-dated; refused (409) once the recipient's clock is met."""
    if state.raised is not None and already_acknowledged(state, claims):
        earlier = earlier_answer(events, claims.recipient)
        when = f" on {earlier.acknowledged_at:%d %b %Y at %H:%M}" if earlier else ""
        raise Problem(
            "state-conflict", f"This notification is already acknowledged for the {_humanised(claims.recipient)}{when}."
        )
    who = answer.acknowledged_by or f"The {_humanised(claims.recipient)}"
    body = AcknowledgeIn.model_validate(
        {
            "acknowledged_by": who,
            "recipient": claims.recipient,
            "action_taken": answer.action_taken,
            "outcome": answer.outcome,
        }
    )
    recorded_by = f"link:{claims.subscription_id}"
    return commands.acknowledgement_events(rec, state, claims.notification_id, body, recorded_by=recorded_by, via=VIA)


class LinkContext(CommandContext):
    """A command recorded by a recipient through their link: they are the actor, in the role of a
    recipient, and the metadata says how it came (`via`)."""

    def metadata(self, causation_id: uuid.UUID | None = None, summary: str | None = None) -> dict[str, Any]:
        return {
            **super().metadata(causation_id, summary),
            "actor_id": self.principal.subject,
            "actor_role": "recipient",
            "via": VIA,
        }


def link_principal(claims: LinkClaims) -> Principal:
    # The least of the roles, and never read: no access check runs on it (the signature was the
    # check) and the events' metadata is LinkContext's.
    return Principal(subject=f"recipient:{claims.recipient}:{claims.subscription_id}", role=Role.CARER)


async def acknowledge(ctx: CommandContext, claims: LinkClaims, answer: LinkAnswerIn) -> list[RecordedEvent]:
    stream = notification_stream(claims.notification_id)
    events = await ctx.store.read_stream(stream)
    state = commands.notification_state(events)
    decided = decide_link_acknowledgement(ctx, state, claims, answer, events)
    return await ctx.append(stream, decided, ctx.expected(state.version))


# ---- the pages ---------------------------------------------------------------------------------
e = html.escape

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<meta name="referrer" content="no-referrer"><title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 2em auto">
<h1>{title}</h1>
{body}
</body></html>
"""


def _what(state: NotificationState, claims: LinkClaims) -> str:
    raised = state.raised
    if raised is None:
        return "<p>This notification is not on record.</p>"
    return (
        f"<p>Notification: <strong>{e(raised.title)}</strong> ({e(raised.rule_set)}), "
        f"for the {e(_humanised(claims.recipient))}, due by {raised.due_by:%d %b %Y %H:%M} (UTC).</p>"
    )


def _area(name: str) -> str:
    return f'<textarea name="{name}" maxlength="5000" rows="3" cols="50"></textarea>'


def confirmation_page(state: NotificationState, claims: LinkClaims, action: str) -> str:
    """What GET shows: what is to be acknowledged, and a form that POSTs it (nothing is recorded
    until the recipient presses the button)."""
    if already_acknowledged(state, claims):
        return PAGE.format(
            title="Already acknowledged", body=_what(state, claims) + "<p>It is already acknowledged.</p>"
        )
    form = f"""<form method="post" action="{e(action)}">
<p><label>Your name and organisation<br><input name="acknowledged_by" maxlength="300" size="50"></label></p>
<p><label>Action you have taken<br>{_area("action_taken")}</label></p>
<p><label>Its outcome<br>{_area("outcome")}</label></p>
<p><button type="submit">Acknowledge this notification</button></p>
</form>
<p>Acknowledging records your answer in the agency's record and stops its statutory clock for you.</p>"""
    return PAGE.format(title="Acknowledge a notification", body=_what(state, claims) + form)


def done_page(state: NotificationState, claims: LinkClaims) -> str:
    return PAGE.format(
        title="Acknowledged", body=_what(state, claims) + "<p>Thank you: your acknowledgement is recorded.</p>"
    )
