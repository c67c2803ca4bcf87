"""An app on a database of its own, so the figures of a report are exactly this test's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.app import create_app
from shared.clock import ManualClock
from shared.db import as_role
from shared.settings import Settings
from tests.builders import post
from tests.conftest import settle


@pytest.fixture
async def fresh_app(fresh_database_url: str, clock: ManualClock, settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings, database_url=as_role(fresh_database_url), clock=clock, run_workers=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def fclient(fresh_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=fresh_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://carelog.test", timeout=60) as c:
        yield c


def iso(value: datetime) -> str:
    return value.isoformat()


async def child_history(client: httpx.AsyncClient, app: FastAPI, headers: dict[str, str]) -> dict[str, Any]:
    """A household, a child placed on 1 Sep 2026 and her record to 25 Nov 2026 (the test clock):
    visits, a contact with mum, her own words, an overdose (notification, escalation), an amendment."""
    now = app.state.clock.now()
    household = await post(
        client,
        headers,
        "/v1/households",
        {"local_authority": "E06000062", "name": "The Nowak household", "supervising_social_worker_id": "ssw-1"},
    )
    hid = household["household_id"]
    member = await post(
        client,
        headers,
        f"/v1/households/{hid}/members",
        {"name": "Ewa Nowak", "role": "applicant", "date_of_birth": "1980-04-02", "joined_on": "2024-01-01"},
    )
    await post(
        client,
        headers,
        f"/v1/households/{hid}/members/{member['member_id']}/checks",
        {"kind": "dbs_enhanced", "result": "clear", "checked_at": "2026-03-01", "certificate_number": "001234567890"},
    )
    await post(
        client,
        headers,
        f"/v1/households/{hid}/approval",
        {
            "decision": "approved",
            "decided_at": "2026-04-01T10:00:00+00:00",
            "agreement_signed_on": "2026-04-01",
            "terms": {"age_min": 0, "age_max": 17, "max_children": 3, "placement_types": ["short_term", "long_term"]},
        },
    )
    child = await post(
        client,
        headers,
        "/v1/children",
        {
            "name": "Zoë Łucja O'Brien-Nowak",
            "date_of_birth": "2012-05-14",
            "legal_status": "section_31_care_order",
            "placing_authority": "West Northamptonshire Council",
            "social_worker_id": "sw-ada",
        },
    )
    cid = child["child_id"]
    await post(
        client,
        headers,
        "/v1/placements",
        {"child_id": cid, "household_id": hid, "start_date": "2026-09-01", "placement_type": "short_term"},
    )
    await settle(app)
    visits = []
    for when, alone in (("2026-09-05T10:00:00+00:00", True), ("2026-10-10T15:00:00+00:00", False)):
        body: dict[str, Any] = {
            "occurred_at": when,
            "visitor_id": "sw-ada",
            "visitor_role": "child_social_worker",
            "kind": "statutory",
            "child_seen": True,
            "seen_alone": alone,
            "bedroom_seen": True,
            "child_views": "Likes her school; misses her brother.",
            "narrative": "Seen at home; talked about school and contact.",
        }
        if not alone:
            body["not_seen_alone_reason"] = "child_refused"
        visits.append(await post(client, headers, f"/v1/children/{cid}/visits", body))
    await post(
        client,
        headers,
        f"/v1/children/{cid}/contacts",
        {
            "occurred_at": "2026-10-20T09:00:00+00:00",
            "kind": "phone",
            "with_whom": "mum",
            "summary": "Mum asked for more contact; her partner Mark is unwell.",
            "worker_id": "sw-ada",
        },
    )
    await post(
        client,
        headers,
        f"/v1/children/{cid}/statements",
        {"occurred_at": "2026-10-10T15:30:00+00:00", "words": "I want to see Jamie more.", "how": "spoken"},
    )
    await post(
        client,
        headers,
        f"/v1/children/{cid}/incidents",
        {
            "category": "overdose",
            "occurred_at": "2026-11-20T21:00:00+00:00",
            "narrative": "Took tablets; the carer took her to A&E. Discharged next day.",
            "needed_hospital_treatment": True,
            "household_id": hid,
        },
    )
    amendment = await post(
        client,
        headers,
        f"/v1/children/{cid}/amendments",
        {
            "amends_event_id": visits[0]["event_id"],
            "reason": "Wrong school named.",
            "correction": "She talked about Kingsthorpe College, not Weston Favell.",
        },
    )
    await settle(app)
    from services.notifications.workers import raise_due_escalations

    assert now > datetime.fromisoformat("2026-11-24T00:00:00+00:00") - timedelta(days=1)
    await raise_due_escalations(app.state)
    await settle(app)
    return {
        "child_id": cid,
        "household_id": hid,
        "visit_event_ids": [v["event_id"] for v in visits],
        "amendment_event_id": amendment["event_id"],
    }
