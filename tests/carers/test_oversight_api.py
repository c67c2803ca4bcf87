"""Issue 12, carers half, through the HTTP API on real PostgreSQL: matching (needs and training),
behavioural incidents on the next supervision's agenda, endings, unannounced visits that see every
child, caseloads and workers' own supervision. Each clock is let pass (the escalation is raised by
the notifications service's generic clock) and met in time (no escalation)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from shared.auth import Role
from shared.clock import ManualClock
from shared.eventstore import NewEvent
from tests.builders import post
from tests.carers.helpers import codes, events_of, household, place, register_child
from tests.conftest import settle

ESCALATION = "notifications.EscalationRaised"


# ---- helpers ---------------------------------------------------------------------------------
async def deadlines(app: FastAPI, kind: str, **filters: Any) -> list[Any]:
    found = [e for e in await events_of(app, types=["DeadlineSet"], **filters) if e.data["kind"] == kind]
    return sorted(found, key=lambda e: e.position)


async def open_escalations(client: httpx.AsyncClient, child: str | None = None) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"open": "true", "limit": 1000}
    if child:
        params["child_id"] = child
    response = await client.get("/v1/escalations", params=params, headers={**MANAGER})
    assert response.status_code == 200, response.text
    return response.json()["escalations"]


MANAGER: dict[str, str] = {}


async def escalated(client: httpx.AsyncClient, app: FastAPI, deadline_id: str, child: str | None = None) -> dict:
    """Wait for the clock worker (0.2 s ticks in tests) to escalate the deadline; return the escalation."""
    for _ in range(50):
        await settle(app)
        found = [e for e in await open_escalations(client, child) if e["deadline_id"] == deadline_id]
        if found:
            return found[0]
        await asyncio.sleep(0.2)
    raise AssertionError(f"deadline {deadline_id} did not escalate")


async def never_escalated(client: httpx.AsyncClient, app: FastAPI, deadline_id: str, child: str | None = None) -> None:
    await asyncio.sleep(1.0)  # several ticks of the clock
    await settle(app)
    assert deadline_id not in [e["deadline_id"] for e in await open_escalations(client, child)]
    raised = await events_of(app, types=[ESCALATION])
    assert deadline_id not in [e.data.get("deadline_id") for e in raised]


async def child_event(app: FastAPI, child: str, type: str, data: dict[str, Any]) -> None:
    """An event of the child's record, as the visits service appends it (read by type name)."""
    await app.state.store.append(
        f"child-{child}",
        [
            NewEvent(
                type=type,
                data={"child_id": child, **data},
                occurred_at=app.state.clock.now(),
                child_ids=(uuid.UUID(child),),
                metadata={"service": "visits", "summary": type},
            )
        ],
    )


