"""Placements and allegations through the HTTP API: the Ofsted findings as tests."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from fastapi import FastAPI

from shared.auth import Role
from shared.clock import ManualClock
from tests.builders import post
from tests.carers.helpers import codes, events_of, household, place, register_child
from tests.conftest import settle


async def placements_of_child(app: FastAPI, child: str) -> list:
    return [e for e in await events_of(app, child_id=uuid.UUID(child)) if e.type.startswith("carers.Placement")]


async def test_a_placement_and_its_ending_follow_the_contract(client, auth, app: FastAPI) -> None:
    h = auth()
    hid = (await household(client, h))["household_id"]
    child = await register_child(app, placing_authority="Northamptonshire CT")
    response = await place(client, h, hid, child, "2026-11-25", long_term=True)
    assert response.status_code == 201, response.text
    pid = response.json()["placement_id"]
    [started, *clocks] = await events_of(app, stream_id=f"placement-{pid}")
    assert {c.data["kind"] for c in clocks} == {  # the duty to see the child (issue 18)
        "carers.ssw_first_visit",
        "carers.ssw_child_seen",
        "carers.ssw_child_seen_alone",
        "carers.bedroom_seen",
    }
    assert started.type == "carers.PlacementStarted" and started.child_ids == (uuid.UUID(child),)
    assert started.data == {
        "placement_id": pid,
        "child_id": child,
        "household_id": hid,
        "start_date": "2026-11-25",
        "long_term": True,
        "connected_person": False,
        "placing_authority": "Northamptonshire CT",
        "placement_type": "short_term",
        "child_needs": [],
    }
    assert started.metadata["summary"]
    body = (await client.get(f"/v1/households/{hid}", headers=h)).json()
    assert [p["child_id"] for p in body["current_placements"]] == [child]

    again = await place(client, h, hid, child, "2026-11-25")
    assert again.status_code == 409 and "child_already_placed" in codes(again.json())

    end = {
        "end_date": "2026-11-25",
        "reason": "reunification",
        "narrative": "Returned home to mother as planned.",
        "carer_feelings": "Sad but pleased for her",
        "child_wishes_contact": True,
    }
    await post(client, h, f"/v1/placements/{pid}/end", end)
    [ended] = [e for e in await events_of(app, stream_id=f"placement-{pid}") if e.type == "carers.PlacementEnded"]
    assert ended.type == "carers.PlacementEnded" and ended.child_ids == (uuid.UUID(child),)
    assert {
        k: ended.data[k] for k in ("placement_id", "child_id", "household_id", "end_date", "reason", "narrative")
    } == {
        "placement_id": pid,
        "child_id": child,
        "household_id": hid,
        "end_date": "2026-11-25",
        "reason": "reunification",
        "narrative": "Returned home to mother as planned.",
    }
    assert (await client.post(f"/v1/placements/{pid}/end", json=end, headers=h)).status_code == 409
    got = (await client.get(f"/v1/placements/{pid}", headers=h)).json()
    assert got["ended"] is True and got["end_reason"] == "reunification"
    assert (await client.post(f"/v1/placements/{uuid.uuid4()}/end", json=end, headers=h)).status_code == 404


async def test_a_placement_must_name_a_registered_child_and_writes_nothing_otherwise(client, auth, app) -> None:
    h = auth()
    hid = (await household(client, h))["household_id"]
    ghost = str(uuid.uuid4())
    response = await place(client, h, hid, ghost, "2026-11-25")
    assert response.status_code == 404 and response.json()["type"].endswith("/not-found")
    assert await placements_of_child(app, ghost) == []
    child = await register_child(app)
    for body, status in [
        ({"household_id": str(uuid.uuid4())}, 404),
        ({"start_date": "not-a-date"}, 422),
        ({"override": True}, 422),
        ({"placement_type": "forever"}, 422),
        ({"placement_type": None}, 422),  # required (issue 18): the terms check is never skipped
    ]:
        base = {"child_id": child, "household_id": hid, "start_date": "2026-11-25", "placement_type": "short_term"}
        response = await client.post(
            "/v1/placements",
            json={**base, **body},
            headers=h,
        )
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert await placements_of_child(app, child) == []


async def test_the_placement_type_is_required_and_always_checked_against_the_terms(client, auth, app) -> None:
    """Issue 18: a respite-only household accepted a long-term placement because the terms check
    was skipped when the type was left out. The type is required and always checked."""
    h = auth()
    respite = {"age_min": 0, "age_max": 17, "max_children": 2, "placement_types": ["respite"]}
    hid = (await household(client, h, terms=respite))["household_id"]
    child = await register_child(app)
    untyped = {"child_id": child, "household_id": hid, "start_date": "2026-11-25"}
    missing = await client.post("/v1/placements", json=untyped, headers=h)
    assert missing.status_code == 422 and missing.headers["content-type"] == "application/problem+json"
    assert "placement_type" in missing.text
    for kind in ("long_term", "short_term"):
        refused = await place(client, h, hid, child, "2026-11-25", placement_type=kind)
        assert refused.status_code == 409 and codes(refused.json()) == {"placement_type_not_approved"}
    long_flag = await place(client, h, hid, child, "2026-11-25", placement_type="short_term", long_term=True)
    assert long_flag.status_code == 409
    assert await placements_of_child(app, child) == []
    placed = await place(client, h, hid, child, "2026-11-25", placement_type="respite")
    assert placed.status_code == 201, placed.text
    [started] = await placements_of_child(app, child)
    assert (started.data["placement_type"], started.data["long_term"]) == ("respite", False)


async def test_a_household_on_hold_cannot_take_a_placement(client, auth, app: FastAPI) -> None:
    """Ofsted: 'it was stated that no child should live in the household until a full risk assessment
    had been completed ... two children have subsequently moved in'."""
    h = auth()
    hid = (await household(client, h))["household_id"]
    hold = await post(client, h, f"/v1/households/{hid}/holds", {"reason": "No child to live here until risk assessed"})
    for _ in range(2):
        child = await register_child(app)
        refused = await place(client, h, hid, child, "2026-11-25")
        assert refused.status_code == 409
        problem = refused.json()
        assert problem["type"].endswith("/invariant-violated") and codes(problem) == {"on_hold"}
        assert await placements_of_child(app, child) == []
    await post(
        client,
        auth(Role.REGISTERED_MANAGER),
        f"/v1/households/{hid}/holds/{hold['hold_id']}/lift",
        {"reason": "Risk assessment completed"},
    )
    assert (await place(client, h, hid, child, "2026-11-25")).status_code == 201


