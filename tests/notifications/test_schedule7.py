"""Each Schedule 7 row end to end: source events in the log -> NotificationRaised -> signed webhooks
to exactly the right recipients, through a real HTTP receiver."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from standardwebhooks import Webhook

from shared.auth import Role
from shared.clock import ManualClock
from shared.eventstore import EventFilter
from tests.builders import RECIPIENTS, place_child, register_child
from tests.conftest import settle
from tests.notifications import helpers as h

Setup = Callable[[FastAPI, Any, str], Awaitable[list[uuid.UUID]]]


async def placed_child(app: FastAPI, clock: ManualClock, authority: str) -> tuple[uuid.UUID, uuid.UUID]:
    child = await register_child(app, at=clock.now() - timedelta(days=30), placing_authority=authority)
    _, household = await place_child(app, child, at=clock.now() - timedelta(days=20), placing_authority=authority)
    return child, household


def incident_case(category: str, **flags: bool) -> Setup:
    async def setup(app: FastAPI, clock: Any, authority: str) -> list[uuid.UUID]:
        child, _ = await placed_child(app, clock, authority)
        await h.incident(app, child, clock.now(), category, **flags)
        return [child]

    return setup


async def dbs_referral(app: FastAPI, clock: Any, authority: str) -> list[uuid.UUID]:
    child, household = await placed_child(app, clock, authority)
    allegation_id, _ = await h.allegation(app, household, [child], clock.now() - timedelta(days=10))
    await h.allegation_outcome(app, allegation_id, household, [child], clock.now(), dbs_referral_made=True)
    return [child]


async def serious_complaint(app: FastAPI, clock: Any, authority: str) -> list[uuid.UUID]:
    child, household = await placed_child(app, clock, authority)
    await h.complaint(app, child, clock.now(), made_by="parent", about_household_id=household, schedule7_row9=True)
    return [child]


ROWS: list[Any] = [
    pytest.param(
        1,
        incident_case("death"),
        {"ofsted", "placing_authority", "secretary_of_state", "area_authority", "health"},
        id="row1-death",
    ),
    pytest.param(2, dbs_referral, {"ofsted", "placing_authority"}, id="row2-dbs-referral"),
    pytest.param(3, incident_case("serious_illness"), {"ofsted", "placing_authority"}, id="row3-serious-illness"),
    pytest.param(
        3,
        incident_case("self_harm", needed_hospital_treatment=True),
        {"ofsted", "placing_authority"},
        id="row3-self-harm-hospital",
    ),
    pytest.param(
        4, incident_case("infectious_disease"), {"ofsted", "placing_authority", "health"}, id="row4-infectious-disease"
    ),
    pytest.param(5, incident_case("offence_allegation"), {"placing_authority", "police"}, id="row5-offence"),
    pytest.param(
        6,
        incident_case("sexual_exploitation"),
        {"ofsted", "placing_authority", "area_authority", "police"},
        id="row6-sexual-exploitation",
    ),
    pytest.param(7, incident_case("police_called"), {"ofsted", "placing_authority", "police"}, id="row7-police"),
    pytest.param(8, incident_case("missing"), {"placing_authority", "police"}, id="row8-missing"),
    pytest.param(9, serious_complaint, {"ofsted", "placing_authority"}, id="row9-serious-complaint"),
    pytest.param(
        10,
        incident_case("child_protection_enquiry_started"),
        {"ofsted", "placing_authority", "area_authority"},
        id="row10-cp-enquiry",
    ),
]


@pytest.mark.parametrize(("row", "setup", "recipients"), ROWS)
async def test_schedule_7_row_reaches_exactly_its_recipients(
    row: int,
    setup: Setup,
    recipients: set[str],
    app: FastAPI,
    client: httpx.AsyncClient,
    auth: Any,
    clock: ManualClock,
    receiver: h.Receiver,
    subs: h.Subscriptions,
    authority: str,
) -> None:
    secrets = {}
    for kind in RECIPIENTS:  # a subscriber for every kind the rules know
        _, secrets[kind] = await subs.add(receiver.url(f"/{kind}"), kind, placing_authority=authority)

    children = await setup(app, clock, authority)
    await settle(app)

    listed = (await client.get("/v1/notifications", params={"child_id": str(children[0])}, headers=auth())).json()
    schedule7 = [n for n in listed["notifications"] if n["rule_set"] == "schedule7"]
    assert [n["row"] for n in schedule7] == [row]
    notification = schedule7[0]
    assert set(notification["recipients"]) == recipients
    assert notification["rule_id"] == f"schedule7.row{row}"
    assert notification["rule_version"] == 1
    assert notification["unsubscribed_recipients"] == []

    # Every intended receiver gets one signed webhook; no other receiver gets anything about it.
    await h.eventually(lambda: {r.path.strip("/") for r in receiver.requests} >= recipients)
    await settle(app)
    detail = (await client.get(f"/v1/notifications/{notification['notification_id']}", headers=auth())).json()
    assert {d["recipient"] for d in detail["deliveries"]} == recipients
    about_it = [r for r in receiver.requests if r.json()["data"]["notification_id"] == notification["notification_id"]]
    assert {r.path.strip("/") for r in about_it} == recipients
    for request in about_it:
        kind = request.path.strip("/")
        payload = Webhook(secrets[kind]).verify(request.body, request.headers)
        assert payload["type"] == "notifications.NotificationRaised"
        assert payload["data"]["row"] == row

    due = timedelta(0) if row == 1 else timedelta(hours=24)
    source_time = clock.now()
    assert notification["due_by"] == (source_time + due).isoformat()


async def test_complaint_by_a_child_about_their_carer_is_row_9_and_goes_to_the_lado(
    app: FastAPI, client: httpx.AsyncClient, auth: Any, clock: ManualClock, authority: str
) -> None:
    child, household = await placed_child(app, clock, authority)
    await h.complaint(
        app,
        child,
        clock.now(),
        made_by="child",
        about_household_id=household,
        schedule7_row9=True,
        lado_consultation=True,
    )
    await settle(app)
    listed = (await client.get("/v1/notifications", params={"child_id": str(child)}, headers=auth())).json()
    by_rule = {n["rule_id"]: n for n in listed["notifications"]}
    assert set(by_rule) == {"schedule7.row9", "lado.lado"}
    assert by_rule["lado.lado"]["recipients"] == ["lado"]
    assert by_rule["lado.lado"]["due_by"] == clock.now().isoformat()  # at once


async def test_every_allegation_notifies_the_lado_at_once_even_for_a_child_not_placed(
    app: FastAPI,
    client: httpx.AsyncClient,
    auth: Any,
    clock: ManualClock,
    authority: str,
    receiver: h.Receiver,
    subs: h.Subscriptions,
) -> None:
    await subs.add(receiver.url("/lado"), "lado", placing_authority=authority)
    await subs.add(receiver.url("/ofsted"), "ofsted", placing_authority=authority)
    child = await register_child(app, at=clock.now() - timedelta(days=3), placing_authority=authority)
    household = uuid.uuid4()
    _, event = await h.allegation(app, household, [child], clock.now())
    await settle(app)
    listed = (await client.get("/v1/notifications", params={"child_id": str(child)}, headers=auth())).json()
    assert [(n["rule_id"], n["recipients"]) for n in listed["notifications"]] == [("lado.lado", ["lado"])]
    assert listed["notifications"][0]["source_event_id"] == str(event.event_id)
    await h.eventually(lambda: len(receiver.on("/lado")) == 1)
    assert receiver.on("/ofsted") == []


@pytest.mark.parametrize("when", ["never placed", "placement ended"])
async def test_schedule_7_applies_to_placed_children_only(
    when: str, app: FastAPI, client: httpx.AsyncClient, auth: Any, clock: ManualClock, authority: str
) -> None:
    child = await register_child(app, at=clock.now() - timedelta(days=60), placing_authority=authority)
    if when == "placement ended":
        placement, household = await place_child(
            app, child, at=clock.now() - timedelta(days=50), placing_authority=authority
        )
        await h.end_placement(app, placement, child, household, clock.now(), (clock.now() - timedelta(days=5)).date())
    await h.incident(app, child, clock.now(), "overdose")
    await settle(app)
    listed = (await client.get("/v1/notifications", params={"child_id": str(child)}, headers=auth())).json()
    assert listed["notifications"] == []


async def test_an_overdose_for_a_placed_child_reaches_ofsted_and_the_placing_authority_in_its_chronology(
    app: FastAPI,
    client: httpx.AsyncClient,
    auth: Any,
    clock: ManualClock,
    authority: str,
    receiver: h.Receiver,
    subs: h.Subscriptions,
) -> None:
    _, ofsted_secret = await subs.add(receiver.url("/ofsted"), "ofsted", placing_authority=authority)
    _, la_secret = await subs.add(receiver.url("/la"), "placing_authority", placing_authority=authority)
    await subs.add(receiver.url("/police"), "police", placing_authority=authority)
    await subs.add(receiver.url("/other-la"), "placing_authority", placing_authority="Somewhere Else")
    child, household = await placed_child(app, clock, authority)

    source = await h.incident(app, child, clock.now(), "overdose", needed_hospital_treatment=True)
    await h.eventually(lambda: len(receiver.on("/ofsted")) == 1 and len(receiver.on("/la")) == 1)

    ofsted = Webhook(ofsted_secret).verify(receiver.on("/ofsted")[0].body, receiver.on("/ofsted")[0].headers)
    la = Webhook(la_secret).verify(receiver.on("/la")[0].body, receiver.on("/la")[0].headers)
    for payload in (ofsted, la):
        assert payload["data"]["row"] == 3
        assert payload["data"]["child_ids"] == [str(child)]
        assert payload["data"]["source_event_id"] == str(source.event_id)
        assert payload["data"]["household_id"] == str(household)
        assert payload["data"]["placing_authorities"] == [authority]
        assert payload["data"]["details"]["category"] == "overdose"
    assert receiver.on("/police") == [] and receiver.on("/other-la") == []

    chronology = await app.state.store.read(EventFilter(child_id=child, limit=1000))
    types = [e.type for e in chronology]
    incident_at = types.index("visits.IncidentRecorded")
    raised = [e for e in chronology if e.type == "notifications.NotificationRaised"]
    assert len(raised) == 1 and raised[0].position > chronology[incident_at].position
    assert raised[0].metadata["causation_id"] == str(source.event_id)
    assert "Schedule 7 row 3" in raised[0].metadata["summary"]
    assert raised[0].data["rule_version"] == 1
    await h.eventually(
        lambda: _delivered_count(app, child),
    )
    attempts = [
        e
        for e in await app.state.store.read(EventFilter(child_id=child, limit=1000))
        if e.type == "notifications.DeliveryAttempted"
    ]
    assert {a.data["recipient"] for a in attempts} == {"ofsted", "placing_authority"}
    assert all(a.data["outcome"] == "delivered" and a.metadata["summary"] for a in attempts)

    detail = (await client.get(f"/v1/notifications/{raised[0].data['notification_id']}", headers=auth())).json()
    assert detail["status"] == "delivered"
    assert {a["recipient"] for a in detail["attempts"]} == {"ofsted", "placing_authority"}


async def _delivered_count(app: FastAPI, child: uuid.UUID) -> bool:
    await settle(app)
    events = await app.state.store.read(EventFilter(child_id=child, types=["notifications.DeliveryAttempted"]))
    return len(events) == 2


async def test_reading_notifications_needs_a_token_and_not_a_carer(client: httpx.AsyncClient, auth: Any) -> None:
    assert (await client.get("/v1/notifications")).status_code == 401
    assert (await client.get("/v1/notifications", headers=auth(Role.CARER))).status_code in (403, 404)
    missing = await client.get(f"/v1/notifications/{uuid.uuid4()}", headers=auth(Role.INSPECTOR))
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/not-found")
    bad = await client.get("/v1/notifications", params={"status": "nonsense"}, headers=auth())
    assert bad.status_code == 422
