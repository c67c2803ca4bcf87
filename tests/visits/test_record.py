"""The child's record through the API: children, visits and their clocks, contacts, complaints."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from services.visits import projections
from shared.auth import Role
from shared.clock import ManualClock
from tests.conftest import overtake_once, settle
from tests.visits.conftest import REGISTERED_VERSION, Visits, visit_body

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


# ---- children, auth, versions -------------------------------------------------------------------
async def test_register_and_read_a_child_with_version_and_etag(visits: Visits) -> None:
    child = await visits.register()
    response = await visits.client.get(f"/v1/children/{child}", headers=visits.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Amira K" and body["date_of_birth"] == "2012-03-14"
    assert body["version"] == REGISTERED_VERSION  # the registration and the clocks it started
    assert response.headers["etag"] == f'"{REGISTERED_VERSION}"'
    await visits.post(f"/v1/children/{child}/visits", visit_body(NOW))
    assert (await visits.get(f"/v1/children/{child}"))["version"] == REGISTERED_VERSION + 1


async def test_every_endpoint_needs_a_token_and_readers_do_not_write(
    client: httpx.AsyncClient, visits: Visits, auth: object
) -> None:
    child = await visits.register()
    assert (await client.get(f"/v1/children/{child}")).status_code == 401
    assert (await client.get("/v1/visits/due")).status_code == 401
    assert (await client.post(f"/v1/children/{child}/visits", json=visit_body(NOW))).status_code == 401
    for role, reads in ((Role.INSPECTOR, 200), (Role.ADMIN, 403)):  # admins do not read children's records
        headers = auth(role)  # type: ignore[operator]
        refused = await client.post(f"/v1/children/{child}/visits", json=visit_body(NOW), headers=headers)
        assert refused.status_code == 403, refused.text
        assert (await client.get(f"/v1/children/{child}/chronology", headers=headers)).status_code == reads
    assert (await visits.get(f"/v1/children/{child}"))["version"] == REGISTERED_VERSION


async def test_unknown_child_and_complaint_are_404(visits: Visits) -> None:
    missing = uuid.uuid4()
    assert (await visits.get(f"/v1/children/{missing}", status=404))["type"].endswith("/not-found")
    await visits.post(f"/v1/children/{missing}/visits", visit_body(NOW), status=404)
    await visits.get(f"/v1/children/{missing}/compliance", status=404)
    await visits.post(f"/v1/complaints/{missing}/acknowledge", {}, status=404)
    await visits.get(f"/v1/complaints/{missing}", status=404)


async def test_bad_input_is_refused_and_nothing_is_written(visits: Visits) -> None:
    child = await visits.register()
    before = await visits.events_about(child)
    # Beyond the tolerance every service allows a clock that runs fast (shared.refusals, 10 minutes).
    future = visit_body(NOW + timedelta(minutes=11))
    problem = await visits.post(f"/v1/children/{child}/visits", future, status=422)
    assert "future" in problem["detail"] and [r["code"] for r in problem["reasons"]] == ["in_the_future"]
    extra = {**visit_body(NOW), "mood": "happy"}
    assert (await visits.post(f"/v1/children/{child}/visits", extra, status=422))["type"].endswith("/validation")
    naive = {**visit_body(NOW), "occurred_at": "2026-11-25T10:00:00"}
    await visits.post(f"/v1/children/{child}/visits", naive, status=422)
    incident = {"category": "overdose", "occurred_at": "2026-12-01T00:00:00Z", "narrative": "x"}
    await visits.post(f"/v1/children/{child}/incidents", incident, status=422)
    await visits.post(f"/v1/children/{child}/incidents", {**incident, "category": "tantrum"}, status=422)
    too_long = {"occurred_at": NOW.isoformat(), "kind": "phone", "with_whom": "x" * 201, "summary": "s"}
    await visits.post(f"/v1/children/{child}/contacts", too_long, status=422)
    assert await visits.events_about(child) == before
    # Within it, a visit recorded as it ends on a phone a few minutes fast is the visit that happened.
    await visits.post(f"/v1/children/{child}/visits", visit_body(NOW + timedelta(minutes=5)))


async def test_if_match_mismatch_is_412(visits: Visits) -> None:
    child = await visits.register()
    seen = f'"{REGISTERED_VERSION}"'
    await visits.post(f"/v1/children/{child}/visits", visit_body(NOW), **{"If-Match": seen})
    problem = await visits.post(f"/v1/children/{child}/visits", visit_body(NOW), status=412, **{"If-Match": seen})
    assert problem["current_version"] == REGISTERED_VERSION + 1


async def test_a_retry_with_the_same_idempotency_key_records_once(visits: Visits) -> None:
    child = await visits.register()
    key = {"Idempotency-Key": f"visit-{uuid.uuid4()}"}
    first = await visits.post(f"/v1/children/{child}/visits", visit_body(NOW), **key)
    again = await visits.post(f"/v1/children/{child}/visits", visit_body(NOW), **key)
    assert first == again
    assert [e.type for e in await visits.events_about(child)].count("visits.VisitRecorded") == 1


async def test_a_visit_overtaken_by_another_writer_is_decided_again_and_recorded_once(
    visits: Visits, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    child = await visits.register()
    path = f"/v1/children/{child}/visits"
    other: dict[str, object] = {}

    async def another_writer() -> None:
        other.update(await visits.post(path, visit_body(NOW - timedelta(hours=2))))

    reads = overtake_once(monkeypatch, projections, "child_context", another_writer)
    key = {"Idempotency-Key": f"overtaken-{uuid.uuid4()}"}
    # No If-Match: the caller asked for no precondition, so the moved stream is read again, not a 409.
    mine = await visits.post(path, visit_body(NOW - timedelta(hours=1)), **key)
    assert other["version"] == REGISTERED_VERSION + 1 and mine["version"] == REGISTERED_VERSION + 2
    assert len(reads) == 3  # the first read, the other writer's, and this command's second

    # The answer lost before it was stored (a crash): the retry derives the same event ids as the
    # attempt that landed, finds them stored, and records nothing twice.
    async with app.state.engine.begin() as conn:
        await conn.execute(text("DELETE FROM idempotency_keys WHERE key = :k"), {"k": key["Idempotency-Key"]})
    again = await visits.post(path, visit_body(NOW - timedelta(hours=1)), **key)
    assert again["event_id"] == mine["event_id"] and again["version"] == mine["version"]
    assert [e.type for e in await visits.events_about(child)].count("visits.VisitRecorded") == 2


async def test_a_visit_overtaken_by_the_services_own_reaction_is_decided_on_what_it_added(
    visits: Visits, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    child = await visits.register()

    async def placed_meanwhile() -> None:
        # The carers service places the child; visits reacts with the first statutory visit clock.
        await visits.place(child, date(2026, 11, 20), occurred_at=datetime(2026, 11, 20, 9, tzinfo=UTC))
        await settle(app)

    overtake_once(monkeypatch, projections, "child_context", placed_meanwhile)
    visit = await visits.post(f"/v1/children/{child}/visits", visit_body(NOW - timedelta(hours=1)))
    assert visit["version"] == REGISTERED_VERSION + 4  # after the clock the reaction appended
    met, next_clock = visit["clocks"]  # decided again: it meets the clock it had not read at first
    assert (met["event"], met["kind"], met["late"]) == ("DeadlineMet", "visits.statutory_visit", False)
    assert next_clock["event"] == "DeadlineSet"


# ---- statutory visit clocks ------------------------------------------------------------------------
async def test_statutory_visits_chain_and_stop_when_the_placement_ends(
    visits: Visits, app: FastAPI, clock: ManualClock
) -> None:
    child = await visits.register()
    household = str(uuid.uuid4())
    placement = await visits.place(
        child, date(2026, 11, 2), long_term=True, household_id=household, occurred_at=datetime(2026, 11, 2, tzinfo=UTC)
    )
    await settle(app)
    # A supervising social worker's visit does not meet the child's social worker's statutory visit.
    ssw = await visits.post(
        f"/v1/children/{child}/visits",
        visit_body(datetime(2026, 11, 5, 10, tzinfo=UTC), visitor_role="supervising_social_worker", kind="supervision"),
    )
    assert ssw["clocks"] == []
    visit = await visits.post(f"/v1/children/{child}/visits", visit_body(datetime(2026, 11, 6, 10, tzinfo=UTC)))
    met, next_clock = visit["clocks"]
    assert (met["event"], met["late"]) == ("DeadlineMet", False)
    assert next_clock["event"] == "DeadlineSet"
    assert datetime.fromisoformat(next_clock["due_at"]).date() == date(2026, 12, 18)  # 6 weeks in year one
    compliance = await visits.get(f"/v1/children/{child}/compliance")
    assert compliance["next_statutory_visit"]["deadline_id"] == next_clock["deadline_id"]
    assert compliance["next_statutory_visit"]["overdue"] is False
    assert compliance["days_since_seen_alone"] == 19
    assert compliance["last_visit_with_narrative"]["event_id"] == visit["event_id"]
    assert compliance["placement"]["household_id"] == household

    await visits.foreign(
        f"placement-{placement}",
        "carers.PlacementEnded",
        {
            "placement_id": placement,
            "child_id": child,
            "household_id": household,
            "end_date": "2026-11-20",
            "reason": "moved to kinship care",
            "narrative": "Planned move.",
        },
        occurred_at=datetime(2026, 11, 20, tzinfo=UTC),
        child_ids=[child],
    )
    await settle(app)
    compliance = await visits.get(f"/v1/children/{child}/compliance")
    assert compliance["next_statutory_visit"] is None and compliance["placement"] is None
    types = [e.type for e in await visits.events_about(child) if not e.type.startswith("notifications.")]
    assert types[-2:] == ["carers.PlacementEnded", "DeadlineCancelled"]


async def test_a_statutory_clock_that_names_no_placement_belongs_to_the_one_current_when_it_was_set(
    visits: Visits, app: FastAPI
) -> None:
    """Statutory visit clocks name their placement since the reshape; one recorded before still
    stops when that placement ends."""
    child = await visits.register()
    household = str(uuid.uuid4())
    placement = await visits.place(
        child, date(2026, 11, 2), household_id=household, occurred_at=datetime(2026, 11, 2, tzinfo=UTC)
    )
    await settle(app)
    [reacted] = [e for e in await visits.events_about(child) if e.type == "DeadlineSet" and "placement_id" in e.data]
    assert reacted.data["placement_id"] == placement
    legacy = {k: v for k, v in reacted.data.items() if k != "placement_id"} | {"deadline_id": str(uuid.uuid4())}
    await visits.foreign(f"child-{child}", "DeadlineSet", legacy, occurred_at=NOW, child_ids=[child])
    await settle(app)
    ended = {"placement_id": placement, "child_id": child, "household_id": household, "end_date": "2026-11-24"}
    await visits.foreign(
        f"placement-{placement}",
        "carers.PlacementEnded",
        {**ended, "reason": "moved", "narrative": "Planned move."},
        occurred_at=NOW,
        child_ids=[child],
    )
    await settle(app)
    stopped = [e.data["deadline_id"] for e in await visits.events_about(child) if e.type == "DeadlineCancelled"]
    assert sorted(stopped) == sorted([reacted.data["deadline_id"], legacy["deadline_id"]])
    assert (await visits.get(f"/v1/children/{child}/compliance"))["next_statutory_visit"] is None


async def test_connected_person_placements_are_visited_weekly(visits: Visits, app: FastAPI) -> None:
    child = await visits.register()
    await visits.place(child, date(2026, 11, 2), connected_person=True, occurred_at=datetime(2026, 11, 2, tzinfo=UTC))
    await settle(app)
    visit = await visits.post(f"/v1/children/{child}/visits", visit_body(datetime(2026, 11, 9, 10, tzinfo=UTC)))
    assert datetime.fromisoformat(visit["clocks"][1]["due_at"]).date() == date(2026, 11, 16)


async def test_the_worklist_shows_what_each_worker_has_due(visits: Visits, app: FastAPI, auth: object) -> None:
    worker = f"sw-{uuid.uuid4().hex[:6]}"
    overdue, soon, later = [await visits.register(worker=worker) for _ in range(3)]
    await visits.place(overdue, date(2026, 10, 1), occurred_at=datetime(2026, 10, 1, tzinfo=UTC))
    await visits.place(soon, date(2026, 11, 24), occurred_at=datetime(2026, 11, 24, tzinfo=UTC))
    await visits.place(later, date(2026, 11, 24), long_term=True, occurred_at=datetime(2026, 11, 24, tzinfo=UTC))
    await settle(app)
    await visits.post(f"/v1/children/{later}/visits", visit_body(NOW - timedelta(hours=1)))
    due = await visits.get("/v1/visits/due", worker_id=worker)
    assert [(i["child_id"], i["overdue"]) for i in due["items"]] == [(overdue, True), (soon, False)]
    everything = await visits.get("/v1/visits/due", worker_id=worker, before="2027-06-01T00:00:00Z")
    assert [i["child_id"] for i in everything["items"]] == [overdue, soon, later]
    assert (await visits.get("/v1/visits/due", worker_id="nobody"))["items"] == []


# ---- incidents and contacts ----------------------------------------------------------------------
async def test_found_after_missing_needs_a_return_home_interview_within_72_hours(
    visits: Visits, clock: ManualClock
) -> None:
    child = await visits.register()
    missing = await visits.post(
        f"/v1/children/{child}/incidents",
        {
            "category": "missing",
            "occurred_at": "2026-11-21T20:00:00Z",
            "narrative": "Did not come home.",
            "police_called": True,
        },
    )
    assert [c["kind"] for c in missing["clocks"]] == ["visits.follow_up_visit", "visits.risk_assessment_after_incident"]
    found = await visits.post(
        f"/v1/children/{child}/incidents",
        {"category": "found", "occurred_at": "2026-11-22T09:00:00Z", "narrative": "Found at a friend's house."},
    )
    [rhi] = found["clocks"]
    assert rhi["kind"] == "visits.return_home_interview"
    assert datetime.fromisoformat(rhi["due_at"]) == datetime(2026, 11, 25, 9, tzinfo=UTC)
    compliance = await visits.get(f"/v1/children/{child}/compliance")
    assert {(f["kind"], f["overdue"]) for f in compliance["open_follow_ups"]} == {
        ("visits.follow_up_visit", True),
        ("visits.return_home_interview", True),
    }
    phone = {"occurred_at": "2026-11-25T10:00:00Z", "kind": "phone", "with_whom": "carer", "summary": "Update."}
    assert (await visits.post(f"/v1/children/{child}/contacts", phone))["clocks"] == []
    interview = {**phone, "kind": "return_home_interview", "with_whom": "the child, by an independent worker"}
    met = await visits.post(f"/v1/children/{child}/contacts", interview)
    assert [(c["kind"], c["late"]) for c in met["clocks"]] == [("visits.return_home_interview", True)]


# ---- complaints ----------------------------------------------------------------------------------
async def test_a_child_complaining_about_their_carer_is_row_9_lado_and_a_visit(visits: Visits) -> None:
    child = await visits.register()
    household = str(uuid.uuid4())
    await visits.place(
        child, date(2026, 11, 2), household_id=household, occurred_at=datetime(2026, 11, 2, 10, tzinfo=UTC)
    )
    await settle(visits.app)
    complaint = await visits.post(
        f"/v1/children/{child}/complaints",
        {
            "received_at": "2026-11-24T09:00:00Z",
            "made_by": "child",
            "about_household_id": household,
            "summary": "Does not feel safe with the other children in the house.",
        },
    )
    assert complaint["schedule7_row9"] is True and complaint["lado_consultation"] is True
    assert {c["kind"] for c in complaint["clocks"]} == {
        "visits.complaint_acknowledgement",
        "visits.complaint_stage1_response",
        "visits.follow_up_visit",
    }
    [received] = [e for e in await visits.events_about(child) if e.type == "visits.ComplaintReceived"]
    assert received.stream_id == f"complaint-{complaint['complaint_id']}"
    assert received.data["schedule7_row9"] is True and received.data["lado_consultation"] is True
    compliance = await visits.get(f"/v1/children/{child}/compliance")
    assert [f["kind"] for f in compliance["open_follow_ups"]] == ["visits.follow_up_visit"]
    await visits.post(f"/v1/children/{child}/visits", visit_body(NOW - timedelta(hours=1)))
    assert (await visits.get(f"/v1/children/{child}/compliance"))["open_follow_ups"] == []


async def test_the_complaint_stage_machine(visits: Visits, clock: ManualClock) -> None:
    child = await visits.register()
    received = datetime(2026, 11, 2, 10, tzinfo=UTC)
    clock.set(received)
    complaint = await visits.post(
        f"/v1/children/{child}/complaints",
        {"received_at": received.isoformat(), "made_by": "parent", "summary": "Contact was cancelled twice."},
    )
    path = f"/v1/complaints/{complaint['complaint_id']}"
    before = await visits.get(path)
    problem = await visits.post(f"{path}/close", {"outcome": "resolved"}, status=422)
    assert "without a recorded response" in problem["detail"]
    assert (await visits.get(path))["version"] == before["version"]
    await visits.post(f"{path}/escalate", {"reason": "unhappy"}, status=409)  # nothing to escalate from yet

    clock.set(datetime(2026, 11, 3, 10, tzinfo=UTC))
    ack = await visits.post(f"{path}/acknowledge", {"how": "letter"}, status=200)
    assert [(c["kind"], c["late"]) for c in ack["clocks"]] == [("visits.complaint_acknowledgement", False)]
    await visits.post(f"{path}/acknowledge", {}, status=409)

    extended = await visits.post(f"{path}/extend", {"working_days": 20, "reason": "Carer on leave."}, status=200)
    assert datetime.fromisoformat(extended["clocks"][1]["due_at"]) == datetime(2026, 11, 30, 10, tzinfo=UTC)
    await visits.post(f"{path}/extend", {"working_days": 21, "reason": "More time."}, status=422)

    clock.set(datetime(2026, 11, 20, 10, tzinfo=UTC))
    await visits.post(f"{path}/respond", {"response": "Contact restored.", "outcome": "upheld"}, status=200)
    await visits.post(f"{path}/respond", {"response": "Again.", "outcome": "upheld"}, status=409)
    escalated = await visits.post(f"{path}/escalate", {"reason": "Still unhappy."}, status=200)
    stage2 = escalated["clocks"][-1]
    assert stage2["kind"] == "visits.complaint_stage2_response"
    # 25 working days from 20 November: 25 and 28 December are bank holidays.
    assert datetime.fromisoformat(stage2["due_at"]) == datetime(2026, 12, 29, 10, tzinfo=UTC)
    detail = await visits.get(path)
    assert (detail["stage"], detail["status"]) == (2, "escalated")
    await visits.post(f"{path}/close", {"outcome": "resolved"}, status=422)

    clock.set(datetime(2026, 11, 27, 10, tzinfo=UTC))
    await visits.post(f"{path}/respond", {"response": "Investigated.", "outcome": "partly_upheld"}, status=200)
    panel = await visits.post(f"{path}/escalate", {"reason": "Wants a panel."}, status=200)
    assert panel["clocks"][-1]["kind"] == "visits.complaint_stage3_panel"
    await visits.post(f"{path}/escalate", {"reason": "Again."}, status=409)
    answer = {"response": "Panel's recommendations accepted.", "outcome": "not_upheld"}
    await visits.post(f"{path}/respond", answer, status=409)  # the panel and its report come first
    await visits.post(f"{path}/panel-report", {"recommendations": "None yet."}, status=409)  # no panel yet
    held = await visits.post(f"{path}/panel", {}, status=200)
    assert [c["kind"] for c in held["clocks"]] == ["visits.complaint_stage3_panel", "visits.complaint_stage3_report"]
    reported = await visits.post(f"{path}/panel-report", {"recommendations": "Plan contact cover."}, status=200)
    assert reported["clocks"][-1]["kind"] == "visits.complaint_stage3_response"
    await visits.post(f"{path}/respond", answer, status=200)
    closed = await visits.post(f"{path}/close", {"outcome": "resolved", "learning": "Plan contact cover."}, status=200)
    assert closed["summary"] == "Complaint closed at stage 3: resolved"
    detail = await visits.get(path)
    assert detail["status"] == "closed" and all(c["status"] != "open" for c in detail["clocks"])
    assert (await visits.get(f"/v1/children/{child}/compliance"))["open_complaints"] == []
    types = [e.type for e in await visits.events_about(child) if e.type.startswith("visits.Complaint")]
    assert types == [
        "visits.ComplaintReceived",
        "visits.ComplaintAcknowledged",
        "visits.ComplaintTimescaleExtended",
        "visits.ComplaintResponded",
        "visits.ComplaintEscalated",
        "visits.ComplaintResponded",
        "visits.ComplaintEscalated",
        "visits.ComplaintPanelHeld",
        "visits.ComplaintPanelReported",
        "visits.ComplaintResponded",
        "visits.ComplaintClosed",
    ]


async def test_replay_rebuilds_identical_rows(visits: Visits, app: FastAPI) -> None:
    from sqlalchemy import text

    child = await visits.register()
    await visits.place(child, date(2026, 11, 2), occurred_at=datetime(2026, 11, 2, tzinfo=UTC))
    await settle(app)
    await visits.post(f"/v1/children/{child}/visits", visit_body(NOW - timedelta(days=1)))
    await visits.post(
        f"/v1/children/{child}/complaints",
        {"received_at": NOW.isoformat(), "made_by": "child", "summary": "Wants to phone her mum more."},
    )
    runner = app.state.runners["visits"]
    projector = runner.by_name("visits")

    async def snapshot() -> dict[str, list[tuple[object, ...]]]:
        async with app.state.engine.connect() as conn:
            return {
                table: [tuple(r) for r in await conn.execute(text(f"SELECT * FROM {table} ORDER BY 1"))]
                for table in projector.tables
            }

    before = await snapshot()
    await runner.replay(projector)
    assert await snapshot() == before
