"""carers: the HTTP API of the carer's journey (enquiry to the applicant told of the decision),
included in the service's router. Each step answers with what it recorded and the journey after it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel

from services.carers import commands as cmd
from services.carers import projections as pj
from services.carers.api_common import Ctx, HouseholdReader, HouseholdWriter
from services.carers.commands import journey
from services.carers.rules import HouseholdState
from services.carers.rules.clocks import JOURNEY_CLOCKS
from services.carers.rules.journey import JourneyStage, JourneyState
from shared.commanding import CommandContext, CommandRoute
from shared.problems import Problem
from shared.recording import Recorder
from shared.responses import CommandResult, result_of

router = APIRouter(prefix="/v1", tags=["carers"], route_class=CommandRoute)  # one of the service's routers

B = TypeVar("B")

CREATED: dict[str, Any] = {"status_code": 201}
REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown household (problem `not-found`)"},
    409: {"description": "`state-conflict`: the step does not follow the journey's stage"},
    422: {"description": "Invalid input (`validation`) or a recording rule (`business-rule` with `reasons`)"},
}


class JourneyClock(BaseModel):
    deadline_id: uuid.UUID
    kind: str
    description: str
    started_at: datetime
    due_at: datetime
    overdue: bool


class JourneyView(BaseModel):
    """Where the household is on its way to approval, and the next step due."""

    household_id: uuid.UUID
    stage: JourneyStage | None
    steps: JourneyState
    stage1_outstanding: list[str]
    next_due: JourneyClock | None
    open_clocks: list[JourneyClock]


class JourneyStepResult(CommandResult):
    household_id: uuid.UUID
    journey: JourneyView


def journey_view(state: HouseholdState, now: datetime) -> JourneyView:
    clocks = sorted(
        (
            JourneyClock(**d.model_dump(include=set(JourneyClock.model_fields)), overdue=d.due_at < now)
            for d in state.deadlines.values()
            if d.kind in JOURNEY_CLOCKS
        ),
        key=lambda c: (c.due_at, c.kind),
    )
    in_stage1 = state.journey.stage == JourneyStage.STAGE1
    return JourneyView(
        household_id=state.household_id,
        stage=state.journey.stage,
        steps=state.journey,
        stage1_outstanding=state.stage1_outstanding(now.date()) if in_stage1 else [],
        next_due=clocks[0] if clocks else None,
        open_clocks=clocks,
    )


async def _journey(request: Request, household_id: uuid.UUID) -> JourneyView:
    async with request.app.state.store.acquire() as conn:
        state = await pj.household(conn, household_id)
    if state is None:
        raise Problem("not-found", f"No household {household_id}.")
    return journey_view(state, request.app.state.clock.now())


async def _step(
    request: Request,
    ctx: CommandContext,
    household_id: uuid.UUID,
    decide: Callable[[Recorder, HouseholdState, B], list[Any]],
    body: B,
    *,
    managers_only: bool = False,
) -> JourneyStepResult:
    recorded = await journey.record_step(ctx, household_id, decide, body, managers_only=managers_only)
    view = await _journey(request, household_id)
    return JourneyStepResult(**result_of(recorded), household_id=household_id, journey=view)


@router.get("/households/{household_id}/journey", summary="The carer's journey: stage, steps, next step due")
async def get_journey(request: Request, household_id: uuid.UUID, _: HouseholdReader) -> JourneyView:
    return await _journey(request, household_id)


_STEP = {"responses": REFUSALS, **CREATED}


@router.post("/households/{household_id}/journey/enquiry", summary="A fostering enquiry (reply clock)", **_STEP)
async def enquiry(
    request: Request, ctx: Ctx, household_id: uuid.UUID, body: cmd.EnquiryIn, _c: HouseholdWriter
) -> JourneyStepResult:
    return await _step(request, ctx, household_id, journey.decide_enquiry, body)


@router.post("/households/{household_id}/journey/enquiry-reply", summary="The enquiry answered", **_STEP)
async def enquiry_reply(
    request: Request, ctx: Ctx, household_id: uuid.UUID, body: cmd.EnquiryReplyIn, _c: HouseholdWriter
) -> JourneyStepResult:
    return await _step(request, ctx, household_id, journey.decide_enquiry_reply, body)


@router.post("/households/{household_id}/journey/initial-visit", summary="The initial visit", **_STEP)
async def initial_visit(
    request: Request, ctx: Ctx, household_id: uuid.UUID, body: cmd.InitialVisitIn, _c: HouseholdWriter
) -> JourneyStepResult:
    return await _step(request, ctx, household_id, journey.decide_initial_visit, body)


@router.post("/households/{household_id}/journey/application", summary="The application (stage 1 and 2 begin)", **_STEP)
async def application(
    request: Request, ctx: Ctx, household_id: uuid.UUID, body: cmd.ApplicationIn, _c: HouseholdWriter
) -> JourneyStepResult:
    return await _step(request, ctx, household_id, journey.decide_application, body)


@router.post("/households/{household_id}/journey/stage1-decision", summary="Stage 1 decided", **_STEP)
async def stage1_decision(
    request: Request, ctx: Ctx, household_id: uuid.UUID, body: cmd.Stage1DecisionIn, _c: HouseholdWriter
) -> JourneyStepResult:
    return await _step(request, ctx, household_id, journey.decide_stage1, body)


@router.post("/households/{household_id}/journey/assessment", summary="Stage 2 (Form F) completed", **_STEP)
async def assessment(
    request: Request, ctx: Ctx, household_id: uuid.UUID, body: cmd.AssessmentIn, _c: HouseholdWriter
) -> JourneyStepResult:
    return await _step(request, ctx, household_id, journey.decide_assessment, body)


@router.post(
    "/households/{household_id}/journey/panel-recommendation", summary="The fostering panel's recommendation", **_STEP
)
async def panel_recommendation(
    request: Request, ctx: Ctx, household_id: uuid.UUID, body: cmd.PanelRecommendationIn, _c: HouseholdWriter
) -> JourneyStepResult:
    return await _step(request, ctx, household_id, journey.decide_panel_recommendation, body)


@router.post(
    "/households/{household_id}/journey/panel-minutes", summary="Final panel minutes received (ADM clock)", **_STEP
)
async def panel_minutes(
    request: Request, ctx: Ctx, household_id: uuid.UUID, body: cmd.PanelMinutesIn, _c: HouseholdWriter
) -> JourneyStepResult:
    return await _step(request, ctx, household_id, journey.decide_panel_minutes, body)


@router.post(
    "/households/{household_id}/journey/agency-decision",
    summary="The agency decision maker's decision (managers)",
    **_STEP,
)
async def agency_decision(
    request: Request, ctx: Ctx, household_id: uuid.UUID, body: cmd.AgencyDecisionIn, _c: HouseholdWriter
) -> JourneyStepResult:
    return await _step(request, ctx, household_id, journey.decide_agency_decision, body, managers_only=True)


@router.post("/households/{household_id}/journey/applicant-notice", summary="The applicant told in writing", **_STEP)
async def applicant_notice(
    request: Request, ctx: Ctx, household_id: uuid.UUID, body: cmd.ApplicantNoticeIn, _c: HouseholdWriter
) -> JourneyStepResult:
    return await _step(request, ctx, household_id, journey.decide_applicant_notice, body)
