"""Issue 18: a concern about a placed child that is escalated ends in something. To an allegation:
the carers service, following the log (it imports nothing of visits), records exactly what
`POST /v1/allegations` records: the allegation, the household's hold, the LADO clocks and the
LADO notification. Tested through the HTTP API against the real log."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from services.notifications import workers as clock_worker
from shared.clock import ManualClock
from tests.builders import post
from tests.carers.helpers import codes, events_of, household, place, register_child
from tests.conftest import AuthHeaders, settle

CONCERN = {
    "raised_by": "child",
    "summary": "Says the carer grabbed her arm hard when she would not go to her room.",
    "childs_words": "He grabbed me and it hurt.",
}


async def placed(client: httpx.AsyncClient, h: dict[str, str], app: FastAPI) -> tuple[str, str]:
    hid = (await household(client, h))["household_id"]
    child = await register_child(app)
    response = await place(client, h, hid, child, "2026-11-20", placement_type="short_term")
    assert response.status_code == 201, response.text
    await settle(app)
    return hid, child


def shape(events: list[Any]) -> list[tuple[Any, ...]]:
    """What an allegation's stream holds, without its ids: the same for both routes."""
    out = []
    for e in events:
        d = e.data
        if e.type == "DeadlineSet":
            out.append((e.type, d["kind"], d["due_at"], d["escalate_to"], d["description"], d["source"]))
        else:
            out.append((e.type, d["household_id"], tuple(d["child_ids"]), d["received_at"]))
    return out


async def notified(client: httpx.AsyncClient, h: dict[str, str], child: str) -> list[tuple[str, list[str]]]:
    listed = (await client.get("/v1/notifications", params={"child_id": child}, headers=h)).json()
    return sorted((n["rule_id"], n["recipients"]) for n in listed["notifications"])


async def test_a_concern_escalated_to_an_allegation_is_the_allegation_with_its_hold_and_lado_clocks(
    client: httpx.AsyncClient, auth: AuthHeaders, clock: ManualClock, app: FastAPI
) -> None:
    h = auth()
    hid, child = await placed(client, h, app)
    concern = await post(client, h, f"/v1/children/{child}/concerns", {**CONCERN, "raised_at": clock.now().isoformat()})
    path = f"/v1/children/{child}/concerns/{concern['concern_id']}"
    escalation = await post(
        client, h, f"{path}/escalate", {"to": "allegation", "reason": "Rough handling by the carer."}
    )
    aid = escalation["allegation_id"]
    assert aid is not None and escalation["to"] == "allegation"
    await settle(app)

    from_concern = await events_of(app, stream_id=f"allegation-{aid}")
    [received] = [e for e in from_concern if e.type == "carers.AllegationReceived"]
    assert received.data["allegation_id"] == aid and received.child_ids == (uuid.UUID(child),)
    assert received.data["summary"] == "Rough handling by the carer."
    assert received.metadata["causation_id"] == str(escalation["event_id"])
    holds = [e for e in await events_of(app, stream_id=f"household-{hid}") if e.type == "carers.HoldPlaced"]
    assert [x.data["allegation_id"] for x in holds] == [aid]
    assert (await client.get(f"/v1/allegations/{aid}", headers=h)).json()["household_id"] == hid

    # Another child cannot be placed there until a manager lifts the hold.
    other = await register_child(app)
    refused = await place(client, h, hid, other, "2026-11-25", placement_type="short_term")
    assert refused.status_code == 409 and codes(refused.json()) == {"on_hold"}

    # Exactly what POST /v1/allegations records for another household at the same instant.
    hid2, child2 = await placed(client, h, app)
    direct = await post(
        client,
        h,
        "/v1/allegations",
        {
            "household_id": hid2,
            "child_ids": [child2],
            "received_at": clock.now().isoformat(),
            "summary": "Rough handling by the carer.",
        },
    )
    await settle(app)
    by_post = await events_of(app, stream_id=f"allegation-{direct['allegation_id']}")
    normalise = {hid2: hid, child2: child}
    expected = [
        tuple(tuple(normalise.get(c, c) for c in x) if isinstance(x, tuple) else normalise.get(x, x) for x in row)
        for row in shape(by_post)
    ]
    assert shape(from_concern) == expected
    assert await notified(client, h, child) == await notified(client, h, child2) != []

    # The LADO referral clock escalates when missed, as for any allegation.
    clock.advance(timedelta(days=2))
    await settle(app)
    await clock_worker.raise_due_escalations(app.state)
    await settle(app)
    escalations = (await client.get("/v1/escalations", params={"child_id": child}, headers=h)).json()["escalations"]
    assert "carers.lado_referral" in {e["deadline_kind"] for e in escalations}


