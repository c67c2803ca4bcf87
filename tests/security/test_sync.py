"""Offline mobile clients: a social worker records three visits and an incident with no signal,
another worker amends the same child meanwhile, and the client reconnects and replays its queue
twice. Every write lands once, the conflict is reported (412 with the current version), nothing is
lost, and the sync feed never shows the client anything outside its caseload."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from shared.auth import Role
from shared.clock import ManualClock
from tests.builders import visit_body
from tests.conftest import settle

WORKER, OTHER = "sw-offline", "sw-elsewhere"


async def register(client: httpx.AsyncClient, manager: dict[str, str], name: str, worker: str) -> str:
    body = {
        "name": name,
        "date_of_birth": "2012-03-14",
        "legal_status": "section_31_care_order",
        "placing_authority": "West Northamptonshire Council",
        "social_worker_id": worker,
    }
    response = await client.post("/v1/children", json=body, headers=manager)
    assert response.status_code == 201, response.text
    return str(response.json()["child_id"])


async def sync_all(
    client: httpx.AsyncClient, headers: dict[str, str], worker: str | None, cursor: int = 0
) -> tuple[list[dict[str, Any]], int, int]:
    """Every page from `cursor` until the feed has no more: (entries, new cursor, pages)."""
    entries: list[dict[str, Any]] = []
    pages = 0
    while True:
        params: dict[str, Any] = {"cursor": cursor, "limit": 3}
        if worker is not None:
            params["worker_id"] = worker
        page = await client.get("/v1/sync", params=params, headers=headers)
        assert page.status_code == 200, page.text
        pages += 1
        entries += page.json()["entries"]
        cursor = page.json()["cursor"]
        if not page.json()["more"]:
            return entries, cursor, pages


class OfflineClient:
    """A phone's queue: each write with its own Idempotency-Key and the If-Match it last knew."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str], child: str, version: int) -> None:
        self.client, self.headers, self.child, self.known_version = client, headers, child, version
        self.queue: list[tuple[str, str, dict[str, Any]]] = []

    def record(self, path: str, body: dict[str, Any]) -> None:
        self.queue.append((str(uuid.uuid4()), f"/v1/children/{self.child}/{path}", body))

    async def replay(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[bool]]:
        """(answers, conflicts reported, whether each answer was a replay of an earlier one)."""
        version = self.known_version
        answers, conflicts, replayed = [], [], []
        for key, path, body in self.queue:
            headers = {**self.headers, "Idempotency-Key": key, "If-Match": f'"{version}"'}
            response = await self.client.post(path, json=body, headers=headers)
            if response.status_code == 412:  # someone else wrote first: shown to the worker, then retried
                conflicts.append(response.json())
                current = await self.client.get(f"/v1/children/{self.child}", headers=self.headers)
                headers["If-Match"] = current.headers["etag"]
                response = await self.client.post(path, json=body, headers=headers)
            assert response.status_code == 201, response.text
            answers.append(response.json())
            replayed.append(response.headers.get("idempotent-replayed") == "true")
            version = response.json()["version"]
        return answers, conflicts, replayed


async def test_a_replayed_offline_queue_lands_once_reports_the_conflict_and_syncs_only_the_caseload(
    app: FastAPI, client: httpx.AsyncClient, auth: Any, clock: ManualClock
) -> None:
    manager = auth(Role.MANAGER, subject="mgr-1")
    worker = auth(Role.CHILD_SOCIAL_WORKER, subject=WORKER)
    mine = await register(client, manager, "Amira K", WORKER)
    theirs = await register(client, manager, "Sam T", OTHER)
    await settle(app)

    first, cursor, _ = await sync_all(client, worker, WORKER)
    assert first and {c for e in first for c in e["child_ids"]} == {mine}
    version = max(e["stream_version"] for e in first if e["stream_id"] == f"child-{mine}")

    # No signal: three visits and an incident, queued on the phone.
    phone = OfflineClient(client, worker, mine, version)
    for n in range(3):
        phone.record("visits", visit_body(clock.now() - timedelta(hours=6 - n), n, visitor_id=WORKER))
    phone.record(
        "incidents",
        {"category": "missing", "occurred_at": (clock.now() - timedelta(hours=2)).isoformat(), "narrative": "Ran off."},
    )
    # Meanwhile the office amends the same child, and another worker's child changes too.
    amended = await client.post(
        f"/v1/children/{mine}/visits", json=visit_body(clock.now() - timedelta(hours=5), 9), headers=manager
    )
    assert amended.status_code == 201, amended.text
    elsewhere = await client.post(
        f"/v1/children/{theirs}/visits", json=visit_body(clock.now() - timedelta(hours=5), 8), headers=manager
    )
    assert elsewhere.status_code == 201, elsewhere.text

    answers, conflicts, replayed = await phone.replay()  # back online
    assert len(conflicts) == 1 and conflicts[0]["type"].endswith("/precondition-failed")
    assert conflicts[0]["current_version"] == amended.json()["version"]
    assert replayed == [False] * 4
    again, conflicts_again, replayed_again = await phone.replay()  # the answers were lost: again
    assert conflicts_again == [] and replayed_again == [True] * 4
    assert [a["event_id"] for a in again] == [a["event_id"] for a in answers]

    await settle(app)
    chronology = await client.get(f"/v1/children/{mine}/chronology", params={"limit": 1000}, headers=worker)
    types = [e["type"] for e in chronology.json()["entries"]]
    assert types.count("visits.VisitRecorded") == 4 and types.count("visits.IncidentRecorded") == 1

    synced, _, pages = await sync_all(client, worker, WORKER, cursor)
    assert pages > 1
    ids = {e["event_id"] for e in synced}
    assert {a["event_id"] for a in answers} | {amended.json()["event_id"]} <= ids  # nothing lost
    assert elsewhere.json()["event_id"] not in ids
    assert all(e["child_ids"] == [mine] for e in synced)  # nothing outside the caseload
    assert "notifications.DeliveryAttempted" not in {e["type"] for e in synced}

    theirs_synced, _, _ = await sync_all(client, auth(Role.CHILD_SOCIAL_WORKER, subject=OTHER), OTHER)
    assert theirs_synced and all(e["child_ids"] == [theirs] for e in theirs_synced)
    everyone, _, _ = await sync_all(client, manager, None)
    assert {c for e in everyone for c in e["child_ids"]} == {mine, theirs}


async def test_the_sync_feed_refuses_what_it_should(app: FastAPI, client: httpx.AsyncClient, auth: Any) -> None:
    worker = auth(Role.CHILD_SOCIAL_WORKER, subject=WORKER)
    for params, headers, status in [
        ({"worker_id": OTHER}, worker, 403),  # another worker's feed
        ({}, worker, 403),  # a caseworker names themselves
        ({"worker_id": WORKER, "cursor": -1}, worker, 422),
        ({"worker_id": WORKER, "limit": 5000}, worker, 422),
        ({}, auth(Role.CARER, subject="carer-1"), 404),
        ({}, {}, 401),
    ]:
        response = await client.get("/v1/sync", params=params, headers=headers)
        assert response.status_code == status, (params, response.text)
