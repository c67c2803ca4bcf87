"""carers: the HTTP API. Access declared per route, a response model per route; commands answer
with what they recorded (CommandResult) and the ids the caller needs next; reads are query functions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from services.carers import commands as cmd
from services.carers import projections as pj
from services.carers.api_approvals import router as approvals_router
from services.carers.api_common import (
    CREATED,
    REFUSALS,
    AllegationCreator,
    AllegationReader,
    AllegationReportReader,
    AllegationReportWriter,
    AllegationWriter,
    ChildInBodyWriter,
    Ctx,
    HouseholdCreator,
    HouseholdLister,
    HouseholdReader,
    HouseholdWriter,
    PlacementReader,
    PlacementWriter,
    ReportListReader,
    ReportReader,
    ReportWriter,
)
from services.carers.api_journey import router as journey_router
from services.carers.api_panels import router as panels_router
from services.carers.api_records import router as records_router
from services.carers.events import (
    AllegationReceived,
    AllegationReported,
    CheckRecorded,
    Concern,
    DeadlineSet,
    EndingRecorded,
    HoldPlaced,
    HouseholdApproved,
    HouseholdEntryAmended,
    HouseholdRegistered,
    MemberAdded,
    PlacementEnded,
    PlacementStarted,
    ReviewRecorded,
    SupervisionRecorded,
    TrainingRecorded,
    WorkerSupervisionRecorded,
    WorkerTrainingRecorded,
)
from services.carers.rules import (
    AllegationState,
    Clock,
    ComplianceReport,
    HouseholdState,
    HouseholdStatus,
    compliance,
    ending_parts_of,
)
from shared.access import children_read, readable
from shared.commanding import CommandRoute
from shared.contracts.base import load, load_as
from shared.eventstore import RecordedEvent
from shared.listing import DEFAULT_PAGE_SIZE, Cursor, Limit, PageInfo, Search, decode_cursor, page_of, search_query
from shared.policy import Resource
from shared.problems import Problem
from shared.responses import CommandResult, result_of
from shared.service import ServiceSpec

router = APIRouter(prefix="/v1", tags=["carers"], route_class=CommandRoute)


# ---- what the commands answer ------------------------------------------------------------------
class HouseholdRecorded(CommandResult):
    household_id: uuid.UUID


class MemberRecorded(HouseholdRecorded):
    member_id: uuid.UUID


class AmendmentRecorded(HouseholdRecorded):
    amendment_id: uuid.UUID


class CheckResultRecorded(CommandResult):
    check_id: uuid.UUID
    expires_on: date | None


class ApprovalRecorded(HouseholdRecorded):
    status: HouseholdStatus


class SupervisionResult(CommandResult):
    supervision_id: uuid.UUID
    concerns: list[Concern]
    agenda_items_open: list[uuid.UUID]


class TrainingResult(CommandResult):
    training_id: uuid.UUID


class ReviewResult(CommandResult):
    review_id: uuid.UUID
    first_review: bool


class HouseholdsPage(PageInfo):
    households: list[pj.HouseholdListItem]


class HoldResult(CommandResult):
    hold_id: uuid.UUID


class TrainingGapClock(BaseModel):
    member_id: uuid.UUID | None
    course: str | None
    due_at: datetime


class PlacementResult(CommandResult):
    placement_id: uuid.UUID
    child_needs: list[str]
    training_gaps: list[TrainingGapClock]


class PlacementEndResult(CommandResult):
    placement_id: uuid.UUID
    ending_recorded: list[str]
    ending_flagged: bool


class WorkerTrainingResult(CommandResult):
    worker_id: str
    training_id: uuid.UUID
    expires_on: date
    deadline_id: uuid.UUID


class EndingResult(CommandResult):
    placement_id: uuid.UUID
    ending_recorded: list[str]


class WorkerSupervisionResult(CommandResult):
    worker_id: str
    supervision_id: uuid.UUID
    next_due_at: datetime
    deadline_id: uuid.UUID


class AllegationRecorded(CommandResult):
    allegation_id: uuid.UUID
    hold_id: uuid.UUID
    lado_referral_due_at: datetime


class ReportReceived(BaseModel):
    """An allegation kept for the registered manager's triage (202): the same whatever it names."""

    report_id: uuid.UUID
    status: str
    detail: str


class ReportClosed(CommandResult):
    report_id: uuid.UUID
    outcome: str


