"""The carer's journey through the HTTP API: enquiry, initial visit, application, stage 1 checks,
stage 2 (Form F), panel, the agency decision maker and the applicant told in writing. Each step is
an event; the stage and the next step due are read back; every clock is run past its deadline and
seen escalated; steps out of order, and decisions without what they need, are refused and write nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from services.notifications.workers import raise_due_escalations
from shared.auth import Role
from shared.clock import ManualClock
from tests.builders import get, post
from tests.carers.helpers import SSW, TERMS, codes, events_of
from tests.conftest import AuthHeaders, settle

STAGE1_CHECKS = ("medical", "local_authority", "home_safety", "references", "references")


class Journey:
    """One household's way through the journey, as a registered manager records it."""

    def __init__(self, client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, clock: ManualClock) -> None:
        self.client, self.app, self.auth, self.clock = client, app, auth, clock
        self.hid = ""
        self.applicant = ""

    @property
    def rm(self) -> dict[str, str]:  # minted afresh: the clock moves months in these tests
        return self.auth(Role.REGISTERED_MANAGER, subject="rm-1")

    async def register(self) -> None:
        body = {"name": "The Adeyemi household", "local_authority": "E06000062", "supervising_social_worker_id": SSW}
        self.hid = (await post(self.client, self.rm, "/v1/households", body))["household_id"]
        member = {"name": "Tola Adeyemi", "role": "applicant", "date_of_birth": "1985-03-01"}
        self.applicant = (await post(self.client, self.rm, f"/v1/households/{self.hid}/members", member))["member_id"]

    async def step(self, name: str, body: dict[str, Any] | None = None, status: int = 201, **headers: str) -> Any:
        url = f"/v1/households/{self.hid}/journey/{name}"
        return await post(self.client, headers or self.rm, url, body or {}, status=status)

    async def check(self, kind: str) -> Any:
        body = {"kind": kind, "result": "clear", "checked_at": str(self.clock.now().date())}
        return await post(self.client, self.rm, f"/v1/households/{self.hid}/members/{self.applicant}/checks", body)

    async def written(self) -> int:
        """How many events the household's stream holds."""
        return len(await events_of(self.app, stream_id=f"household-{self.hid}"))

    async def view(self) -> Any:
        return await get(self.client, self.rm, f"/v1/households/{self.hid}/journey")

    async def escalated(self, deadline_id: str, past: timedelta) -> dict[str, Any]:
        """Run the clock `past` ahead; the deadline is escalated (and was not before)."""
        assert deadline_id not in await self.open_escalations()
        self.clock.advance(past)
        await settle(self.app)
        await raise_due_escalations(self.app.state)
        await settle(self.app)
        found = await self.open_escalations()
        assert deadline_id in found, f"{deadline_id} not escalated"
        return found[deadline_id]

    async def open_escalations(self) -> dict[str, dict[str, Any]]:
        page = await get(self.client, self.rm, "/v1/escalations", open="true", limit=1000)
        return {e["deadline_id"]: e for e in page["escalations"]}


