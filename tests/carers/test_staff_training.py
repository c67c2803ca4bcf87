"""Issue 18: the agency's own staff (SSW, child's social worker, manager) keep their safeguarding and
supervision training in date. Each course recorded has an expiry and a renewal clock that
escalates to the manager when it passes; the worker's overdue training shows beside their
caseload. Through the HTTP API with the clock moved."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import FastAPI

from shared.auth import Role
from shared.clock import ManualClock
from tests.builders import post
from tests.carers.helpers import codes, events_of
from tests.carers.test_oversight_api import escalated, manager, never_escalated


async def test_expired_staff_training_escalates_and_shows_beside_the_caseload(
    client, auth, app: FastAPI, clock: ManualClock
) -> None:
    h = manager(auth)
    worker = f"ssw-{uuid.uuid4().hex[:8]}"
    await post(
        client,
        h,
        "/v1/households",
        {"local_authority": "E06000062", "name": "Load", "supervising_social_worker_id": worker},
    )
    url = f"/v1/workers/{worker}/training"
    safeguarding = await post(
        client,
        h,
        url,
        {"role": "supervising_social_worker", "course": "safeguarding", "completed_on": "2023-12-10"},
    )
    assert safeguarding["expires_on"] == "2026-12-10"  # 3 years (local)
    supervision = await post(
        client,
        h,
        url,
        {
            "role": "supervising_social_worker",
            "course": "supervision",
            "completed_on": "2026-06-01",
            "expires_on": "2028-06-01",
        },
    )
    seen = (await client.get("/v1/caseloads", params={"worker_id": worker}, headers=h)).json()
    [mine] = seen["workers"]
    assert mine["households"] == 1 and mine["overdue_training"] == [] and seen["training_overdue"] == []
    assert {t["course"]: t["expires_on"] for t in mine["training"]} == {
        "safeguarding": "2026-12-10",
        "supervision": "2028-06-01",
    }
    # A supervision of the worker does not stand in for their training.
    body = {"occurred_at": clock.now().isoformat(), "narrative": "Reflective supervision."}
    await post(client, h, f"/v1/workers/{worker}/supervisions", body)

    clock.advance(timedelta(days=16))  # 11 December: the safeguarding training has expired
    raised = await escalated(client, app, safeguarding["deadline_id"])
    assert raised["deadline_kind"] == "carers.staff_training" and raised["escalate_to"] == "manager"
    late = (await client.get("/v1/caseloads", params={"worker_id": worker}, headers=auth(Role.INSPECTOR))).json()
    assert late["training_overdue"] == [worker] and late["workers"][0]["overdue_training"] == ["safeguarding"]
    await never_escalated(client, app, supervision["deadline_id"])

    # Renewed: the clock is met (late), the next starts, and the caseload is clear again.
    renewed = await post(
        client,
        h,
        url,
        {"role": "supervising_social_worker", "course": "safeguarding", "completed_on": "2026-12-11"},
    )
    assert [(c["event"], c["late"]) for c in renewed["clocks"] if c["event"] == "DeadlineMet"] == [
        ("DeadlineMet", True)
    ]
    again = (await client.get("/v1/caseloads", params={"worker_id": worker}, headers=h)).json()
    assert again["training_overdue"] == [] and again["workers"][0]["overdue_training"] == []


async def test_staff_training_is_recorded_by_managers_and_bad_input_writes_nothing(client, auth, app) -> None:
    h = manager(auth)
    worker = f"csw-{uuid.uuid4().hex[:8]}"
    url = f"/v1/workers/{worker}/training"
    body = {"role": "child_social_worker", "course": "safeguarding", "completed_on": "2026-11-01"}
    for role in (Role.SUPERVISING_SOCIAL_WORKER, Role.CHILD_SOCIAL_WORKER, Role.INSPECTOR):
        assert (await client.post(url, json=body, headers=auth(role))).status_code == 403, role
    problem = await post(client, h, url, {**body, "expires_on": "2026-10-01"}, status=422)
    assert codes(problem) == {"expires_before_completed"}
    assert "in_the_future" in codes(await post(client, h, url, {**body, "completed_on": "2027-01-01"}, status=422))
    await post(client, h, url, {**body, "course": "cooking"}, status=422)
    assert await events_of(app, stream_id=f"worker-{worker}") == []
