"""carers: the HTTP API of what approval rests on besides the decision: the foster care agreement,
the carers' resignation, a connected person's temporary approval and its extension. Included in
the service's router."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter

from services.carers import commands as cmd
from services.carers.api_common import Ctx, HouseholdWriter
from services.carers.commands import approvals
from services.carers.events import ResignationNoticeReceived, TemporaryApprovalExtended, TemporaryApprovalGranted
from shared.commanding import CommandRoute
from shared.contracts.base import load_as
from shared.responses import CommandResult, result_of

router = APIRouter(prefix="/v1", tags=["carers"], route_class=CommandRoute)  # one of the service's routers

_STEP: dict[str, Any] = {
    "status_code": 201,
    "responses": {
        404: {"description": "Unknown household or child (problem `not-found`)"},
        409: {"description": "`state-conflict`: the household is not in a state that allows this"},
        422: {"description": "Invalid input (`validation`) or a recording rule (`business-rule` with `reasons`)"},
    },
}


class AgreementRecorded(CommandResult):
    household_id: uuid.UUID
    signed_on: date


class ResignationRecorded(CommandResult):
    household_id: uuid.UUID
    takes_effect_at: datetime


class TemporaryApprovalRecorded(CommandResult):
    household_id: uuid.UUID
    approval_id: uuid.UUID
    expires_at: datetime


@router.post("/households/{household_id}/agreement", summary="The foster care agreement signed", **_STEP)
async def sign_agreement(
    ctx: Ctx, household_id: uuid.UUID, body: cmd.AgreementIn, _c: HouseholdWriter
) -> AgreementRecorded:
    recorded = await approvals.record(ctx, household_id, approvals.decide_agreement, body)
    return AgreementRecorded(**result_of(recorded), household_id=household_id, signed_on=body.signed_on)


@router.post(
    "/households/{household_id}/resignation", summary="The carers' resignation notice (ends in 28 days)", **_STEP
)
async def resign(
    ctx: Ctx, household_id: uuid.UUID, body: cmd.ResignationIn, _c: HouseholdWriter
) -> ResignationRecorded:
    recorded = await approvals.record(ctx, household_id, approvals.decide_resignation, body)
    notice = load_as(ResignationNoticeReceived, recorded[0])
    return ResignationRecorded(**result_of(recorded), household_id=household_id, takes_effect_at=notice.takes_effect_at)


@router.post(
    "/households/{household_id}/temporary-approval", summary="Temporary approval of a connected person", **_STEP
)
async def temporary_approval(
    ctx: Ctx, household_id: uuid.UUID, body: cmd.TemporaryApprovalIn, _c: HouseholdWriter
) -> TemporaryApprovalRecorded:
    recorded = await approvals.grant_temporary_approval(ctx, household_id, body)
    granted = load_as(TemporaryApprovalGranted, recorded[0])
    return TemporaryApprovalRecorded(
        **result_of(recorded), household_id=household_id, approval_id=granted.approval_id, expires_at=granted.expires_at
    )


@router.post(
    "/households/{household_id}/temporary-approval/extension",
    summary="Temporary approval extended (once, up to 8 weeks)",
    **_STEP,
)
async def extend_temporary_approval(
    ctx: Ctx, household_id: uuid.UUID, body: cmd.TemporaryExtensionIn, _c: HouseholdWriter
) -> TemporaryApprovalRecorded:
    recorded = await approvals.record(ctx, household_id, approvals.decide_temporary_extension, body)
    extended = load_as(TemporaryApprovalExtended, recorded[0])
    return TemporaryApprovalRecorded(
        **result_of(recorded),
        household_id=household_id,
        approval_id=extended.approval_id,
        expires_at=extended.expires_at,
    )
