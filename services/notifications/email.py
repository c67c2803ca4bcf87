"""notifications: delivery by secure email, beside webhooks.

A subscription whose URL is `mailto:<address>` is delivered by email through the agency's own mail
relay (CARELOG_SMTP_*), with STARTTLS required: many LADOs and placing authorities take referrals
only by secure email. It is the same outbox as a webhook's: the row is claimed and locked by a
dispatcher, each try is a DeliveryAttempted event, retries follow CARELOG_WEBHOOK_RETRY_SCHEDULE and
a message no retry delivered is dead-lettered and escalated. The `Message-ID` derives from the
webhook id, so every retry of one message carries the same id and a duplicate is recognisable.

An email that was accepted is `delivered`, nothing more: the Schedule 7 clock is met only when the
recipient's acknowledgement is recorded, by a manager (POST /v1/notifications/{id}/acknowledge) or
by the recipient through the signed link the message carries (services/notifications/links.py).
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib
import orjson

from services.notifications import links, rules
from services.notifications.commands import Sent
from shared.settings import Settings

MAILTO = re.compile(r"mailto:([A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# What the reply codes of SMTP (RFC 5321 §4.2) mean is kept apart from HTTP's: an accepted message
# is recorded with the code the relay answered (250), a refusal with its 4xx or 5xx code.
ACCEPTED = 250


def is_email(url: str) -> bool:
    return url.startswith("mailto:")


def address_of(url: str) -> str | None:
    found = MAILTO.fullmatch(url)
    return found.group(1) if found else None


def _field(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _value(value: object) -> str:
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode() if value else "-"
    return "-" if value is None or value == "" else str(value)


def text_of(body: dict[str, object], link: str | None = None) -> str:
    """The message for a person: what it is, its fields one a line, and what happens next."""
    data = body.get("data")
    fields = data if isinstance(data, dict) else {}
    lines = [f"carelog: {body.get('type', 'message')}", ""]
    lines += [f"{_field(str(name))}: {_value(value)}" for name, value in fields.items()]
    lines += ["", "Receiving this email does not acknowledge it."]
    if link:
        lines += [
            "To acknowledge it, open this link (it is for you alone), say the action you have taken and",
            "its outcome, and press the button; that records your acknowledgement and stops the",
            "statutory clock. Or tell the agency, which records it for you.",
            "",
            link,
        ]
    else:
        lines += [
            "Tell the agency the action you have taken and its outcome; the agency records your",
            "acknowledgement, which stops the statutory clock.",
        ]
    lines += ["", "The message as JSON (the same body a webhook receives) is attached."]
    return "\n".join(lines) + "\n"


def compose(settings: Settings, row: rules.OutboxRow, to: str, now: datetime) -> EmailMessage:
    data = row.body.get("data")
    title = data.get("title") if isinstance(data, dict) else None
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = f"carelog: {title or row.message_type}"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{row.webhook_id}@carelog>"
    message.set_content(text_of(row.body, links.link_for(settings, row, now)))
    attached = orjson.dumps(row.body, option=orjson.OPT_INDENT_2)
    message.add_attachment(attached, maintype="application", subtype="json", filename="message.json")
    return message


def tls_context(settings: Settings) -> ssl.SSLContext:
    """The relay's certificate is checked: against the system's authorities, or CARELOG_SMTP_CA_FILE's."""
    return ssl.create_default_context(cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None)


async def send_email(settings: Settings, row: rules.OutboxRow, url: str, now: datetime) -> Sent:
    """One try through the relay. Refusals keep their SMTP code; anything else is named by kind only."""
    started = time.monotonic()

    def sent(code: int | None, error: str | None) -> Sent:
        return Sent(code, error, int((time.monotonic() - started) * 1000))

    to = address_of(url)
    if to is None or settings.smtp_host is None:
        return sent(None, "not sent: email delivery is not configured (CARELOG_SMTP_HOST)")
    try:
        async with asyncio.timeout(settings.smtp_timeout_seconds):
            await aiosmtplib.send(
                compose(settings, row, to, now),
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username,
                password=settings.smtp_password,
                start_tls=settings.smtp_starttls,
                use_tls=False,
                tls_context=tls_context(settings) if settings.smtp_starttls else None,
                timeout=settings.smtp_timeout_seconds,
            )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        code = exc.recipients[0].code if exc.recipients else None
        return sent(code, f"SMTP {code}: the recipient was refused")
    except aiosmtplib.SMTPResponseException as exc:
        return sent(exc.code, f"SMTP {exc.code}")
    except TimeoutError:
        return sent(None, "SMTPTimeout")
    except (aiosmtplib.SMTPException, OSError) as exc:
        # The kind of failure only: the message may name the relay's address.
        return sent(None, type(exc).__name__)
    return sent(ACCEPTED, None)
