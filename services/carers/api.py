"""carers: the HTTP API (thin: maps requests to commands and queries)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from services.carers import commands as cmd
from services.carers import projections
from services.carers.rules import HouseholdState, age_on, compliance, dbs_status, is_adult
from shared.access import access, children_read
from shared.auth import Principal
from shared.commanding import CommandContext, CommandRoute, command_context
from shared.policy import Action, Resource
from shared.problems import Problem
from shared.service import ServiceSpec

router = APIRouter(prefix="/v1", tags=["carers"], route_class=CommandRoute)

# Who may call each route (shared/policy.py decides; shared/access enforces and logs reads).
AllegationCreator = Annotated[Principal, access(Resource.ALLEGATION, Action.CREATE)]
HouseholdCreator = Annotated[Principal, access(Resource.HOUSEHOLD, Action.CREATE)]
HouseholdReader = Annotated[
    Principal, access(Resource.HOUSEHOLD, Action.READ, locate="household", param="household_id")
]
HouseholdWriter = Annotated[
    Principal, access(Resource.HOUSEHOLD, Action.WRITE, locate="household", param="household_id")
]
PlacementWriter = Annotated[Principal, access(Resource.CHILD, Action.WRITE, locate="placement", param="placement_id")]
ReportListReader = Annotated[Principal, access(Resource.REPORT, Action.READ, self_param="worker_id")]
ReportReader = Annotated[Principal, access(Resource.REPORT, Action.READ)]
ReportWriter = Annotated[Principal, access(Resource.REPORT, Action.WRITE)]
ChildInBodyWriter = Annotated[
    Principal, access(Resource.CHILD, Action.WRITE, locate="child", param="child_id", source="body")
]
PlacementReader = Annotated[
    Principal, access(Resource.CHILD, Action.READ, locate="placement", param="placement_id", audited=True)
]
AllegationReportReader = Annotated[
    Principal, access(Resource.ALLEGATION, Action.READ, locate="allegation-report", param="report_id", audited=True)
]
AllegationReportWriter = Annotated[
    Principal, access(Resource.ALLEGATION, Action.WRITE, locate="allegation-report", param="report_id")
]
AllegationReader = Annotated[
    Principal, access(Resource.ALLEGATION, Action.READ, locate="allegation", param="allegation_id", audited=True)
]
AllegationWriter = Annotated[
    Principal, access(Resource.ALLEGATION, Action.WRITE, locate="allegation", param="allegation_id")
]

Ctx = Annotated[CommandContext, Depends(command_context("carers"))]

CREATED: dict[str, Any] = {"status_code": 201}
REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown id (problem `not-found`)"},
    409: {"description": "Refused: `invariant-violated` with `reasons`, or `state-conflict`"},
    422: {"description": "Invalid input (`validation`) or a recording rule (`business-rule` with `reasons`)"},
}


async def _household(request: Request, household_id: uuid.UUID) -> HouseholdState:
    async with request.app.state.store.reader.connect() as conn:
        state = await projections.household(conn, household_id)
    if state is None:
        raise Problem("not-found", f"No household {household_id}.")
    return state


# ---- households ------------------------------------------------------------------------------
@router.post("/households", summary="Register a fostering household", responses=REFUSALS, **CREATED)
async def register_household(ctx: Ctx, body: cmd.HouseholdIn, _caller: HouseholdCreator) -> dict[str, Any]:
    return await cmd.register_household(ctx, body)


@router.get("/compliance/households", summary="Agency view: every household with anything overdue")
async def overdue_households(request: Request, _: ReportReader) -> dict[str, Any]:
    now = request.app.state.clock.now()
    async with request.app.state.store.reader.connect() as conn:
        households = await projections.overdue_households(conn, now, cmd.local_rules())
    return {"as_of": now.isoformat(), "count": len(households), "households": households}


@router.get("/households/{household_id}", summary="A household: members, checks, approval, holds, placements")
async def get_household(
    request: Request,
    response: Response,
    household_id: uuid.UUID,
    _: HouseholdReader,
) -> dict[str, Any]:
    state = await _household(request, household_id)
    today = request.app.state.clock.now().date()
    async with request.app.state.store.reader.connect() as conn:
        placements = await projections.placements_of(conn, household_id)
    await children_read(request, (p["child_id"] for p in placements))
    response.headers["ETag"] = f'"{state.version}"'
    members = []
    for m in state.members.values():
        dbs, expiry = dbs_status(m, today)
        members.append(
            {
                **m.model_dump(mode="json"),
                "age": age_on(m.date_of_birth, today),
                "adult": is_adult(m, today),
                "dbs": dbs,
                "dbs_expires_on": expiry.isoformat() if expiry else None,
            }
        )
    return {
        "household_id": str(state.household_id),
        "name": state.name,
        "connected_person": state.connected_person,
        "supervising_social_worker_id": state.supervising_social_worker_id,
        "status": state.status.value,
        "approved_at": state.approved_at.isoformat() if state.approved_at else None,
        "terms": state.terms.model_dump(mode="json") if state.terms else None,
        "members": members,
        "holds": [h.model_dump(mode="json") for h in state.holds.values()],
        "on_hold": bool(state.open_holds),
        "current_placements": [p for p in placements if not p.get("ended")],
        "past_placements": [p for p in placements if p.get("ended")],
        "open_concerns": [c.model_dump(mode="json") for c in state.concerns.values() if c.addressed_at is None],
        "supervision_agenda": [a.model_dump(mode="json") for a in state.agenda.values() if a.discussed_at is None],
        "incomplete_endings": [e.model_dump(mode="json") for e in state.incomplete_endings.values()],
        "trainings": state.trainings,
        "reviews": state.reviews,
        "last_supervision_at": state.last_supervision_at.isoformat() if state.last_supervision_at else None,
        "last_review_at": state.last_review_at.isoformat() if state.last_review_at else None,
        "version": state.version,
    }


@router.post(
    "/households/{household_id}/members", summary="Add a person to the household", responses=REFUSALS, **CREATED
)
async def add_member(
    ctx: Ctx,
    household_id: uuid.UUID,
    body: cmd.MemberIn,
    _caller: HouseholdWriter,
) -> dict[str, Any]:
    return await cmd.add_member(ctx, household_id, body)


@router.post(
    "/households/{household_id}/members/{member_id}/checks",
    summary="Record a check on a member (enhanced DBS, medical, references)",
    responses=REFUSALS,
    **CREATED,
)
async def record_check(
    ctx: Ctx,
    household_id: uuid.UUID,
    member_id: uuid.UUID,
    body: cmd.CheckIn,
    _caller: HouseholdWriter,
) -> dict[str, Any]:
    return await cmd.record_check(ctx, household_id, member_id, body)


@router.post(
    "/households/{household_id}/approval", summary="Approve (with terms) or refuse", responses=REFUSALS, **CREATED
)
async def decide_approval(
    ctx: Ctx,
    household_id: uuid.UUID,
    body: cmd.ApprovalIn,
    _caller: HouseholdWriter,
) -> dict[str, Any]:
    return await cmd.decide_approval(ctx, household_id, body)


@router.post("/households/{household_id}/approval/end", summary="End the approval", responses=REFUSALS, **CREATED)
async def end_approval(
    ctx: Ctx,
    household_id: uuid.UUID,
    body: cmd.EndApprovalIn,
    _caller: HouseholdWriter,
) -> dict[str, Any]:
    return await cmd.end_approval(ctx, household_id, body)


@router.post(
    "/households/{household_id}/supervisions", summary="A supervision by the SSW", responses=REFUSALS, **CREATED
)
async def record_supervision(
    ctx: Ctx,
    household_id: uuid.UUID,
    body: cmd.SupervisionIn,
    _caller: HouseholdWriter,
) -> dict[str, Any]:
    return await cmd.record_supervision(ctx, household_id, body)


@router.post(
    "/households/{household_id}/training", summary="A course completed by a carer", responses=REFUSALS, **CREATED
)
async def record_training(
    ctx: Ctx,
    household_id: uuid.UUID,
    body: cmd.TrainingIn,
    _caller: HouseholdWriter,
) -> dict[str, Any]:
    return await cmd.record_training(ctx, household_id, body)


@router.post(
    "/households/{household_id}/reviews",
    summary="Annual review of approval, with the child's view",
    responses=REFUSALS,
    **CREATED,
)
async def record_review(
    ctx: Ctx,
    household_id: uuid.UUID,
    body: cmd.ReviewIn,
    _caller: HouseholdWriter,
) -> dict[str, Any]:
    return await cmd.record_review(ctx, household_id, body)


@router.post("/households/{household_id}/holds", summary="Hold new placements", responses=REFUSALS, **CREATED)
async def place_hold(
    ctx: Ctx,
    household_id: uuid.UUID,
    body: cmd.HoldIn,
    _caller: HouseholdWriter,
) -> dict[str, Any]:
    return await cmd.place_hold(ctx, household_id, body)


@router.post(
    "/households/{household_id}/holds/{hold_id}/lift",
    summary="Lift a hold, with the reason (managers only)",
    responses=REFUSALS,
    **CREATED,
)
async def lift_hold(
    ctx: Ctx,
    household_id: uuid.UUID,
    hold_id: uuid.UUID,
    body: cmd.LiftIn,
    _caller: HouseholdWriter,
) -> dict[str, Any]:
    return await cmd.lift_hold(ctx, household_id, hold_id, body)


@router.get("/households/{household_id}/compliance", summary="Every clock of the household: due date and status")
async def household_compliance(
    request: Request,
    household_id: uuid.UUID,
    _: HouseholdReader,
) -> dict[str, Any]:
    state = await _household(request, household_id)
    return compliance(state, request.app.state.clock.now(), cmd.local_rules())


# ---- placements ------------------------------------------------------------------------------
@router.post(
    "/placements",
    summary="Place a child with a household (refused with 409 and every reason when unsafe)",
    responses=REFUSALS,
    **CREATED,
)
async def start_placement(
    ctx: Ctx,
    body: cmd.PlacementIn,
    _caller: ChildInBodyWriter,
) -> dict[str, Any]:
    return await cmd.start_placement(ctx, body)


@router.get("/placements/{placement_id}", summary="A placement")
async def get_placement(
    request: Request,
    placement_id: uuid.UUID,
    _: PlacementReader,
) -> dict[str, Any]:
    async with request.app.state.store.reader.connect() as conn:
        found = await projections.placement(conn, placement_id)
    if found is None:
        raise Problem("not-found", f"No placement {placement_id}.")
    return found


@router.post("/placements/{placement_id}/end", summary="End a placement", responses=REFUSALS, **CREATED)
async def end_placement(
    ctx: Ctx,
    placement_id: uuid.UUID,
    body: cmd.PlacementEndIn,
    _caller: PlacementWriter,
) -> dict[str, Any]:
    return await cmd.end_placement(ctx, placement_id, body)


@router.post(
    "/placements/{placement_id}/ending",
    summary="Complete the ending record: the child's wishes about contact, the carers' views, the ending meeting",
    responses=REFUSALS,
    **CREATED,
)
async def record_ending(
    ctx: Ctx,
    placement_id: uuid.UUID,
    body: cmd.EndingIn,
    _caller: PlacementWriter,
) -> dict[str, Any]:
    return await cmd.record_ending(ctx, placement_id, body)


# ---- the agency's oversight of its own workers ----------------------------------------------
WorkerId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@:-]*$")]


@router.post(
    "/workers/{worker_id}/supervisions",
    summary="A manager supervised a social worker (monthly clock, local)",
    responses=REFUSALS,
    **CREATED,
)
async def record_worker_supervision(
    ctx: Ctx,
    worker_id: WorkerId,
    body: cmd.WorkerSupervisionIn,
    _caller: ReportWriter,
) -> dict[str, Any]:
    return await cmd.record_worker_supervision(ctx, worker_id, body)


@router.get("/caseloads", summary="Per worker: children and households allocated against targets; supervision")
async def caseloads(
    request: Request,
    _: ReportListReader,
    worker_id: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    now = request.app.state.clock.now()
    local = cmd.local_rules()
    async with request.app.state.store.reader.connect() as conn:
        workers = await projections.caseloads(conn, now, local, worker_id)
    await children_read(request, (c for w in workers for c in w["child_ids"]))
    return {
        "as_of": now.isoformat(),
        "targets": {"children": local.caseload_children_target, "households": local.caseload_households_target},
        "workers": workers,
        "over_target": [w["worker_id"] for w in workers if w["over_target"]],
        "supervision_overdue": [w["worker_id"] for w in workers if w["supervision"]["overdue"]],
    }


# ---- allegations -----------------------------------------------------------------------------
@router.post(
    "/allegations",
    summary="An allegation against a household member (puts the household on hold; LADO clock)",
    responses=REFUSALS,
    **CREATED,
)
async def receive_allegation(
    ctx: Ctx,
    body: cmd.AllegationIn,
    response: Response,
    _caller: AllegationCreator,
) -> dict[str, Any]:
    result = await cmd.receive_allegation(ctx, body)
    if "report_id" in result:
        response.status_code = 202  # reported for triage, not recorded as an allegation yet
    return result


@router.get("/allegation-reports/{report_id}", summary="An allegation reported for triage (managers)")
async def get_allegation_report(
    ctx: Ctx,
    report_id: uuid.UUID,
    _caller: AllegationReportReader,
) -> dict[str, Any]:
    return await cmd.allegation_report(ctx, report_id)


@router.post(
    "/allegation-reports/{report_id}/close",
    summary="Close a reported allegation that is not to be recorded, with the reason (managers)",
    responses=REFUSALS,
    **CREATED,
)
async def close_allegation_report(
    ctx: Ctx,
    report_id: uuid.UUID,
    body: cmd.CloseReportIn,
    _caller: AllegationReportWriter,
) -> dict[str, Any]:
    return await cmd.close_allegation_report(ctx, report_id, body)


@router.get("/allegations/{allegation_id}", summary="An allegation and its clocks")
async def get_allegation(
    request: Request,
    allegation_id: uuid.UUID,
    _: AllegationReader,
) -> dict[str, Any]:
    async with request.app.state.store.reader.connect() as conn:
        found = await projections.allegation(conn, allegation_id)
    if found is None:
        raise Problem("not-found", f"No allegation {allegation_id}.")
    return found


@router.post(
    "/allegations/{allegation_id}/lado-referral", summary="The referral to the LADO", responses=REFUSALS, **CREATED
)
async def lado_referral(
    ctx: Ctx,
    allegation_id: uuid.UUID,
    body: cmd.LadoReferralIn,
    _caller: AllegationWriter,
) -> dict[str, Any]:
    return await cmd.record_lado_referral(ctx, allegation_id, body)


@router.post(
    "/allegations/{allegation_id}/written-confirmation",
    summary="Written confirmation of the LADO referral",
    responses=REFUSALS,
    **CREATED,
)
async def written_confirmation(
    ctx: Ctx,
    allegation_id: uuid.UUID,
    body: cmd.WrittenConfirmationIn,
    _caller: AllegationWriter,
) -> dict[str, Any]:
    return await cmd.record_written_confirmation(ctx, allegation_id, body)


@router.post("/allegations/{allegation_id}/outcome", summary="The allegation's outcome", responses=REFUSALS, **CREATED)
async def allegation_outcome(
    ctx: Ctx,
    allegation_id: uuid.UUID,
    body: cmd.OutcomeIn,
    _caller: AllegationWriter,
) -> dict[str, Any]:
    return await cmd.record_outcome(ctx, allegation_id, body)


SERVICE = ServiceSpec(name="carers", router=router, projectors=projections.PROJECTORS)
