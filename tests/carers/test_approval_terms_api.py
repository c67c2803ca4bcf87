"""What a placement needs besides approval, through the HTTP API: the foster care agreement on record
(reg 27(5)(b)); no new placement after the carers' resignation notice, whose 28 days are a clock
(reg 28(13)); a connected person's temporary approval for the named children, 16 weeks, extended
once by up to 8 (CPPR 2010 reg 24, 25), after which a placement is refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from services.notifications.workers import raise_due_escalations
from shared.auth import Role
from shared.clock import ManualClock
from tests.builders import get, post
from tests.carers.helpers import codes, events_of, household, place, register_child
from tests.conftest import AuthHeaders, settle


async def open_escalations(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    page = await get(client, headers, "/v1/escalations", open="true", limit=1000)
    return {e["deadline_id"]: e for e in page["escalations"]}


async def tick(app: FastAPI) -> None:
    await settle(app)
    await raise_due_escalations(app.state)
    await settle(app)


def set_clock(result: dict[str, Any], kind: str) -> dict[str, Any]:
    [found] = [c for c in result["clocks"] if c["kind"] == kind and c["event"] == "DeadlineSet"]
    return found


async def placements(app: FastAPI) -> int:
    return len(await events_of(app, types=["carers.PlacementStarted"]))


async def test_no_placement_before_the_foster_care_agreement_is_on_record(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders
) -> None:
    rm = auth(Role.REGISTERED_MANAGER)
    unapproved = (await household(client, rm, approved=False))["household_id"]
    refused = await post(client, rm, f"/v1/households/{unapproved}/agreement", {"signed_on": "2026-11-25"}, 409)
    assert refused["type"].endswith("state-conflict")

    hid = (await household(client, rm, agreement=False))["household_id"]
    child = await register_child(app)
    response = await place(client, rm, hid, child, "2026-11-25")
    assert response.status_code == 409, response.text
    assert codes(response.json()) == {"no_foster_care_agreement"}
    assert await placements(app) == 0

    future = await post(client, rm, f"/v1/households/{hid}/agreement", {"signed_on": "2026-12-25"}, 422)
    assert future["status"] == 422
    signed = await post(client, rm, f"/v1/households/{hid}/agreement", {"signed_on": "2026-11-24"})
    assert signed["type"] == "carers.FosterCareAgreementSigned"
    assert (await get(client, rm, f"/v1/households/{hid}"))["agreement_signed_on"] == "2026-11-24"
    assert (await place(client, rm, hid, child, "2026-11-25")).status_code == 201


async def test_after_a_resignation_notice_no_new_placement_and_approval_ends_at_28_days(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, clock: ManualClock
) -> None:
    rm = auth(Role.REGISTERED_MANAGER)
    hid = (await household(client, rm))["household_id"]
    first, second = await register_child(app), await register_child(app)
    assert (await place(client, rm, hid, first, "2026-11-25")).status_code == 201

    notice = await post(
        client, rm, f"/v1/households/{hid}/resignation", {"received_at": "2026-11-25T09:00:00Z", "reason": "Retiring."}
    )
    assert notice["takes_effect_at"].startswith("2026-12-23T09:00")
    await post(client, rm, f"/v1/households/{hid}/resignation", {}, 409)  # one notice
    response = await place(client, rm, hid, second, "2026-11-26")
    assert response.status_code == 409 and codes(response.json()) == {"resignation_given"}
    assert await placements(app) == 1

    # The end not recorded by the day it takes effect: escalated to a manager.
    ends = set_clock(notice, "carers.resignation")
    clock.advance(timedelta(days=27))
    await tick(app)
    assert ends["deadline_id"] not in await open_escalations(client, auth(Role.REGISTERED_MANAGER))
    clock.advance(timedelta(days=2))
    await tick(app)
    rm = auth(Role.REGISTERED_MANAGER)
    escalation = (await open_escalations(client, rm))[ends["deadline_id"]]
    assert escalation["deadline_kind"] == "carers.resignation" and escalation["escalate_to"] == "manager"
    ended = await post(client, rm, f"/v1/households/{hid}/approval/end", {"reason": "Resigned (reg 28(13))."})
    assert any(c["event"] == "DeadlineMet" and c["kind"] == "carers.resignation" for c in ended["clocks"])


async def test_temporary_approval_of_a_connected_person_lasts_16_weeks_extended_once_by_up_to_8(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, clock: ManualClock
) -> None:
    rm = auth(Role.REGISTERED_MANAGER)
    niece, sibling, stranger = [await register_child(app, date_of_birth="2015-02-01") for _ in range(3)]
    unconnected = (await household(client, rm, approved=False))["household_id"]
    url = f"/v1/households/{unconnected}/temporary-approval"
    assert codes(await post(client, rm, url, {"child_ids": [niece]}, 422)) == {"not_connected_person"}

    hid = (await household(client, rm, approved=False, connected=True))["household_id"]
    url = f"/v1/households/{hid}/temporary-approval"
    granted = await post(client, rm, url, {"child_ids": [niece, sibling], "relationship": "Aunt"})
    assert granted["expires_at"].startswith("2027-03-17T12:00")
    await post(client, rm, url, {"child_ids": [niece]}, 409)  # granted once

    assert (await place(client, rm, hid, niece, "2026-11-25")).status_code == 201
    other = await place(client, rm, hid, stranger, "2026-11-25")
    assert other.status_code == 409 and codes(other.json()) == {"not_named_in_temporary_approval"}

    # Past 16 weeks: a placement is refused, and the clock for the full assessment has escalated.
    clock.advance(timedelta(weeks=16, days=1))
    await tick(app)
    rm = auth(Role.REGISTERED_MANAGER)
    expiry = set_clock(granted, "carers.temporary_approval")
    assert expiry["deadline_id"] in await open_escalations(client, rm)
    late = await place(client, rm, hid, sibling, str(clock.now().date()))
    assert late.status_code == 409 and codes(late.json()) == {"temporary_approval_expired"}
    extension = f"/v1/households/{hid}/temporary-approval/extension"
    too_late = await post(client, rm, extension, {"weeks": 4, "reason": "Assessment delayed."}, 422)
    assert codes(too_late) == {"temporary_approval_expired"}
    assert await placements(app) == 1


async def test_an_extension_is_once_by_at_most_8_weeks_and_full_approval_meets_the_clock(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, clock: ManualClock
) -> None:
    rm = auth(Role.REGISTERED_MANAGER)
    niece, sibling = await register_child(app), await register_child(app)
    hid = (await household(client, rm, approved=False, connected=True))["household_id"]
    granted = await post(client, rm, f"/v1/households/{hid}/temporary-approval", {"child_ids": [niece, sibling]})
    extension = f"/v1/households/{hid}/temporary-approval/extension"
    clock.advance(timedelta(weeks=15))
    rm = auth(Role.REGISTERED_MANAGER)
    assert codes(await post(client, rm, extension, {"weeks": 9, "reason": "Court delay."}, 422)) == {
        "extension_too_long"
    }
    extended = await post(client, rm, extension, {"weeks": 8, "reason": "Court hearing adjourned."})
    assert extended["expires_at"].startswith("2027-05-12T12:00")
    assert {(c["event"], c["kind"]) for c in extended["clocks"]} == {
        ("DeadlineCancelled", "carers.temporary_approval"),
        ("DeadlineSet", "carers.temporary_approval"),
    }
    await post(client, rm, extension, {"weeks": 1, "reason": "Again."}, 409)  # once only

    # Week 17, inside the extension: the named child is placed.
    clock.advance(timedelta(weeks=2))
    rm = auth(Role.REGISTERED_MANAGER)
    assert (await place(client, rm, hid, sibling, str(clock.now().date()))).status_code == 201
    assert set_clock(granted, "carers.temporary_approval")["deadline_id"] not in await open_escalations(client, rm)

    # Full approval (with its agreement) meets the temporary approval's clock.
    approval = {
        "decision": "approved",
        "terms": {"age_min": 0, "age_max": 17, "max_children": 2, "placement_types": ["connected_person"]},
        "agreement_signed_on": str(clock.now().date()),
    }
    approved = await post(client, rm, f"/v1/households/{hid}/approval", approval)
    assert ("DeadlineMet", "carers.temporary_approval") in {(c["event"], c["kind"]) for c in approved["clocks"]}
    assert (await get(client, rm, f"/v1/households/{hid}"))["agreement_signed_on"] == str(clock.now().date())