async def test_placements_racing_a_hold_have_one_outcome_consistent_with_the_log(client, auth, app: FastAPI) -> None:
    """Two placement requests and a hold at the same instant: each placement succeeds exactly when
    it is before the hold in the log, so no child is ever placed with a household on hold."""
    h = auth()
    outcomes = set()

    async def hold_after(hid: str, delay: float):
        await asyncio.sleep(delay)
        return await client.post(f"/v1/households/{hid}/holds", json={"reason": "Concerns about home"}, headers=h)

    for delay in (0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08):
        hid = (await household(client, h))["household_id"]
        children = [await register_child(app) for _ in range(2)]
        first, hold, second = await asyncio.gather(
            place(client, h, hid, children[0], "2026-11-25"),
            hold_after(hid, delay),
            place(client, h, hid, children[1], "2026-11-25"),
        )
        assert hold.status_code == 201
        [held] = [e for e in await events_of(app, stream_id=f"household-{hid}") if e.type == "carers.HoldPlaced"]
        for child, response in zip(children, (first, second), strict=True):
            placed = await placements_of_child(app, child)
            if response.status_code == 201:
                assert len(placed) == 1 and placed[0].position < held.position
                outcomes.add("before")
            else:
                assert response.status_code == 409 and codes(response.json()) == {"on_hold"}
                assert placed == []
                outcomes.add("after")
    assert outcomes <= {"before", "after"}