async def compliance(client: httpx.AsyncClient, headers: dict[str, str], hid: str) -> dict[str, Any]:
    response = await client.get(f"/v1/households/{hid}/compliance", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def manager(auth: Any) -> dict[str, str]:
    MANAGER.clear()
    MANAGER.update(auth(Role.MANAGER))
    return MANAGER


# ---- 1. matching: needs and training ---------------------------------------------------------
async def test_placing_a_child_whose_needs_the_carers_lack_training_for_starts_a_clock_that_escalates(
    client, auth, app: FastAPI, clock: ManualClock
) -> None:
    """Ofsted: 'no evidence to confirm that certain foster carers have the right training in place
    to meet the complex health needs of the children in their care'."""
    h = manager(auth)
    ids = await household(client, h)
    hid, carer = ids["household_id"], ids["carer_id"]
    child = await register_child(app)
    placed = await place(client, h, hid, child, "2026-11-25", child_needs=["epilepsy"])
    assert placed.status_code == 201, placed.text  # allowed: the gap is a clock, not a refusal
    gaps = placed.json()["training_gaps"]
    assert sorted(g["course"] for g in gaps) == ["epilepsy", "first_aid"]
    assert {g["member_id"] for g in gaps} == {carer}
    report = await compliance(client, h, hid)
    assert sorted(g["course"] for g in report["training_gaps"]) == ["epilepsy", "first_aid"]
    assert report["compliant"] is False and {f["kind"] for f in report["flags"]} == {"training_gap"}
    [epilepsy, _] = sorted(await deadlines(app, "carers.needs_training", child_id=uuid.UUID(child)),
                           key=lambda e: e.data["course"])  # fmt: skip
    assert epilepsy.data["due_at"].startswith("2026-12-23") and epilepsy.data["member_id"] == carer

    clock.advance(timedelta(days=29))
    raised = await escalated(client, app, epilepsy.data["deadline_id"], child)
    assert raised["deadline_kind"] == "carers.needs_training" and raised["household_id"] == hid
    overdue = {i["kind"] for i in (await compliance(client, h, hid))["overdue"]}
    assert "carers.needs_training" in overdue


async def test_training_completed_in_time_meets_the_needs_clock(client, auth, app: FastAPI, clock: ManualClock) -> None:
    h = manager(auth)
    ids = await household(client, h)
    hid, carer = ids["household_id"], ids["carer_id"]
    child = await register_child(app)
    # Needs held in the child's record (visits.ChildNeedsRecorded) count without being repeated.
    await child_event(
        app, child, "visits.ChildNeedsRecorded", {"needs": ["complex_medication"], "recorded_by": "csw-test"}
    )
    placed = await place(client, h, hid, child, "2026-11-25")
    assert placed.status_code == 201 and placed.json()["child_needs"] == ["complex_medication"]
    [medication] = await deadlines(app, "carers.needs_training", child_id=uuid.UUID(child))
    assert medication.data["course"] == "medication"

    clock.advance(timedelta(days=10))
    body = {"member_id": carer, "course": "medication", "completed_on": str(clock.now().date())}
    await post(client, h, f"/v1/households/{hid}/training", body)
    report = await compliance(client, h, hid)
    assert report["training_gaps"] == [] and report["flags"] == []
    clock.advance(timedelta(days=30))
    await never_escalated(client, app, medication.data["deadline_id"], child)


async def test_needs_recorded_later_in_the_childs_record_start_training_clocks(client, auth, app: FastAPI) -> None:
    h = manager(auth)
    ids = await household(client, h)
    hid = ids["household_id"]
    await post(
        client,
        h,
        f"/v1/households/{hid}/training",
        {"member_id": ids["carer_id"], "course": "self_harm", "completed_on": "2026-11-01"},
    )
    child = await register_child(app)
    assert (await place(client, h, hid, child, "2026-11-25")).status_code == 201
    assert await deadlines(app, "carers.needs_training", child_id=uuid.UUID(child)) == []
    await child_event(
        app, child, "visits.ChildNeedsRecorded", {"needs": ["self_harm", "substance_misuse"], "recorded_by": "csw-test"}
    )
    await settle(app)
    await settle(app)  # a repeat of the reaction is a no-op
    [gap] = await deadlines(app, "carers.needs_training", child_id=uuid.UUID(child))
    assert gap.data["course"] == "substance_misuse" and gap.stream_id == f"household-{hid}"
    assert [g["course"] for g in (await compliance(client, h, hid))["training_gaps"]] == ["substance_misuse"]


# ---- 2. behavioural incidents on the next supervision's agenda ---------------------------------
async def _incident(app: FastAPI, client, h, category: str = "assault_on_carer", **extra: Any) -> tuple[str, str]:
    ids = await household(client, h)
    hid = ids["household_id"]
    child = await register_child(app)
    assert (await place(client, h, hid, child, "2026-11-25")).status_code == 201
    incident = {
        "incident_id": str(uuid.uuid4()),
        "category": category,
        "occurred_at": app.state.clock.now().isoformat(),
        "narrative": "The child hit the carer during an argument.",
        "police_called": False,
        "household_id": hid,
        **extra,
    }
    await child_event(app, child, "visits.IncidentRecorded", incident)
    await settle(app)
    return hid, child


async def test_an_incident_not_discussed_at_the_next_supervision_escalates(
    client, auth, app: FastAPI, clock: ManualClock
) -> None:
    """Ofsted: 'a foster carer was assaulted by a child. However, in the following supervision, this
    situation was not discussed'."""
    h = manager(auth)
    hid, child = await _incident(app, client, h)
    report = await compliance(client, h, hid)
    [item] = report["supervision_agenda"]
    assert item["category"] == "assault_on_carer" and item["child_id"] == child
    [agenda_clock] = await deadlines(app, "carers.incident_agenda", stream_id=f"household-{hid}")
    assert agenda_clock.data["due_at"].startswith("2026-12-25")  # the next supervision's due date
    assert agenda_clock.data["item_id"] == item["item_id"]

    clock.advance(timedelta(days=3))
    body = {
        "occurred_at": clock.now().isoformat(),
        "narrative": "Talked about school and contact.",
        "children_seen": [child],
    }
    done = await post(client, h, f"/v1/households/{hid}/supervisions", body)
    assert done["agenda_items_open"] == [item["item_id"]]
    clock.advance(timedelta(minutes=5))
    [_, missed] = await deadlines(app, "carers.incident_agenda", stream_id=f"household-{hid}")
    raised = await escalated(client, app, missed.data["deadline_id"], child)
    assert raised["escalate_to"] == "manager" and "Not discussed" in raised["description"]
    assert [i["item_id"] for i in (await compliance(client, h, hid))["supervision_agenda"]] == [item["item_id"]]


async def test_an_incident_discussed_at_the_next_supervision_closes_its_item(
    client, auth, app: FastAPI, clock: ManualClock
) -> None:
    h = manager(auth)
    hid, child = await _incident(app, client, h, category="other", police_called=True)
    [item] = (await compliance(client, h, hid))["supervision_agenda"]
    [agenda_clock] = await deadlines(app, "carers.incident_agenda", stream_id=f"household-{hid}")
    clock.advance(timedelta(days=3))
    unknown = {
        "occurred_at": clock.now().isoformat(),
        "narrative": "n",
        "agenda_items_discussed": [str(uuid.uuid4())],
        "children_seen": [child],
    }
    refused = await client.post(f"/v1/households/{hid}/supervisions", json=unknown, headers=h)
    assert refused.status_code == 422 and codes(refused.json()) == {"unknown_agenda_item"}
    body = {
        "occurred_at": clock.now().isoformat(),
        "narrative": "Discussed the night the police were called and a plan for de-escalation.",
        "agenda_items_discussed": [item["item_id"]],
        "children_seen": [child],
    }
    assert (await post(client, h, f"/v1/households/{hid}/supervisions", body))["agenda_items_open"] == []
    assert (await compliance(client, h, hid))["supervision_agenda"] == []
    clock.advance(timedelta(days=40))
    await never_escalated(client, app, agenda_clock.data["deadline_id"], child)


async def test_an_incident_that_is_not_behavioural_is_not_put_on_the_agenda(client, auth, app: FastAPI) -> None:
    h = manager(auth)
    hid, _ = await _incident(app, client, h, category="seizure")
    assert (await compliance(client, h, hid))["supervision_agenda"] == []


# ---- 3. endings ------------------------------------------------------------------------------
END = {"end_date": "2026-11-25", "reason": "moved to residential care", "narrative": "Moved on as planned."}


async def _placement(client, h, app: FastAPI) -> tuple[str, str, str]:
    hid = (await household(client, h))["household_id"]
    child = await register_child(app)
    response = await place(client, h, hid, child, "2026-11-25")
    assert response.status_code == 201
    return hid, child, response.json()["placement_id"]


async def test_an_ending_with_no_wishes_views_or_meeting_is_flagged_and_escalates(
    client, auth, app: FastAPI, clock: ManualClock
) -> None:
    """Ofsted: 'endings are not recorded effectively ... Foster carers are not routinely asked about
    their feelings ... It is not clear if these children wish to remain in communication'."""
    h = manager(auth)
    hid, child, pid = await _placement(client, h, app)
    ended = await post(client, h, f"/v1/placements/{pid}/end", END)
    assert ended["ending_flagged"] is True and ended["ending_recorded"] == []
    placement = (await client.get(f"/v1/placements/{pid}", headers=h)).json()
    assert placement["ending_flagged"] is True
    report = await compliance(client, h, hid)
    [flag] = report["incomplete_endings"]
    assert flag["placement_id"] == pid and report["compliant"] is False
    [ending_clock] = await deadlines(app, "carers.ending_record", stream_id=f"placement-{pid}")
    assert ending_clock.data["due_at"].startswith("2026-12-02")  # 5 working days

    clock.advance(timedelta(days=8))
    raised = await escalated(client, app, ending_clock.data["deadline_id"], child)
    assert raised["deadline_kind"] == "carers.ending_record"


async def test_an_ending_completed_in_time_is_no_longer_flagged(client, auth, app: FastAPI, clock: ManualClock) -> None:
    h = manager(auth)
    hid, child, pid = await _placement(client, h, app)
    not_yet = await client.post(f"/v1/placements/{pid}/ending", json={"carer_views": "x"}, headers=h)
    assert not_yet.status_code == 409
    await post(client, h, f"/v1/placements/{pid}/end", END)
    [ending_clock] = await deadlines(app, "carers.ending_record", stream_id=f"placement-{pid}")
    empty = await client.post(f"/v1/placements/{pid}/ending", json={}, headers=h)
    assert empty.status_code == 422 and codes(empty.json()) == {"ending_empty"}
    clock.advance(timedelta(days=2))
    body = {
        "child_wishes_contact": True,
        "child_wishes": "Wants to send cards and visit in the holidays",
        "carer_views": "Proud of him and sad; happy to stay in touch",
        "ending_meeting_held": True,
        "ending_meeting_on": "2026-11-24",
    }
    done = await post(client, h, f"/v1/placements/{pid}/ending", body)
    assert done["ending_recorded"] == ["child_wishes", "carer_views", "ending_meeting"]
    placement = (await client.get(f"/v1/placements/{pid}", headers=h)).json()
    assert placement["ending_flagged"] is False and placement["child_wishes_contact"] is True
    assert (await compliance(client, h, hid))["incomplete_endings"] == []
    clock.advance(timedelta(days=10))
    await never_escalated(client, app, ending_clock.data["deadline_id"], child)


async def test_an_ending_recorded_with_the_childs_wishes_starts_no_clock(client, auth, app: FastAPI) -> None:
    h = manager(auth)
    hid, _, pid = await _placement(client, h, app)
    ended = await post(client, h, f"/v1/placements/{pid}/end", {**END, "child_wishes_contact": False})
    assert ended["ending_flagged"] is False
    assert await deadlines(app, "carers.ending_record", stream_id=f"placement-{pid}") == []
    assert (await compliance(client, h, hid))["incomplete_endings"] == []


# ---- 4. unannounced visits see every placed child ----------------------------------------------
async def _two_children(client, h, app: FastAPI) -> tuple[str, list[str]]:
    hid = (await household(client, h))["household_id"]
    children = [await register_child(app) for _ in range(2)]
    for child in children:
        assert (await place(client, h, hid, child, "2026-11-25")).status_code == 201
    return hid, children


async def test_an_unannounced_visit_that_does_not_see_every_child_is_refused_and_the_clock_escalates(
    client, auth, app: FastAPI, clock: ManualClock
) -> None:
    """Ofsted: 'none of the social work staff understood that children needed to be seen as part of
    unannounced visits'."""
    h = manager(auth)
    hid, (seen, missed) = await _two_children(client, h, app)
    [unannounced] = await deadlines(app, "carers.unannounced_visit", stream_id=f"household-{hid}")
    before = len(await events_of(app, stream_id=f"household-{hid}"))
    base = {"occurred_at": clock.now().isoformat(), "unannounced": True, "narrative": "Called in unannounced."}
    for extra in (
        {"children_seen": [seen]},
        {"children_seen": [seen], "children_not_seen_reason": "they were out"},  # free text accounts for no one
        {"children_seen": [seen], "children_not_seen": [{"child_id": missed, "reason": "busy"}]},
        {"children_seen": [seen, missed], "children_not_seen": [{"child_id": missed, "reason": "unable"}]},
    ):
        refused = await client.post(f"/v1/households/{hid}/supervisions", json={**base, **extra}, headers=h)
        assert refused.status_code == 422, (extra, refused.text)
    one_missing = await client.post(
        f"/v1/households/{hid}/supervisions", json={**base, "children_seen": [seen]}, headers=h
    )
    assert codes(one_missing.json()) == {"children_not_seen"} and missed in one_missing.json()["detail"]
    assert len(await events_of(app, stream_id=f"household-{hid}")) == before

    clock.advance(timedelta(days=366))
    raised = await escalated(client, app, unannounced.data["deadline_id"])
    assert raised["deadline_kind"] == "carers.unannounced_visit" and raised["household_id"] == hid


async def test_an_unannounced_visit_seeing_each_child_or_giving_a_reason_meets_the_clock(
    client, auth, app: FastAPI, clock: ManualClock
) -> None:
    h = manager(auth)
    hid, (seen, refused_to_be_seen) = await _two_children(client, h, app)
    [unannounced] = await deadlines(app, "carers.unannounced_visit", stream_id=f"household-{hid}")
    clock.advance(timedelta(days=100))
    body = {
        "occurred_at": clock.now().isoformat(),
        "unannounced": True,
        "narrative": "Saw Sam in the kitchen; Alex would not come down and said so through the door.",
        "children_seen": [seen],
        "children_not_seen": [{"child_id": refused_to_be_seen, "reason": "child_refused"}],
    }
    await post(client, h, f"/v1/households/{hid}/supervisions", body)
    [recorded] = [e for e in await events_of(app, stream_id=f"household-{hid}", types=["carers.SupervisionRecorded"])]
    assert recorded.data["children_not_seen"] == [{"child_id": refused_to_be_seen, "reason": "child_refused"}]
    assert set(map(str, recorded.child_ids)) == {seen, refused_to_be_seen}
    clock.advance(timedelta(days=300))  # past the first due date, before the next
    await never_escalated(client, app, unannounced.data["deadline_id"])


# ---- 5. caseloads and workers' own supervision -----------------------------------------------
async def test_a_workers_supervision_not_repeated_within_a_month_escalates_and_shows_overdue(
    client, auth, app: FastAPI, clock: ManualClock
) -> None:
    """Ofsted: 'they are not receiving regular, good-quality supervision from their managers'."""
    h = manager(auth)
    worker = f"ssw-{uuid.uuid4().hex[:8]}"
    await post(
        client,
        h,
        "/v1/households",
        {"local_authority": "E06000062", "name": "Load", "supervising_social_worker_id": worker},
    )
    body = {"occurred_at": clock.now().isoformat(), "narrative": "Caseload review and reflective supervision."}
    done = await post(client, h, f"/v1/workers/{worker}/supervisions", body)
    assert done["next_due_at"].startswith("2026-12-25")
    seen = (await client.get("/v1/caseloads", params={"worker_id": worker}, headers=h)).json()
    assert seen["supervision_overdue"] == [] and seen["workers"][0]["households"] == 1

    clock.advance(timedelta(days=31))
    raised = await escalated(client, app, done["deadline_id"])
    assert raised["deadline_kind"] == "carers.worker_supervision" and raised["escalate_to"] == "registered_manager"
    late = (await client.get("/v1/caseloads", params={"worker_id": worker}, headers=auth(Role.INSPECTOR))).json()
    assert late["supervision_overdue"] == [worker] and late["workers"][0]["supervision"]["overdue"] is True


async def test_a_workers_supervision_repeated_in_time_never_escalates(client, auth, app: FastAPI, clock: ManualClock):
    h = manager(auth)
    worker = f"csw-{uuid.uuid4().hex[:8]}"
    first = await post(
        client, h, f"/v1/workers/{worker}/supervisions", {"occurred_at": clock.now().isoformat(), "narrative": "1"}
    )
    clock.advance(timedelta(days=28))
    await post(
        client, h, f"/v1/workers/{worker}/supervisions", {"occurred_at": clock.now().isoformat(), "narrative": "2"}
    )
    clock.advance(timedelta(days=5))  # past the first due date
    await never_escalated(client, app, first["deadline_id"])
    seen = (await client.get("/v1/caseloads", params={"worker_id": worker}, headers=h)).json()
    assert seen["supervision_overdue"] == [] and seen["workers"][0]["supervision"]["supervisions"] == 2


async def test_caseloads_count_allocations_from_the_log_against_targets(client, auth, app: FastAPI) -> None:
    """Ofsted: 'Supervising social workers' caseloads are relatively high'."""
    h = manager(auth)
    ssw, csw = f"ssw-{uuid.uuid4().hex[:8]}", f"csw-{uuid.uuid4().hex[:8]}"
    households = [
        (
            await post(
                client,
                h,
                "/v1/households",
                {"local_authority": "E06000062", "name": f"H{i}", "supervising_social_worker_id": ssw},
            )
        )["household_id"]
        for i in range(16)
    ]
    children = []
    for _ in range(20):
        child = await register_child(app)
        await post(client, h, "/v1/allocations", {"worker_id": csw, "role": "child_social_worker", "child_id": child})
        children.append(child)
    await settle(app)
    report = (await client.get("/v1/caseloads", headers=h)).json()
    assert report["targets"] == {"children": 20, "households": 16}
    mine = {w["worker_id"]: w for w in report["workers"]}
    assert mine[ssw]["households"] == 16 and mine[ssw]["over_target"] is False
    assert mine[csw]["children"] == 20 and mine[csw]["over_target"] is False
    # A never-supervised worker is overdue a month after their first allocation.
    assert mine[ssw]["supervision"]["due_at"].startswith("2026-12-25")

    extra = await post(
        client,
        h,
        "/v1/households",
        {"local_authority": "E06000062", "name": "H17", "supervising_social_worker_id": ssw},
    )
    one_more = await register_child(app)
    await post(client, h, "/v1/allocations", {"worker_id": csw, "role": "child_social_worker", "child_id": one_more})
    await settle(app)
    report = (await client.get("/v1/caseloads", headers=h)).json()
    assert {ssw, csw} <= set(report["over_target"])
    mine = {w["worker_id"]: w for w in report["workers"]}
    assert mine[ssw]["over_target_in"] == ["households"] and extra["household_id"] in mine[ssw]["household_ids"]
    assert mine[csw]["over_target_in"] == ["children"]

    await post(
        client, h, "/v1/allocations/end", {"worker_id": csw, "role": "child_social_worker", "child_id": one_more}
    )
    await post(
        client, h, "/v1/allocations", {"worker_id": ssw, "role": "lado", "household_id": households[0]}
    )  # a LADO role is not a caseload
    await settle(app)
    report = (await client.get("/v1/caseloads", headers=h)).json()
    assert csw not in report["over_target"] and ssw in report["over_target"]


async def test_caseload_and_worker_supervision_access(client, auth) -> None:
    h = manager(auth)
    worker = f"ssw-{uuid.uuid4().hex[:8]}"
    own = await client.get(
        "/v1/caseloads", params={"worker_id": worker}, headers=auth(Role.SUPERVISING_SOCIAL_WORKER, subject=worker)
    )
    assert own.status_code == 200
    other = await client.get("/v1/caseloads", headers=auth(Role.SUPERVISING_SOCIAL_WORKER, subject=worker))
    assert other.status_code == 403
    body = {"occurred_at": "2026-11-25T10:00:00Z", "narrative": "n"}
    for role in (Role.SUPERVISING_SOCIAL_WORKER, Role.CHILD_SOCIAL_WORKER, Role.INSPECTOR):
        response = await client.post(f"/v1/workers/{worker}/supervisions", json=body, headers=auth(role))
        assert response.status_code == 403, role
    assert (await client.get("/v1/caseloads", headers=auth(Role.CARER))).status_code == 404
    future = await client.post(
        f"/v1/workers/{worker}/supervisions", json={**body, "occurred_at": "2027-01-01T10:00:00Z"}, headers=h
    )
    assert future.status_code == 422
    assert (
        await client.post(f"/v1/workers/{worker}/supervisions", json={"narrative": "n"}, headers=h)
    ).status_code == 422
