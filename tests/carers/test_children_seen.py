"""Issue 18: the agency's own duty to see the children placed with its carers. Every supervision
or SSW visit accounts for each placed child (seen, seen alone, bedroom seen, or why not); each
placed child has four clocks, and each is run past its deadline here and seen to escalate to the
SSW's manager and to show in the household's compliance."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from services.notifications import workers as clock_worker
from shared.clock import ManualClock
from tests.builders import post, visit_body
from tests.carers.helpers import SSW, codes, events_of, household, place, register_child
from tests.conftest import AuthHeaders, settle

KINDS = ("carers.ssw_first_visit", "carers.ssw_child_seen", "carers.ssw_child_seen_alone", "carers.bedroom_seen")


def account(child: str, *, seen: bool = True, alone: bool = True, bedroom: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"child_id": child, "seen": seen, "seen_alone": alone, "bedroom_seen": bedroom}
    if not seen:
        body["not_seen_reason"] = "unable"
    elif not alone:
        body["not_seen_alone_reason"] = "child_refused"
    if not bedroom:
        body["bedroom_not_seen_reason"] = "child_refused"
    return body


async def placed(client: httpx.AsyncClient, h: dict[str, str], app: FastAPI, clock: ManualClock) -> tuple[str, str]:
    hid = (await household(client, h))["household_id"]
    child = await register_child(app)
    response = await place(client, h, hid, child, clock.now().date().isoformat())
    assert response.status_code == 201, response.text
    await settle(app)
    return hid, child


async def supervise(
    client: httpx.AsyncClient, h: dict[str, str], hid: str, clock: ManualClock, *accounts: dict[str, Any]
) -> dict[str, Any]:
    body = {"occurred_at": clock.now().isoformat(), "narrative": "Home visit.", "children_accounts": list(accounts)}
    return dict(await post(client, h, f"/v1/households/{hid}/supervisions", body))


async def escalated(client: httpx.AsyncClient, h: dict[str, str], app: FastAPI, child: str) -> dict[str, str]:
    """Let the clock tick once; the child's escalations of these clocks, kind -> escalated to."""
    await settle(app)
    await clock_worker.raise_due_escalations(app.state)
    await settle(app)
    listed = (await client.get("/v1/escalations", params={"child_id": child}, headers=h)).json()["escalations"]
    return {e["deadline_kind"]: e.get("escalate_to", "") for e in listed if e["deadline_kind"] in KINDS}


async def owed(client: httpx.AsyncClient, h: dict[str, str]) -> set[tuple[str, str, bool]]:
    """The household's SSW's worklist: (child, clock kind, overdue) of each child they owe a sighting."""
    listed = (await client.get("/v1/caseloads", params={"worker_id": SSW}, headers=h)).json()["workers"]
    return {(c["child_id"], c["kind"], c["overdue"]) for w in listed for c in w["children_to_see"]}


async def overdue(client: httpx.AsyncClient, h: dict[str, str], hid: str) -> set[str]:
    report = (await client.get(f"/v1/households/{hid}/compliance", headers=h)).json()
    return {i["kind"] for i in report["items"] if i["status"] == "overdue" and i["kind"] in KINDS}


async def test_a_placement_starts_the_four_clocks_and_a_supervision_must_account_for_every_placed_child(
    client: httpx.AsyncClient, auth: AuthHeaders, clock: ManualClock, app: FastAPI
) -> None:
    h = auth()
    hid, child = await placed(client, h, app, clock)
    started = [e.data for e in await events_of(app, child_id=uuid.UUID(child)) if e.type == "DeadlineSet"]
    due = {d["kind"]: d["due_at"][:10] for d in started if d["kind"] in KINDS}
    assert due == {
        "carers.ssw_first_visit": "2026-12-02",
        "carers.ssw_child_seen": "2027-02-25",
        "carers.ssw_child_seen_alone": "2027-05-25",
        "carers.bedroom_seen": "2027-02-25",
    }
    before = await events_of(app, stream_id=f"household-{hid}")
    base = {"occurred_at": clock.now().isoformat(), "narrative": "Supervision of the carers."}
    omitted = await client.post(f"/v1/households/{hid}/supervisions", json=base, headers=h)
    assert omitted.status_code == 422 and codes(omitted.json()) == {"child_not_accounted"}
    assert omitted.json()["reasons"][0]["detail"].startswith(f"Test Child (child {child}) is placed here")
    no_reason = {**base, "children_accounts": [{"child_id": child, "seen": True, "bedroom_seen": True}]}
    incomplete = await client.post(f"/v1/households/{hid}/supervisions", json=no_reason, headers=h)
    assert incomplete.status_code == 422 and codes(incomplete.json()) == {"reason_needed"}
    assert "not_seen_alone_reason" in incomplete.json()["reasons"][0]["detail"]
    assert await events_of(app, stream_id=f"household-{hid}") == before

    done = await supervise(client, h, hid, clock, account(child))
    assert {c["kind"] for c in done["clocks"] if c["event"] == "DeadlineMet"} >= set(KINDS)
    [recorded] = [
        e for e in await events_of(app, stream_id=f"household-{hid}") if e.type == "carers.SupervisionRecorded"
    ]
    assert recorded.data["children_accounts"][0]["seen_alone"] is True
    clock.advance(timedelta(days=8))
    assert await escalated(client, h, app, child) == {}
    assert await overdue(client, h, hid) == set()


