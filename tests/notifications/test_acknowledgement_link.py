"""The signed acknowledgement link in a notification email, followed as a recipient would: read out
of the message the real SMTP relay received, opened (a page, nothing recorded), then posted (the
recipient's clock met, theirs alone, so it does not escalate). A reused, altered, expired, foreign
or other-recipient link is refused with a problem and writes nothing; refusals are rate-limited
like failed authentication."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from email.message import Message
from typing import Any

import httpx
import jwt
from fastapi import FastAPI

from services.notifications import links, workers
from services.notifications.rules import acknowledgement_deadline_id
from shared.auth import Role, mint_token
from shared.clock import ManualClock
from shared.eventstore import EventFilter
from tests.notifications import helpers as h
from tests.notifications.test_email import (
    ADDRESS,
    Relay,
    acknowledgement_missed,
    agency,
    attempt,
    email_settings,
    escalations,
    notification_of,
    overdose,
    relay,  # noqa: F401  (the fixture)
)

BASE = "https://carelog.agency.example"
LINK = re.compile(re.escape(BASE) + r"(/v1/acknowledgements/[^\s?]+)\?token=([A-Za-z0-9_.-]+)")


def link_in(message: Message) -> tuple[str, str]:
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_payload(decode=True)
    assert isinstance(text, bytes)
    found = LINK.search(text.decode())
    assert found, text.decode()
    return found.group(1), found.group(2)


async def head(app: FastAPI) -> int:
    return int((await app.state.store.head())[0])


async def refused(client: httpx.AsyncClient, app: FastAPI, method: str, path: str, token: str) -> dict[str, Any]:
    """A refused link: a 401 problem, and nothing written."""
    before = await head(app)
    response = await client.request(method, path, params={"token": token}, json={} if method == "POST" else None)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await head(app) == before
    return dict(response.json())


async def test_a_recipient_acknowledges_through_the_link_in_the_email_and_only_their_clock_is_met(
    app_url: str,
    clock: ManualClock,
    auth: Any,
    relay: Relay,  # noqa: F811
    authority: str,
) -> None:
    await relay.start()
    settings = email_settings(relay, public_base_url=BASE, failed_authentications_per_minute=8)
    async with agency(app_url, settings, clock) as (app, client):
        subs = h.Subscriptions(client, auth(Role.ADMIN))
        subscription, _ = await subs.add(ADDRESS, "placing_authority", placing_authority=authority)
        child = await overdose(app, clock, authority)
        await attempt(app)
        [message] = relay.messages()
        path, token = link_in(message)
        notification = await notification_of(client, auth, child)
        nid = notification["notification_id"]
        assert path == f"/v1/acknowledgements/{nid}/placing_authority"
        assert len(notification["recipients"]) > 1  # others' clocks run on

        # Opening the link (as a mail scanner would) shows the page and records nothing.
        before = await head(app)
        page = await client.get(path, params={"token": token})
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert 'method="post"' in page.text and "placing authority" in page.text
        assert await head(app) == before

        answered = await client.post(
            path,
            params={"token": token},
            content="acknowledged_by=Duty+officer%2C+Council&action_taken=Strategy+discussion+held&outcome=",
            headers={"content-type": "application/x-www-form-urlencoded", "accept": "application/json"},
        )
        assert answered.status_code == 200, answered.text
        deadline = str(acknowledgement_deadline_id(uuid.UUID(nid), "placing_authority"))
        assert [(c["event"], c["deadline_id"]) for c in answered.json()["clocks"]] == [("DeadlineMet", deadline)]
        [recorded] = await app.state.store.read(EventFilter(types=["notifications.NotificationAcknowledged"]))
        assert recorded.data["via"] == "signed_link" and recorded.data["recipient"] == "placing_authority"
        assert recorded.data["acknowledged_by"] == "Duty officer, Council"
        assert recorded.data["outcome"] == "Not stated when acknowledging"  # left empty on the form
        assert recorded.data["recorded_by"] == f"link:{subscription}"
        assert recorded.metadata["actor_role"] == "recipient"
        detail = (await client.get(f"/v1/notifications/{nid}", headers=auth(Role.REGISTERED_MANAGER))).json()
        answers = [(a["recipient"], a["via"]) for a in detail["acknowledgements"]]
        assert answers == [("placing_authority", "signed_link")]

        # A second use answers that it is already acknowledged, and writes nothing.
        before = await head(app)
        again = await client.post(path, params={"token": token}, json={})
        assert again.status_code == 409 and "already acknowledged" in again.json()["detail"], again.text
        assert "Already acknowledged" in (await client.get(path, params={"token": token})).text
        assert await head(app) == before

        # Every other recipient's clock runs out and escalates; the placing authority's does not.
        clock.advance(timedelta(hours=25))
        await workers.raise_due_escalations(app.state)
        assert await acknowledgement_missed(client, auth, child) == []
        missed = [e for e in await escalations(client, auth, child) if e["reason"] == "deadline_missed"]
        assert missed and all("placing authority" not in e["description"].lower() for e in missed)

        await refusals(client, app, path, token, nid, subscription)
        await subs.close()


async def refusals(client: httpx.AsyncClient, app: FastAPI, path: str, token: str, nid: str, sid: str) -> None:
    settings, now = app.state.settings, app.state.clock.now()
    header, claims, signature = token.split(".")
    altered = f"{header}.{claims}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    expired = links.mint(settings, uuid.UUID(nid), "placing_authority", uuid.UUID(sid), now - timedelta(days=15))
    other_key = jwt.encode(
        {**jwt.decode(token, options={"verify_signature": False}), "exp": now + timedelta(days=1)},
        "another-agency-key-of-more-than-32-bytes",
        algorithm="HS256",
    )
    api_token = mint_token(settings, role=Role.REGISTERED_MANAGER, subject="rm-1", now=now)
    ofsted_path = path.replace("/placing_authority", "/ofsted")
    cases = {
        "altered": ("POST", path, altered, "altered"),
        "expired": ("GET", path, expired, "expired"),
        "signed by another key": ("POST", path, other_key, "not signed"),
        "an API token": ("POST", path, api_token, "not signed"),
        "for another recipient": ("POST", ofsted_path, token, "another notification or recipient"),
        "for another notification": ("GET", path.replace(nid, str(uuid.uuid4())), token, "another notification"),
    }
    for name, (method, where, presented, why) in cases.items():
        problem = await refused(client, app, method, where, presented)
        assert why in problem["detail"], (name, problem)
    # Refused links are failed authentications: the address is slowed down (8 a minute here).
    statuses = [(await client.get(path, params={"token": altered})).status_code for _ in range(3)]
    assert statuses[-1] == 429
