"""Fostering panels and qualifying determinations through the HTTP API: a meeting with members and
a quorum, an agenda of cases, a quorate recommendation per case with reasons and dissent, final
minutes that start the agency decision maker's clock; and a proposed termination or change of
terms, with the carers' 28 days for representations or the IRM before the ADM decides."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from shared.auth import Role
from shared.clock import ManualClock
from tests.builders import get, post
from tests.carers.helpers import SSW, TERMS, codes, household
from tests.carers.test_journey_api import STAGE1_CHECKS, Journey, clock_of, met
from tests.conftest import AuthHeaders

MEMBERS = [
    {"member_id": "p-chair", "name": "Chair Person", "role": "chair"},
    {"member_id": "p-vice", "name": "Vice Chair", "role": "vice_chair"},
    {"member_id": "p-sw", "name": "Social Worker", "role": "social_worker"},
    {"member_id": "p-ind1", "name": "Independent One", "role": "independent"},
    {"member_id": "p-ind2", "name": "Independent Two", "role": "independent"},
    {"member_id": "p-ind3", "name": "Independent Three", "role": "independent"},
]


async def at_panel(j: Journey) -> None:
    """A household whose assessment is done: its case may go to panel."""
    await j.register()
    await j.step("enquiry")
    await j.step("enquiry-reply")
    await j.step("initial-visit", {"occurred_at": j.clock.now().isoformat(), "proceed": True})
    await j.step("application")
    await j.check("dbs_enhanced")
    for kind in STAGE1_CHECKS:
        await j.check(kind)
    await j.step("stage1-decision", {"proceed": True})
    await j.step("assessment")


def recommendation(hid: str, present: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "household_id": hid,
        "members_present": present,
        "recommendation": "approve",
        "terms": TERMS,
        "reasons": "Insightful applicants; a stable home with room for two children.",
        **extra,
    }


async def test_a_quorate_panel_recommends_on_each_case_and_its_minutes_start_the_adms_clock(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, clock: ManualClock
) -> None:
    rm = auth(Role.REGISTERED_MANAGER, subject="rm-1")
    j = Journey(client, app, auth, clock)
    await at_panel(j)
    approved = (await household(client, rm))["household_id"]

    ssw = auth(Role.SUPERVISING_SOCIAL_WORKER, subject=SSW)
    await post(client, ssw, "/v1/panels", {"meets_on": "2026-11-25", "members": MEMBERS}, 403)
    small = await post(client, rm, "/v1/panels", {"meets_on": "2026-11-25", "members": MEMBERS[:3]}, 422)
    assert codes(small) == {"fewer_members_than_quorum"}
    panel_id = (await post(client, rm, "/v1/panels", {"meets_on": "2026-11-25", "members": MEMBERS}))["panel_id"]
    panel = f"/v1/panels/{panel_id}"

    # The agenda: the applicants' approval, and an approved household's first review.
    await post(client, rm, f"{panel}/agenda", {"household_id": approved, "case": "approval"}, 409)
    await post(client, rm, f"{panel}/agenda", {"household_id": j.hid, "case": "approval"})
    await post(client, rm, f"{panel}/agenda", {"household_id": approved, "case": "review"})
    await post(client, rm, f"{panel}/agenda", {"household_id": j.hid, "case": "approval"}, 409)

    # Only a quorate meeting, chaired, of its own members recommends.
    too_few = await post(client, rm, f"{panel}/recommendations", recommendation(j.hid, ["p-chair", "p-sw"]), 422)
    assert codes(too_few) == {"not_quorate"}
    unchaired = ["p-sw", "p-ind1", "p-ind2", "p-ind3", "stranger"]
    refused = await post(client, rm, f"{panel}/recommendations", recommendation(j.hid, unchaired), 422)
    assert codes(refused) == {"not_a_member", "not_quorate", "no_chair"}
    present = ["p-chair", "p-sw", "p-ind1", "p-ind2", "p-ind3"]
    dissent = "p-ind3 would approve for one child only at first."
    recommended = await post(client, rm, f"{panel}/recommendations", recommendation(j.hid, present, dissent=dissent))
    assert met(recommended, "carers.panel")
    assert (await j.view())["stage"] == "decision"
    await post(client, rm, f"{panel}/recommendations", recommendation(j.hid, present), 409)

    # Minutes wait for every case; then the ADM's clock starts for the approval case.
    waiting = await post(client, rm, f"{panel}/minutes", {"minutes": "Draft."}, 422)
    assert codes(waiting) == {"case_without_recommendation"}
    review = recommendation(approved, present, reasons="Continue on the same terms.")
    await post(client, rm, f"{panel}/recommendations", review)
    minutes = await post(client, rm, f"{panel}/minutes", {"minutes": "Both cases heard; see recommendations."})
    adm = clock_of(minutes, "carers.agency_decision")
    view = await j.view()
    assert view["steps"]["minutes_received_at"] is not None and view["next_due"]["kind"] == "carers.agency_decision"
    await post(client, rm, f"{panel}/recommendations", review, 409)  # the meeting is closed

    read = await get(client, rm, panel)
    assert read["quorum"] == 5 and read["minutes"].startswith("Both cases")
    case = read["cases"][j.hid]
    assert case["recommendation"] == "approve" and case["dissent"] == dissent and case["members_present"] == present
    assert read["cases"][approved]["case"] == "review"

    await j.escalated(adm["deadline_id"], timedelta(days=10))
    decided = await j.step("agency-decision", {"decision": "approve", "recommendation_considered": True})
    assert met(decided, "carers.agency_decision")
    assert (await get(client, j.rm, f"/v1/households/{j.hid}"))["status"] == "approved"


async def test_a_proposed_termination_waits_28_days_then_the_adm_decides(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, clock: ManualClock
) -> None:
    rm = auth(Role.REGISTERED_MANAGER)
    hid = (await household(client, rm))["household_id"]
    url = f"/v1/households/{hid}/determinations"
    proposal = {"proposal": "termination", "reasons": "Repeated failure to safeguard; see the review."}
    made = await post(client, rm, url, proposal)
    assert made["representations_until"].startswith("2026-12-23T12:00")
    period = clock_of(made, "carers.qualifying_determination")
    await post(client, rm, url, proposal, 409)  # one at a time
    decision = {"outcome": "confirmed", "recommendation_considered": True, "reasons": "No representations made."}
    early = await post(client, rm, f"{url}/decision", decision, 409)
    assert "2026" in early["detail"]

    j = Journey(client, app, auth, clock)
    j.hid = hid
    escalation = await j.escalated(period["deadline_id"], timedelta(days=29))
    assert escalation["escalate_to"] == "manager"
    rm = auth(Role.REGISTERED_MANAGER)
    late = await post(client, rm, f"{url}/representations", {"route": "representations"}, 422)
    assert codes(late) == {"out_of_time"}
    ssw = auth(Role.SUPERVISING_SOCIAL_WORKER, subject=SSW)
    await post(client, ssw, f"{url}/decision", decision, 403)  # the agency decision maker's
    decided = await post(client, rm, f"{url}/decision", decision)
    assert met(decided, "carers.qualifying_determination")
    assert (await get(client, rm, f"/v1/households/{hid}"))["status"] == "ended"


async def test_a_change_of_terms_heard_by_the_irm_changes_them_once_decided(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders
) -> None:
    rm = auth(Role.REGISTERED_MANAGER)
    hid = (await household(client, rm))["household_id"]
    url = f"/v1/households/{hid}/determinations"
    proposal: dict[str, Any] = {"proposal": "change_of_terms", "reasons": "Only one child for now."}
    assert codes(await post(client, rm, url, proposal, 422)) == {"new_terms_missing"}
    new_terms = {**TERMS, "max_children": 1}
    made = await post(client, rm, url, {**proposal, "new_terms": new_terms})
    irm = await post(client, rm, f"{url}/representations", {"route": "irm", "summary": "Carers applied to the IRM."})
    assert met(irm, "carers.qualifying_determination")
    assert made["determination_id"]
    not_heard = {"outcome": "confirmed", "recommendation_considered": False, "reasons": "As proposed."}
    assert codes(await post(client, rm, f"{url}/decision", not_heard, 422)) == {"recommendation_not_considered"}
    await post(client, rm, f"{url}/decision", {**not_heard, "recommendation_considered": True})
    read = await get(client, rm, f"/v1/households/{hid}")
    assert read["terms"]["max_children"] == 1 and read["status"] == "approved"
    assert read["determination"]["outcome"] == "confirmed"
