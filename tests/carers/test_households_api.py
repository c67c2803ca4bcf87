"""Households through the HTTP API: members, checks, approval, supervision, training, reviews,
holds and compliance, against real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from services.carers.commands import loading
from shared.auth import Role
from shared.clock import ManualClock
from tests.builders import post
from tests.carers.helpers import SSW, events_of, household, place, register_child
from tests.conftest import overtake_once, settle


def item(report: dict, kind: str, **match: str) -> dict:
    found = [i for i in report["items"] if i["kind"] == kind and all(i.get(k) == v for k, v in match.items())]
    assert len(found) == 1, (kind, report["items"])
    return found[0]


async def test_register_and_read_a_household(client, auth, app: FastAPI) -> None:
    h = auth()
    created = await post(
        client,
        h,
        "/v1/households",
        {"local_authority": "E06000062", "name": "The Okafors", "supervising_social_worker_id": "ssw-1"},
    )
    hid = created["household_id"]
    await post(
        client, h, f"/v1/households/{hid}/members", {"name": "Ada", "role": "applicant", "date_of_birth": "1980-04-02"}
    )
    teen = await post(
        client, h, f"/v1/households/{hid}/members", {"name": "Sam", "role": "child", "date_of_birth": "2010-03-01"}
    )
    response = await client.get(f"/v1/households/{hid}", headers=auth(Role.INSPECTOR))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "assessment" and body["name"] == "The Okafors"
    assert response.headers["etag"] == f'"{body["version"]}"' and body["version"] == 5
    sam = next(m for m in body["members"] if m["member_id"] == teen["member_id"])
    assert sam["adult"] is False and sam["age"] == 16
    registered = await events_of(app, stream_id=f"household-{hid}")
    assert registered[0].type == "carers.HouseholdRegistered"
    assert all(e.metadata.get("summary") for e in registered)
    # Sam's DBS clock starts on the 18th birthday, not now.
    sams_clock = [e for e in registered if e.type == "DeadlineSet" and e.data.get("member_id") == teen["member_id"]]
    assert sams_clock[0].data["due_at"].startswith("2028-03-01")


async def test_reads_and_writes_need_a_token_and_a_writer(client, auth) -> None:
    assert (await client.get(f"/v1/households/{uuid.uuid4()}")).status_code == 401
    assert (await client.post("/v1/households", json={"local_authority": "E06000062", "name": "x"})).status_code == 401
    response = await client.post(
        "/v1/households", json={"local_authority": "E06000062", "name": "x"}, headers=auth(Role.INSPECTOR)
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    missing = await client.get(f"/v1/households/{uuid.uuid4()}", headers=auth())
    assert missing.status_code == 404 and missing.json()["type"].endswith("/not-found")


async def test_bad_input_is_a_problem_and_writes_nothing(client, auth, app: FastAPI) -> None:
    h = auth()
    hid = (await household(client, h, approved=False))["household_id"]
    before = len(await events_of(app, stream_id=f"household-{hid}"))
    bad = [
        (f"/v1/households/{hid}/members", {"name": "X", "role": "lodger", "date_of_birth": "1990-01-01"}, 422),
        (f"/v1/households/{hid}/members", {"name": "X", "role": "adult", "date_of_birth": "1990-01-01", "x": 1}, 422),
        (f"/v1/households/{hid}/members", {"name": "X", "role": "carer", "date_of_birth": "2012-01-01"}, 422),
        (f"/v1/households/{hid}/members", {"name": "", "role": "adult", "date_of_birth": "1990-01-01"}, 422),
        (
            f"/v1/households/{hid}/members/{uuid.uuid4()}/checks",
            {"kind": "medical", "result": "clear", "checked_at": "2026-01-01"},
            404,
        ),
        (f"/v1/households/{hid}/approval", {"decision": "approved"}, 422),
        (f"/v1/households/{hid}/approval", {"decision": "refused"}, 422),
        (f"/v1/households/{hid}/supervisions", {"occurred_at": "2027-01-01T10:00:00Z", "narrative": "n"}, 422),
        (f"/v1/households/{hid}/supervisions", {"occurred_at": "2026-11-25T10:00:00", "narrative": "n"}, 422),
        (f"/v1/households/{hid}/holds", {"reason": "x" * 20_001}, 422),
        (f"/v1/households/{hid}/holds/{uuid.uuid4()}/lift", {"reason": "fine"}, 404),
        (
            f"/v1/households/{hid}/reviews",
            {"occurred_at": "2026-11-25T10:00:00Z", "outcome": "continue", "to_panel": True},
            409,
        ),
        (f"/v1/households/{uuid.uuid4()}/holds", {"reason": "x"}, 404),
    ]
    for url, body, status in bad:
        response = await client.post(url, json=body, headers=h)
        assert response.status_code == status, (url, body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert len(await events_of(app, stream_id=f"household-{hid}")) == before


async def test_approval_starts_the_clocks(client, auth, app: FastAPI) -> None:
    h = auth()
    ids = await household(client, h)
    hid = ids["household_id"]
    deadlines = [e for e in await events_of(app, stream_id=f"household-{hid}") if e.type == "DeadlineSet"]
    kinds = {e.data["kind"] for e in deadlines}
    assert {
        "carers.supervision",
        "carers.unannounced_visit",
        "carers.annual_review",
        "carers.tsd_standards",
        "carers.safeguarding_training",
        "carers.dbs_check",
    } <= kinds
    by_kind = {e.data["kind"]: e.data for e in deadlines}
    assert by_kind["carers.supervision"]["due_at"].startswith("2026-12-25")
    assert by_kind["carers.annual_review"]["due_at"].startswith("2027-11-25")
    assert by_kind["carers.tsd_standards"]["due_at"].startswith("2027-11-25")
    assert all(d["household_id"] == hid and d["source"] for d in by_kind.values())
    again = await client.post(f"/v1/households/{hid}/approval", json={"decision": "refused", "reason": "x"}, headers=h)
    assert again.status_code == 409


async def test_connected_carers_have_18_months_for_tsd(client, auth, app: FastAPI) -> None:
    hid = (await household(client, auth(), connected=True))["household_id"]
    tsd = [
        e for e in await events_of(app, stream_id=f"household-{hid}") if e.data.get("kind") == "carers.tsd_standards"
    ]
    assert tsd[0].data["due_at"].startswith("2028-05-25")


async def test_a_carer_with_no_supervision_for_three_months_shows_overdue(
    client, auth, clock: ManualClock, app: FastAPI
) -> None:
    """Ofsted: 'one foster carer had no record of having received supervision since May 2022'."""
    h = auth()
    hid = (await household(client, h))["household_id"]
    report = (await client.get(f"/v1/households/{hid}/compliance", headers=h)).json()
    assert item(report, "carers.supervision")["status"] == "ok"

    clock.advance(timedelta(days=92))
    report = (await client.get(f"/v1/households/{hid}/compliance", headers=h)).json()
    supervision = item(report, "carers.supervision")
    assert supervision["status"] == "overdue" and supervision["due_at"].startswith("2026-12-25")
    agency = (await client.get("/v1/compliance/households", headers=auth(Role.INSPECTOR))).json()
    listed = [x for x in agency["households"] if x["household_id"] == hid]
    assert listed and "carers.supervision" in {i["kind"] for i in listed[0]["overdue"]}

    await post(
        client,
        h,
        f"/v1/households/{hid}/supervisions",
        {"occurred_at": clock.now().isoformat(), "narrative": "Late supervision; discussed routines."},
    )
    report = (await client.get(f"/v1/households/{hid}/compliance", headers=h)).json()
    assert item(report, "carers.supervision")["status"] == "ok"
    met = [e for e in await events_of(app, stream_id=f"household-{hid}") if e.type == "DeadlineMet"]
    assert met[-1].data["kind"] == "carers.supervision" and met[-1].data["late"] is True


async def test_a_concern_in_supervision_is_followed_up_at_the_next(
    client, auth, clock: ManualClock, app: FastAPI
) -> None:
    """Ofsted: 'several safeguarding concerns were noted in supervision but were not acted on'."""
    h = auth()
    hid = (await household(client, h))["household_id"]
    child = await register_child(app)
    assert (await place(client, h, hid, child, "2026-11-25")).status_code == 201
    first = await post(
        client,
        h,
        f"/v1/households/{hid}/supervisions",
        {
            "occurred_at": clock.now().isoformat(),
            "children_discussed": [child],
            "children_seen": [child],
            "concerns": ["Drug paraphernalia brought to the home"],
            "actions": ["Check the bedroom at the next visit"],
            "narrative": "Carer reports drug paraphernalia; bedroom not seen.",
        },
    )
    concern_id = first["concerns"][0]["concern_id"]
    chronology = await events_of(app, child_id=uuid.UUID(child))
    assert [e.type for e in chronology if e.type.startswith("carers.")] == [
        "carers.PlacementStarted",
        "carers.SupervisionRecorded",
    ]

    clock.advance(timedelta(days=40))
    report = (await client.get(f"/v1/households/{hid}/compliance", headers=h)).json()
    assert item(report, "carers.supervision_follow_up", concern_id=concern_id)["status"] == "overdue"

    unaddressed = await client.post(
        f"/v1/households/{hid}/supervisions",
        json={
            "occurred_at": clock.now().isoformat(),
            "narrative": "n",
            "concerns_addressed": [{"concern_id": str(uuid.uuid4()), "action": "x"}],
        },
        headers=h,
    )
    assert unaddressed.status_code == 422 and unaddressed.json()["reasons"][0]["code"] == "unknown_concern"
    await post(
        client,
        h,
        f"/v1/households/{hid}/supervisions",
        {
            "occurred_at": clock.now().isoformat(),
            "concerns_addressed": [{"concern_id": concern_id, "action": "Bedroom seen; referred to police"}],
            "narrative": "Saw the bedroom with the child.",
            "children_seen": [child],
        },
    )
    report = (await client.get(f"/v1/households/{hid}/compliance", headers=h)).json()
    assert not [i for i in report["items"] if i["kind"] == "carers.supervision_follow_up"]
    assert (await client.get(f"/v1/households/{hid}", headers=h)).json()["open_concerns"] == []


async def test_unannounced_visit_meets_its_clock_and_must_see_placed_children(
    client, auth, clock: ManualClock, app: FastAPI
) -> None:
    """Ofsted: 'none of the social work staff understood that children needed to be seen as part of
    unannounced visits'."""
    h = auth()
    hid = (await household(client, h))["household_id"]
    child = await register_child(app)
    assert (await place(client, h, hid, child, "2026-11-25")).status_code == 201
    body = {"occurred_at": clock.now().isoformat(), "unannounced": True, "narrative": "Visited unannounced."}
    refused = await client.post(f"/v1/households/{hid}/supervisions", json=body, headers=h)
    assert refused.status_code == 422 and refused.json()["reasons"][0]["code"] == "children_not_seen"
    await post(client, h, f"/v1/households/{hid}/supervisions", {**body, "children_seen": [child]})
    report = (await client.get(f"/v1/households/{hid}/compliance", headers=h)).json()
    assert item(report, "carers.unannounced_visit")["due_at"].startswith("2027-11-25")
    assert report["last_unannounced_visit_at"] is not None