class AllegationStep(CommandResult):
    allegation_id: uuid.UUID


class OutcomeRecorded(AllegationStep):
    outcome: str


def _clocks_set(recorded: list[RecordedEvent], kind: Clock) -> list[DeadlineSet]:
    clocks = (load(e) for e in recorded[1:])
    return [c for c in clocks if isinstance(c, DeadlineSet) and c.kind == kind]


# ---- what the reads answer ---------------------------------------------------------------------
class OverdueHouseholds(BaseModel):
    as_of: datetime
    count: int
    households: list[pj.OverdueHousehold]


class CaseloadTargets(BaseModel):
    children: int
    households: int


class Caseloads(BaseModel):
    as_of: datetime
    targets: CaseloadTargets
    workers: list[pj.WorkerCaseload]
    over_target: list[str]
    supervision_overdue: list[str]
    training_overdue: list[str]


async def _household(request: Request, household_id: uuid.UUID) -> HouseholdState:
    async with request.app.state.store.acquire() as conn:
        state = await pj.household(conn, household_id)
    if state is None:
        raise Problem("not-found", f"No household {household_id}.")
    return state


# ---- households ------------------------------------------------------------------------------
@router.post("/households", summary="Register a fostering household", responses=REFUSALS, **CREATED)
async def register_household(ctx: Ctx, body: cmd.HouseholdIn, _caller: HouseholdCreator) -> HouseholdRecorded:
    recorded = await cmd.register_household(ctx, body)
    return HouseholdRecorded(**result_of(recorded), household_id=load_as(HouseholdRegistered, recorded[0]).household_id)


@router.get("/compliance/households", summary="Agency view: every household with anything overdue")
async def overdue_households(request: Request, _: ReportReader) -> OverdueHouseholds:
    now = request.app.state.clock.now()
    async with request.app.state.store.acquire() as conn:
        households = await pj.overdue_households(conn, now, request.app.state.settings.carers)
    return OverdueHouseholds(as_of=now, count=len(households), households=households)


@router.get(
    "/households",
    summary="The households the caller may read: filtered, searched by name, a page at a time",
    responses=REFUSALS,
)
async def list_households(
    request: Request,
    caller: HouseholdLister,
    status: Annotated[HouseholdStatus | None, Query(description="In assessment, approved, refused or ended")] = None,
    worker: Annotated[str | None, Query(max_length=255, description="The supervising social worker")] = None,
    overdue: Annotated[bool | None, Query(description="With (true) or without (false) anything overdue")] = None,
    q: Search = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> HouseholdsPage:
    wanted = pj.HouseholdFilter(
        await readable(request.app.state, caller, Resource.HOUSEHOLD, "household"),
        worker,
        status,
        overdue,
        search_query(q),
    )
    after = decode_cursor(cursor)
    now = request.app.state.clock.now()
    async with request.app.state.store.acquire() as conn:
        rows = await pj.list_households(conn, wanted, now, request.app.state.settings.carers, after, limit + 1)
    page, next_cursor = page_of(rows, limit, lambda row: (row.name, row.household_id))
    return HouseholdsPage(households=page, next_cursor=next_cursor)


@router.get("/households/{household_id}", summary="A household: members, checks, approval, holds, placements")
async def get_household(
    request: Request,
    response: Response,
    household_id: uuid.UUID,
    _: HouseholdReader,
) -> pj.HouseholdView:
    state = await _household(request, household_id)
    async with request.app.state.store.acquire() as conn:
        placements = await pj.placements_of(conn, household_id)
    await children_read(request, (p.child_id for p in placements))
    response.headers["ETag"] = f'"{state.version}"'
    return pj.household_view(state, placements, request.app.state.clock.now().date())


@router.post(
    "/households/{household_id}/members", summary="Add a person to the household", responses=REFUSALS, **CREATED
)
async def add_member(
    ctx: Ctx,
    household_id: uuid.UUID,
    body: cmd.MemberIn,
    _caller: HouseholdWriter,
) -> MemberRecorded:
    recorded = await cmd.add_member(ctx, household_id, body)
    added = load_as(MemberAdded, recorded[0])
    return MemberRecorded(**result_of(recorded), household_id=household_id, member_id=added.member_id)


@router.post(
    "/households/{household_id}/members/{member_id}/leave",
    summary="Record that a person left the household (no longer one of its adults; their clocks stop)",
    responses=REFUSALS,
    **CREATED,
)
async def member_left(
    ctx: Ctx,
    household_id: uuid.UUID,
    member_id: uuid.UUID,
    body: cmd.MemberLeftIn,
    _caller: HouseholdWriter,
) -> MemberRecorded:
    recorded = await cmd.member_left(ctx, household_id, member_id, body)
    return MemberRecorded(**result_of(recorded), household_id=household_id, member_id=member_id)


@router.post(
    "/households/{household_id}/members/{member_id}/demographics",
    summary="Record a carer's sex, ethnicity, disability and connected-person status, as declared",
    responses=REFUSALS,
    **CREATED,
)
async def record_demographics(
    ctx: Ctx,
    household_id: uuid.UUID,
    member_id: uuid.UUID,
    body: cmd.MemberDemographicsIn,
    _caller: HouseholdWriter,
) -> MemberRecorded:
    recorded = await cmd.record_demographics(ctx, household_id, member_id, body)
    return MemberRecorded(**result_of(recorded), household_id=household_id, member_id=member_id)


@router.post(
    "/households/{household_id}/amendments",
    summary="Correct an entry of the household's record (the entry stays; the correction sits beside it)",
    responses=REFUSALS,
    **CREATED,
)
async def amend_household_entry(
    ctx: Ctx,
    household_id: uuid.UUID,
    body: cmd.HouseholdAmendmentIn,
    _caller: HouseholdWriter,
) -> AmendmentRecorded:
    recorded = await cmd.amend_household_entry(ctx, household_id, body)
    amended = load_as(HouseholdEntryAmended, recorded[0])
    return AmendmentRecorded(**result_of(recorded), household_id=household_id, amendment_id=amended.amendment_id)


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
) -> CheckResultRecorded:
    recorded = await cmd.record_check(ctx, household_id, member_id, body)
    checked = load_as(CheckRecorded, recorded[0])
    return CheckResultRecorded(**result_of(recorded), check_id=checked.check_id, expires_on=checked.expires_on)


