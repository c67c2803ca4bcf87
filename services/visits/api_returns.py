"""visits: the routes that record what the SSDA903 return needs on the child's record (codes from
shared/returns/ssda903_codes.yaml). Included in the service's routers."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from services.visits.commands import returns as cmd
from shared.access import access
from shared.auth import Principal
from shared.commanding import CommandContext, CommandRoute, command_context
from shared.eventstore import RecordedEvent
from shared.policy import Action, Resource
from shared.responses import CommandResult, result_of

router = APIRouter(prefix="/v1", tags=["visits"], route_class=CommandRoute)

ChildWriter = Annotated[Principal, access(Resource.CHILD, Action.WRITE, locate="child", param="child_id")]
Ctx = Annotated[CommandContext, Depends(command_context("visits"))]
ChildId = Annotated[uuid.UUID, Path(description="The child's id")]

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid bearer token"},
    403: {"description": "Read-only role"},
    404: {"description": "Unknown child"},
    412: {"description": "If-Match does not match the current version"},
    422: {"description": "A code not in the DfE's code set, or a date in the future; nothing was written"},
}


class ReturnEntryResult(CommandResult):
    child_id: uuid.UUID


def _answer(recorded: list[RecordedEvent], child_id: uuid.UUID) -> ReturnEntryResult:
    return ReturnEntryResult(**result_of(recorded), child_id=child_id)


@router.post(
    "/children/{child_id}/statutory-details",
    status_code=201,
    summary="Record the child's sex, ethnicity, UPN and category of need as the DfE codes them",
    responses=PROBLEMS,
)
async def record_statutory_details(
    child_id: ChildId, body: cmd.RecordStatutoryDetails, ctx: Ctx, _caller: ChildWriter
) -> ReturnEntryResult:
    return _answer(await cmd.record_for_return(ctx, child_id, body, cmd.decide_statutory_details), child_id)


@router.post(
    "/children/{child_id}/legal-status",
    status_code=201,
    summary="Record a change of the child's legal status (a DfE code) from a date",
    responses=PROBLEMS,
)
async def change_legal_status(
    child_id: ChildId, body: cmd.ChangeLegalStatus, ctx: Ctx, _caller: ChildWriter
) -> ReturnEntryResult:
    return _answer(await cmd.record_for_return(ctx, child_id, body, cmd.decide_legal_status), child_id)


@router.post(
    "/children/{child_id}/placement-codes",
    status_code=201,
    summary="Record how the return codes one of the child's placements (type, provider, postcode)",
    responses=PROBLEMS,
)
async def record_placement_codes(
    child_id: ChildId, body: cmd.RecordPlacementCodes, ctx: Ctx, _caller: ChildWriter
) -> ReturnEntryResult:
    return _answer(await cmd.record_for_return(ctx, child_id, body, cmd.decide_placement_codes), child_id)


@router.post(
    "/children/{child_id}/care-ended",
    status_code=201,
    summary="Record that the child stopped being looked after, and why (a DfE code)",
    responses=PROBLEMS,
)
async def end_care(child_id: ChildId, body: cmd.EndCare, ctx: Ctx, _caller: ChildWriter) -> ReturnEntryResult:
    return _answer(await cmd.record_for_return(ctx, child_id, body, cmd.decide_care_ended), child_id)


@router.post(
    "/children/{child_id}/missing-episodes",
    status_code=201,
    summary="Record an episode of the child missing or away without authorisation",
    responses=PROBLEMS,
)
async def record_missing_episode(
    child_id: ChildId, body: cmd.RecordMissingEpisode, ctx: Ctx, _caller: ChildWriter
) -> ReturnEntryResult:
    return _answer(await cmd.record_for_return(ctx, child_id, body, cmd.decide_missing_episode), child_id)


@router.post(
    "/children/{child_id}/health-outcomes",
    status_code=201,
    summary="Record immunisations, the SDQ score and the other outcomes the return asks",
    responses=PROBLEMS,
)
async def record_health_outcomes(
    child_id: ChildId, body: cmd.RecordHealthOutcomes, ctx: Ctx, _caller: ChildWriter
) -> ReturnEntryResult:
    return _answer(await cmd.record_for_return(ctx, child_id, body, cmd.decide_health_outcomes), child_id)


@router.post(
    "/children/{child_id}/care-leaver-contacts",
    status_code=201,
    summary="Record contact with a young person who has left care (in touch, activity, accommodation)",
    responses=PROBLEMS,
)
async def record_care_leaver_contact(
    child_id: ChildId, body: cmd.RecordCareLeaverContact, ctx: Ctx, _caller: ChildWriter
) -> ReturnEntryResult:
    return _answer(await cmd.record_for_return(ctx, child_id, body, cmd.decide_care_leaver_contact), child_id)