async def test_training_meets_tsd_and_safeguarding(client, auth, app: FastAPI) -> None:
    h = auth()
    ids = await household(client, h)
    hid, carer = ids["household_id"], ids["carer_id"]
    for course in ("tsd_standards", "safeguarding"):
        await post(
            client,
            h,
            f"/v1/households/{hid}/training",
            {"member_id": carer, "course": course, "completed_on": "2026-11-20"},
        )
    report = (await client.get(f"/v1/households/{hid}/compliance", headers=h)).json()
    kinds = {i["kind"] for i in report["items"]}
    assert "carers.tsd_standards" not in kinds and "carers.safeguarding_training" not in kinds
    renewal = item(report, "carers.training_renewal", member_id=carer)
    assert renewal["due_at"].startswith("2029-11-20")
    unknown = await client.post(
        f"/v1/households/{hid}/training",
        json={"member_id": str(uuid.uuid4()), "course": "first_aid", "completed_on": "2026-11-20"},
        headers=h,
    )
    assert unknown.status_code == 404


async def test_annual_review_goes_to_panel_first_and_hears_the_child(client, auth, clock: ManualClock, app) -> None:
    h = auth()
    hid = (await household(client, h))["household_id"]
    child = await register_child(app)
    assert (await place(client, h, hid, child, "2026-11-25")).status_code == 201
    clock.advance(timedelta(days=300))
    at = clock.now().isoformat()
    refused = await client.post(
        f"/v1/households/{hid}/reviews", json={"occurred_at": at, "outcome": "continue"}, headers=h
    )
    assert refused.status_code == 422
    assert {r["code"] for r in refused.json()["reasons"]} == {"first_review_to_panel", "child_view_missing"}
    done = await post(
        client,
        h,
        f"/v1/households/{hid}/reviews",
        {
            "occurred_at": at,
            "outcome": "continue",
            "to_panel": True,
            "child_views": [{"child_id": child, "view": "I like living here; I want to stay."}],
        },
    )
    assert done["first_review"] is True
    report = (await client.get(f"/v1/households/{hid}/compliance", headers=h)).json()
    assert item(report, "carers.annual_review")["due_at"].startswith("2028-09-21")
    chronology = await events_of(app, child_id=uuid.UUID(child))
    assert "carers.ReviewRecorded" in [e.type for e in chronology]