@router.post(
    "/households/{household_id}/approval", summary="Approve (with terms) or refuse", responses=REFUSALS, **CREATED
)
async def decide_approval(
    ctx: Ctx,
    household_id: uuid.UUID,
    body: cmd.ApprovalIn,
    _caller: HouseholdWriter,
) -> ApprovalRecorded:
    recorded = await cmd.record_approval(ctx, household_id, body)
    approved = isinstance(load(recorded[0]), HouseholdApproved)
    status = HouseholdStatus.APPROVED if approved else HouseholdStatus.REFUSED
    return ApprovalRecorded(**result_of(recorded), household_id=household_id, status=status)


@router.post("/households/{household_id}/approval/end", summary="End the approval", responses=REFUSALS, **CREATED)
async def end_approval(
    ctx: Ctx,
    household_id: uuid.UUID,
    body: cmd.EndApprovalIn,
    _caller: HouseholdWriter,
) -> ApprovalRecorded:
    recorded = await cmd.end_approval(ctx, household_id, body)
    return ApprovalRecorded(**result_of(recorded), household_id=household_id, status=HouseholdStatus.ENDED)


@router.post(
    "/households/{household_id}/supervisions", summary="A supervision by the SSW", responses=REFUSALS, **CREATED
)
async def record_supervision(
    request: Request,
    ctx: Ctx,
    household_id: uuid.UUID,
    body: cmd.SupervisionIn,
    _caller: HouseholdWriter,
) -> SupervisionResult:
    recorded = await cmd.record_supervision(ctx, household_id, body)
    supervision = load_as(SupervisionRecorded, recorded[0])
    state = await _household(request, household_id)  # as this supervision left it
    return SupervisionResult(
        **result_of(recorded),
        supervision_id=supervision.supervision_id,
        concerns=supervision.concerns,
        agenda_items_open=[a.item_id for a in state.agenda.values() if a.discussed_at is None],
    )


