"""The child's needs, recorded on the child's record by their social worker: what the carers service
matches the carers' training to when the child is placed, and after."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from shared.auth import Role
from tests.builders import post
from tests.carers.helpers import events_of, household, place
from tests.conftest import AuthHeaders, settle
from tests.visits.conftest import REGISTERED_VERSION, Visits


async def training_clocks(app: FastAPI, child: str) -> list[str]:
    found = await events_of(app, types=["DeadlineSet"], child_id=uuid.UUID(child))
    return sorted(e.data["course"] for e in found if e.data["kind"] == "carers.needs_training")


async def test_needs_in_the_childs_record_are_matched_to_the_carers_training_when_placed(
    visits: Visits, client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders
) -> None:
    child = await visits.register()
    recorded = await visits.post(
        f"/v1/children/{child}/needs", {"needs": ["epilepsy", "epilepsy"], "notes": "Seen by neurology."}
    )
    assert (recorded["type"], recorded["stream_id"]) == ("visits.ChildNeedsRecorded", f"child-{child}")
    assert recorded["needs"] == ["epilepsy"] and recorded["version"] == REGISTERED_VERSION + 1
    assert recorded["summary"] == "Needs recorded: epilepsy"

    rm = auth(Role.REGISTERED_MANAGER)
    carers = await household(client, rm)
    placed = await place(client, rm, carers["household_id"], child, "2026-11-25")
    assert placed.status_code == 201, placed.text
    assert placed.json()["child_needs"] == ["epilepsy"]
    assert sorted(g["course"] for g in placed.json()["training_gaps"]) == ["epilepsy", "first_aid"]
    assert await training_clocks(app, child) == ["epilepsy", "first_aid"]

    # Needs recorded once the child is placed start the clocks of the training the carers lack.
    await post(
        client,
        rm,
        f"/v1/households/{carers['household_id']}/training",
        {"member_id": carers["carer_id"], "course": "self_harm", "completed_on": "2026-11-01"},
    )
    await visits.post(f"/v1/children/{child}/needs", {"needs": ["epilepsy", "self_harm", "substance_misuse"]})
    await settle(app)
    assert await training_clocks(app, child) == ["epilepsy", "first_aid", "substance_misuse"]


async def test_needs_are_refused_for_no_child_an_unknown_need_and_a_reader(
    visits: Visits, client: httpx.AsyncClient, auth: AuthHeaders
) -> None:
    child = await visits.register()
    before = await visits.events_about(child)
    await visits.post(f"/v1/children/{uuid.uuid4()}/needs", {"needs": ["epilepsy"]}, status=404)
    problem = await visits.post(f"/v1/children/{child}/needs", {"needs": ["tantrums"]}, status=422)
    assert problem["type"].endswith("/validation")
    reader: dict[str, Any] = auth(Role.INSPECTOR)
    assert (await client.post(f"/v1/children/{child}/needs", json={"needs": []}, headers=reader)).status_code == 403
    assert await visits.events_about(child) == before
    # The whole list each time: an empty one says the child has none now.
    cleared = await visits.post(f"/v1/children/{child}/needs", {"needs": []})
    assert cleared["needs"] == [] and cleared["summary"] == "Needs recorded: none"