async def test_an_adult_added_without_a_dbs_blocks_new_placements(client, auth, app: FastAPI) -> None:
    """Ofsted: 'one adult has lived as part of a fostering household for a long period ... this person
    has not been checked for suitability'."""
    h = auth()
    hid = (await household(client, h))["household_id"]
    lodger = await post(
        client,
        h,
        f"/v1/households/{hid}/members",
        {"name": "Lodger", "role": "adult", "date_of_birth": "1995-06-01", "joined_on": "2026-03-01"},
    )
    child = await register_child(app)
    refused = await place(client, h, hid, child, "2026-11-25")
    assert refused.status_code == 409 and codes(refused.json()) == {"adult_dbs_missing"}
    report = (await client.get(f"/v1/households/{hid}/compliance", headers=h)).json()
    dbs = [i for i in report["items"] if i.get("member_id") == lodger["member_id"]]
    assert dbs[0]["dbs"] == "missing" and dbs[0]["status"] == "overdue"
    agency = (await client.get("/v1/compliance/households", headers=h)).json()
    assert hid in {x["household_id"] for x in agency["households"]}

    concerns = {"kind": "dbs_enhanced", "result": "concerns", "checked_at": "2026-11-20"}
    await post(client, h, f"/v1/households/{hid}/members/{lodger['member_id']}/checks", concerns)
    refused = await place(client, h, hid, child, "2026-11-25")
    assert codes(refused.json()) == {"adult_dbs_concerns"}
    clear = {"kind": "dbs_enhanced", "result": "clear", "checked_at": "2026-11-24"}
    await post(client, h, f"/v1/households/{hid}/members/{lodger['member_id']}/checks", clear)
    assert (await place(client, h, hid, child, "2026-11-25")).status_code == 201


async def test_a_child_member_who_turns_18_needs_a_dbs(client, auth, app: FastAPI) -> None:
    h = auth()
    hid = (await household(client, h))["household_id"]
    await post(
        client,
        h,
        f"/v1/households/{hid}/members",
        {"name": "Birth son", "role": "child", "date_of_birth": "2008-12-01"},
    )
    child = await register_child(app)
    assert (await place(client, h, hid, child, "2026-11-25")).status_code == 201
    later = await register_child(app)
    refused = await place(client, h, hid, later, "2026-12-02")
    assert refused.status_code == 409 and codes(refused.json()) == {"adult_dbs_missing"}


async def test_every_eligibility_reason_through_the_api(client, auth, clock: ManualClock, app: FastAPI) -> None:
    h = auth()
    terms = {"age_min": 0, "age_max": 10, "max_children": 1, "placement_types": ["short_term"]}
    hid = (await household(client, h, terms=terms, decided_at="2026-01-10T10:00:00Z"))["household_id"]
    first = await register_child(app, date_of_birth="2020-01-01")
    assert (await place(client, h, hid, first, "2026-11-25")).status_code == 201
    clock.advance(timedelta(days=60))  # the annual review (due 10 Jan 2027) lapses
    await post(client, h, f"/v1/households/{hid}/holds", {"reason": "Risk assessment"})
    await post(
        client, h, f"/v1/households/{hid}/members", {"name": "Uncle", "role": "adult", "date_of_birth": "1970-01-01"}
    )
    teenager = await register_child(app, date_of_birth="2012-01-01")
    refused = await place(client, h, hid, teenager, "2027-01-24", placement_type="remand")
    assert refused.status_code == 409
    problem = refused.json()
    assert codes(problem) == {
        "on_hold",
        "adult_dbs_missing",
        "annual_review_overdue",
        "exceeds_max_children",
        "outside_age_range",
        "placement_type_not_approved",
    }
    assert all(r["detail"] for r in problem["reasons"]) and problem["household_id"] == hid
    assert await placements_of_child(app, teenager) == []

    unapproved = (await household(client, h, approved=False))["household_id"]
    refused = await place(client, h, unapproved, teenager, "2027-01-24")
    assert codes(refused.json()) == {"not_approved"}


