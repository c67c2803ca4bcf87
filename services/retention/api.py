"""retention: the HTTP API. Legal holds (the registered manager places and lifts them, with a
reason), each record's retention date, and the report of what falls due in the next 90 days."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from services.retention import commands as cmd
from services.retention import projections as pj
from services.retention import rules
from services.retention.events import SubjectKind
from shared.access import access, children_read
from shared.auth import Principal
from shared.calendar import local_date
from shared.commanding import CommandContext, CommandRoute, command_context
from shared.policy import Action, Resource
from shared.problems import Problem
from shared.responses import CommandResult, result_of
from shared.service import ServiceSpec

router = APIRouter(prefix="/v1/retention", tags=["retention"], route_class=CommandRoute)

# Who may call each route (shared/policy.py decides; shared/access enforces).
HoldMaker = Annotated[Principal, access(Resource.RETENTION, Action.CREATE)]
RetentionReader = Annotated[Principal, access(Resource.RETENTION, Action.READ)]

Ctx = Annotated[CommandContext, Depends(command_context("retention"))]

CREATED: dict[str, Any] = {"status_code": 201}
REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown record or hold (problem `not-found`)"},
    409: {"description": "The record is destroyed, or the hold lifted already (`state-conflict`)"},
    422: {"description": "Invalid input (`validation`)"},
}


class HoldResult(CommandResult):
    hold_id: uuid.UUID


class RetentionReport(BaseModel):
    """What the retention run will destroy within `days` (so the agency can act: a hold, a
    subject-access request first), and what is past its date but held."""

    today: date
    days: int
    due: list[pj.RetentionRow] = Field(description="Not held, retain_until before today + days.")
    held: list[pj.RetentionRow] = Field(description="Past or within the window, but under a legal hold.")


@router.post("/holds", summary="Place a legal hold on a record (registered manager)", responses=REFUSALS, **CREATED)
async def place_hold(ctx: Ctx, body: cmd.HoldIn, _caller: HoldMaker) -> HoldResult:
    recorded = await cmd.place_hold(ctx, body)
    return HoldResult(**result_of(recorded), hold_id=recorded[0].data["hold_id"])


@router.post(
    "/holds/{hold_id}/lift",
    summary="Lift a legal hold, with the reason (registered manager)",
    responses=REFUSALS,
    **CREATED,
)
async def lift_hold(ctx: Ctx, hold_id: uuid.UUID, body: cmd.LiftIn, _caller: HoldMaker) -> HoldResult:
    recorded = await cmd.lift_hold(ctx, hold_id, body)
    return HoldResult(**result_of(recorded), hold_id=hold_id)


@router.get("/records/{kind}/{subject_id}", summary="A record's retention date, rule, holds and destruction")
async def record_retention(
    request: Request, kind: SubjectKind, subject_id: uuid.UUID, _caller: RetentionReader
) -> pj.RetentionRow:
    async with request.app.state.store.acquire() as conn:
        found = await pj.retention_rows(conn, kind=kind, subject_id=subject_id)
    if not found:
        raise Problem("not-found", f"No {kind.value} record {subject_id}.")
    await children_read(request, _children(found))
    return found[0]


@router.get("/report", summary="What falls due for destruction in the next days (default 90)")
async def retention_report(
    request: Request,
    _caller: RetentionReader,
    days: Annotated[int, Query(ge=0, le=3660)] = rules.REPORT_DAYS,
) -> RetentionReport:
    today = local_date(request.app.state.clock.now())
    async with request.app.state.store.acquire() as conn:
        rows = await pj.retention_rows(conn)
    window = [r for r in rows if r.destroyed_on is None and rules.due_within(r.retain_until, today, days)]
    await children_read(request, _children(window))
    return RetentionReport(
        today=today, days=days, due=[r for r in window if not r.held], held=[r for r in window if r.held]
    )


def _children(rows: list[pj.RetentionRow]) -> list[uuid.UUID]:
    """The children a read names (each read of a child's record is in the access log)."""
    return [r.subject_id for r in rows if r.kind == SubjectKind.CHILD]


SERVICE = ServiceSpec(name="retention", router=router, projectors=lambda settings: [pj.RetentionView()])