async def test_holds_are_placed_by_writers_and_lifted_by_managers_with_a_reason(client, auth, app: FastAPI) -> None:
    ssw = auth(Role.SUPERVISING_SOCIAL_WORKER, subject=SSW)  # allocated to the household
    hid = (await household(client, auth()))["household_id"]
    hold = await post(client, ssw, f"/v1/households/{hid}/holds", {"reason": "Home conditions: risk assessment"})
    assert (await client.get(f"/v1/households/{hid}", headers=ssw)).json()["on_hold"] is True
    lift_url = f"/v1/households/{hid}/holds/{hold['hold_id']}/lift"
    assert (await client.post(lift_url, json={"reason": "done"}, headers=ssw)).status_code == 403
    assert (await client.post(lift_url, json={}, headers=auth(Role.MANAGER))).status_code == 422
    await post(client, auth(Role.MANAGER), lift_url, {"reason": "Risk assessment completed and signed off"})
    assert (await client.post(lift_url, json={"reason": "again"}, headers=auth(Role.MANAGER))).status_code == 409
    body = (await client.get(f"/v1/households/{hid}", headers=ssw)).json()
    assert body["on_hold"] is False and body["holds"][0]["lift_reason"].startswith("Risk assessment")
    lifted = [e for e in await events_of(app, stream_id=f"household-{hid}") if e.type == "carers.HoldLifted"]
    assert lifted[0].data["hold_id"] == hold["hold_id"] and lifted[0].data["reason"]


