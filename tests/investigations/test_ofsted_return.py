"""Ofsted's annual fostering data collection as CSV, from the log, for a collection year (1 April
to 31 March): households approved, deregistered with reasons, in assessment and refused; places,
filled and vacant; allegations and complaints. The same as-of gives the same bytes."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI

from shared.auth import Role
from shared.clock import ManualClock
from shared.contracts.visits import ComplaintReceived, MadeBy
from tests.builders import append_foreign, post
from tests.carers.helpers import household, place, register_child
from tests.conftest import AuthHeaders, settle


async def _return(client: httpx.AsyncClient, headers: dict[str, str], **params: object) -> bytes:
    response = await client.get("/v1/reports/ofsted-fostering", params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return response.content


def _figures(body: bytes) -> dict[tuple[str, str], str]:
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == ["section", "measure", "value"]
    return {(section, measure): value for section, measure, value in rows[1:]}


async def test_the_ofsted_return_counts_the_year_from_the_log_and_is_reproducible(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, clock: ManualClock
) -> None:
    rm = auth(Role.REGISTERED_MANAGER)
    placed = (await household(client, rm))["household_id"]  # approved 2026-11-25, 3 places
    resigned = (await household(client, rm))["household_id"]
    await household(client, rm, approved=False)  # in assessment
    refused = (await household(client, rm, approved=False))["household_id"]
    await post(client, rm, f"/v1/households/{refused}/approval", {"decision": "refused", "reason": "Unsafe home."})
    await post(client, rm, f"/v1/households/{resigned}/approval/end", {"reason": "The carers resigned."})
    child = await register_child(app)
    assert (await place(client, rm, placed, child, "2026-11-25")).status_code == 201
    await settle(app)
    allegation = {
        "household_id": placed,
        "child_ids": [child],
        "received_at": "2026-11-25T09:00:00Z",
        "summary": "A parent at school says the carer shouted at the child.",
    }
    await post(client, rm, "/v1/allegations", allegation)
    complaint = ComplaintReceived(
        complaint_id=uuid.uuid4(),
        child_id=uuid.UUID(child),
        received_at=clock.now(),
        made_by=MadeBy.CHILD,
        summary="My carer took my phone.",
    )
    await append_foreign(
        app, f"complaint-{complaint.complaint_id}", complaint, occurred_at=clock.now(), child_ids=[child]
    )
    as_of = clock.now() + timedelta(minutes=1)
    clock.advance(timedelta(minutes=2))

    inspector = auth(Role.INSPECTOR, "ofsted-1")
    body = await _return(client, inspector, year=2026, as_of=as_of.isoformat())
    figures = _figures(body)
    assert figures[("collection", "year")] == "2026-04-01/2027-03-31"
    assert figures[("households", "approved_at_start")] == "0"
    assert figures[("households", "newly_approved_in_year")] == "2"
    assert figures[("households", "deregistered_in_year")] == "1"
    assert figures[("deregistration_reason", "The carers resigned.")] == "1"
    assert figures[("households", "approved_at_end")] == "1"
    assert figures[("households", "in_assessment_at_end")] == "1"
    assert figures[("households", "applications_refused_in_year")] == "1"
    assert figures[("places", "approved_at_end")] == "3"
    assert figures[("places", "filled_at_end")] == "1"
    assert figures[("places", "vacancies_at_end")] == "2"
    assert figures[("allegations", "received_in_year")] == "1"
    assert figures[("complaints", "received_in_year")] == "1"
    # The year before: nothing had happened yet.
    before = _figures(await _return(client, inspector, year=2025, as_of=as_of.isoformat()))
    assert before[("households", "newly_approved_in_year")] == "0" and before[("places", "approved_at_end")] == "0"

    # Recorded after the as-of: the same as-of still gives the same bytes; now it counts.
    await post(client, rm, "/v1/allegations", {**allegation, "received_at": clock.now().isoformat()})
    assert await _return(client, inspector, year=2026, as_of=as_of.isoformat()) == body
    assert _figures(await _return(client, inspector, year=2026))[("allegations", "received_in_year")] == "2"
    # For managers and inspectors; a caseworker is refused.
    refused_read = await client.get(
        "/v1/reports/ofsted-fostering", params={"year": 2026}, headers=auth(Role.SUPERVISING_SOCIAL_WORKER)
    )
    assert refused_read.status_code == 403


async def test_the_return_counts_the_carers_demographics_as_declared(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, clock: ManualClock
) -> None:
    """Carers of the households approved at the year's end, by sex, age band, ethnicity (code and
    group), disability and connected-person status; a bad code is refused with nothing written; a
    declaration recorded after the as-of changes nothing in that as-of's bytes."""
    rm = auth(Role.REGISTERED_MANAGER)
    approved = await household(client, rm)  # one carer, born 1980-01-01: 47 on 31 March 2027
    hid, carer = approved["household_id"], approved["carer_id"]
    second = await post(
        client,
        rm,
        f"/v1/households/{hid}/members",
        {"name": "Carer Two", "role": "carer", "date_of_birth": "1999-06-01"},
    )
    in_assessment = await household(client, rm, approved=False)  # not counted: not approved
    path = f"/v1/households/{hid}/members/{carer}/demographics"
    head = await app.state.store.head()
    for bad in ({"sex": "female", "ethnicity": "XXXX"}, {"sex": "unknown", "ethnicity": "WBRI"}):
        refused = await client.post(path, json=bad, headers=rm)
        assert refused.status_code == 422, refused.text
    assert await app.state.store.head() == head  # nothing written
    declared = {"sex": "female", "ethnicity": "BAFR", "disability": "yes", "connected_person": True}
    await post(client, rm, path, declared)
    other = f"/v1/households/{in_assessment['household_id']}/members/{in_assessment['carer_id']}/demographics"
    await post(client, rm, other, {"sex": "male", "ethnicity": "WBRI"})
    shown = await client.get(f"/v1/households/{hid}", headers=rm)
    assert {m["member_id"]: m["demographics"] for m in shown.json()["members"]}[carer]["ethnicity"] == "BAFR"
    as_of = clock.now() + timedelta(minutes=1)
    clock.advance(timedelta(minutes=2))
    await post(
        client, rm, f"/v1/households/{hid}/members/{second['member_id']}/demographics", {**declared, "sex": "male"}
    )

    inspector = auth(Role.INSPECTOR, "ofsted-1")
    body = await _return(client, inspector, year=2026, as_of=as_of.isoformat())
    figures = _figures(body)
    assert figures[("carers", "approved_at_end")] == "2"
    assert figures[("carers_by_sex", "female")] == "1" and figures[("carers_by_sex", "not_recorded")] == "1"
    assert figures[("carers_by_sex", "male")] == "0"  # the in-assessment applicant is not a carer yet
    assert figures[("carers_by_age_band", "45_to_54")] == "1" and figures[("carers_by_age_band", "25_to_34")] == "1"
    assert figures[("carers_by_ethnicity", "BAFR")] == "1" and figures[("carers_by_ethnic_group", "black")] == "1"
    assert figures[("carers_by_ethnicity", "WBRI")] == "0"
    assert figures[("carers_by_disability", "yes")] == "1" and figures[("carers", "connected_persons")] == "1"
    assert await _return(client, inspector, year=2026, as_of=as_of.isoformat()) == body  # byte for byte
    now = _figures(await _return(client, inspector, year=2026))
    assert now[("carers_by_sex", "male")] == "1" and now[("carers_by_sex", "not_recorded")] == "0"
