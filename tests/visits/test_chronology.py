"""The child's chronology: every event about the child, from every service, in order."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi import FastAPI

from shared.clock import ManualClock
from tests.conftest import settle
from tests.visits.conftest import REGISTRATION_CLOCKS, Visits, visit_body, without_registration_clocks

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def _record_from_three_services(visits: Visits, app: FastAPI) -> tuple[str, dict[str, str]]:
    child = await visits.register()
    ids: dict[str, str] = {}
    await visits.place(child, date(2026, 11, 2), occurred_at=datetime(2026, 11, 2, 10, tzinfo=UTC))
    await settle(app)
    visit = await visits.post(f"/v1/children/{child}/visits", visit_body(datetime(2026, 11, 6, 15, tzinfo=UTC)))
    ids["visit"] = visit["event_id"]
    incident = await visits.post(
        f"/v1/children/{child}/incidents",
        {"category": "self_harm", "occurred_at": "2026-11-20T19:00:00Z", "narrative": "Cut her arm; carer dressed it."},
    )
    ids["incident"] = incident["event_id"]
    notification_id = uuid.uuid4()
    # A type no projector follows: the notifications service's real payloads are its own business.
    notified = await visits.foreign(
        f"notification-{notification_id}",
        "notifications.ChronologyTestProbe",
        {"notification_id": str(notification_id), "recipient": "placing_authority"},
        occurred_at=datetime(2026, 11, 20, 19, 30, tzinfo=UTC),
        child_ids=[child],
        summary="Placing authority notified",
    )
    ids["notification"] = str(notified.event_id)
    await settle(app)  # the other services' reactions (the household's agenda item) are in the log too
    return child, ids


async def test_chronology_has_every_service_in_occurred_order(visits: Visits, app: FastAPI) -> None:
    child, ids = await _record_from_three_services(visits, app)
    chronology = await visits.get(f"/v1/children/{child}/chronology")
    entries = chronology["entries"]
    occurred = [e["occurred_at"] for e in entries]
    assert occurred == sorted(occurred, key=datetime.fromisoformat)
    assert {e["service"] for e in entries} >= {"visits", "carers", "notifications"}
    by_id = {e["event_id"]: e for e in entries}
    assert by_id[ids["notification"]]["summary"] == "Placing authority notified"
    assert by_id[ids["notification"]]["recorded_by"] == {"actor_id": "notifications-worker", "actor_role": "manager"}
    assert by_id[ids["visit"]]["summary"].startswith("Statutory visit by child social worker")
    assert by_id[ids["visit"]]["recorded_by"]["actor_role"] == "registered_manager"
    assert by_id[ids["incident"]]["summary"] == "Incident: self harm"
    kinds = [e["type"] for e in without_registration_clocks(entries)]
    assert kinds.index("carers.PlacementStarted") < kinds.index("visits.VisitRecorded")
    assert kinds.index("visits.IncidentRecorded") < kinds.index("notifications.ChronologyTestProbe")
    # The visit met the first statutory clock and set the next; the incident set a follow-up clock
    # (and, since issue 12, a risk assessment review clock).
    assert kinds.count("DeadlineSet") == 4 and kinds.count("DeadlineMet") == 1
    # Recorded order is position order.
    recorded = await visits.get(f"/v1/children/{child}/chronology", order="recorded")
    positions = [e["position"] for e in recorded["entries"]]
    # The same entries (the log only grows: a background reaction may have added one since).
    assert positions == sorted(positions)
    assert {e["event_id"] for e in entries} <= {e["event_id"] for e in recorded["entries"]}
    only = await visits.get(
        f"/v1/children/{child}/chronology", types=["visits.VisitRecorded", "visits.IncidentRecorded"]
    )
    assert [e["type"] for e in only["entries"]] == ["visits.VisitRecorded", "visits.IncidentRecorded"]
    window = await visits.get(
        f"/v1/children/{child}/chronology", **{"from": "2026-11-20T00:00:00Z", "to": "2026-11-20T23:59:59Z"}
    )
    assert {e["event_id"] for e in window["entries"]} >= {ids["incident"], ids["notification"]}
    assert all(e["occurred_at"].startswith("2026-11-20") for e in window["entries"])


async def test_as_of_hides_what_was_recorded_later(visits: Visits, clock: ManualClock) -> None:
    child = await visits.register()
    first = await visits.post(f"/v1/children/{child}/visits", visit_body(NOW - timedelta(days=2)))
    clock.advance(timedelta(minutes=5))  # `recorded_at` is the agency's clock: the statement comes later
    later = await visits.post(
        f"/v1/children/{child}/statements",
        {"occurred_at": (NOW - timedelta(days=3)).isoformat(), "words": "I want to stay here.", "how": "written"},
    )
    as_of = first["recorded_at"]
    then = await visits.get(f"/v1/children/{child}/chronology", as_of=as_of)
    ids = [e["event_id"] for e in then["entries"]]
    assert first["event_id"] in ids and later["event_id"] not in ids
    now = await visits.get(f"/v1/children/{child}/chronology")
    assert later["event_id"] in [e["event_id"] for e in now["entries"]]
    # Occurred three days ago, recorded today: flagged late.
    entry = next(e for e in now["entries"] if e["event_id"] == later["event_id"])
    assert entry["late"] is True and "I want to stay here" in entry["summary"]
    on_time = next(e for e in now["entries"] if e["type"] == "visits.ChildRegistered")
    assert on_time["late"] is False


@pytest.mark.parametrize("order", ["occurred", "recorded"])
async def test_paging_returns_every_event_exactly_once(visits: Visits, order: str) -> None:
    child = await visits.register()
    same_time = (NOW - timedelta(days=1)).isoformat()
    for index in range(7):  # ties on occurred_at: the cursor breaks them by position
        await visits.post(
            f"/v1/children/{child}/contacts",
            {"occurred_at": same_time, "kind": "phone", "with_whom": f"teacher {index}", "summary": "Checked in."},
        )
    for days in (5, 1, 9, 3):
        await visits.post(
            f"/v1/children/{child}/statements",
            {"occurred_at": (NOW - timedelta(days=days)).isoformat(), "words": f"Day {days}."},
        )
    everything = await visits.get(f"/v1/children/{child}/chronology", order=order, limit=1000)
    assert everything["next_cursor"] is None
    seen: list[str] = []
    cursor = None
    while True:
        params = {"order": order, "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = await visits.get(f"/v1/children/{child}/chronology", **params)
        seen += [e["event_id"] for e in page["entries"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [e["event_id"] for e in everything["entries"]]
    assert len(seen) == len(set(seen)) == 12 + len(REGISTRATION_CLOCKS)
    bad = await visits.client.get(
        f"/v1/children/{child}/chronology", params={"cursor": "not-a-cursor"}, headers=visits.headers
    )
    assert bad.status_code == 400


async def test_an_amendment_sits_beside_the_entry_it_corrects(visits: Visits, clock: ManualClock) -> None:
    child = await visits.register()
    visit = await visits.post(f"/v1/children/{child}/visits", visit_body(NOW - timedelta(hours=3)))
    clock.advance(timedelta(minutes=5))
    amended = await visits.post(
        f"/v1/children/{child}/amendments",
        {
            "amends_event_id": visit["event_id"],
            "reason": "Wrong room recorded",
            "correction": "We spoke in the garden, not the bedroom; bedroom not seen.",
        },
    )
    chronology = await visits.get(f"/v1/children/{child}/chronology", order="recorded")
    entries = {e["event_id"]: e for e in chronology["entries"]}
    original = entries[visit["event_id"]]
    assert original["amended"] is True
    assert original["data"]["bedroom_seen"] is True  # the entry itself is never changed
    [amendment] = original["amendments"]
    assert amendment["event_id"] == amended["event_id"] and amendment["reason"] == "Wrong room recorded"
    assert entries[amended["event_id"]]["amends_event_id"] == visit["event_id"]
    # As of before the amendment, the entry stands alone.
    before = await visits.get(f"/v1/children/{child}/chronology", as_of=visit["recorded_at"])
    assert [e["amendments"] for e in before["entries"] if e["event_id"] == visit["event_id"]] == [[]]
    other = await visits.register()
    problem = await visits.post(
        f"/v1/children/{other}/amendments",
        {"amends_event_id": visit["event_id"], "reason": "x", "correction": "y"},
        status=422,
    )
    assert "not an entry" in problem["detail"]


async def test_chronology_of_an_unknown_child_is_404(visits: Visits, clock: ManualClock) -> None:
    problem = await visits.get(f"/v1/children/{uuid.uuid4()}/chronology", status=404)
    assert problem["type"].endswith("/not-found")
