"""visits: the HTTP API. Each route declares who may call it and what it answers; commands answer
with what they recorded (`CommandResult` and the ids the caller needs next), reads with the typed
rows of the projections' query functions."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from services.visits import commands as cmd
from services.visits import projections as pj
from services.visits import rules
from services.visits.api_returns import router as returns_router
from services.visits.events import ChildNeed, ConcernEscalation, HealthCheckKind, PlanKind
from shared.access import access, children_read, readable
from shared.auth import Principal, Role
from shared.commanding import CommandContext, CommandRoute, command_context
from shared.documents import (
    DOWNLOAD_RESPONSES,
    UPLOAD_OPENAPI,
    DocumentResult,
    Filename,
    Kind,
    Title,
    attached_to,
    document_store,
    download,
    read_upload,
)
from shared.eventstore import ChronologyQuery, EventFilter, EventStore, RecordedEvent
from shared.listing import DEFAULT_PAGE_SIZE, Cursor, Limit, PageInfo, Search, decode_cursor, page_of, search_query
from shared.policy import Action, Resource
from shared.problems import Problem
from shared.responses import CommandResult, result_of
from shared.service import ServiceSpec
from shared.types import Instant

router = APIRouter(prefix="/v1", tags=["visits"], route_class=CommandRoute)

# Who may call each route (shared/policy.py decides; shared/access enforces and logs reads).
ChildCreator = Annotated[Principal, access(Resource.CHILD, Action.CREATE)]
ChildReader = Annotated[Principal, access(Resource.CHILD, Action.READ, locate="child", param="child_id", audited=True)]
ChildLister = Annotated[Principal, access(Resource.CHILD, Action.READ, listing=True)]
ChildWriter = Annotated[Principal, access(Resource.CHILD, Action.WRITE, locate="child", param="child_id")]
ComplaintWriter = Annotated[Principal, access(Resource.CHILD, Action.WRITE, locate="complaint", param="complaint_id")]
ReportListReader = Annotated[Principal, access(Resource.REPORT, Action.READ, self_param="worker_id")]
SharedPlanWriter = Annotated[Principal, access(Resource.SHARED_PLAN, Action.WRITE, locate="child", param="child_id")]
ComplaintReader = Annotated[
    Principal, access(Resource.CHILD, Action.READ, locate="complaint", param="complaint_id", audited=True)
]
SharedPlanReader = Annotated[
    Principal, access(Resource.SHARED_PLAN, Action.READ, locate="child", param="child_id", audited=True)
]

Ctx = Annotated[CommandContext, Depends(command_context("visits"))]
ChildId = Annotated[uuid.UUID, Path(description="The child's id")]
ComplaintId = Annotated[uuid.UUID, Path(description="The complaint's id")]
PlanId = Annotated[uuid.UUID, Path(description="The plan's id (one per child and kind)")]
ConcernId = Annotated[uuid.UUID, Path(description="The concern's id")]

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid bearer token"},
    403: {"description": "Read-only role"},
    404: {"description": "Unknown child or complaint"},
    409: {"description": "Concurrent change or wrong state"},
    412: {"description": "If-Match does not match the current version"},
    422: {"description": "Invalid input or a recording rule refused it; nothing was written"},
}


# ---- what commands answer ------------------------------------------------------------------------
class OfChild(CommandResult):
    child_id: uuid.UUID


class ChildResult(OfChild):
    name: str
    date_of_birth: date
    legal_status: str
    placing_authority: str
    social_worker_id: str | None
    looked_after_since: date


class ChildrenPage(PageInfo):
    children: list[pj.ChildListItem]


class ChildDocument(OfChild, DocumentResult):
    pass


class ChildDocuments(BaseModel):
    child_id: uuid.UUID
    documents: list[ChildDocument]


class NeedsResult(OfChild):
    needs: list[ChildNeed]


class VisitResult(OfChild):
    visit_id: uuid.UUID


class ContactResult(OfChild):
    contact_id: uuid.UUID


class IncidentResult(OfChild):
    incident_id: uuid.UUID


class StatementResult(OfChild):
    statement_id: uuid.UUID


class AmendmentResult(OfChild):
    amendment_id: uuid.UUID
    amends_event_id: uuid.UUID


class ComplaintResult(OfChild):
    complaint_id: uuid.UUID


class ComplaintReceivedResult(ComplaintResult):
    schedule7_row9: bool
    lado_consultation: bool


class PlanResult(OfChild):
    plan_id: uuid.UUID
    kind: PlanKind
    plan_version: int


class RiskAssessmentResult(OfChild):
    assessment_id: uuid.UUID


class HealthCheckResult(OfChild):
    check_id: uuid.UUID
    kind: HealthCheckKind


class ReviewResult(OfChild):
    review_id: uuid.UUID
    number: int


class ConcernResult(OfChild):
    concern_id: uuid.UUID


class ConcernEscalationResult(ConcernResult):
    to: ConcernEscalation
    complaint_id: uuid.UUID | None
    allegation_id: uuid.UUID | None = None


R = TypeVar("R", bound=CommandResult)
T = TypeVar("T")


def _answer(model: type[R], recorded: list[RecordedEvent], **extra: Any) -> R:
    """What the command recorded, with the fields of `model` its main event's payload holds."""
    data = recorded[0].data
    own = {k: data[k] for k in model.model_fields.keys() - CommandResult.model_fields.keys() if k in data}
    return model(**result_of(recorded), **{**own, **extra})