@router.post(
    "/households/{household_id}/training", summary="A course completed by a carer", responses=REFUSALS, **CREATED
)
async def record_training(
    ctx: Ctx,
    household_id: uuid.UUID,
    body: cmd.TrainingIn,
    _caller: HouseholdWriter,
) -> TrainingResult:
    recorded = await cmd.record_training(ctx, household_id, body)
    return TrainingResult(**result_of(recorded), training_id=load_as(TrainingRecorded, recorded[0]).training_id)


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
) -> ReviewResult:
    recorded = await cmd.record_review(ctx, household_id, body)
    review = load_as(ReviewRecorded, recorded[0])
    return ReviewResult(**result_of(recorded), review_id=review.review_id, first_review=review.first_review)


@router.post("/households/{household_id}/holds", summary="Hold new placements", responses=REFUSALS, **CREATED)
async def place_hold(
    ctx: Ctx,
    household_id: uuid.UUID,
    body: cmd.HoldIn,
    _caller: HouseholdWriter,
) -> HoldResult:
    recorded = await cmd.place_hold(ctx, household_id, body)
    return HoldResult(**result_of(recorded), hold_id=load_as(HoldPlaced, recorded[0]).hold_id)


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
) -> HoldResult:
    recorded = await cmd.lift_hold(ctx, household_id, hold_id, body)
    return HoldResult(**result_of(recorded), hold_id=hold_id)


@router.get("/households/{household_id}/compliance", summary="Every clock of the household: due date and status")
async def household_compliance(
    request: Request,
    household_id: uuid.UUID,
    _: HouseholdReader,
) -> ComplianceReport:
    state = await _household(request, household_id)
    return compliance(state, request.app.state.clock.now(), request.app.state.settings.carers)


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
) -> PlacementResult:
    recorded = await cmd.start_placement(ctx, body)
    started = load_as(PlacementStarted, recorded[0])
    gaps = [
        TrainingGapClock(member_id=d.member_id, course=d.course, due_at=d.due_at)
        for d in _clocks_set(recorded, Clock.NEEDS_TRAINING)
    ]
    return PlacementResult(
        **result_of(recorded), placement_id=started.placement_id, child_needs=started.child_needs, training_gaps=gaps
    )


@router.get("/placements/{placement_id}", summary="A placement")
async def get_placement(
    request: Request,
    placement_id: uuid.UUID,
    _: PlacementReader,
) -> pj.PlacementRow:
    async with request.app.state.store.acquire() as conn:
        found = await pj.placement(conn, placement_id)
    if found is None:
        raise Problem("not-found", f"No placement {placement_id}.")
    return found


@router.post("/placements/{placement_id}/end", summary="End a placement", responses=REFUSALS, **CREATED)
async def end_placement(
    ctx: Ctx,
    placement_id: uuid.UUID,
    body: cmd.PlacementEndIn,
    _caller: PlacementWriter,
) -> PlacementEndResult:
    recorded = await cmd.end_placement(ctx, placement_id, body)
    parts = ending_parts_of(load_as(PlacementEnded, recorded[0]))
    return PlacementEndResult(
        **result_of(recorded), placement_id=placement_id, ending_recorded=parts, ending_flagged=not parts
    )


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
) -> EndingResult:
    recorded = await cmd.record_ending(ctx, placement_id, body)
    parts = ending_parts_of(load_as(EndingRecorded, recorded[0]))
    return EndingResult(**result_of(recorded), placement_id=placement_id, ending_recorded=parts)


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
) -> WorkerSupervisionResult:
    recorded = await cmd.record_worker_supervision(ctx, worker_id, body)
    supervision = load_as(WorkerSupervisionRecorded, recorded[0])
    [next_clock] = _clocks_set(recorded, Clock.WORKER_SUPERVISION)
    return WorkerSupervisionResult(
        **result_of(recorded),
        worker_id=worker_id,
        supervision_id=supervision.supervision_id,
        next_due_at=next_clock.due_at,
        deadline_id=next_clock.deadline_id,
    )


@router.get("/caseloads", summary="Per worker: children and households allocated against targets; supervision")
async def caseloads(
    request: Request,
    _: ReportListReader,
    worker_id: Annotated[str | None, Query(max_length=200)] = None,
) -> Caseloads:
    now = request.app.state.clock.now()
    practice = request.app.state.settings.carers
    async with request.app.state.store.acquire() as conn:
        workers = await pj.caseloads(conn, now, practice, worker_id)
    await children_read(
        request, {*(c for w in workers for c in w.child_ids), *(s.child_id for w in workers for s in w.children_to_see)}
    )
    return Caseloads(
        as_of=now,
        targets=CaseloadTargets(
            children=practice.caseload_children_target, households=practice.caseload_households_target
        ),
        workers=workers,
        over_target=[w.worker_id for w in workers if w.over_target],
        supervision_overdue=[w.worker_id for w in workers if w.supervision.overdue],
        training_overdue=[w.worker_id for w in workers if w.overdue_training],
    )


