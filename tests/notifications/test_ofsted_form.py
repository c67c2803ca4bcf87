"""Ofsted's online form: each Schedule 7 notification rendered as the text to paste, field by field
in the form's order, and a manager's record of the submission reference, which meets the clock."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from services.notifications import workers
from services.notifications.ofsted import OFSTED_FORM_FIELDS
from shared.auth import Role
from shared.clock import ManualClock
from tests.builders import place_child, register_child
from tests.conftest import settle
from tests.notifications import helpers as h


async def overdose(app: FastAPI, clock: ManualClock) -> uuid.UUID:
    child = await register_child(app, at=clock.now() - timedelta(days=30), name="Jamie Ofsted-Test")
    await place_child(app, child, at=clock.now() - timedelta(days=20))
    await h.incident(app, child, clock.now() - timedelta(hours=1), "overdose")
    await settle(app)
    return child


async def notifications(client: httpx.AsyncClient, auth: Any, child: uuid.UUID) -> list[dict[str, Any]]:
    listed = await client.get("/v1/notifications", params={"child_id": str(child)}, headers=auth())
    assert listed.status_code == 200, listed.text
    return list(listed.json()["notifications"])


async def acknowledgement_escalations(client: httpx.AsyncClient, auth: Any, child: uuid.UUID) -> list[dict[str, Any]]:
    listed = await client.get("/v1/escalations", params={"child_id": str(child)}, headers=auth())
    return [e for e in listed.json()["escalations"] if e["deadline_kind"] == "notifications.acknowledgement"]


async def test_the_form_is_rendered_in_order_and_the_submission_reference_meets_the_clock(
    app: FastAPI, client: httpx.AsyncClient, auth: Any, clock: ManualClock
) -> None:
    child = await overdose(app, clock)
    [notification] = await notifications(client, auth, child)
    nid = notification["notification_id"]
    assert "ofsted" in notification["recipients"]

    form = await client.get(f"/v1/notifications/{nid}/ofsted-form", headers=auth(Role.CHILD_SOCIAL_WORKER))
    assert form.status_code in (403, 404)  # not this worker's child
    form = await client.get(f"/v1/notifications/{nid}/ofsted-form", headers=auth())
    assert form.status_code == 200, form.text
    fields = {f["label"]: f["value"] for f in form.json()["fields"]}
    assert list(fields) == [label for label, _ in OFSTED_FORM_FIELDS]
    assert fields["Provider's reference"] == nid
    assert fields["Name of child"] == "Jamie Ofsted-Test"
    assert fields["What happened"] == "Test incident: overdose"
    assert "placing authority" in fields["Others notified"] and "ofsted" not in fields["Others notified"]
    text = form.json()["text"]
    positions = [text.index(f"{label}:\n{value}") for label, value in fields.items()]
    assert positions == sorted(positions)  # pasted top to bottom, as the form asks

    # Not submitted in time: the clock escalates to the registered manager.
    clock.advance(timedelta(hours=25))
    await workers.raise_due_escalations(app.state)
    escalations = await acknowledgement_escalations(client, auth, child)
    assert len(escalations) == 2 and all(e["open"] for e in escalations)  # each recipient has its own clock
    [escalation] = [e for e in escalations if "ofsted" in e["description"].lower()]

    head = (await app.state.store.head())[0]
    for headers, body, status in [
        (auth(Role.CHILD_SOCIAL_WORKER), {"reference": "NOT-1"}, 403),  # not allocated to this child
        (auth(Role.INSPECTOR), {"reference": "NOT-1"}, 403),
        (auth(), {"reference": ""}, 422),
        (auth(), {"reference": "NOT-1; DROP"}, 422),
        (auth(), {"reference": "NOT-1", "submitted_at": (clock.now() + timedelta(hours=2)).isoformat()}, 422),
    ]:
        refused = await client.post(f"/v1/notifications/{nid}/ofsted-submission", json=body, headers=headers)
        assert refused.status_code == status, (body, refused.text)
    assert (await app.state.store.head())[0] == head  # nothing written

    recorded = await client.post(
        f"/v1/notifications/{nid}/ofsted-submission", json={"reference": "NOT-2026/12345"}, headers=auth(Role.MANAGER)
    )
    assert recorded.status_code == 200, recorded.text
    answer = recorded.json()
    assert [c["kind"] for c in answer["clocks"]] == ["notifications.acknowledgement"]
    assert answer["status"] == "partly_acknowledged"  # Ofsted's answer; the placing authority's is awaited
    assert {r["recipient"]: r["status"] for r in answer["by_recipient"]}["ofsted"] == "acknowledged"
    [acknowledgement] = answer["acknowledgements"]
    assert acknowledgement["recipient"] == "ofsted" and "NOT-2026/12345" in acknowledgement["action_taken"]

    await settle(app)
    listed = await acknowledgement_escalations(client, auth, child)
    by_ofsted = {"ofsted" in e["description"].lower(): e for e in listed}
    assert not by_ofsted[True]["open"] and by_ofsted[True]["resolution"] == "deadline met"
    assert by_ofsted[False]["open"]  # the placing authority's clock is its own answer's to meet


async def test_a_notification_that_does_not_name_ofsted_has_no_form(
    app: FastAPI, client: httpx.AsyncClient, auth: Any, clock: ManualClock
) -> None:
    child = await register_child(app, at=clock.now() - timedelta(days=30))
    _, household = await place_child(app, child, at=clock.now() - timedelta(days=20))
    await h.allegation(app, household, [child], clock.now() - timedelta(hours=1))
    await settle(app)
    lado = [n for n in await notifications(client, auth, child) if "ofsted" not in n["recipients"]]
    assert lado, "an allegation raises a LADO referral"
    nid = lado[0]["notification_id"]
    form = await client.get(f"/v1/notifications/{nid}/ofsted-form", headers=auth())
    assert form.status_code == 422 and form.json()["reasons"][0]["code"] == "not_for_ofsted"
    refused = await client.post(
        f"/v1/notifications/{nid}/ofsted-submission", json={"reference": "NOT-1"}, headers=auth()
    )
    assert refused.status_code == 422
    missing = await client.get(f"/v1/notifications/{uuid.uuid4()}/ofsted-form", headers=auth())
    assert missing.status_code == 404
