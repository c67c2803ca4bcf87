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