async def test_an_allegation_escalation_for_a_child_placed_nowhere_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, auth: AuthHeaders, clock: ManualClock, app: FastAPI
) -> None:
    h = auth()
    child = str(await register_child(app))
    await settle(app)
    concern = await post(client, h, f"/v1/children/{child}/concerns", {**CONCERN, "raised_at": clock.now().isoformat()})
    before = await events_of(app, stream_id=f"child-{child}")
    response = await client.post(
        f"/v1/children/{child}/concerns/{concern['concern_id']}/escalate",
        json={"to": "allegation", "reason": "x"},
        headers=h,
    )
    assert response.status_code == 422 and codes(response.json()) == {"no_household"}
    assert await events_of(app, stream_id=f"child-{child}") == before


async def escalations_of(client: httpx.AsyncClient, h: dict[str, str], app: FastAPI, child: str) -> set[str]:
    await settle(app)
    await clock_worker.raise_due_escalations(app.state)
    await settle(app)
    listed = (await client.get("/v1/escalations", params={"child_id": child}, headers=h)).json()["escalations"]
    return {e["deadline_kind"] for e in listed}


async def test_a_child_protection_enquiry_notifies_the_placing_authority_and_its_strategy_discussion_escalates(
    client: httpx.AsyncClient, auth: AuthHeaders, clock: ManualClock, app: FastAPI
) -> None:
    h = auth()
    _, child = await placed(client, h, app)
    concern = await post(client, h, f"/v1/children/{child}/concerns", {**CONCERN, "raised_at": clock.now().isoformat()})
    path = f"/v1/children/{child}/concerns/{concern['concern_id']}"
    escalation = await post(
        client, h, f"{path}/escalate", {"to": "child_protection_enquiry", "reason": "Bruising seen at school."}
    )
    clocks = {c["kind"]: c for c in escalation["clocks"] if c["event"] == "DeadlineSet"}
    # Wednesday 12:00 + 1 working day (local), the strategy discussion; a social worker sees the child.
    assert clocks["visits.strategy_discussion"]["due_at"].startswith("2026-11-26T12:00")
    assert "visits.follow_up_visit" in clocks
    await settle(app)
    row10 = [r for rule, r in await notified(client, h, child) if rule == "schedule7.row10"]
    assert row10 and "placing_authority" in row10[0]

    clock.advance(timedelta(days=1, hours=1))  # past the working day, no discussion recorded
    assert "visits.strategy_discussion" in await escalations_of(client, h, app, child)
    late = await post(
        client, h, f"{path}/strategy-discussion", {"held_at": clock.now().isoformat(), "outcome": "Section 47 enquiry."}
    )
    assert [(c["kind"], c["late"]) for c in late["clocks"]] == [("visits.strategy_discussion", True)]
    again = await client.post(
        f"{path}/strategy-discussion", json={"held_at": clock.now().isoformat(), "outcome": "x"}, headers=h
    )
    assert again.status_code == 409


async def test_a_strategy_discussion_in_time_does_not_escalate_and_only_an_enquiry_has_one(
    client: httpx.AsyncClient, auth: AuthHeaders, clock: ManualClock, app: FastAPI
) -> None:
    h = auth()
    _, child = await placed(client, h, app)
    raised = {**CONCERN, "raised_at": clock.now().isoformat()}
    concern = await post(client, h, f"/v1/children/{child}/concerns", raised)
    path = f"/v1/children/{child}/concerns/{concern['concern_id']}"
    await post(client, h, f"{path}/escalate", {"to": "child_protection_enquiry", "reason": "Disclosure."})
    early = {"held_at": (clock.now() - timedelta(hours=1)).isoformat(), "outcome": "x"}
    before = await events_of(app, stream_id=f"child-{child}")
    refused = await client.post(f"{path}/strategy-discussion", json=early, headers=h)
    assert refused.status_code == 422 and codes(refused.json()) == {"before_it_began"}
    assert await events_of(app, stream_id=f"child-{child}") == before
    clock.advance(timedelta(hours=3))
    held = {"held_at": clock.now().isoformat(), "outcome": "Strategy discussion with police: single-agency."}
    met = await post(client, h, f"{path}/strategy-discussion", held)
    assert [(c["kind"], c["late"]) for c in met["clocks"]] == [("visits.strategy_discussion", False)]
    clock.advance(timedelta(days=3))
    assert "visits.strategy_discussion" not in await escalations_of(client, h, app, child)

    other = await post(client, h, f"/v1/children/{child}/concerns", raised)
    other_path = f"/v1/children/{child}/concerns/{other['concern_id']}"
    await post(client, h, f"{other_path}/escalate", {"to": "complaint", "reason": "She wants it looked into."})
    response = await client.post(f"{other_path}/strategy-discussion", json=held, headers=h)
    assert response.status_code == 409