async def test_an_allegation_puts_the_household_on_hold_and_starts_the_lado_clock(
    client, auth, clock: ManualClock, app: FastAPI
) -> None:
    """Ofsted: 'an external agency contacted the fostering agency ... a serious allegation ... The
    fostering agency considered the fostering household safe'."""
    h = auth()
    ids = await household(client, h)
    hid = ids["household_id"]
    child = await register_child(app)
    assert (await place(client, h, hid, child, "2026-11-25")).status_code == 201
    received_at = clock.now() - timedelta(hours=1)
    created = await post(
        client,
        h,
        "/v1/allegations",
        {
            "household_id": hid,
            "member_id": ids["carer_id"],
            "child_ids": [child],
            "received_at": received_at.isoformat(),
            "summary": "External agency reports a serious allegation.",
        },
    )
    aid = created["allegation_id"]
    [received, *clocks] = await events_of(app, stream_id=f"allegation-{aid}")
    assert received.type == "carers.AllegationReceived" and received.child_ids == (uuid.UUID(child),)
    assert {k: received.data[k] for k in ("allegation_id", "household_id", "member_id", "child_ids", "summary")} == {
        "allegation_id": aid,
        "household_id": hid,
        "member_id": ids["carer_id"],
        "child_ids": [child],
        "summary": "External agency reports a serious allegation.",
    }
    lado = next(c for c in clocks if c.data["kind"] == "carers.lado_referral")
    assert lado.type == "DeadlineSet" and lado.data["due_at"].startswith("2026-11-26T11:00")
    confirm = next(c for c in clocks if c.data["kind"] == "carers.lado_written_confirmation")
    assert confirm.data["due_at"].startswith("2026-11-30T11:00")

    holds = [e for e in await events_of(app, stream_id=f"household-{hid}") if e.type == "carers.HoldPlaced"]
    assert len(holds) == 1 and holds[0].data["allegation_id"] == aid and holds[0].data["hold_id"] == created["hold_id"]
    await settle(app)  # the reactor's repeat of the hold is a no-op
    assert len([e for e in await events_of(app, stream_id=f"household-{hid}") if e.type == "carers.HoldPlaced"]) == 1
    other = await register_child(app)
    refused = await place(client, h, hid, other, "2026-11-25")
    assert refused.status_code == 409 and codes(refused.json()) == {"on_hold"}

    report = (await client.get(f"/v1/households/{hid}/compliance", headers=h)).json()
    assert report["on_hold"] is True
    assert next(i for i in report["items"] if i["kind"] == "carers.lado_referral")["status"] == "due_soon"
    clock.advance(timedelta(days=1, hours=1))  # past one working day, unreferred
    report = (await client.get(f"/v1/households/{hid}/compliance", headers=h)).json()
    assert next(i for i in report["items"] if i["kind"] == "carers.lado_referral")["status"] == "overdue"
    agency = (await client.get("/v1/compliance/households", headers=h)).json()
    mine = next(x for x in agency["households"] if x["household_id"] == hid)
    assert "carers.lado_referral" in {i["kind"] for i in mine["overdue"]}

    early = await client.post(
        f"/v1/allegations/{aid}/outcome", json={"outcome": "unfounded", "dbs_referral_made": False}, headers=h
    )
    assert early.status_code == 409
    await post(
        client,
        h,
        f"/v1/allegations/{aid}/lado-referral",
        {
            "referred_at": clock.now().isoformat(),
            "lado_name": "J. Smith",
            "written_confirmation_at": clock.now().isoformat(),
        },
    )
    met = [e for e in await events_of(app, stream_id=f"allegation-{aid}") if e.type == "DeadlineMet"]
    assert {(m.data["kind"], m.data["late"]) for m in met} == {
        ("carers.lado_referral", True),
        ("carers.lado_written_confirmation", False),
    }
    report = (await client.get(f"/v1/households/{hid}/compliance", headers=h)).json()
    assert not [i for i in report["items"] if i["kind"].startswith("carers.lado")]
    assert (
        await client.post(
            f"/v1/allegations/{aid}/lado-referral", json={"referred_at": clock.now().isoformat()}, headers=h
        )
    ).status_code == 409

    bad = await client.post(
        f"/v1/allegations/{aid}/outcome", json={"outcome": "proven", "dbs_referral_made": True}, headers=h
    )
    assert bad.status_code == 422
    await post(client, h, f"/v1/allegations/{aid}/outcome", {"outcome": "substantiated", "dbs_referral_made": True})
    [outcome] = [
        e for e in await events_of(app, stream_id=f"allegation-{aid}") if e.type == "carers.AllegationOutcomeRecorded"
    ]
    assert outcome.data["outcome"] == "substantiated" and outcome.data["dbs_referral_made"] is True
    assert outcome.data["household_id"] == hid and outcome.child_ids == (uuid.UUID(child),)
    report = (await client.get(f"/v1/households/{hid}/compliance", headers=h)).json()
    assert [i["kind"] for i in report["items"] if i["kind"] == "carers.approval_review"] == ["carers.approval_review"]
    got = (await client.get(f"/v1/allegations/{aid}", headers=h)).json()
    assert got["outcome"] == "substantiated" and got["referred_at"]

    # Only a manager lifts the hold, with a reason; then placements may resume.
    lift = f"/v1/households/{hid}/holds/{created['hold_id']}/lift"
    assert (
        await client.post(lift, json={"reason": "x"}, headers=auth(Role.SUPERVISING_SOCIAL_WORKER))
    ).status_code == 403
    await post(client, auth(Role.MANAGER), lift, {"reason": "Strategy meeting: safe to continue"})
    assert (await place(client, h, hid, other, "2026-11-26")).status_code == 201