async def test_the_first_ssw_visit_not_made_within_7_days_escalates_to_the_manager(
    client: httpx.AsyncClient, auth: AuthHeaders, clock: ManualClock, app: FastAPI
) -> None:
    h = auth()
    hid, child = await placed(client, h, app, clock)
    clock.advance(timedelta(days=7, hours=13))  # past the end of day 7
    assert await escalated(client, h, app, child) == {"carers.ssw_first_visit": "manager"}
    assert await overdue(client, h, hid) == {"carers.ssw_first_visit"}
    assert {o for o in await owed(client, h) if o[2]} == {(child, "carers.ssw_first_visit", True)}  # SSW's worklist
    late = await supervise(client, h, hid, clock, account(child, alone=False, bedroom=False))
    met = {c["kind"]: c["late"] for c in late["clocks"] if c["event"] == "DeadlineMet" and c["kind"] in KINDS}
    assert met == {"carers.ssw_first_visit": True, "carers.ssw_child_seen": False}
    assert await overdue(client, h, hid) == set()
    assert {kind for _, kind, _ in await owed(client, h)} == set(KINDS) - {"carers.ssw_first_visit"}


async def test_a_child_not_seen_by_the_ssw_for_3_months_escalates(
    client: httpx.AsyncClient, auth: AuthHeaders, clock: ManualClock, app: FastAPI
) -> None:
    """Ofsted: a supervising social worker did not speak to a child for over a year."""
    h = auth()
    hid, child = await placed(client, h, app, clock)
    clock.advance(timedelta(days=2))
    await supervise(client, h, hid, clock, account(child))
    clock.advance(timedelta(days=40))  # supervised, but the child was out: not seen, with why
    await supervise(client, h, hid, clock, account(child, seen=False, alone=False))  # the carer showed the bedroom
    clock.advance(timedelta(days=54))  # 3 months and two days since the child was seen
    assert await escalated(client, h, app, child) == {"carers.ssw_child_seen": "manager"}
    assert await overdue(client, h, hid) == {"carers.ssw_child_seen"}


async def test_a_child_never_seen_alone_by_the_ssw_for_6_months_escalates(
    client: httpx.AsyncClient, auth: AuthHeaders, clock: ManualClock, app: FastAPI
) -> None:
    h = auth()
    hid, child = await placed(client, h, app, clock)
    for days in (2, 60, 60):  # seen every two months, never alone; the bedroom seen each time
        clock.advance(timedelta(days=days))
        await supervise(client, h, hid, clock, account(child, alone=False))
    clock.advance(timedelta(days=61))  # 6 months and a day since the placement began
    assert await escalated(client, h, app, child) == {"carers.ssw_child_seen_alone": "manager"}
    assert await overdue(client, h, hid) == {"carers.ssw_child_seen_alone"}


async def test_a_bedroom_not_seen_for_3_months_escalates_and_any_visitor_seeing_it_meets_the_clock(
    client: httpx.AsyncClient, auth: AuthHeaders, clock: ManualClock, app: FastAPI
) -> None:
    """Ofsted: bedrooms not seen from March to August."""
    h = auth()
    hid, child = await placed(client, h, app, clock)
    other_hid, other = await placed(client, h, app, clock)
    clock.advance(timedelta(days=2))
    await supervise(client, h, hid, clock, account(child, bedroom=False))
    await supervise(client, h, other_hid, clock, account(other, bedroom=False))
    clock.advance(timedelta(days=30))  # the child's social worker sees the other child's bedroom
    await post(client, h, f"/v1/children/{other}/visits", visit_body(clock.now()))
    await settle(app)
    met = [e.data for e in await events_of(app, stream_id=f"household-{other_hid}") if e.type == "DeadlineMet"]
    assert [m["kind"] for m in met if m["kind"] == "carers.bedroom_seen"] == ["carers.bedroom_seen"]
    clock.advance(timedelta(days=40))
    await supervise(client, h, hid, clock, account(child, bedroom=False))
    await supervise(client, h, other_hid, clock, account(other, bedroom=False))
    clock.advance(timedelta(days=23))  # 3 months and a day since the placements began
    assert await escalated(client, h, app, child) == {"carers.bedroom_seen": "manager"}
    assert await overdue(client, h, hid) == {"carers.bedroom_seen"}
    assert await escalated(client, h, app, other) == {}


async def test_ending_the_placement_stops_the_childs_clocks(
    client: httpx.AsyncClient, auth: AuthHeaders, clock: ManualClock, app: FastAPI
) -> None:
    h = auth()
    hid, child = await placed(client, h, app, clock)
    [placement] = [e for e in await events_of(app, child_id=uuid.UUID(child)) if e.type == "carers.PlacementStarted"]
    end = {"end_date": clock.now().date().isoformat(), "reason": "reunification", "narrative": "Went home."}
    await post(client, h, f"/v1/placements/{placement.data['placement_id']}/end", end)
    clock.advance(timedelta(days=200))
    assert await escalated(client, h, app, child) == {}
    assert await overdue(client, h, hid) == set()