async def placed_child(client: httpx.AsyncClient, headers: dict[str, str], household_id: str, name: str) -> str:
    """A child registered through the API and placed with the household on 20 November."""
    body = {"name": name, "date_of_birth": "2015-01-01", "legal_status": "s20", "placing_authority": "Kent"}
    child = str((await post(client, headers, "/v1/children", body))["child_id"])
    assert (await place(client, headers, household_id, child, "2026-11-20")).status_code == 201
    return child


async def test_ending_approval_stops_the_clocks(client, auth, app: FastAPI, clock: ManualClock) -> None:
    h = auth()
    hid = (await household(client, h))["household_id"]
    # An incident waiting for the next supervision's agenda: there will be none once approval ends.
    child = await placed_child(client, h, hid, "Agenda")
    incident = {
        "category": "damage",
        "occurred_at": clock.now().isoformat(),
        "narrative": "Broke a door.",
        "household_id": hid,
    }
    await post(client, h, f"/v1/children/{child}/incidents", incident)
    await settle(app)
    kinds = {e.data["kind"] for e in await events_of(app, stream_id=f"household-{hid}") if e.type == "DeadlineSet"}
    assert "carers.incident_agenda" in kinds
    await post(client, h, f"/v1/households/{hid}/approval/end", {"reason": "Carers retired"})
    report = (await client.get(f"/v1/households/{hid}/compliance", headers=h)).json()
    assert report["status"] == "ended"
    assert not [i for i in report["items"] if i["kind"] in ("carers.supervision", "carers.annual_review")]
    # Every clock the approval ran is stopped, the carer's DBS renewal too: nothing left to escalate.
    household_events = await events_of(app, stream_id=f"household-{hid}")
    set_ = {e.data["deadline_id"] for e in household_events if e.type == "DeadlineSet"}
    closed = {e.data["deadline_id"] for e in household_events if e.type in ("DeadlineMet", "DeadlineCancelled")}
    assert set_ - closed == set()
    assert (await client.post(f"/v1/households/{hid}/approval/end", json={"reason": "x"}, headers=h)).status_code == 409
    await settle(app)


