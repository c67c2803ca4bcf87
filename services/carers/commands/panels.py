"""carers: fostering panels. A meeting is scheduled with its members and the quorum it needs
(local); households' cases are put on its agenda; a quorate meeting recommends on each case with
reasons and any dissent; its final minutes reach the agency decision maker, whose clock starts for
each approval case (NMS 14). An approval case's recommendation is the household's panel step."""

from __future__ import annotations

import uuid

from services.carers.commands import loading
from services.carers.commands.bodies import CaseRecommendationIn, MinutesIn, PanelCaseIn, PanelIn
from services.carers.commands.clocks import all_met, minted_id
from services.carers.commands.journey import minutes_received
from services.carers.events import (
    PanelCase,
    PanelCaseListed,
    PanelMember,
    PanelMinutesAgreed,
    PanelRecommended,
    PanelScheduled,
    panel_stream,
)
from services.carers.rules import Clock, HouseholdState, start_of
from services.carers.rules.journey import JourneyStage, JourneyStep, out_of_order
from services.carers.rules.panels import PanelState, fold_panel, quorum_refusals
from shared.commanding import CommandContext
from shared.eventstore import NewEvent, RecordedEvent
from shared.policy import require_writer
from shared.problems import Problem
from shared.recording import Recorder
from shared.refusals import Reason, in_the_future, refuse_if


def decide_panel(rec: Recorder, body: PanelIn) -> list[NewEvent]:
    quorum = rec.settings.carers.panel_quorum
    ids = [m.member_id for m in body.members]
    reasons = [
        Reason("duplicate_member", f"{m} is listed twice.") for m in sorted({i for i in ids if ids.count(i) > 1})
    ]
    if len(set(ids)) < quorum:
        reasons.append(Reason("fewer_members_than_quorum", f"A panel needs at least {quorum} members to be quorate."))
    refuse_if(reasons)
    scheduled = PanelScheduled(
        panel_id=rec.new_id(),
        meets_on=body.meets_on,
        members=[PanelMember(member_id=m.member_id, name=m.name, role=m.role) for m in body.members],
        quorum=quorum,
    )
    return [rec.event(scheduled, summary=f"Fostering panel meets on {body.meets_on:%d %b %Y}")]


def decide_case_listed(
    rec: Recorder, panel: PanelState, household: HouseholdState, body: PanelCaseIn
) -> list[NewEvent]:
    """A household's case on the agenda; an approval case only once its assessment is done."""
    _open(panel)
    if str(household.household_id) in panel.cases:
        raise Problem("state-conflict", "The household is already on this panel's agenda.")
    if body.case == PanelCase.APPROVAL:
        _journey_at_panel(household)
    listed = PanelCaseListed(panel_id=panel.panel_id, household_id=household.household_id, case=body.case)
    return [rec.event(listed, summary=f"{household.name} on the panel's agenda ({body.case.value})")]


def decide_case_recommendation(
    rec: Recorder, panel: PanelState, household: HouseholdState, body: CaseRecommendationIn
) -> list[NewEvent]:
    """A quorate meeting's recommendation on a case on its agenda, with reasons and any dissent."""
    _open(panel)
    case = panel.cases.get(str(household.household_id))
    if case is None:
        raise Problem("state-conflict", "The household is not on this panel's agenda.")
    if case.recommendation is not None:
        raise Problem("state-conflict", "The panel has already recommended on this case.")
    if case.case == PanelCase.APPROVAL:
        _journey_at_panel(household)
    reasons = quorum_refusals(panel, body.members_present)
    not_yet = in_the_future("meets_on", panel.meets_on, rec.now())
    refuse_if([*reasons, *([not_yet] if not_yet else [])])
    recommended = PanelRecommended(
        household_id=household.household_id,
        panel_date=panel.meets_on,
        recommendation=body.recommendation,
        terms=body.terms,
        reasons=body.reasons,
        dissent=body.dissent,
        panel_id=panel.panel_id,
        case=case.case,
        members_present=list(dict.fromkeys(body.members_present)),
    )
    at = start_of(panel.meets_on)
    summary = f"Fostering panel recommended on {household.name} ({case.case.value}): {body.recommendation.value}"
    event = rec.event(recommended, occurred_at=at, summary=summary)
    if case.case != PanelCase.APPROVAL:
        return [event]
    return [event, *all_met(rec, household.household_id, household.open_clocks(Clock.PANEL), at, event)]


