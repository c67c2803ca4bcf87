"""visits: the HTTP API (thin: maps requests to commands and queries)."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import text

from services.visits import commands as cmd
from services.visits import events as ev
from services.visits import projections, rules
from shared.access import access, children_read
from shared.auth import Principal
from shared.commanding import CommandContext, CommandRoute, command_context
from shared.eventstore import RecordedEvent
from shared.instants import instant_problem
from shared.policy import Action, Resource
from shared.problems import Problem
from shared.service import ServiceSpec
from shared.types import Instant

router = APIRouter(prefix="/v1", tags=["visits"], route_class=CommandRoute)

# Who may call each route (shared/policy.py decides; shared/access enforces and logs reads).
ChildCreator = Annotated[Principal, access(Resource.CHILD, Action.CREATE)]
ChildReader = Annotated[Principal, access(Resource.CHILD, Action.READ, locate="child", param="child_id", audited=True)]
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

MAX_POSITION = 2**63 - 1  # positions are bigint

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid bearer token"},
    403: {"description": "Read-only role"},
    404: {"description": "Unknown child or complaint"},
    409: {"description": "Concurrent change or wrong state"},
    412: {"description": "If-Match does not match the current version"},
    422: {"description": "Invalid input or a recording rule refused it; nothing was written"},
}


def _result(recorded: list[RecordedEvent], id_field: str) -> dict[str, Any]:
    """The answer to a command: the main event, its stream version and the clocks it moved."""
    first = recorded[0]
    clocks = [
        {"event": e.type, **{k: e.data[k] for k in ("deadline_id", "kind", "due_at", "reason", "late") if k in e.data}}
        for e in recorded[1:]
        if e.type.startswith("Deadline")
    ]
    return {
        id_field: first.data[id_field],
        "child_id": first.data.get("child_id"),
        "event_id": str(first.event_id),
        "stream_id": first.stream_id,
        "version": recorded[-1].stream_version,
        "type": first.type,
        "summary": first.metadata.get("summary"),
        "recorded_at": first.recorded_at.isoformat(),
        "clocks": clocks,
    }


def _engine(request: Request) -> Any:
    """Reads: the autocommit view of the pool (one round trip per query)."""
    return request.app.state.store.reader


def _now(request: Request) -> datetime:
    now: datetime = request.app.state.clock.now()
    return now


async def _require_child(conn: Any, child_id: uuid.UUID) -> Any:
    child = await projections.get_child(conn, child_id)
    if child is None:
        raise Problem("not-found", f"No child {child_id}.")
    return child


def _deadline_json(row: Any, now: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {
        "deadline_id": str(row.deadline_id),
        "kind": row.kind,
        "description": row.description,
        "started_at": row.started_at.isoformat(),
        "due_at": row.due_at.isoformat(),
        "status": row.status,
        "source": row.source,
        "overdue": row.status == "open" and rules.is_overdue(row.due_at, now),
    }
    if row.status == "met":
        out["met_at"] = row.met_at.isoformat() if row.met_at else None
        out["late"] = bool(row.late)
    if row.status == "cancelled":
        out["cancel_reason"] = row.cancel_reason
    return out


# ---- children ------------------------------------------------------------------------------------
@router.post("/children", status_code=201, summary="Register a child", responses=PROBLEMS)
async def register_child(
    body: cmd.RegisterChild,
    ctx: Ctx,
    response: Response,
    _caller: ChildCreator,
) -> dict[str, Any]:
    recorded = await cmd.register_child(ctx, body)
    response.headers["Location"] = f"/v1/children/{recorded[0].data['child_id']}"
    response.headers["ETag"] = f'"{recorded[-1].stream_version}"'
    return {
        **_result(recorded, "child_id"),
        **body.model_dump(mode="json"),
        "looked_after_since": recorded[0].data["looked_after_since"],
    }


@router.get("/children/{child_id}", summary="A child's current details and version", responses=PROBLEMS)
async def get_child(
    child_id: ChildId,
    request: Request,
    response: Response,
    _: ChildReader,
) -> dict[str, Any]:
    async with _engine(request).connect() as conn:
        child = await _require_child(conn, child_id)
        placement = await projections.current_placement(conn, child_id)
    version = await request.app.state.store.stream_version(ev.child_stream(child_id))
    response.headers["ETag"] = f'"{version}"'
    return {
        "child_id": str(child.child_id),
        "name": child.name,
        "date_of_birth": child.date_of_birth.isoformat(),
        "legal_status": child.legal_status,
        "placing_authority": child.placing_authority,
        "social_worker_id": child.social_worker_id,
        "registered_at": child.registered_at.isoformat(),
        "placement": _placement_json(placement),
        "version": version,
    }


def _placement_json(placement: Any) -> dict[str, Any] | None:
    if placement is None:
        return None
    return {
        "placement_id": str(placement.placement_id),
        "household_id": str(placement.household_id) if placement.household_id else None,
        "start_date": placement.start_date.isoformat(),
        "long_term": placement.long_term,
        "connected_person": placement.connected_person,
        "placing_authority": placement.placing_authority,
    }


# ---- the record ----------------------------------------------------------------------------------
@router.post("/children/{child_id}/visits", status_code=201, summary="Record a visit", responses=PROBLEMS)
async def record_visit(
    child_id: ChildId,
    body: cmd.RecordVisit,
    ctx: Ctx,
    _caller: ChildWriter,
) -> dict[str, Any]:
    return _result(await cmd.record_visit(ctx, child_id, body), "visit_id")


@router.post("/children/{child_id}/contacts", status_code=201, summary="Record any other contact", responses=PROBLEMS)
async def record_contact(
    child_id: ChildId,
    body: cmd.RecordContact,
    ctx: Ctx,
    _caller: ChildWriter,
) -> dict[str, Any]:
    return _result(await cmd.record_contact(ctx, child_id, body), "contact_id")


@router.post(
    "/children/{child_id}/incidents", status_code=201, summary="Record an incident or health event", responses=PROBLEMS
)
async def record_incident(
    child_id: ChildId,
    body: cmd.RecordIncident,
    ctx: Ctx,
    _caller: ChildWriter,
) -> dict[str, Any]:
    return _result(await cmd.record_incident(ctx, child_id, body), "incident_id")


@router.post(
    "/children/{child_id}/statements", status_code=201, summary="Add the child's own words", responses=PROBLEMS
)
async def record_statement(
    child_id: ChildId,
    body: cmd.RecordStatement,
    ctx: Ctx,
    _caller: ChildWriter,
) -> dict[str, Any]:
    return _result(await cmd.record_statement(ctx, child_id, body), "statement_id")


@router.post(
    "/children/{child_id}/amendments",
    status_code=201,
    summary="Correct an earlier entry (the entry itself is never changed)",
    responses=PROBLEMS,
)
async def amend_entry(
    child_id: ChildId,
    body: cmd.AmendEntry,
    ctx: Ctx,
    _caller: ChildWriter,
) -> dict[str, Any]:
    result = _result(await cmd.amend_entry(ctx, child_id, body), "amendment_id")
    result["amends_event_id"] = str(body.amends_event_id)
    return result


# ---- complaints ----------------------------------------------------------------------------------
@router.post("/children/{child_id}/complaints", status_code=201, summary="Receive a complaint", responses=PROBLEMS)
async def receive_complaint(
    child_id: ChildId,
    body: cmd.ReceiveComplaint,
    ctx: Ctx,
    _caller: ChildWriter,
) -> dict[str, Any]:
    recorded = await cmd.receive_complaint(ctx, child_id, body)
    result = _result(recorded, "complaint_id")
    result["schedule7_row9"] = recorded[0].data["schedule7_row9"]
    result["lado_consultation"] = recorded[0].data["lado_consultation"]
    return result


@router.post("/complaints/{complaint_id}/acknowledge", summary="Acknowledge a complaint", responses=PROBLEMS)
async def acknowledge_complaint(
    complaint_id: ComplaintId,
    body: cmd.AcknowledgeComplaint,
    ctx: Ctx,
    _caller: ComplaintWriter,
) -> dict[str, Any]:
    return _result(await cmd.acknowledge_complaint(ctx, complaint_id, body), "complaint_id")


@router.post(
    "/complaints/{complaint_id}/respond", summary="Record the response at the current stage", responses=PROBLEMS
)
async def respond_complaint(
    complaint_id: ComplaintId,
    body: cmd.RespondComplaint,
    ctx: Ctx,
    _caller: ComplaintWriter,
) -> dict[str, Any]:
    return _result(await cmd.respond_complaint(ctx, complaint_id, body), "complaint_id")


@router.post(
    "/complaints/{complaint_id}/extend",
    summary="Extend the current stage's timescale with a recorded reason (stage 1 to 20, stage 2 to 65 working days)",
    responses=PROBLEMS,
)
async def extend_complaint(
    complaint_id: ComplaintId,
    body: cmd.ExtendComplaint,
    ctx: Ctx,
    _caller: ComplaintWriter,
) -> dict[str, Any]:
    return _result(await cmd.extend_complaint(ctx, complaint_id, body), "complaint_id")


@router.post("/complaints/{complaint_id}/escalate", summary="Escalate to the next stage", responses=PROBLEMS)
async def escalate_complaint(
    complaint_id: ComplaintId,
    body: cmd.EscalateComplaint,
    ctx: Ctx,
    _caller: ComplaintWriter,
) -> dict[str, Any]:
    return _result(await cmd.escalate_complaint(ctx, complaint_id, body), "complaint_id")


@router.post("/complaints/{complaint_id}/close", summary="Close a complaint that has a response", responses=PROBLEMS)
async def close_complaint(
    complaint_id: ComplaintId,
    body: cmd.CloseComplaint,
    ctx: Ctx,
    _caller: ComplaintWriter,
) -> dict[str, Any]:
    return _result(await cmd.close_complaint(ctx, complaint_id, body), "complaint_id")


@router.get("/complaints/{complaint_id}", summary="A complaint, its stage and its clocks", responses=PROBLEMS)
async def get_complaint(
    complaint_id: ComplaintId,
    request: Request,
    response: Response,
    _: ComplaintReader,
) -> dict[str, Any]:
    async with _engine(request).connect() as conn:
        complaint = await projections.get_complaint(conn, complaint_id)
        if complaint is None:
            raise Problem("not-found", f"No complaint {complaint_id}.")
        clocks = await projections.complaint_deadlines(conn, complaint_id)
    version = await request.app.state.store.stream_version(ev.complaint_stream(complaint_id))
    response.headers["ETag"] = f'"{version}"'
    return {**_complaint_json(complaint, clocks, _now(request)), "version": version}


def _complaint_json(complaint: Any, clocks: list[Any], now: datetime) -> dict[str, Any]:
    clock_json = [_deadline_json(c, now) for c in clocks]
    return {
        "complaint_id": str(complaint.complaint_id),
        "child_id": str(complaint.child_id),
        "received_at": complaint.received_at.isoformat(),
        "made_by": complaint.made_by,
        "about_household_id": str(complaint.about_household_id) if complaint.about_household_id else None,
        "summary": complaint.summary,
        "serious": complaint.serious,
        "schedule7_row9": complaint.schedule7_row9,
        "lado_consultation": complaint.lado_consultation,
        "stage": complaint.stage,
        "status": complaint.status,
        "acknowledged_at": complaint.acknowledged_at.isoformat() if complaint.acknowledged_at else None,
        "responded_at": complaint.responded_at.isoformat() if complaint.responded_at else None,
        "closed_at": complaint.closed_at.isoformat() if complaint.closed_at else None,
        "clocks": clock_json,
        "out_of_timescale": any(c["overdue"] or c.get("late") for c in clock_json),
    }


# ---- chronology ----------------------------------------------------------------------------------
class Order(StrEnum):
    OCCURRED = "occurred"
    RECORDED = "recorded"


def _encode_cursor(order: Order, row: Any) -> str:
    raw = orjson.dumps({"o": order.value, "t": row["occurred_at"].isoformat(), "p": row["position"]})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, order: Order) -> tuple[datetime, int]:
    """(occurred_at, position) after which the page starts. A cursor is the client's to send back:
    anything the database could not take as an instant or a position is refused here."""
    try:
        value = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if value["o"] != order.value:
            raise ValueError("cursor of another order")
        after_t, after_p = datetime.fromisoformat(value["t"]), value["p"]
        if type(after_p) is not int or not 0 <= after_p <= MAX_POSITION or instant_problem(after_t):
            raise ValueError("cursor out of range")
        return after_t, after_p
    except (ValueError, KeyError, TypeError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise Problem("malformed-request", "The cursor is not valid for this query; start again without it.") from exc


@router.get(
    "/children/{child_id}/chronology",
    summary="Every event about the child, from every service, in order",
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
    order: Order = Order.OCCURRED,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    # One statement on a driver connection: the child's events (one scan of the child_ids index,
    # so the cost follows the child's record, not the log), the page, and the amendments of it.
    known = ["child_ids @> ARRAY[$1::uuid]"]
    wanted: list[str] = []
    args: list[Any] = [child_id]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if as_of is not None:
        known.append(f"recorded_at <= {arg(as_of)}")
    if from_ is not None:
        wanted.append(f"occurred_at >= {arg(from_)}")
    if to is not None:
        wanted.append(f"occurred_at <= {arg(to)}")
    if types:
        wanted.append(f"type = ANY({arg(types)}::text[])")
    if cursor:
        after_t, after_p = _decode_cursor(cursor, order)
        if order == Order.OCCURRED:
            wanted.append(f"(occurred_at, position) > ({arg(after_t)}::timestamptz, {arg(after_p)}::bigint)")
        else:
            wanted.append(f"position > {arg(after_p)}::bigint")
    sort = "occurred_at, position" if order == Order.OCCURRED else "position"
    sql = _CHRONOLOGY.format(
        known=" AND ".join(known),
        wanted=" AND ".join(wanted) or "true",
        sort=sort,
        limit=arg(limit + 1),
        amended=arg(ev.ENTRY_AMENDED),
    )
    async with request.app.state.store.acquire() as conn:
        rows = await conn.fetch(sql, *args)
    if not rows and not await request.app.state.store.stream_exists(ev.child_stream(child_id)):
        raise Problem("not-found", f"No child {child_id}.")
    page, more = rows[:limit], len(rows) > limit
    late_hours = request.app.state.settings.late_entry_hours
    body = {
        "child_id": str(child_id),
        "order": order.value,
        "as_of": as_of.isoformat() if as_of else None,
        "entries": [_entry(r, late_hours) for r in page],
        "next_cursor": _encode_cursor(order, page[-1]) if more and page else None,
    }
    return Response(orjson.dumps(body), media_type="application/json")


_CHRONOLOGY = (
    "WITH known AS MATERIALIZED (SELECT position, event_id, stream_id, type, data, metadata, occurred_at, "
    "recorded_at FROM events WHERE {known}), "
    "amendments AS (SELECT data->>'amends_event_id' AS amends, array_agg((event_id::text, data->>'reason', "
    "data->>'correction', recorded_at, metadata->>'actor_id', metadata->>'actor_role') ORDER BY position) AS list "
    "FROM known WHERE type = {amended} GROUP BY 1) "
    "SELECT k.position, k.event_id::text AS event_id, k.stream_id, k.type, k.data::text AS data, "
    "k.data->>'amends_event_id' AS amends, coalesce(k.metadata->>'service', split_part(k.type, '.', 1)) AS service, "
    "coalesce(k.metadata->>'summary', k.type) AS summary, k.metadata->>'actor_id' AS actor_id, "
    "k.metadata->>'actor_role' AS actor_role, k.occurred_at, k.recorded_at, a.list AS amendments "
    "FROM (SELECT * FROM known WHERE {wanted} ORDER BY {sort} LIMIT {limit}) k "
    "LEFT JOIN amendments a ON a.amends = k.event_id::text ORDER BY {sort}"
)


def _entry(row: Any, late_hours: float) -> dict[str, Any]:
    """One entry; instants are left to orjson, which writes exactly what isoformat() would."""
    amendments = [
        {
            "event_id": event_id,
            "reason": reason,
            "correction": correction,
            "recorded_at": recorded_at,
            "recorded_by": {"actor_id": actor_id, "actor_role": actor_role},
        }
        for event_id, reason, correction, recorded_at, actor_id, actor_role in row["amendments"] or ()
    ]
    entry = {
        "position": row["position"],
        "event_id": row["event_id"],
        "type": row["type"],
        "stream_id": row["stream_id"],
        "service": row["service"],
        "occurred_at": row["occurred_at"],
        "recorded_at": row["recorded_at"],
        "summary": row["summary"],
        "recorded_by": {"actor_id": row["actor_id"], "actor_role": row["actor_role"]},
        "late": rules.is_late_entry(row["occurred_at"], row["recorded_at"], late_hours),
        # The payload as stored, passed through without being parsed and written again.
        "data": orjson.Fragment(row["data"]),
        "amended": bool(amendments),
        "amendments": amendments,
    }
    if row["type"] == ev.ENTRY_AMENDED:
        entry["amends_event_id"] = row["amends"]
    return entry


# ---- compliance and the worklist -----------------------------------------------------------------
@router.get(
    "/children/{child_id}/compliance", summary="The child's statutory clocks, by the clock now", responses=PROBLEMS
)
async def compliance(
    child_id: ChildId,
    request: Request,
    _: ChildReader,
) -> dict[str, Any]:
    now = _now(request)
    async with _engine(request).connect() as conn:
        await _require_child(conn, child_id)
        placement = await projections.current_placement(conn, child_id)
        open_clocks = await projections.open_child_deadlines(conn, child_id)
        visits = list(
            await conn.execute(
                text("SELECT * FROM visits_visits WHERE child_id = :c ORDER BY occurred_at DESC, visit_id"),
                {"c": child_id},
            )
        )
        complaints = list(
            await conn.execute(
                text("SELECT * FROM visits_complaints WHERE child_id = :c AND status <> 'closed' ORDER BY received_at"),
                {"c": child_id},
            )
        )
        complaint_clocks = {
            c.complaint_id: await projections.complaint_deadlines(conn, c.complaint_id) for c in complaints
        }
        health_json = await _health(conn, child_id, now)
        concerns_json = await _concerns(conn, child_id, now, True)
        lac_reviews = list(
            await conn.execute(
                text("SELECT * FROM visits_lac_reviews WHERE child_id = :c ORDER BY held_at DESC"), {"c": child_id}
            )
        )
        risk = (
            await conn.execute(
                text("SELECT * FROM visits_risk_assessments WHERE child_id = :c ORDER BY assessed_at DESC LIMIT 1"),
                {"c": child_id},
            )
        ).one_or_none()
    statutory = [d for d in open_clocks if d.kind == rules.STATUTORY_VISIT]
    next_visit = _deadline_json(statutory[0], now) if statutory else None
    follow_ups = [
        _deadline_json(d, now) for d in open_clocks if d.kind in (rules.FOLLOW_UP_VISIT, rules.RETURN_HOME_INTERVIEW)
    ]
    last_visit = visits[0] if visits else None
    seen_alone = next((v for v in visits if v.seen_alone), None)
    with_narrative = next((v for v in visits if v.has_narrative), None)
    complaint_json = [_complaint_json(c, complaint_clocks[c.complaint_id], now) for c in complaints]

    def clocks_of(kinds: frozenset[str] | set[str]) -> list[dict[str, Any]]:
        return [_deadline_json(d, now) for d in open_clocks if d.kind in kinds]

    plan_clocks = clocks_of({rules.PLAN_REVIEW, rules.PLAN_ACKNOWLEDGEMENT})
    risk_clocks = clocks_of(rules.RISK_KINDS)
    review_clocks = clocks_of({rules.LAC_REVIEW})
    overdue = (
        bool(next_visit and next_visit["overdue"])
        or any(f["overdue"] for f in follow_ups)
        or any(c["overdue"] for cj in complaint_json for c in cj["clocks"])
        or any(c["overdue"] for c in [*plan_clocks, *risk_clocks, *review_clocks, *health_json["open_clocks"]])
        or any(c["clock"] and c["clock"]["overdue"] for c in concerns_json)
    )
    return {
        "child_id": str(child_id),
        "as_at": now.isoformat(),
        "placement": _placement_json(placement),
        "next_statutory_visit": next_visit,
        "statutory_visit_overdue": bool(next_visit and next_visit["overdue"]),
        "last_visit": _visit_json(last_visit),
        "last_seen_alone_at": seen_alone.occurred_at.isoformat() if seen_alone else None,
        "days_since_seen_alone": rules.days_since(seen_alone.occurred_at if seen_alone else None, now),
        "last_visit_with_narrative": _visit_json(with_narrative),
        "open_follow_ups": follow_ups,
        "open_complaints": complaint_json,
        "plans": {"open_clocks": plan_clocks},
        "risk_assessment": {
            "last_assessed_at": risk.assessed_at.isoformat() if risk else None,
            "review_date": risk.review_date.isoformat() if risk else None,
            "open_clocks": risk_clocks,
        },
        "health": health_json,
        "looked_after_reviews": {
            "held": len(lac_reviews),
            "last_held_at": lac_reviews[0].held_at.isoformat() if lac_reviews else None,
            "child_attended_last": lac_reviews[0].child_attended if lac_reviews else None,
            "child_views_given_last": lac_reviews[0].child_views_given if lac_reviews else None,
            "next": review_clocks[0] if review_clocks else None,
        },
        "open_concerns": concerns_json,
        "overdue": overdue,
    }


def _visit_json(visit: Any) -> dict[str, Any] | None:
    if visit is None:
        return None
    return {
        "visit_id": str(visit.visit_id),
        "event_id": str(visit.event_id),
        "occurred_at": visit.occurred_at.isoformat(),
        "visitor_id": visit.visitor_id,
        "visitor_role": visit.visitor_role,
        "kind": visit.kind,
        "child_seen": visit.child_seen,
        "seen_alone": visit.seen_alone,
    }


@router.get("/visits/due", summary="The worklist: visits due or overdue, per worker", responses=PROBLEMS)
async def visits_due(
    request: Request,
    _: ReportListReader,
    worker_id: Annotated[str | None, Query(max_length=200, description="The child's social worker")] = None,
    before: Annotated[Instant | None, Query(description="Due at or before (default: the next 14 days)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> dict[str, Any]:
    now = _now(request)
    until = before or now + timedelta(days=cmd.SETTINGS.worklist_horizon_days)
    sql = (
        "SELECT d.*, c.name, c.social_worker_id FROM visits_deadlines d "
        "LEFT JOIN visits_children c ON c.child_id = d.child_id "
        "WHERE d.status = 'open' AND d.kind = ANY(:kinds) AND d.due_at <= :until"
    )
    params: dict[str, Any] = {
        "kinds": sorted({*rules.VISIT_KINDS, rules.RETURN_HOME_INTERVIEW}),
        "until": until,
        "n": limit,
    }
    if worker_id is not None:
        sql += " AND c.social_worker_id = :w"
        params["w"] = worker_id
    async with _engine(request).connect() as conn:
        rows = list(await conn.execute(text(sql + " ORDER BY d.due_at, d.deadline_id LIMIT :n"), params))
    await children_read(request, (r.child_id for r in rows if r.child_id))
    return {
        "as_at": now.isoformat(),
        "before": until.isoformat(),
        "worker_id": worker_id,
        "items": [
            {
                **_deadline_json(r, now),
                "child_id": str(r.child_id) if r.child_id else None,
                "child_name": r.name,
                "social_worker_id": r.social_worker_id,
            }
            for r in rows
        ],
    }


# ---- plans, shared with the carers (reg 17) ---------------------------------------------------------
PlanId = Annotated[uuid.UUID, Path(description="The plan's id (one per child and kind)")]
ConcernId = Annotated[uuid.UUID, Path(description="The concern's id")]


def _with_version(recorded: list[RecordedEvent], id_field: str) -> dict[str, Any]:
    result = _result(recorded, id_field)
    for key in ("kind", "version", "number", "to", "complaint_id"):
        if key in recorded[0].data:
            result[f"{'plan_' if key == 'version' else ''}{key}"] = recorded[0].data[key]
    return result


@router.post(
    "/children/{child_id}/plans", status_code=201, summary="Record a new version of a plan", responses=PROBLEMS
)
async def record_plan(
    child_id: ChildId,
    body: cmd.RecordPlan,
    ctx: Ctx,
    _caller: ChildWriter,
) -> dict[str, Any]:
    return _with_version(await cmd.record_plan(ctx, child_id, body), "plan_id")


@router.post(
    "/children/{child_id}/plans/{plan_id}/share",
    status_code=201,
    summary="Share a version of a plan with the carer household",
    responses=PROBLEMS,
)
async def share_plan(
    child_id: ChildId,
    plan_id: PlanId,
    body: cmd.SharePlan,
    ctx: Ctx,
    _caller: ChildWriter,
) -> dict[str, Any]:
    return _with_version(await cmd.share_plan(ctx, child_id, plan_id, body), "plan_id")


@router.post(
    "/children/{child_id}/plans/{plan_id}/acknowledge",
    status_code=201,
    summary="The carers acknowledge receiving a plan",
    responses=PROBLEMS,
)
async def acknowledge_plan(
    child_id: ChildId,
    plan_id: PlanId,
    body: cmd.AcknowledgePlan,
    ctx: Ctx,
    _caller: SharedPlanWriter,
) -> dict[str, Any]:
    return _with_version(await cmd.acknowledge_plan(ctx, child_id, plan_id, body), "plan_id")


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _plan_json(row: Any) -> dict[str, Any]:
    content = _json(row.content)
    return {
        "plan_id": str(row.plan_id),
        "kind": row.kind,
        "version": row.version,
        "summary": row.summary,
        "strategies": content.get("strategies", []),
        "medications": content.get("medications", []),
        "review_date": row.review_date.isoformat(),
        "recorded_at": row.recorded_at.isoformat(),
    }


def _share_json(row: Any) -> dict[str, Any]:
    return {
        "version": row.version,
        "household_id": str(row.household_id),
        "shared_at": row.shared_at.isoformat(),
        "acknowledged_at": row.acknowledged_at.isoformat() if row.acknowledged_at else None,
        "acknowledged_by": row.acknowledged_by,
    }


@router.get("/children/{child_id}/plans", summary="Every version of the child's plans and who holds them")
async def list_plans(
    child_id: ChildId,
    request: Request,
    _: ChildReader,
) -> dict[str, Any]:
    now = _now(request)
    async with _engine(request).connect() as conn:
        await _require_child(conn, child_id)
        versions = await projections.plan_versions(conn, child_id)
        shares = await projections.plan_shares(conn, child_id)
        clocks = await projections.child_deadlines(conn, child_id, {rules.PLAN_REVIEW, rules.PLAN_ACKNOWLEDGEMENT})
    plans: dict[uuid.UUID, dict[str, Any]] = {}
    for row in versions:
        plan = plans.setdefault(row.plan_id, {"plan_id": str(row.plan_id), "kind": row.kind, "versions": []})
        plan["versions"].append(_plan_json(row))
        plan["current"] = _plan_json(row)
    for plan_id, plan in plans.items():
        plan["shares"] = [_share_json(s) for s in shares if s.plan_id == plan_id]
    return {
        "child_id": str(child_id),
        "plans": list(plans.values()),
        "open_clocks": [_deadline_json(c, now) for c in clocks if c.status == "open"],
    }


@router.get(
    "/children/{child_id}/shared-plans",
    summary="The current plans shared with the carers the child is placed with (all a carer sees)",
    responses=PROBLEMS,
)
async def shared_plans(
    child_id: ChildId,
    request: Request,
    principal: SharedPlanReader,
) -> dict[str, Any]:
    async with _engine(request).connect() as conn:
        await _require_child(conn, child_id)
        placement = await projections.current_placement(conn, child_id)
        household_id = placement.household_id if placement is not None else None
        if principal.role.value == "carer" and household_id not in set(principal.household_ids):
            household_id = None
        shares = await projections.plan_shares(conn, child_id, household_id) if household_id else []
        latest: dict[uuid.UUID, Any] = {}
        for share in shares:
            if share.plan_id not in latest or share.version > latest[share.plan_id].version:
                latest[share.plan_id] = share
        plans = []
        for plan_id, share in sorted(latest.items(), key=lambda item: item[1].kind):
            version = (
                await conn.execute(
                    text("SELECT * FROM visits_plan_versions WHERE plan_id = :p AND version = :v"),
                    {"p": plan_id, "v": share.version},
                )
            ).one()
            plans.append(
                {**_plan_json(version), **_share_json(share), "acknowledged": share.acknowledged_at is not None}
            )
    return {"child_id": str(child_id), "household_id": str(household_id) if household_id else None, "plans": plans}


# ---- risk assessments, health, looked-after reviews ------------------------------------------------
@router.post(
    "/children/{child_id}/risk-assessments", status_code=201, summary="Record a risk assessment", responses=PROBLEMS
)
async def record_risk_assessment(
    child_id: ChildId,
    body: cmd.RecordRiskAssessment,
    ctx: Ctx,
    _caller: ChildWriter,
) -> dict[str, Any]:
    return _result(await cmd.record_risk_assessment(ctx, child_id, body), "assessment_id")


@router.post(
    "/children/{child_id}/health-checks",
    status_code=201,
    summary="Record a health assessment or dental check",
    responses=PROBLEMS,
)
async def record_health_check(
    child_id: ChildId,
    body: cmd.RecordHealthCheck,
    ctx: Ctx,
    _caller: ChildWriter,
) -> dict[str, Any]:
    return _with_version(await cmd.record_health_check(ctx, child_id, body), "check_id")


@router.post(
    "/children/{child_id}/looked-after-reviews",
    status_code=201,
    summary="Record a looked-after child review (CPPR reg 33)",
    responses=PROBLEMS,
)
async def record_lac_review(
    child_id: ChildId,
    body: cmd.RecordLacReview,
    ctx: Ctx,
    _caller: ChildWriter,
) -> dict[str, Any]:
    return _with_version(await cmd.record_lac_review(ctx, child_id, body), "review_id")


async def _health(conn: Any, child_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    rows = list(
        await conn.execute(
            text(
                "SELECT i.incident_id, i.event_id, i.category, i.occurred_at FROM visits_incidents i "
                "WHERE i.child_id = :c AND i.category = ANY(:k) ORDER BY i.occurred_at, i.incident_id"
            ),
            {"c": child_id, "k": sorted(rules.HEALTH_TIMELINE_CATEGORIES)},
        )
    )
    checks = list(
        await conn.execute(
            text("SELECT * FROM visits_health_checks WHERE child_id = :c ORDER BY occurred_at"), {"c": child_id}
        )
    )
    clocks = await projections.child_deadlines(conn, child_id, rules.HEALTH_KINDS)
    return {
        "timeline": [
            {
                "incident_id": str(r.incident_id),
                "event_id": str(r.event_id),
                "category": r.category,
                "occurred_at": r.occurred_at.isoformat(),
            }
            for r in rows
        ],
        "counts_by_month": rules.month_counts([(r.category, r.occurred_at) for r in rows]),
        "checks": [
            {"check_id": str(c.check_id), "kind": c.kind, "occurred_at": c.occurred_at.isoformat(), "by": c.by}
            for c in checks
        ],
        "open_clocks": [_deadline_json(c, now) for c in clocks if c.status == "open"],
    }


@router.get("/children/{child_id}/health", summary="The child's health timeline, checks and clocks", responses=PROBLEMS)
async def health(
    child_id: ChildId,
    request: Request,
    _: ChildReader,
) -> dict[str, Any]:
    async with _engine(request).connect() as conn:
        await _require_child(conn, child_id)
        return {"child_id": str(child_id), **await _health(conn, child_id, _now(request))}


# ---- concerns ---------------------------------------------------------------------------------------
@router.post(
    "/children/{child_id}/concerns",
    status_code=201,
    summary="Record a concern a child raised or a worker noticed (not a formal complaint)",
    responses=PROBLEMS,
)
async def raise_concern(
    child_id: ChildId,
    body: cmd.RaiseConcern,
    ctx: Ctx,
    _caller: ChildWriter,
) -> dict[str, Any]:
    return _result(await cmd.raise_concern(ctx, child_id, body), "concern_id")


@router.post(
    "/children/{child_id}/concerns/{concern_id}/actions",
    status_code=201,
    summary="Record an action taken on a concern",
    responses=PROBLEMS,
)
async def action_concern(
    child_id: ChildId,
    concern_id: ConcernId,
    body: cmd.ConcernAction,
    ctx: Ctx,
    _caller: ChildWriter,
) -> dict[str, Any]:
    return _result(await cmd.action_concern(ctx, child_id, concern_id, body), "concern_id")


@router.post(
    "/children/{child_id}/concerns/{concern_id}/outcome",
    status_code=201,
    summary="Record the outcome of a concern",
    responses=PROBLEMS,
)
async def resolve_concern(
    child_id: ChildId,
    concern_id: ConcernId,
    body: cmd.ConcernOutcome,
    ctx: Ctx,
    _caller: ChildWriter,
) -> dict[str, Any]:
    return _result(await cmd.resolve_concern(ctx, child_id, concern_id, body), "concern_id")


@router.post(
    "/children/{child_id}/concerns/{concern_id}/escalate",
    status_code=201,
    summary="Escalate a concern to a complaint, an allegation or a child protection enquiry",
    responses=PROBLEMS,
)
async def escalate_concern(
    child_id: ChildId,
    concern_id: ConcernId,
    body: cmd.EscalateConcern,
    ctx: Ctx,
    _caller: ChildWriter,
) -> dict[str, Any]:
    return _with_version(await cmd.escalate_concern(ctx, child_id, concern_id, body), "concern_id")


async def _concerns(conn: Any, child_id: uuid.UUID, now: datetime, open_only: bool) -> list[dict[str, Any]]:
    sql = "SELECT * FROM visits_concerns WHERE child_id = :c"
    if open_only:
        sql += " AND status IN ('open', 'actioned')"
    rows = list(await conn.execute(text(sql + " ORDER BY raised_at, concern_id"), {"c": child_id}))
    out = []
    for r in rows:
        clock = await projections.get_deadline(conn, r.response_deadline_id)
        out.append(
            {
                "concern_id": str(r.concern_id),
                "raised_at": r.raised_at.isoformat(),
                "raised_by": r.raised_by,
                "summary": r.summary,
                "status": r.status,
                "actions": r.actions,
                "last_action": r.last_action,
                "outcome": r.outcome,
                "escalated_to": r.escalated_to,
                "complaint_id": str(r.complaint_id) if r.complaint_id else None,
                "clock": _deadline_json(clock, now) if clock is not None else None,
            }
        )
    return out


@router.get("/children/{child_id}/concerns", summary="The child's concerns and their clocks", responses=PROBLEMS)
async def list_concerns(
    child_id: ChildId,
    request: Request,
    _: ChildReader,
) -> dict[str, Any]:
    async with _engine(request).connect() as conn:
        await _require_child(conn, child_id)
        return {"child_id": str(child_id), "concerns": await _concerns(conn, child_id, _now(request), False)}


SERVICE = ServiceSpec(name="visits", router=router, projectors=projections.PROJECTORS)
