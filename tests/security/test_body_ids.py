"""An id in a request body must belong with the record the request is about: another household's id
on a child's incident, complaint, supervision or allegation is a 422 and writes nothing."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from shared.auth import Role
from tests.carers.helpers import household, place, register_child
from tests.conftest import AuthHeaders, settle


async def _two_households_one_child(client: httpx.AsyncClient, app: FastAPI, rm: dict[str, str]) -> tuple[str, ...]:
    ours = (await household(client, rm))["household_id"]
    theirs = (await household(client, rm))["household_id"]
    child = await register_child(app)
    assert (await place(client, rm, ours, child, "2026-11-20")).status_code == 201
    stranger = await register_child(app)
    await settle(app)
    return ours, theirs, child, stranger


async def test_ids_of_other_households_and_children_are_refused(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders
) -> None:
    rm = auth(Role.REGISTERED_MANAGER)
    ours, theirs, child, stranger = await _two_households_one_child(client, app, rm)
    head = (await app.state.store.head())[0]
    refusals = {
        "an incident pinned on another household": (
            f"/v1/children/{child}/incidents",
            {"category": "missing", "occurred_at": "2026-11-24T22:00:00Z", "narrative": "Out late.",
             "household_id": theirs},
        ),
        "a complaint about a household the child never lived with": (
            f"/v1/children/{child}/complaints",
            {"received_at": "2026-11-24T09:00:00Z", "made_by": "child", "summary": "S", "about_household_id": theirs},
        ),
        "a supervision naming a child never placed there": (
            f"/v1/households/{ours}/supervisions",
            {"occurred_at": "2026-11-24T10:00:00Z", "narrative": "N", "children_discussed": [stranger],
             "children_seen": [child]},
        ),
        "an allegation naming a child never placed there": (
            "/v1/allegations",
            {"household_id": ours, "child_ids": [stranger], "received_at": "2026-11-24T09:00:00Z", "summary": "S"},
        ),
    }  # fmt: skip
    for name, (path, body) in refusals.items():
        response = await client.post(path, json=body, headers=rm)
        assert response.status_code == 422, (name, response.text)
    await settle(app)
    assert (await app.state.store.head())[0] == head, "a refused request wrote something"
    other = (await client.get(f"/v1/households/{theirs}", headers=rm)).json()
    assert other["supervision_agenda"] == []
    # The child's own household is accepted, named or not.
    for body in ({"household_id": ours}, {}):
        incident = await client.post(
            f"/v1/children/{child}/incidents",
            json={"category": "missing", "occurred_at": "2026-11-24T22:00:00Z", "narrative": "Out late.", **body},
            headers=rm,
        )
        assert incident.status_code == 201, incident.text