@router.post(
    "/workers/{worker_id}/training",
    summary="A member of staff's safeguarding or supervision training, valid to its expiry (renewal clock)",
    responses=REFUSALS,
    **CREATED,
)
async def record_worker_training(
    ctx: Ctx,
    worker_id: WorkerId,
    body: cmd.WorkerTrainingIn,
    _caller: ReportWriter,
) -> WorkerTrainingResult:
    recorded = await cmd.record_worker_training(ctx, worker_id, body)
    trained = load_as(WorkerTrainingRecorded, recorded[0])
    [renewal] = _clocks_set(recorded, Clock.STAFF_TRAINING)
    return WorkerTrainingResult(
        **result_of(recorded),
        worker_id=worker_id,
        training_id=trained.training_id,
        expires_on=trained.expires_on,
        deadline_id=renewal.deadline_id,
    )


# ---- allegations -----------------------------------------------------------------------------
@router.post(
    "/allegations",
    summary="An allegation against a household member (puts the household on hold; LADO clock)",
    responses={
        **REFUSALS,
        202: {"description": "Reported for the registered manager's triage", "model": ReportReceived},
    },
    **CREATED,
)
async def receive_allegation(
    ctx: Ctx,
    body: cmd.AllegationIn,
    response: Response,
    _caller: AllegationCreator,
) -> AllegationRecorded | ReportReceived:
    recorded = await cmd.receive_allegation(ctx, body)
    first = load(recorded[0])
    if isinstance(first, AllegationReported):
        response.status_code = 202  # reported for triage, not recorded as an allegation yet
        report = first
        return ReportReceived(report_id=report.report_id, status="received", detail=cmd.REPORT_RECEIVED)
    [referral] = _clocks_set(recorded, Clock.LADO_REFERRAL)
    return AllegationRecorded(
        **result_of(recorded),
        allegation_id=load_as(AllegationReceived, recorded[0]).allegation_id,
        hold_id=cmd.hold_id_of(recorded[0]),
        lado_referral_due_at=referral.due_at,
    )


@router.get("/allegation-reports/{report_id}", summary="An allegation reported for triage (managers)")
async def get_allegation_report(
    request: Request,
    report_id: uuid.UUID,
    _caller: AllegationReportReader,
) -> pj.AllegationReportView:
    found = await pj.allegation_report(request.app.state.store, report_id)
    if found is None:
        raise Problem("not-found", f"No allegation report {report_id}.")
    return found


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
) -> ReportClosed:
    recorded = await cmd.close_allegation_report(ctx, report_id, body)
    return ReportClosed(**result_of(recorded), report_id=report_id, outcome="closed")


@router.get("/allegations/{allegation_id}", summary="An allegation and its clocks")
async def get_allegation(
    request: Request,
    allegation_id: uuid.UUID,
    _: AllegationReader,
) -> AllegationState:
    async with request.app.state.store.acquire() as conn:
        found = await pj.allegation(conn, allegation_id)
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
) -> AllegationStep:
    recorded = await cmd.record_lado_referral(ctx, allegation_id, body)
    return AllegationStep(**result_of(recorded), allegation_id=allegation_id)


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
) -> AllegationStep:
    recorded = await cmd.record_written_confirmation(ctx, allegation_id, body)
    return AllegationStep(**result_of(recorded), allegation_id=allegation_id)


@router.post("/allegations/{allegation_id}/outcome", summary="The allegation's outcome", responses=REFUSALS, **CREATED)
async def allegation_outcome(
    ctx: Ctx,
    allegation_id: uuid.UUID,
    body: cmd.OutcomeIn,
    _caller: AllegationWriter,
) -> OutcomeRecorded:
    recorded = await cmd.record_outcome(ctx, allegation_id, body)
    return OutcomeRecorded(**result_of(recorded), allegation_id=allegation_id, outcome=body.outcome.value)


SERVICE = ServiceSpec(
    name="carers",
    router=router,
    more_routers=(records_router, journey_router, approvals_router, panels_router),
    projectors=pj.projectors,
)