def decide_minutes(
    rec: Recorder, panel: PanelState, households: dict[str, HouseholdState], body: MinutesIn
) -> list[NewEvent]:
    """The final minutes, once every case has its recommendation: each approval case's minutes
    reach the agency decision maker, and their clock starts (NMS 14)."""
    _open(panel)
    refuse_if(
        [
            Reason("case_without_recommendation", f"Household {c.household_id} has no recommendation yet.")
            for c in panel.cases.values()
            if c.recommendation is None
        ]
    )
    at = rec.now()
    agreed = PanelMinutesAgreed(
        panel_id=panel.panel_id,
        agreed_at=at,
        minutes=body.minutes,
        household_ids=[c.household_id for c in panel.cases.values()],
    )
    events = [rec.event(agreed, summary=f"Minutes of the fostering panel of {panel.meets_on:%d %b %Y} agreed")]
    for case in panel.cases.values():
        household = households.get(str(case.household_id))
        if case.case == PanelCase.APPROVAL and household is not None and _awaits_minutes(household):
            events += minutes_received(rec, household, at)
    return events


def _awaits_minutes(household: HouseholdState) -> bool:
    return household.journey.stage == JourneyStage.DECISION and household.journey.minutes_received_at is None


def _open(panel: PanelState) -> None:
    if panel.minutes_agreed_at is not None:
        raise Problem("state-conflict", "The panel's minutes are agreed: the meeting is closed.")


def _journey_at_panel(household: HouseholdState) -> None:
    why = out_of_order(household.journey, JourneyStep.PANEL)
    if why is not None:
        raise Problem("state-conflict", why)


# ---- shells ------------------------------------------------------------------------------------
async def load_panel(ctx: CommandContext, panel_id: uuid.UUID) -> PanelState:
    return await loading.load_record(ctx, panel_stream(panel_id), fold_panel, f"No panel {panel_id}.")


async def schedule_panel(ctx: CommandContext, body: PanelIn) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    events = decide_panel(ctx, body)
    return await ctx.append(panel_stream(minted_id(events[0], "panel_id")), events, expected_version=0)


async def list_case(ctx: CommandContext, panel_id: uuid.UUID, body: PanelCaseIn) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    panel = await load_panel(ctx, panel_id)
    household = await loading.load_household(ctx, body.household_id)
    events = decide_case_listed(ctx, panel, household, body)
    return await ctx.append(panel_stream(panel_id), events, expected_version=ctx.expected(panel.version))


async def recommend(ctx: CommandContext, panel_id: uuid.UUID, body: CaseRecommendationIn) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    panel = await load_panel(ctx, panel_id)
    household = await loading.load_household(ctx, body.household_id)
    events = decide_case_recommendation(ctx, panel, household, body)
    return await ctx.append(panel_stream(panel_id), events, expected_version=ctx.expected(panel.version))


async def agree_minutes(ctx: CommandContext, panel_id: uuid.UUID, body: MinutesIn) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    panel = await load_panel(ctx, panel_id)
    households = {}
    for case in panel.cases.values():
        found = await loading.read_household(ctx.store, case.household_id)
        if found is not None:
            households[str(case.household_id)] = found
    events = decide_minutes(ctx, panel, households, body)
    return await ctx.append(panel_stream(panel_id), events, expected_version=ctx.expected(panel.version))
