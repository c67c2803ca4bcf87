"""The generic clock: a DeadlineSet whose due time passes unmet raises exactly one escalation (also
with two processes), resolved when the deadline is later met; notifications not acknowledged in
time escalate; acknowledgements record who, the action taken and the outcome (NMS 29.2)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from standardwebhooks import Webhook

from services.app import create_app
from services.notifications import workers
from shared.auth import Role
from shared.clock import ManualClock
from shared.deadlines import DEADLINE_MET
from shared.eventstore import EventFilter
from shared.settings import Settings
from tests.builders import place_child, register_child
from tests.conftest import settle
from tests.notifications import helpers as h

ESCALATION = "notifications.EscalationRaised"


@contextlib.asynccontextmanager
async def running(app_url: str, settings: Settings, clock: ManualClock) -> AsyncIterator[FastAPI]:
    application = create_app(settings, database_url=app_url, clock=clock)
    async with h.lifespan(application):
        yield application


async def escalations_of(app: FastAPI, deadline_id: uuid.UUID, child: uuid.UUID) -> list[Any]:
    events = await app.state.store.read(EventFilter(child_id=child, types=[ESCALATION], limit=1000))
    return [e for e in events if e.data.get("deadline_id") == str(deadline_id)]


async def test_a_missed_deadline_escalates_once_and_resolves_when_met(
    app: FastAPI,
    client: httpx.AsyncClient,
    auth: Any,
    clock: ManualClock,
    receiver: h.Receiver,
    subs: h.Subscriptions,
    authority: str,
) -> None:
    _, secret = await subs.add(receiver.url("/internal"), "internal")
    child = await register_child(app, at=clock.now() - timedelta(days=1), placing_authority=authority)
    deadline = await h.deadline_set(app, child, clock.now(), clock.now() + timedelta(hours=1), escalate_to="manager")
    await settle(app)
    await asyncio.sleep(0.5)  # several ticks of the clock: not due yet
    assert await escalations_of(app, deadline, child) == []

    clock.advance(timedelta(hours=2))
    await h.eventually(lambda: _has_escalation(app, deadline, child))
    await asyncio.sleep(0.6)  # more ticks: still exactly one
    [raised] = await escalations_of(app, deadline, child)
    assert raised.stream_id.startswith("escalation-") and raised.stream_version == 1
    assert raised.data["escalate_to"] == "manager"
    assert raised.data["reason"] == "deadline_missed"
    assert raised.metadata["summary"] and raised.metadata["causation_id"]
    assert raised.child_ids == (child,)

    await settle(app)
    listed = await client.get("/v1/escalations", params={"open": "true", "child_id": str(child)}, headers=auth())
    [open_one] = [e for e in listed.json()["escalations"] if e["deadline_id"] == str(deadline)]
    assert open_one["status"] == "open" and open_one["escalate_to"] == "manager"

    def told() -> bool:
        return any(r.json()["data"].get("deadline_id") == str(deadline) for r in receiver.on("/internal"))

    await h.eventually(told)
    message = next(r for r in receiver.on("/internal") if r.json()["data"].get("deadline_id") == str(deadline))
    assert Webhook(secret).verify(message.body, message.headers)["type"] == ESCALATION

    await h.deadline_met(app, child, deadline, clock.now())
    await settle(app)
    still_open = await client.get("/v1/escalations", params={"open": "true", "child_id": str(child)}, headers=auth())
    assert str(deadline) not in [e["deadline_id"] for e in still_open.json()["escalations"]]
    resolved = await client.get("/v1/escalations", params={"open": "false", "child_id": str(child)}, headers=auth())
    [done] = [e for e in resolved.json()["escalations"] if e["deadline_id"] == str(deadline)]
    assert done["status"] == "resolved" and done["resolution"] == "deadline met"
    one = await client.get(f"/v1/escalations/{done['escalation_id']}", headers=auth())
    assert one.status_code == 200 and one.json()["attempts"]


async def _has_escalation(app: FastAPI, deadline: uuid.UUID, child: uuid.UUID) -> bool:
    return bool(await escalations_of(app, deadline, child))


async def test_two_processes_raise_one_escalation(
    app_url: str, settings: Settings, clock: ManualClock, authority: str
) -> None:
    async with running(app_url, settings, clock) as one, running(app_url, settings, clock) as two:
        child = await register_child(one, at=clock.now(), placing_authority=authority)
        deadlines = [
            await h.deadline_set(one, child, clock.now(), clock.now() + timedelta(minutes=5 + i)) for i in range(5)
        ]
        await settle(one)
        await settle(two)
        clock.advance(timedelta(hours=1))
        # Both clocks tick in the background; race them by hand as well.
        await asyncio.gather(*(workers.raise_due_escalations(app.state) for app in (one, two, one, two)))
        await asyncio.sleep(0.6)
        for deadline in deadlines:
            assert len(await escalations_of(one, deadline, child)) == 1


@pytest.mark.parametrize("how", ["met", "cancelled"])
async def test_a_deadline_closed_in_time_never_escalates(
    how: str, app: FastAPI, clock: ManualClock, authority: str
) -> None:
    child = await register_child(app, at=clock.now(), placing_authority=authority)
    deadline = await h.deadline_set(app, child, clock.now(), clock.now() + timedelta(hours=1))
    if how == "met":
        await h.deadline_met(app, child, deadline, clock.now() + timedelta(minutes=30))
    else:
        await h.append(
            app,
            f"child-{child}",
            "DeadlineCancelled",
            {"deadline_id": deadline, "kind": "visits.visit_after_incident", "reason": "child moved"},
            occurred_at=clock.now(),
            child_ids=[child],
        )
    await settle(app)
    clock.advance(timedelta(hours=3))
    await asyncio.sleep(0.6)
    assert await escalations_of(app, deadline, child) == []


async def test_the_clock_checks_the_log_not_a_lagging_read_model(
    app: FastAPI, clock: ManualClock, authority: str
) -> None:
    child = await register_child(app, at=clock.now(), placing_authority=authority)
    # Not yet due by the app's own clock (which ticks in the background and would escalate it).
    deadline = await h.deadline_set(app, child, clock.now(), clock.now() + timedelta(minutes=1))
    await settle(app)
    # The deadline is met in the log, but this clock's read model says it is open (as a replica
    # behind the log would).
    await h.deadline_met(app, child, deadline, clock.now())
    await settle(app)
    lagging = SimpleNamespace(
        engine=app.state.engine,
        store=app.state.store,
        clock=ManualClock(clock.now() + timedelta(minutes=2)),
        runners={},
    )
    async with app.state.engine.connect() as conn:
        from sqlalchemy import text

        await conn.execute(
            text("UPDATE notifications_deadlines SET status = 'open' WHERE deadline_id = :d"), {"d": deadline}
        )
        await conn.commit()
    await workers.raise_due_escalations(lagging)
    assert await escalations_of(app, deadline, child) == []


async def test_the_clocks_look_up_in_the_log_is_by_the_deadline_index(app: FastAPI) -> None:
    """The check (store.deadline_closed) runs under the head lock, so it must not read every closing
    event: with scans ruled out, the planner must still find an index that answers it, and it is the
    deadline one."""
    from shared.eventstore import sql

    async with app.state.store.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + sql.DEADLINE_CLOSED, "x"))
    assert "events_deadline_closed" in plan, plan


async def overdose(app: FastAPI, clock: ManualClock, authority: str) -> tuple[uuid.UUID, str]:
    child = await register_child(app, at=clock.now() - timedelta(days=30), placing_authority=authority)
    await place_child(app, child, at=clock.now() - timedelta(days=20), placing_authority=authority)
    await h.incident(app, child, clock.now(), "overdose")
    await settle(app)
    return child, ""


async def notification_of(client: httpx.AsyncClient, auth: Any, child: uuid.UUID) -> dict[str, Any]:
    listed = (await client.get("/v1/notifications", params={"child_id": str(child)}, headers=auth())).json()
    [notification] = listed["notifications"]
    return notification


async def acknowledgement_escalations(client: httpx.AsyncClient, auth: Any, child: uuid.UUID) -> dict[str, str]:
    """The child's acknowledgement escalations: the clock's description (which names its recipient)
    -> status."""
    listed = (
        await client.get("/v1/escalations", params={"child_id": str(child), "open": "false"}, headers=auth())
    ).json()["escalations"] + (
        await client.get("/v1/escalations", params={"child_id": str(child), "open": "true"}, headers=auth())
    ).json()["escalations"]
    return {e["description"]: e["status"] for e in listed if e["deadline_kind"] == "notifications.acknowledgement"}


async def test_each_recipient_has_its_own_clock_one_answer_closes_only_its_own(
    app: FastAPI, client: httpx.AsyncClient, auth: Any, clock: ManualClock, authority: str
) -> None:
    """Row 3 (an overdose): Ofsted and the placing authority must each be told. Ofsted's answer meets
    Ofsted's clock only; the placing authority's clock still escalates when its 24 hours pass."""
    acked_child, _ = await overdose(app, clock, authority)
    silent_child, _ = await overdose(app, clock, authority)
    acked = await notification_of(client, auth, acked_child)
    silent = await notification_of(client, auth, silent_child)
    assert acked["due_by"] == (clock.now() + timedelta(hours=24)).isoformat()
    assert sorted(acked["recipients"]) == ["ofsted", "placing_authority"]

    clock.advance(timedelta(hours=3))
    worker = auth(Role.REGISTERED_MANAGER, subject="rm-anna")
    path = f"/v1/notifications/{acked['notification_id']}/acknowledge"
    answer = {
        "acknowledged_by": "J. Smith, Ofsted regulatory inspector",
        "action_taken": "Ofsted logged the notification and asked for the hospital discharge plan.",
        "outcome": "Discharge plan sent; no further action by Ofsted.",
    }
    unnamed = await client.post(path, json=answer, headers=worker)  # whose answer? refused, nothing written
    assert unnamed.status_code == 422 and unnamed.json()["reasons"][0]["code"] == "recipient_required"
    response = await client.post(path, json={**answer, "recipient": "ofsted"}, headers=worker)
    assert response.status_code == 200, response.text
    body = response.json()
    # Only Ofsted has answered: partly acknowledged until the placing authority does too.
    assert body["status"] == "partly_acknowledged" and body["overdue"] is False and body["acknowledged_at"] is None
    assert {r["recipient"]: r["status"] for r in body["by_recipient"]}["ofsted"] == "acknowledged"
    [ack] = body["acknowledgements"]
    assert ack["acknowledged_by"].startswith("J. Smith") and ack["recorded_by"] == "rm-anna"
    assert ack["action_taken"] and ack["outcome"] and ack["late"] is False
    assert [(c["kind"], c["late"]) for c in body["clocks"]] == [("notifications.acknowledgement", False)]
    listed = (
        await client.get(
            "/v1/notifications", params={"status": "partly_acknowledged", "child_id": str(acked_child)}, headers=auth()
        )
    ).json()
    assert [n["notification_id"] for n in listed["notifications"]] == [acked["notification_id"]]

    clock.advance(timedelta(hours=22))  # 25 hours after the overdose
    ofsted = "Schedule 7 row 3 notification acknowledged by ofsted"

    async def escalated() -> bool:
        silent_ones = await acknowledgement_escalations(client, auth, silent_child)
        acked_ones = await acknowledgement_escalations(client, auth, acked_child)
        return len(silent_ones) == 2 and len(acked_ones) == 1

    await h.eventually(escalated)
    await asyncio.sleep(0.4)
    acked_escalations = await acknowledgement_escalations(client, auth, acked_child)
    assert list(acked_escalations) == [ofsted.replace("ofsted", "placing authority")]  # not Ofsted's: it answered
    overdue = (await client.get(f"/v1/notifications/{silent['notification_id']}", headers=auth())).json()
    assert overdue["overdue"] is True and overdue["acknowledged_at"] is None
    silent_escalations = await acknowledgement_escalations(client, auth, silent_child)
    assert sorted(silent_escalations) == sorted([ofsted, ofsted.replace("ofsted", "placing authority")])

    # The placing authority answers late: recorded as late, and only its escalation resolves.
    late = await client.post(
        f"/v1/notifications/{silent['notification_id']}/acknowledge",
        json={
            "acknowledged_by": "Placing authority duty desk",
            "recipient": "placing_authority",
            "action_taken": "Visit arranged",
            "outcome": "Seen",
        },
        headers=worker,
    )
    assert late.status_code == 200 and late.json()["acknowledgements"][0]["late"] is True
    await settle(app)
    assert await acknowledgement_escalations(client, auth, silent_child) == {
        ofsted: "open",
        ofsted.replace("ofsted", "placing authority"): "resolved",
    }


async def test_an_acknowledgement_overtaken_by_another_meets_the_clock_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    auth: Any,
    clock: ManualClock,
    authority: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    child, _ = await overdose(app, clock, authority)
    notification = await notification_of(client, auth, child)
    stream = f"notification-{notification['notification_id']}"
    path = f"/v1/notifications/{notification['notification_id']}/acknowledge"
    store = app.state.store
    read_stream = store.read_stream
    others: list[httpx.Response] = []
    reads: list[str] = []

    async def read_then_overtaken(stream_id: str, **kwargs: Any) -> Any:
        found = await read_stream(stream_id, **kwargs)
        if stream_id == stream:
            reads.append(stream_id)
            if len(reads) == 1:
                # Another answer lands between this command's read and its append.
                body = {
                    "acknowledged_by": "Ofsted duty desk",
                    "recipient": "ofsted",
                    "action_taken": "Logged",
                    "outcome": "No action",
                }
                others.append(await client.post(path, json=body, headers=auth()))
        return found

    monkeypatch.setattr(store, "read_stream", read_then_overtaken)
    body = {"acknowledged_by": "Ofsted inspector", "recipient": "ofsted", "action_taken": "Logged", "outcome": "Plan"}
    mine = await client.post(path, json=body, headers=auth())
    assert others[0].status_code == 200 and mine.status_code == 200, mine.text
    events = await read_stream(stream)
    assert [e.type for e in events].count("notifications.NotificationAcknowledged") == 2
    # Only the first answer meets Ofsted's clock: the second decided again on seeing it.
    assert [e.type for e in events].count(DEADLINE_MET) == 1
    assert len(reads) == 3  # the first read, the other answer's, and this command's second


@pytest.mark.parametrize(
    ("case", "body", "status"),
    [
        ("missing outcome", {"acknowledged_by": "x", "action_taken": "y"}, 422),
        ("unknown field", {"acknowledged_by": "x", "action_taken": "y", "outcome": "z", "extra": 1}, 422),
        ("empty action", {"acknowledged_by": "x", "action_taken": "", "outcome": "z"}, 422),
        ("not a recipient", {"acknowledged_by": "x", "action_taken": "y", "outcome": "z", "recipient": "police"}, 422),
    ],
)
async def test_bad_acknowledgements_are_refused_and_nothing_is_written(
    case: str,
    body: dict[str, Any],
    status: int,
    app: FastAPI,
    client: httpx.AsyncClient,
    auth: Any,
    clock: ManualClock,
    authority: str,
) -> None:
    child, _ = await overdose(app, clock, authority)
    notification = await notification_of(client, auth, child)
    stream = f"notification-{notification['notification_id']}"
    before = await app.state.store.stream_version(stream)
    response = await client.post(
        f"/v1/notifications/{notification['notification_id']}/acknowledge", json=body, headers=auth()
    )
    assert response.status_code == status, case
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [
        e.type
        for e in await app.state.store.read_stream(stream, after_version=before)
        if e.type != "notifications.DeliveryAttempted"
    ] == []


# A carer must not even learn that the notification exists (404); read-only roles are refused (403).
@pytest.mark.parametrize(("role", "statuses"), [(Role.INSPECTOR, {403}), (Role.ADMIN, {403}), (Role.CARER, {403, 404})])
async def test_who_may_acknowledge(role: Role, statuses: set[int], client: httpx.AsyncClient, auth: Any) -> None:
    body = {"acknowledged_by": "x", "action_taken": "y", "outcome": "z"}
    response = await client.post(f"/v1/notifications/{uuid.uuid4()}/acknowledge", json=body, headers=auth(role))
    assert response.status_code in statuses


async def test_acknowledging_an_unknown_notification_is_404(client: httpx.AsyncClient, auth: Any) -> None:
    body = {"acknowledged_by": "x", "action_taken": "y", "outcome": "z"}
    response = await client.post(f"/v1/notifications/{uuid.uuid4()}/acknowledge", json=body, headers=auth())
    assert response.status_code == 404
    assert response.json()["type"].endswith("/not-found")


async def test_escalations_need_a_token(client: httpx.AsyncClient, auth: Any) -> None:
    assert (await client.get("/v1/escalations")).status_code == 401
    assert (await client.get(f"/v1/escalations/{uuid.uuid4()}", headers=auth())).status_code == 404
