"""Helpers for the carers API tests: build households and children through the real API."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from fastapi import FastAPI

from shared.eventstore import EventFilter
from tests import builders
from tests.builders import post

TERMS = {"age_min": 0, "age_max": 17, "max_children": 3, "placement_types": ["short_term", "long_term"]}


async def register_child(app: FastAPI, date_of_birth: str = "2016-05-01", placing_authority: str = "Northants") -> str:
    """A child in the log as the visits service records one (visits is written concurrently)."""
    return str(await builders.register_child(app, date_of_birth=date_of_birth, placing_authority=placing_authority))


SSW = "ssw-test"  # the supervising social worker every test household is allocated to


async def household(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    *,
    approved: bool = True,
    decided_at: str | None = None,
    terms: dict[str, Any] | None = None,
    dbs_checked: str = "2026-10-01",
    connected: bool = False,
    agreement: bool = True,
    local_authority: str = "E06000062",
) -> dict[str, Any]:
    """A household with one carer who has a clear enhanced DBS, approved unless told otherwise, with
    its foster care agreement signed on the day of approval unless told otherwise."""
    created = await post(
        client,
        headers,
        "/v1/households",
        {
            "name": "The Test household",
            "local_authority": local_authority,
            "connected_person": connected,
            "supervising_social_worker_id": SSW,
        },
    )
    hid = created["household_id"]
    carer = await post(
        client,
        headers,
        f"/v1/households/{hid}/members",
        {"name": "Carer One", "role": "applicant", "date_of_birth": "1980-01-01"},
    )
    await post(
        client,
        headers,
        f"/v1/households/{hid}/members/{carer['member_id']}/checks",
        {"kind": "dbs_enhanced", "result": "clear", "checked_at": dbs_checked},
    )
    if approved:
        body: dict[str, Any] = {"decision": "approved", "terms": terms or TERMS}
        if decided_at:
            body["decided_at"] = decided_at
        if agreement:
            body["agreement_signed_on"] = (decided_at or "2026-11-25")[:10]
        await post(client, headers, f"/v1/households/{hid}/approval", body)
    return {"household_id": hid, "carer_id": carer["member_id"]}


async def place(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    household_id: str,
    child_id: str,
    start: date | str,
    **extra: Any,
) -> httpx.Response:
    """POST /v1/placements; the placement type (required) is short_term unless `extra` says otherwise."""
    body = {
        "child_id": child_id,
        "household_id": household_id,
        "start_date": str(start),
        "placement_type": "short_term",
        **extra,
    }
    return await client.post("/v1/placements", json=body, headers=headers)


async def events_of(app: FastAPI, **filters: Any) -> list[Any]:
    return await app.state.store.read(EventFilter(limit=10_000, **filters))


def codes(problem: dict[str, Any]) -> set[str]:
    return {r["code"] for r in problem["reasons"]}