def clock_of(result: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [c for c in result["clocks"] if c["kind"] == kind and c["event"] == "DeadlineSet"]
    assert len(found) == 1, result["clocks"]
    return found[0]


def met(result: dict[str, Any], kind: str) -> bool:
    return any(c["kind"] == kind and c["event"] == "DeadlineMet" for c in result["clocks"])


async def test_from_enquiry_to_approval_every_clock_escalates_and_the_stage_is_read_back(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, clock: ManualClock
) -> None:
    j = Journey(client, app, auth, clock)
    await j.register()

    # Enquiry (Wed 25 Nov 2026, noon): reply due in 1 working day; not replied, it escalates.
    enquiry = await j.step("enquiry", {"channel": "phone", "summary": "Asked about short-term fostering."})
    reply_clock = clock_of(enquiry, "carers.enquiry_reply")
    assert reply_clock["due_at"].startswith("2026-11-26T12:00")
    view = await j.view()
    assert view["stage"] == "enquiry" and view["next_due"]["kind"] == "carers.enquiry_reply"
    assert (await get(client, j.rm, f"/v1/households/{j.hid}"))["journey_stage"] == "enquiry"
    escalation = await j.escalated(reply_clock["deadline_id"], timedelta(days=2))
    assert escalation["deadline_kind"] == "carers.enquiry_reply"
    assert met(await j.step("enquiry-reply"), "carers.enquiry_reply")

    # Initial visit, application: stage 2 due in 4 months, panel in 8 (NMS 14.4).
    visit = {"occurred_at": clock.now().isoformat(), "proceed": True, "notes": "Spare room seen; invited to apply."}
    await j.step("initial-visit", visit)
    applied = await j.step("application")
    assert applied["journey"]["stage"] == "stage1"
    stage2_clock = clock_of(applied, "carers.stage2_assessment")
    panel_clock = clock_of(applied, "carers.panel")
    assert stage2_clock["due_at"][:10] == "2027-03-27" and panel_clock["due_at"][:10] == "2027-07-27"
    outstanding = (await j.view())["stage1_outstanding"]
    assert "dbs_enhanced: Tola Adeyemi" in outstanding and "references: 2 more" in outstanding

    # Stage 1 cannot be passed with checks outstanding (every one listed, nothing written).
    before = await j.written()
    refused = await j.step("stage1-decision", {"proceed": True}, status=422)
    assert codes(refused) == {"stage1_check_outstanding"}
    assert await j.written() == before

    # The last check back starts the stage 1 decision clock: 10 working days.
    await j.check("dbs_enhanced")
    for kind in STAGE1_CHECKS[:-1]:
        assert not [c for c in (await j.check(kind))["clocks"] if c["kind"] == "carers.stage1_decision"]
    last = await j.check(STAGE1_CHECKS[-1])
    stage1_clock = clock_of(last, "carers.stage1_decision")
    assert (await j.view())["stage1_outstanding"] == []
    await j.escalated(stage1_clock["deadline_id"], timedelta(days=15))
    decided = await j.step("stage1-decision", {"proceed": True})
    assert met(decided, "carers.stage1_decision") and decided["journey"]["stage"] == "stage2"

    # Stage 2 past its 4 months, then the panel past its 8.
    await j.escalated(stage2_clock["deadline_id"], timedelta(days=110))
    assessed = await j.step("assessment", {"recommended_terms": TERMS})
    assert met(assessed, "carers.stage2_assessment") and assessed["journey"]["stage"] == "panel"
    await j.escalated(panel_clock["deadline_id"], timedelta(days=125))
    recommendation = {
        "panel_date": str(clock.now().date()),
        "recommendation": "approve",
        "terms": TERMS,
        "reasons": "A warm, reflective applicant with a strong support network.",
        "dissent": "One member would have limited approval to one child at first.",
    }
    recommended = await j.step("panel-recommendation", recommendation)
    assert met(recommended, "carers.panel") and recommended["journey"]["stage"] == "decision"

    # The ADM decides only on the final minutes; then within 7 working days.
    considered = {"decision": "approve", "recommendation_considered": True}
    await j.step("agency-decision", considered, status=409)
    minutes = await j.step("panel-minutes")
    adm_clock = clock_of(minutes, "carers.agency_decision")
    await j.escalated(adm_clock["deadline_id"], timedelta(days=10))
    ssw = auth(Role.SUPERVISING_SOCIAL_WORKER, subject=SSW)
    await j.step("agency-decision", considered, status=403, **ssw)
    not_considered = await j.step("agency-decision", {**considered, "recommendation_considered": False}, status=422)
    assert codes(not_considered) == {"recommendation_not_considered"}
    decision = await j.step("agency-decision", considered)
    assert met(decision, "carers.agency_decision")
    household = await get(client, j.rm, f"/v1/households/{j.hid}")
    assert household["status"] == "approved" and household["terms"] == TERMS
    approved = [e for e in await events_of(app, types=["carers.HouseholdApproved"])]
    assert [str(e.data["panel_date"]) for e in approved] == [recommendation["panel_date"]]

    # The applicant told in writing: its clock escalates when they are not, and is met when they are.
    notice_clock = clock_of(decision, "carers.applicant_notice")
    await j.escalated(notice_clock["deadline_id"], timedelta(days=8))
    told = await j.step("applicant-notice", {"method": "letter"})
    assert met(told, "carers.applicant_notice")
    view = await j.view()
    assert view["stage"] == "approved" and view["next_due"] is None and view["open_clocks"] == []
    assert view["steps"]["panel_recommendation"] == "approve" and view["steps"]["notified_at"] is not None


async def test_steps_out_of_order_are_refused_and_write_nothing(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, clock: ManualClock
) -> None:
    j = Journey(client, app, auth, clock)
    await j.register()
    before = await j.written()
    for step, body in [
        ("enquiry-reply", {}),
        ("application", {}),
        ("assessment", {}),
        ("panel-minutes", {}),
        ("applicant-notice", {"method": "letter"}),
    ]:
        problem = await j.step(step, body, status=409)
        assert problem["type"].endswith("state-conflict"), problem
    bad = await j.step("enquiry", {"received_at": (clock.now() + timedelta(days=2)).isoformat()}, status=422)
    assert bad["status"] == 422
    assert await j.written() == before
    await j.step("enquiry")
    await j.step("enquiry", status=409)
    await j.step("initial-visit", {"occurred_at": clock.now().isoformat(), "proceed": True})
    await j.step("initial-visit", {"occurred_at": clock.now().isoformat(), "proceed": True}, status=409)
    # On the journey, approval is the agency decision maker's after panel, not a direct approval.
    direct = {"decision": "approved", "terms": TERMS, "agreement_signed_on": "2026-11-25"}
    await post(client, j.rm, f"/v1/households/{j.hid}/approval", direct, status=409)


async def test_not_taken_forward_at_stage_1_stops_the_journeys_clocks(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, clock: ManualClock
) -> None:
    j = Journey(client, app, auth, clock)
    await j.register()
    await j.step("enquiry")
    await j.step("enquiry-reply")
    await j.step("initial-visit", {"occurred_at": clock.now().isoformat(), "proceed": True})
    await j.step("application")
    await j.step("stage1-decision", {"proceed": False}, status=422)  # a reason is required
    stopped = await j.step(
        "stage1-decision", {"proceed": False, "reason": "The local authority check raised concerns."}
    )
    assert {c["kind"] for c in stopped["clocks"] if c["event"] == "DeadlineCancelled"} == {
        "carers.stage2_assessment",
        "carers.panel",
    }
    view = await j.view()
    assert view["stage"] == "closed" and view["open_clocks"] == []


async def test_an_adm_decision_against_the_panel_needs_reasons_and_is_a_qualifying_determination(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, clock: ManualClock
) -> None:
    j = Journey(client, app, auth, clock)
    await j.register()
    await j.step("enquiry")
    await j.step("initial-visit", {"occurred_at": clock.now().isoformat(), "proceed": True})
    await j.step("application")
    await j.check("dbs_enhanced")
    for kind in STAGE1_CHECKS:
        await j.check(kind)
    await j.step("stage1-decision", {"proceed": True})
    await j.step("assessment")
    recommendation = {"panel_date": str(clock.now().date()), "recommendation": "approve", "reasons": "Suitable."}
    await j.step("panel-recommendation", recommendation, status=422)  # approving names its terms
    await j.step("panel-recommendation", {**recommendation, "terms": TERMS})
    await j.step("panel-minutes")
    qd = {"decision": "qualifying_determination", "recommendation_considered": True}
    assert codes(await j.step("agency-decision", qd, status=422)) == {"reasons_missing"}
    decided = await j.step("agency-decision", {**qd, "reasons": "The references raise doubts the panel did not weigh."})
    assert decided["journey"]["stage"] == "qualifying_determination"
    made = (await events_of(app, types=["carers.AgencyDecisionMade"]))[0].data
    assert made["differs_from_recommendation"] is True and made["recommendation"] == "approve"
    assert (await get(client, j.rm, f"/v1/households/{j.hid}"))["status"] == "assessment"
    assert clock_of(decided, "carers.applicant_notice")

    # Told in writing, the applicant has 28 days (reg 27); then the ADM confirms the refusal.
    told = await j.step("applicant-notice", {"method": "letter"})
    period = clock_of(told, "carers.qualifying_determination")
    url = f"/v1/households/{j.hid}/determinations"
    confirm = {"outcome": "confirmed", "recommendation_considered": True, "reasons": "No representations made."}
    await post(client, j.rm, f"{url}/decision", confirm, status=409)  # not inside the 28 days
    await j.escalated(period["deadline_id"], timedelta(days=29))
    await post(client, j.rm, f"{url}/decision", confirm)
    assert (await get(client, j.rm, f"/v1/households/{j.hid}"))["status"] == "refused"
    assert (await j.view())["stage"] == "closed"
