"""Anyone may raise an allegation; only someone with a part in the household's or the children's care
records it at once. Anyone else's is a report for the registered manager, answered the same whether
or not what it names exists, and it gives the reporter nothing to read back."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI

from services.notifications.workers import raise_due_escalations
from shared.auth import Role
from shared.clock import ManualClock
from tests.carers.helpers import SSW, events_of, household, place, register_child
from tests.conftest import AuthHeaders, settle


def allegation(household_id: str, *children: str) -> dict[str, object]:
    return {
        "household_id": household_id,
        "child_ids": list(children),
        "received_at": "2026-11-25T09:00:00Z",
        "summary": "A parent at school says the carer shouted at and pushed the child.",
    }


async def test_an_unrelated_workers_allegation_is_a_report_that_reveals_nothing(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, clock: ManualClock
) -> None:
    rm = auth(Role.REGISTERED_MANAGER, subject="rm-1")
    hid = (await household(client, rm))["household_id"]
    child = await register_child(app)
    assert (await place(client, rm, hid, child, "2026-11-20")).status_code == 201
    await settle(app)
    stranger = auth(Role.CHILD_SOCIAL_WORKER, subject="sw-stranger")
    record_before = [e.event_id for e in await events_of(app, child_id=uuid.UUID(child))]

    real = await client.post("/v1/allegations", json=allegation(hid, child), headers=stranger)
    made_up = await client.post(
        "/v1/allegations", json=allegation(str(uuid.uuid4()), str(uuid.uuid4())), headers=stranger
    )
    assert real.status_code == made_up.status_code == 202, (real.text, made_up.text)
    assert set(real.json()) == set(made_up.json()) == {"report_id", "status", "detail"}
    assert real.json()["detail"] == made_up.json()["detail"]

    # Nothing held, nothing in the child's record, nothing for the reporter to read back.
    await settle(app)
    assert (await client.get(f"/v1/households/{hid}", headers=rm)).json()["on_hold"] is False
    assert [e.event_id for e in await events_of(app, child_id=uuid.UUID(child))] == record_before
    report_id = real.json()["report_id"]
    assert (await client.get(f"/v1/allegation-reports/{report_id}", headers=stranger)).status_code == 403
    assert (await client.get(f"/v1/households/{hid}", headers=stranger)).status_code == 403

    # The registered manager reads it and records it as an allegation: the hold and LADO clocks follow.
    report = (await client.get(f"/v1/allegation-reports/{report_id}", headers=rm)).json()
    assert report["reported_by"] == "sw-stranger" and report["triage"] is None
    recorded = await client.post("/v1/allegations", json={**allegation(hid, child), "report_id": report_id}, headers=rm)
    assert recorded.status_code == 201, recorded.text
    assert (await client.get(f"/v1/households/{hid}", headers=rm)).json()["on_hold"] is True
    triaged = (await client.get(f"/v1/allegation-reports/{report_id}", headers=rm)).json()["triage"]
    assert triaged["outcome"] == "allegation_recorded"
    assert triaged["allegation_id"] == recorded.json()["allegation_id"]
    again = await client.post("/v1/allegations", json={**allegation(hid, child), "report_id": report_id}, headers=rm)
    assert again.status_code == 409  # a report is triaged once

    # The made-up one is closed with a reason; a report left alone escalates to the registered manager.
    closed = await client.post(
        f"/v1/allegation-reports/{made_up.json()['report_id']}/close",
        json={"reason": "No such household or child in this agency; the reporter was told where to go."},
        headers=rm,
    )
    assert closed.status_code == 201, closed.text
    third = await client.post("/v1/allegations", json=allegation(hid, child), headers=stranger)
    clock.advance(timedelta(days=4))
    await settle(app)
    await raise_due_escalations(app.state)
    await settle(app)
    escalations = (await client.get("/v1/escalations", params={"open": "true"}, headers=rm)).json()["escalations"]
    triage = [e for e in escalations if e["deadline_kind"] == "carers.allegation_triage"]
    assert [e["subject"] for e in triage] == [f"allegation-report-{third.json()['report_id']}"]
    assert triage[0]["escalate_to"] == "registered_manager"


async def test_the_households_own_ssw_records_an_allegation_at_once(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders
) -> None:
    rm = auth(Role.REGISTERED_MANAGER)
    hid = (await household(client, rm))["household_id"]
    child = await register_child(app)
    assert (await place(client, rm, hid, child, "2026-11-20")).status_code == 201
    await settle(app)
    ssw = auth(Role.SUPERVISING_SOCIAL_WORKER, subject=SSW)
    recorded = await client.post("/v1/allegations", json=allegation(hid, child), headers=ssw)
    assert recorded.status_code == 201, recorded.text
    assert "allegation_id" in recorded.json()
    assert (await client.get(f"/v1/households/{hid}", headers=rm)).json()["on_hold"] is True
