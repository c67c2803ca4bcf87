"""The area authority (Schedule 7, rows 1, 6 and 10), through the HTTP API: the household records the
local authority it lives in; a notification about a child placed there tells that authority, with
a clock of its own, exactly when it is not the authority that placed the child; with no receiver
for it the recipient shows no destination and its clock still escalates. A notification is
acknowledged only when every recipient has answered."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from shared.auth import Role
from shared.clock import ManualClock
from tests.builders import child_body, get, post
from tests.carers import helpers as carers
from tests.conftest import settle
from tests.notifications import helpers as h

WEST_NORTHANTS, HACKNEY = "E06000062", "E09000012"
ANSWER = {"acknowledged_by": "A. Officer", "action_taken": "Logged and shared.", "outcome": "No further action."}


async def exploitation_of_a_child(
    client: httpx.AsyncClient, rm: dict[str, str], clock: ManualClock, *, placed_by: str, lives_in: str
) -> dict[str, Any]:
    """A child placed by `placed_by` with a household in `lives_in`, then an incident of sexual
    exploitation (row 6: Ofsted, placing authority, area authority, police): its notification."""
    household = (await carers.household(client, rm, local_authority=lives_in))["household_id"]
    child = (await post(client, rm, "/v1/children", child_body(placing_authority=placed_by)))["child_id"]
    placed = await carers.place(client, rm, household, child, clock.now().date())
    assert placed.status_code == 201, placed.text
    incident = {"category": "sexual_exploitation", "occurred_at": clock.now().isoformat(), "narrative": "Seen with..."}
    await post(client, rm, f"/v1/children/{child}/incidents", incident)
    await settle(client._transport.app)  # type: ignore[attr-defined]
    [notification] = (await get(client, rm, "/v1/notifications", child_id=child))["notifications"]
    return dict(notification)


def by_recipient(notification: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["recipient"]: r for r in notification["by_recipient"]}


async def test_the_area_authority_is_told_exactly_when_it_is_not_the_placing_authority(
    app: FastAPI, client: httpx.AsyncClient, auth: Any, clock: ManualClock, receiver: h.Receiver, subs: h.Subscriptions
) -> None:
    rm = auth(Role.REGISTERED_MANAGER, subject="rm-area")
    await subs.add(receiver.url("/west-northants"), "area_authority", local_authority=WEST_NORTHANTS)
    await subs.add(receiver.url("/placing"), "placing_authority")

    # Placed by the authority it lives in: one local authority is told, as the placing authority.
    same = await exploitation_of_a_child(
        client, rm, clock, placed_by="West Northamptonshire Council", lives_in=WEST_NORTHANTS
    )
    assert sorted(same["recipients"]) == ["ofsted", "placing_authority", "police"]
    assert same["area_authority"] is None

    # Placed by Leeds with a household in West Northamptonshire: both are told, each on its own clock.
    other = await exploitation_of_a_child(client, rm, clock, placed_by="Leeds City Council", lives_in=WEST_NORTHANTS)
    assert sorted(other["recipients"]) == ["area_authority", "ofsted", "placing_authority", "police"]
    assert other["area_authority"] == WEST_NORTHANTS
    states = by_recipient(other)
    area, placing = states["area_authority"], states["placing_authority"]
    assert area["authority"] == WEST_NORTHANTS and area["has_destination"] is True
    assert area["clock"]["deadline_id"] != placing["clock"]["deadline_id"]
    assert {s["clock"]["status"] for s in states.values()} == {"open"}
    assert states["ofsted"]["status"] == "no_destination"  # no Ofsted receiver in this test

    async def area_told() -> bool:
        return any(
            r.json()["data"]["notification_id"] == other["notification_id"] for r in receiver.on("/west-northants")
        )

    await h.eventually(area_told)
    assert not any(
        r.json()["data"]["notification_id"] == same["notification_id"] for r in receiver.on("/west-northants")
    )

    # The area authority answers: its clock is met, nobody else's, and the notification is partly acknowledged.
    path = f"/v1/notifications/{other['notification_id']}/acknowledge"
    answered = await post(client, rm, path, {**ANSWER, "recipient": "area_authority"}, status=200)
    assert answered["status"] == "partly_acknowledged" and answered["acknowledged_at"] is None
    states = by_recipient(answered)
    assert states["area_authority"]["status"] == "acknowledged"
    assert states["area_authority"]["clock"]["status"] == "met"
    assert {r: s["clock"]["status"] for r, s in states.items() if r != "area_authority"} == dict.fromkeys(
        ["ofsted", "placing_authority", "police"], "open"
    )
    listed = (await client.get("/v1/notifications", params={"status": "partly_acknowledged"}, headers=rm)).json()
    assert other["notification_id"] in [n["notification_id"] for n in listed["notifications"]]

    # Acknowledged only once every recipient has answered.
    for recipient in ("ofsted", "placing_authority"):
        await post(client, rm, path, {**ANSWER, "recipient": recipient}, status=200)
    last = await post(client, rm, path, {**ANSWER, "recipient": "police"}, status=200)
    assert last["status"] == "acknowledged" and last["acknowledged_at"] is not None
    assert {s["status"] for s in last["by_recipient"]} == {"acknowledged"}


async def test_an_area_authority_with_no_receiver_still_has_a_clock_that_escalates(
    app: FastAPI, client: httpx.AsyncClient, auth: Any, clock: ManualClock
) -> None:
    rm = auth(Role.REGISTERED_MANAGER, subject="rm-area")
    notification = await exploitation_of_a_child(client, rm, clock, placed_by="Leeds City Council", lives_in=HACKNEY)
    assert notification["area_authority"] == HACKNEY
    area = by_recipient(notification)["area_authority"]
    assert area["status"] == "no_destination" and area["has_destination"] is False
    assert "area_authority" in notification["unsubscribed_recipients"]

    clock.advance(timedelta(hours=25))  # row 6: 24 hours

    async def escalated() -> bool:
        await settle(app)
        found = await get(client, rm, "/v1/notifications/" + notification["notification_id"])
        return by_recipient(found)["area_authority"]["clock"]["escalation_id"] is not None

    await h.eventually(escalated)
    found = await get(client, rm, "/v1/notifications/" + notification["notification_id"])
    area = by_recipient(found)["area_authority"]
    assert area["clock"]["overdue"] is True and area["status"] == "no_destination"
    escalation = await get(client, rm, f"/v1/escalations/{area['clock']['escalation_id']}")
    assert escalation["escalate_to"] == "registered_manager" and "area authority" in escalation["description"]
    assert uuid.UUID(escalation["escalation_id"])
