"""The register of foster parents (FSR 2011 reg 31): approved households with their carers, terms,
approval date, SSW and status, and those whose approval ended, each kept 10 years after the end
(reg 32(3)); as the agency knew it at any instant; for managers and inspectors only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from shared.auth import Role
from shared.clock import ManualClock
from tests.builders import post
from tests.carers.helpers import SSW, TERMS, household
from tests.conftest import AuthHeaders


async def _register(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> Any:
    response = await client.get("/v1/registers/foster-parents", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_register_lists_approved_and_ended_households_for_as_long_as_they_are_kept(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, clock: ManualClock
) -> None:
    rm = auth(Role.REGISTERED_MANAGER)
    before_any = clock.now()
    clock.advance(timedelta(hours=1))
    kept = (await household(client, rm))["household_id"]
    ended = (await household(client, rm))["household_id"]
    await household(client, rm, approved=False)  # in assessment: not on the register
    await post(client, rm, f"/v1/households/{ended}/approval/end", {"reason": "The carers resigned."})
    await post(
        client,
        rm,
        "/v1/allocations",
        {"worker_id": "ssw-new", "role": "supervising_social_worker", "household_id": kept},
    )

    register = await _register(client, auth(Role.INSPECTOR, "ofsted-1"))
    assert (register["approved"], register["ended"]) == (1, 1)
    by_id = {e["household_id"]: e for e in register["entries"]}
    assert set(by_id) == {kept, ended}
    entry = by_id[kept]
    assert entry["status"] == "approved" and entry["terms"] == TERMS and entry["approved_at"]
    assert [c["name"] for c in entry["carers"]] == ["Carer One"]
    assert entry["supervising_social_worker_id"] == "ssw-new" and entry["retained_until"] is None
    gone = by_id[ended]
    assert gone["status"] == "ended" and gone["approval_ended_reason"] == "The carers resigned."
    assert gone["supervising_social_worker_id"] == SSW
    ended_on = gone["approval_ended_at"][:10]
    assert gone["retained_until"] == f"{int(ended_on[:4]) + 10}{ended_on[4:]}"

    # As the agency knew it before anything was approved: empty.
    assert (await _register(client, rm, as_of=before_any.isoformat()))["entries"] == []
    # Ten years and a day after the approval ended, its entry has left the register.
    clock.advance(timedelta(days=3653 + 2))
    later = await _register(client, auth(Role.REGISTERED_MANAGER))
    assert [e["household_id"] for e in later["entries"]] == [kept]
    # Caseworkers and carers do not read the agency's register.
    for role in (Role.SUPERVISING_SOCIAL_WORKER, Role.CHILD_SOCIAL_WORKER):
        response = await client.get("/v1/registers/foster-parents", headers=auth(role))
        assert response.status_code == 403