def _store(request: Request) -> EventStore:
    store: EventStore = request.app.state.store
    return store


def _now(request: Request) -> datetime:
    now: datetime = request.app.state.clock.now()
    return now


def _found(found: T | None, missing: str) -> T:
    if found is None:
        raise Problem("not-found", missing)
    return found


# ---- children ------------------------------------------------------------------------------------
@router.post("/children", status_code=201, summary="Register a child", responses=PROBLEMS)
async def register_child(body: cmd.RegisterChild, ctx: Ctx, response: Response, _caller: ChildCreator) -> ChildResult:
    answer = _answer(ChildResult, await cmd.register_child(ctx, body))
    response.headers["Location"] = f"/v1/children/{answer.child_id}"
    response.headers["ETag"] = f'"{answer.version}"'
    return answer


@router.get(
    "/children",
    summary="The children the caller may read: filtered, searched by name, a page at a time (each is access-logged)",
    responses=PROBLEMS,
)
async def list_children(
    request: Request,
    caller: ChildLister,
    status: Annotated[pj.PlacedStatus | None, Query(description="Placed now, or not")] = None,
    worker: Annotated[str | None, Query(max_length=255, description="The child's social worker")] = None,
    household_id: Annotated[uuid.UUID | None, Query(description="Placed with this household now")] = None,
    overdue: Annotated[bool | None, Query(description="With (true) or without (false) an overdue clock")] = None,
    q: Search = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> ChildrenPage:
    wanted = pj.ChildFilter(
        await readable(request.app.state, caller, Resource.CHILD, "child"),
        worker,
        household_id,
        status,
        overdue,
        search_query(q),
    )
    after = decode_cursor(cursor)
    async with _store(request).acquire() as conn:
        rows = await pj.list_children(conn, wanted, _now(request), after, limit + 1)
    page, next_cursor = page_of(rows, limit, lambda row: (row.name, row.child_id))
    await children_read(request, [row.child_id for row in page])
    return ChildrenPage(children=page, next_cursor=next_cursor)


@router.get("/children/{child_id}", summary="A child's current details and version", responses=PROBLEMS)
async def get_child(child_id: ChildId, request: Request, response: Response, _: ChildReader) -> pj.ChildView:
    async with _store(request).acquire() as conn:
        child = pj.ChildView.of(await pj.child_context(conn, child_id))
    found = _found(child, f"No child {child_id}.")
    response.headers["ETag"] = f'"{found.version}"'
    return found


@router.post(
    "/children/{child_id}/needs",
    status_code=201,
    summary="Record the child's needs now (the carers' training is matched to them)",
    responses=PROBLEMS,
)
async def record_needs(child_id: ChildId, body: cmd.RecordNeeds, ctx: Ctx, _caller: ChildWriter) -> NeedsResult:
    return _answer(NeedsResult, await cmd.record_needs(ctx, child_id, body))


# ---- documents -----------------------------------------------------------------------------------
DocumentId = Annotated[uuid.UUID, Path(description="The document's id")]


@router.post(
    "/children/{child_id}/documents",
    status_code=201,
    summary="Attach a document (PDF, image or Office file) to the child's record: the body is the file",
    responses=PROBLEMS,
    openapi_extra=UPLOAD_OPENAPI,
)
async def attach_document(
    child_id: ChildId, request: Request, ctx: Ctx, _caller: ChildWriter, kind: Kind, title: Title, filename: Filename
) -> ChildDocument:
    upload = await read_upload(request, filename)
    recorded = await cmd.attach_document(ctx, document_store(request.app.state), child_id, upload, kind, title)
    return _answer(ChildDocument, recorded)


@router.get(
    "/children/{child_id}/documents", summary="The documents on the child's record (access-logged)", responses=PROBLEMS
)
async def list_documents(child_id: ChildId, request: Request, _: ChildReader) -> ChildDocuments:
    found = await _store(request).read(
        EventFilter(child_id=child_id, types=[cmd.DocumentAttached.event_type], limit=10_000)
    )
    documents = [ChildDocument(**result_of([e]), **e.data) for e in found if e.data.get("child_id") == str(child_id)]
    return ChildDocuments(child_id=child_id, documents=documents)


@router.get(
    "/children/{child_id}/documents/{document_id}",
    summary="Download a document of the child's record (an attachment; access-logged)",
    responses={**DOWNLOAD_RESPONSES, **PROBLEMS},
    response_class=Response,
)
async def download_document(child_id: ChildId, document_id: DocumentId, request: Request, _: ChildReader) -> Response:
    first = await _store(request).first_event(f"document-{document_id}")
    data = attached_to(first.data if first is not None else None, "child_id", child_id)
    return download(request, data["sha256"], data["filename"], data["media_type"])


# ---- the record ----------------------------------------------------------------------------------
@router.post("/children/{child_id}/visits", status_code=201, summary="Record a visit", responses=PROBLEMS)
async def record_visit(child_id: ChildId, body: cmd.RecordVisit, ctx: Ctx, _caller: ChildWriter) -> VisitResult:
    return _answer(VisitResult, await cmd.record_visit(ctx, child_id, body))


@router.post("/children/{child_id}/contacts", status_code=201, summary="Record any other contact", responses=PROBLEMS)
async def record_contact(child_id: ChildId, body: cmd.RecordContact, ctx: Ctx, _caller: ChildWriter) -> ContactResult:
    return _answer(ContactResult, await cmd.record_contact(ctx, child_id, body))


@router.post(
    "/children/{child_id}/incidents", status_code=201, summary="Record an incident or health event", responses=PROBLEMS
)
async def record_incident(
    child_id: ChildId, body: cmd.RecordIncident, ctx: Ctx, _caller: ChildWriter
) -> IncidentResult:
    return _answer(IncidentResult, await cmd.record_incident(ctx, child_id, body))


@router.post(
    "/children/{child_id}/statements", status_code=201, summary="Add the child's own words", responses=PROBLEMS
)
async def record_statement(
    child_id: ChildId, body: cmd.RecordStatement, ctx: Ctx, _caller: ChildWriter
) -> StatementResult:
    return _answer(StatementResult, await cmd.record_statement(ctx, child_id, body))


@router.post(
    "/children/{child_id}/amendments",
    status_code=201,
    summary="Correct an earlier entry (the entry itself is never changed)",
    responses=PROBLEMS,
)
async def amend_entry(child_id: ChildId, body: cmd.AmendEntry, ctx: Ctx, _caller: ChildWriter) -> AmendmentResult:
    return _answer(AmendmentResult, await cmd.amend_entry(ctx, child_id, body))


# ---- complaints ----------------------------------------------------------------------------------
@router.post("/children/{child_id}/complaints", status_code=201, summary="Receive a complaint", responses=PROBLEMS)
async def receive_complaint(
    child_id: ChildId, body: cmd.ReceiveComplaint, ctx: Ctx, _caller: ChildWriter
) -> ComplaintReceivedResult:
    return _answer(ComplaintReceivedResult, await cmd.receive_complaint(ctx, child_id, body))


@router.post("/complaints/{complaint_id}/acknowledge", summary="Acknowledge a complaint", responses=PROBLEMS)
async def acknowledge_complaint(
    complaint_id: ComplaintId, body: cmd.AcknowledgeComplaint, ctx: Ctx, _caller: ComplaintWriter
) -> ComplaintResult:
    return _answer(ComplaintResult, await cmd.on_complaint(ctx, complaint_id, cmd.decide_acknowledgement, body))


@router.post(
    "/complaints/{complaint_id}/respond", summary="Record the response at the current stage", responses=PROBLEMS
)
async def respond_complaint(
    complaint_id: ComplaintId, body: cmd.RespondComplaint, ctx: Ctx, _caller: ComplaintWriter
) -> ComplaintResult:
    return _answer(ComplaintResult, await cmd.on_complaint(ctx, complaint_id, cmd.decide_response, body))


@router.post(
    "/complaints/{complaint_id}/extend",
    summary="Extend the current stage's timescale with a recorded reason (stage 1 to 20, stage 2 to 65 working days)",
    responses=PROBLEMS,
)
async def extend_complaint(
    complaint_id: ComplaintId, body: cmd.ExtendComplaint, ctx: Ctx, _caller: ComplaintWriter
) -> ComplaintResult:
    return _answer(ComplaintResult, await cmd.on_complaint(ctx, complaint_id, cmd.decide_extension, body))


@router.post("/complaints/{complaint_id}/escalate", summary="Escalate to the next stage", responses=PROBLEMS)
async def escalate_complaint(
    complaint_id: ComplaintId, body: cmd.EscalateComplaint, ctx: Ctx, _caller: ComplaintWriter
) -> ComplaintResult:
    return _answer(ComplaintResult, await cmd.on_complaint(ctx, complaint_id, cmd.decide_escalation, body))


@router.post(
    "/complaints/{complaint_id}/panel",
    summary="Stage 3: record that the review panel met (its report is then due in 5 working days)",
    responses=PROBLEMS,
)
async def record_complaint_panel(
    complaint_id: ComplaintId, body: cmd.RecordPanel, ctx: Ctx, _caller: ComplaintWriter
) -> ComplaintResult:
    return _answer(ComplaintResult, await cmd.on_complaint(ctx, complaint_id, cmd.decide_panel, body))


@router.post(
    "/complaints/{complaint_id}/panel-report",
    summary="Stage 3: record the review panel's report (the agency's response is then due in 15 working days)",
    responses=PROBLEMS,
)
async def record_complaint_panel_report(
    complaint_id: ComplaintId, body: cmd.RecordPanelReport, ctx: Ctx, _caller: ComplaintWriter
) -> ComplaintResult:
    return _answer(ComplaintResult, await cmd.on_complaint(ctx, complaint_id, cmd.decide_panel_report, body))


@router.post("/complaints/{complaint_id}/close", summary="Close a complaint that has a response", responses=PROBLEMS)
async def close_complaint(
    complaint_id: ComplaintId, body: cmd.CloseComplaint, ctx: Ctx, _caller: ComplaintWriter
) -> ComplaintResult:
    return _answer(ComplaintResult, await cmd.on_complaint(ctx, complaint_id, cmd.decide_closing, body))


@router.get("/complaints/{complaint_id}", summary="A complaint, its stage and its clocks", responses=PROBLEMS)
async def get_complaint(
    complaint_id: ComplaintId, request: Request, response: Response, _: ComplaintReader
) -> pj.ComplaintDetail:
    async with _store(request).acquire() as conn:
        complaint = await pj.complaint(conn, complaint_id, _now(request))
    found = _found(complaint, f"No complaint {complaint_id}.")
    response.headers["ETag"] = f'"{found.version}"'
    return found


# ---- chronology ----------------------------------------------------------------------------------
@router.get(
    "/children/{child_id}/chronology",
    summary="Every event about the child, from every service, in order",
    response_model=pj.Chronology,
    responses=PROBLEMS,
)
async def chronology(
    child_id: ChildId,
    request: Request,
    _: ChildReader,
    from_: Annotated[Instant | None, Query(alias="from", description="Occurred at or after")] = None,
    to: Annotated[Instant | None, Query(description="Occurred at or before")] = None,
    types: Annotated[list[str] | None, Query(description="Only these event types")] = None,
    as_of: Annotated[Instant | None, Query(description="What the agency knew at this instant")] = None,
    order: pj.Order = pj.Order.OCCURRED,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    # Answered as the log holds it (payloads passed through, not parsed): the schema is Chronology.
    query = ChronologyQuery(
        child_id=child_id,
        as_of=as_of,
        occurred_from=from_,
        occurred_to=to,
        types=types,
        order=order.value,
        after=pj.decode_cursor(cursor, order) if cursor else None,
        limit=limit,
    )
    body = await pj.chronology(_store(request), query, request.app.state.settings.late_entry_hours)
    return Response(_found(body, f"No child {child_id}."), media_type="application/json")


# ---- compliance and the worklist -----------------------------------------------------------------
@router.get(
    "/children/{child_id}/compliance",
    summary="The child's statutory clocks, by the clock now or as the agency knew them at a past instant",
    responses=PROBLEMS,
)
async def compliance(
    child_id: ChildId,
    request: Request,
    _: ChildReader,
    as_of: Annotated[
        Instant | None,
        Query(description="As the agency knew it at this past instant, by the clock then (default: now)"),
    ] = None,
) -> pj.ChildCompliance:
    if as_of is not None:
        if as_of > _now(request):
            raise Problem("validation", "as_of is in the future: nothing is known of it yet.")
        projectors = pj.projectors(request.app.state.settings)
        found = await pj.compliance_as_of(_store(request), projectors, child_id, as_of)
        return _found(found, f"No child {child_id} as of {as_of.isoformat()}.")
    async with _store(request).acquire() as conn:
        found = await pj.compliance(conn, child_id, _now(request))
    return _found(found, f"No child {child_id}.")


class VisitWorklist(BaseModel):
    as_at: datetime
    before: datetime = Field(description="What falls due by this instant.")
    worker_id: str | None
    items: list[pj.WorklistItem]


@router.get("/visits/due", summary="The worklist: visits due or overdue, per worker", responses=PROBLEMS)
async def visits_due(
    request: Request,
    _: ReportListReader,
    worker_id: Annotated[str | None, Query(max_length=200, description="The child's social worker")] = None,
    before: Annotated[Instant | None, Query(description="Due at or before (default: the next 14 days)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> VisitWorklist:
    now = _now(request)
    until = before or now + timedelta(days=request.app.state.settings.visits.worklist_horizon_days)
    async with _store(request).acquire() as conn:
        items = await pj.worklist(conn, until, worker_id, limit, now)
    await children_read(request, (i.child_id for i in items if i.child_id))
    return VisitWorklist(as_at=now, before=until, worker_id=worker_id, items=items)


# ---- plans, shared with the carers (reg 17) ------------------------------------------------------
@router.post(
    "/children/{child_id}/plans", status_code=201, summary="Record a new version of a plan", responses=PROBLEMS
)
async def record_plan(child_id: ChildId, body: cmd.RecordPlan, ctx: Ctx, _caller: ChildWriter) -> PlanResult:
    recorded = await cmd.record_plan(ctx, child_id, body)
    return _answer(PlanResult, recorded, plan_version=recorded[0].data["version"])


@router.post(
    "/children/{child_id}/plans/{plan_id}/share",
    status_code=201,
    summary="Share a version of a plan with the carer household",
    responses=PROBLEMS,
)
async def share_plan(
    child_id: ChildId, plan_id: PlanId, body: cmd.SharePlan, ctx: Ctx, _caller: ChildWriter
) -> PlanResult:
    recorded = await cmd.share_plan(ctx, child_id, plan_id, body)
    return _answer(PlanResult, recorded, plan_version=recorded[0].data["version"])


@router.post(
    "/children/{child_id}/plans/{plan_id}/acknowledge",
    status_code=201,
    summary="The carers acknowledge receiving a plan",
    responses=PROBLEMS,
)
async def acknowledge_plan(
    child_id: ChildId, plan_id: PlanId, body: cmd.AcknowledgePlan, ctx: Ctx, _caller: SharedPlanWriter
) -> PlanResult:
    recorded = await cmd.acknowledge_plan(ctx, child_id, plan_id, body)
    return _answer(PlanResult, recorded, plan_version=recorded[0].data["version"])


@router.get(
    "/children/{child_id}/plans", summary="Every version of the child's plans and who holds them", responses=PROBLEMS
)
async def list_plans(child_id: ChildId, request: Request, _: ChildReader) -> pj.ChildPlans:
    async with _store(request).acquire() as conn:
        _found((await pj.child_context(conn, child_id)).found, f"No child {child_id}.")
        plans = await pj.plan_histories(conn, child_id)
        clocks = await pj.open_clocks(conn, child_id, _now(request), rules.PLAN_KINDS)
    return pj.ChildPlans(child_id=child_id, plans=plans, open_clocks=clocks)


@router.get(
    "/children/{child_id}/shared-plans",
    summary="The current plans shared with the carers the child is placed with (all a carer sees)",
    responses=PROBLEMS,
)
async def shared_plans(child_id: ChildId, request: Request, caller: SharedPlanReader) -> pj.SharedPlans:
    async with _store(request).acquire() as conn:
        child = _found((await pj.child_context(conn, child_id)).found, f"No child {child_id}.")
        household_id = child.household_id
        if caller.role == Role.CARER and household_id not in set(caller.household_ids):
            household_id = None
        plans = await pj.shared_plans(conn, child_id, household_id) if household_id else []
    return pj.SharedPlans(child_id=child_id, household_id=household_id, plans=plans)


# ---- risk assessments, health, looked-after reviews ----------------------------------------------
@router.post(
    "/children/{child_id}/risk-assessments", status_code=201, summary="Record a risk assessment", responses=PROBLEMS
)
async def record_risk_assessment(
    child_id: ChildId, body: cmd.RecordRiskAssessment, ctx: Ctx, _caller: ChildWriter
) -> RiskAssessmentResult:
    return _answer(RiskAssessmentResult, await cmd.record_risk_assessment(ctx, child_id, body))


@router.post(
    "/children/{child_id}/health-checks",
    status_code=201,
    summary="Record a health assessment or dental check",
    responses=PROBLEMS,
)
async def record_health_check(
    child_id: ChildId, body: cmd.RecordHealthCheck, ctx: Ctx, _caller: ChildWriter
) -> HealthCheckResult:
    return _answer(HealthCheckResult, await cmd.record_health_check(ctx, child_id, body))


@router.post(
    "/children/{child_id}/looked-after-reviews",
    status_code=201,
    summary="Record a looked-after child review (CPPR reg 33)",
    responses=PROBLEMS,
)
async def record_lac_review(
    child_id: ChildId, body: cmd.RecordLacReview, ctx: Ctx, _caller: ChildWriter
) -> ReviewResult:
    return _answer(ReviewResult, await cmd.record_lac_review(ctx, child_id, body))


class ChildHealth(pj.HealthRecord):
    child_id: uuid.UUID


@router.get("/children/{child_id}/health", summary="The child's health timeline, checks and clocks", responses=PROBLEMS)
async def health(child_id: ChildId, request: Request, _: ChildReader) -> ChildHealth:
    async with _store(request).acquire() as conn:
        _found((await pj.child_context(conn, child_id)).found, f"No child {child_id}.")
        clocks = await pj.open_clocks(conn, child_id, _now(request), rules.HEALTH_KINDS)
        record = await pj.health_record(conn, child_id, clocks)
    return ChildHealth(child_id=child_id, **record.model_dump())


# ---- concerns ------------------------------------------------------------------------------------
@router.post(
    "/children/{child_id}/concerns",
    status_code=201,
    summary="Record a concern a child raised or a worker noticed (not a formal complaint)",
    responses=PROBLEMS,
)
async def raise_concern(child_id: ChildId, body: cmd.RaiseConcern, ctx: Ctx, _caller: ChildWriter) -> ConcernResult:
    return _answer(ConcernResult, await cmd.raise_concern(ctx, child_id, body))


@router.post(
    "/children/{child_id}/concerns/{concern_id}/actions",
    status_code=201,
    summary="Record an action taken on a concern",
    responses=PROBLEMS,
)
async def action_concern(
    child_id: ChildId, concern_id: ConcernId, body: cmd.ConcernAction, ctx: Ctx, _caller: ChildWriter
) -> ConcernResult:
    return _answer(ConcernResult, await cmd.action_concern(ctx, child_id, concern_id, body))


@router.post(
    "/children/{child_id}/concerns/{concern_id}/outcome",
    status_code=201,
    summary="Record the outcome of a concern",
    responses=PROBLEMS,
)
async def resolve_concern(
    child_id: ChildId, concern_id: ConcernId, body: cmd.ConcernOutcome, ctx: Ctx, _caller: ChildWriter
) -> ConcernResult:
    return _answer(ConcernResult, await cmd.resolve_concern(ctx, child_id, concern_id, body))


@router.post(
    "/children/{child_id}/concerns/{concern_id}/escalate",
    status_code=201,
    summary="Escalate a concern to a complaint, an allegation or a child protection enquiry",
    responses=PROBLEMS,
)
async def escalate_concern(
    child_id: ChildId, concern_id: ConcernId, body: cmd.EscalateConcern, ctx: Ctx, _caller: ChildWriter
) -> ConcernEscalationResult:
    return _answer(ConcernEscalationResult, await cmd.escalate_concern(ctx, child_id, concern_id, body))


@router.post(
    "/children/{child_id}/concerns/{concern_id}/strategy-discussion",
    status_code=201,
    summary="Record the strategy discussion of the child protection enquiry a concern was escalated to",
    responses=PROBLEMS,
)
async def record_strategy_discussion(
    child_id: ChildId, concern_id: ConcernId, body: cmd.StrategyDiscussion, ctx: Ctx, _caller: ChildWriter
) -> ConcernResult:
    return _answer(ConcernResult, await cmd.record_strategy_discussion(ctx, child_id, concern_id, body))


class ChildConcerns(BaseModel):
    child_id: uuid.UUID
    concerns: list[pj.ConcernView]


@router.get("/children/{child_id}/concerns", summary="The child's concerns and their clocks", responses=PROBLEMS)
async def list_concerns(child_id: ChildId, request: Request, _: ChildReader) -> ChildConcerns:
    async with _store(request).acquire() as conn:
        _found((await pj.child_context(conn, child_id)).found, f"No child {child_id}.")
        found = await pj.concerns(conn, child_id, _now(request), open_only=False)
    return ChildConcerns(child_id=child_id, concerns=found)


SERVICE = ServiceSpec(name="visits", router=router, projectors=pj.projectors, more_routers=(returns_router,))
