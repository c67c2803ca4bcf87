"""carers: the HTTP API of fostering panels (managers write, agency readers read) and of qualifying
determinations on a household's approval. Included in the service's router."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request

from services.carers import commands as cmd
from services.carers.api_common import Ctx, HouseholdWriter
from services.carers.commands import determinations, panels
from services.carers.events import PanelScheduled, QualifyingDeterminationMade
from services.carers.rules.panels import PanelState, fold_panel
from shared.access import access
from shared.auth import Principal
from shared.commanding import CommandRoute
from shared.contracts.base import load_as
from shared.policy import Action, Resource
from shared.problems import Problem
from shared.responses import CommandResult, result_of

router = APIRouter(prefix="/v1", tags=["carers"], route_class=CommandRoute)  # one of the service's routers

PanelWriter = Annotated[Principal, access(Resource.REPORT, Action.WRITE)]
PanelReader = Annotated[Principal, access(Resource.REPORT, Action.READ)]
_STEP: dict[str, Any] = {
    "status_code": 201,
    "responses": {
        404: {"description": "Unknown panel or household (problem `not-found`)"},
        409: {"description": "`state-conflict`: the panel or household is not in a state that allows this"},
        422: {"description": "Invalid input (`validation`) or a recording rule (`business-rule` with `reasons`)"},
    },
}


class PanelRecorded(CommandResult):
    panel_id: uuid.UUID


class DeterminationRecorded(CommandResult):
    household_id: uuid.UUID
    determination_id: uuid.UUID
    representations_until: datetime


@router.post("/panels", summary="Schedule a fostering panel meeting with its members", **_STEP)
async def schedule_panel(ctx: Ctx, body: cmd.PanelIn, _c: PanelWriter) -> PanelRecorded:
    recorded = await panels.schedule_panel(ctx, body)
    return PanelRecorded(**result_of(recorded), panel_id=load_as(PanelScheduled, recorded[0]).panel_id)


@router.get("/panels/{panel_id}", summary="A panel meeting: members, quorum, agenda, recommendations, minutes")
async def get_panel(request: Request, panel_id: uuid.UUID, _: PanelReader) -> PanelState:
    found = fold_panel(await request.app.state.store.read_stream(f"panel-{panel_id}"))
    if found is None:
        raise Problem("not-found", f"No panel {panel_id}.")
    return found


@router.post("/panels/{panel_id}/agenda", summary="Put a household's case on the panel's agenda", **_STEP)
async def list_case(ctx: Ctx, panel_id: uuid.UUID, body: cmd.PanelCaseIn, _c: PanelWriter) -> PanelRecorded:
    return PanelRecorded(**result_of(await panels.list_case(ctx, panel_id, body)), panel_id=panel_id)


@router.post("/panels/{panel_id}/recommendations", summary="The panel's recommendation on a case (quorate)", **_STEP)
async def recommend(ctx: Ctx, panel_id: uuid.UUID, body: cmd.CaseRecommendationIn, _c: PanelWriter) -> PanelRecorded:
    return PanelRecorded(**result_of(await panels.recommend(ctx, panel_id, body)), panel_id=panel_id)


@router.post("/panels/{panel_id}/minutes", summary="The panel's final minutes (starts the ADM's clocks)", **_STEP)
async def agree_minutes(ctx: Ctx, panel_id: uuid.UUID, body: cmd.MinutesIn, _c: PanelWriter) -> PanelRecorded:
    return PanelRecorded(**result_of(await panels.agree_minutes(ctx, panel_id, body)), panel_id=panel_id)


@router.post(
    "/households/{household_id}/determinations",
    summary="A qualifying determination: termination or change of terms proposed (28 days)",
    **_STEP,
)
async def propose(
    ctx: Ctx, household_id: uuid.UUID, body: cmd.DeterminationIn, _c: HouseholdWriter
) -> DeterminationRecorded:
    recorded = await determinations.record(ctx, household_id, determinations.decide_determination, body)
    made = load_as(QualifyingDeterminationMade, recorded[0])
    return DeterminationRecorded(
        **result_of(recorded),
        household_id=household_id,
        determination_id=made.determination_id,
        representations_until=made.representations_until,
    )


@router.post(
    "/households/{household_id}/determinations/representations",
    summary="The carers' representations, or their application to the IRM",
    **_STEP,
)
async def representations(
    ctx: Ctx, household_id: uuid.UUID, body: cmd.RepresentationsIn, _c: HouseholdWriter
) -> CommandResult:
    recorded = await determinations.record(ctx, household_id, determinations.decide_representations, body)
    return CommandResult(**result_of(recorded))


@router.post(
    "/households/{household_id}/determinations/decision",
    summary="The agency decision maker's decision on the determination (managers)",
    **_STEP,
)
async def decide(
    ctx: Ctx, household_id: uuid.UUID, body: cmd.DeterminationDecisionIn, _c: HouseholdWriter
) -> CommandResult:
    recorded = await determinations.record(
        ctx, household_id, determinations.decide_determination_outcome, body, managers_only=True
    )
    return CommandResult(**result_of(recorded))
