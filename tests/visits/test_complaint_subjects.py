"""Issue 18: the subject of a complaint does not handle it (docs/domain.md). The complaint records
the workers it is about; none of them may acknowledge, answer, extend or close it (403, saying
why), whatever their role, and the refusal writes nothing."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from shared.auth import Role
from shared.clock import ManualClock
from tests.builders import post
from tests.visits.conftest import WORKER, Visits


async def test_a_worker_named_in_a_complaint_cannot_handle_it_and_another_can(
    visits: Visits, client: httpx.AsyncClient, auth: Any, clock: ManualClock, app: FastAPI
) -> None:
    child = await visits.register()
    complaint = await visits.post(
        f"/v1/children/{child}/complaints",
        {
            "received_at": clock.now().isoformat(),
            "made_by": "parent",
            "summary": "The social worker and the manager cancelled contact twice.",
            "about_worker_ids": [WORKER, "mgr-dee-3"],
        },
    )
    path = f"/v1/complaints/{complaint['complaint_id']}"
    detail = await visits.get(path)
    assert detail["about_worker_ids"] == [WORKER, "mgr-dee-3"]
    named_manager = auth(Role.REGISTERED_MANAGER, subject="mgr-dee-3")
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("acknowledge", {"how": "letter"}),
        ("respond", {"response": "Contact restored.", "outcome": "upheld"}),
        ("extend", {"working_days": 20, "reason": "Leave."}),
        ("close", {"outcome": "resolved"}),
    ]
    for headers in (visits.headers, named_manager):
        for step, body in attempts:
            refused = await client.post(f"{path}/{step}", json=body, headers=headers)
            assert refused.status_code == 403, (step, refused.text)
            problem = refused.json()
            assert refused.headers["content-type"] == "application/problem+json"
            assert "handled by someone it is not about" in problem["detail"]
    assert (await visits.get(path))["version"] == detail["version"]  # nothing written

    other = auth(Role.MANAGER, subject="mgr-eve-9")
    await post(client, other, f"{path}/acknowledge", {"how": "letter"}, 200)
    await post(client, other, f"{path}/respond", {"response": "Contact restored.", "outcome": "upheld"}, 200)
    closed = await post(client, other, f"{path}/close", {"outcome": "resolved"}, 200)
    assert closed["summary"] == "Complaint closed at stage 1: resolved"


async def test_a_complaint_naming_no_worker_is_handled_as_before_and_bad_ids_are_refused(
    visits: Visits, clock: ManualClock
) -> None:
    child = await visits.register()
    body = {"received_at": clock.now().isoformat(), "made_by": "child", "summary": "Wants more contact."}
    complaint = await visits.post(f"/v1/children/{child}/complaints", body)
    path = f"/v1/complaints/{complaint['complaint_id']}"
    assert (await visits.get(path))["about_worker_ids"] == []
    await visits.post(f"{path}/acknowledge", {}, status=200)
    before = await visits.events_about(child)
    await visits.post(f"/v1/children/{child}/complaints", {**body, "about_worker_ids": [""]}, status=422)
    assert await visits.events_about(child) == before