async def test_a_retried_post_with_an_idempotency_key_records_once(client, auth, app: FastAPI) -> None:
    h = {**auth(), "Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = await post(client, h, "/v1/households", {"local_authority": "E06000062", "name": "Retry household"})
    second = await post(client, h, "/v1/households", {"local_authority": "E06000062", "name": "Retry household"})
    assert first == second
    assert len(await events_of(app, stream_id=f"household-{first['household_id']}")) == 1


@pytest.mark.parametrize("command", ["supervisions", "members"])
async def test_a_household_command_overtaken_by_the_incident_reaction_lands(
    client, auth, app: FastAPI, clock: ManualClock, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    h = auth()
    hid = (await household(client, h))["household_id"]
    child = await placed_child(client, h, hid, "Raced")  # placed in the incident's household
    now = clock.now()

    async def incident_meanwhile() -> None:
        # Recorded on the child's record; carers reacts with an agenda item on the household stream.
        incident = {
            "category": "damage",
            "occurred_at": now.isoformat(),
            "narrative": "Broke a door.",
            "household_id": hid,
        }
        await post(client, h, f"/v1/children/{child}/incidents", incident)
        await settle(app)

    reads = overtake_once(monkeypatch, loading, "load_household", incident_meanwhile)
    body = (
        {"occurred_at": now.isoformat(), "narrative": "Monthly supervision.", "children_seen": [child]}
        if command == "supervisions"
        else {"name": "New Adult", "role": "adult", "date_of_birth": "1990-01-01"}
    )
    # No If-Match: the system's own bookkeeping on the household is no reason to refuse the user.
    done = await post(client, h, f"/v1/households/{hid}/{command}", body)
    assert len(reads) == 2  # read again after the reaction moved the stream
    stream = await events_of(app, stream_id=f"household-{hid}")
    types = [e.type for e in stream]
    assert types.count("carers.SupervisionAgendaItemAdded") == 1
    mine = "carers.SupervisionRecorded" if command == "supervisions" else "carers.MemberAdded"
    last_mine = max(i for i, t in enumerate(types) if t == mine)
    assert types.index("carers.SupervisionAgendaItemAdded") < last_mine  # landed after the reaction
    assert done["version"] == stream[-1].stream_version


async def test_the_openapi_document_describes_the_carers_api(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    for path in (
        "/v1/households",
        "/v1/households/{household_id}/members/{member_id}/checks",
        "/v1/households/{household_id}/holds/{hold_id}/lift",
        "/v1/households/{household_id}/compliance",
        "/v1/compliance/households",
        "/v1/placements",
        "/v1/placements/{placement_id}/end",
        "/v1/allegations/{allegation_id}/lado-referral",
        "/v1/allegations/{allegation_id}/outcome",
    ):
        assert path in paths