async def test_allegation_input_is_checked_and_nothing_written(client, auth, app: FastAPI) -> None:
    h = auth()
    hid = (await household(client, h))["household_id"]
    before = len(await events_of(app, stream_id=f"household-{hid}"))
    for body, status in [
        ({"household_id": str(uuid.uuid4())}, 404),
        ({"member_id": str(uuid.uuid4())}, 422),
        ({"received_at": "2030-01-01T00:00:00Z"}, 422),
        ({"summary": ""}, 422),
        ({"severity": "high"}, 422),
    ]:
        full = {"household_id": hid, "child_ids": [], "received_at": "2026-11-25T09:00:00Z", "summary": "s", **body}
        response = await client.post("/v1/allegations", json=full, headers=h)
        assert response.status_code == status, (body, response.text)
    assert len(await events_of(app, stream_id=f"household-{hid}")) == before
    assert not [e for e in await events_of(app, types=["carers.AllegationReceived"]) if e.data["household_id"] == hid]
    assert (
        await client.post(
            f"/v1/allegations/{uuid.uuid4()}/lado-referral", json={"referred_at": "2026-11-25T09:00:00Z"}, headers=h
        )
    ).status_code == 404


async def test_replaying_the_projection_gives_identical_rows(client, auth, app: FastAPI) -> None:
    from sqlalchemy import text

    h = auth()
    hid = (await household(client, h))["household_id"]
    child = await register_child(app)
    assert (await place(client, h, hid, child, "2026-11-25")).status_code == 201
    await post(
        client,
        h,
        "/v1/allegations",
        {"household_id": hid, "child_ids": [child], "received_at": "2026-11-25T09:00:00Z", "summary": "s"},
    )
    await settle(app)

    async def snapshot() -> list:
        async with app.state.engine.connect() as conn:
            rows = []
            for table, key in (
                ("carers_households", "household_id"),
                ("carers_placements", "placement_id"),
                ("carers_allegations", "allegation_id"),
            ):
                rows += [tuple(r) for r in await conn.execute(text(f"SELECT * FROM {table} ORDER BY {key}"))]
            return rows

    before = await snapshot()
    runner = app.state.runners["carers"]
    await runner.replay(runner.by_name("carers.households"))
    assert await snapshot() == before
