"""Enforcing the policy on every route, the access log, break-glass and allocations.

The caller's relationships to an object are found in the log itself (allocations, placements,
the child's and household's registrations), so who could see what is reconstructable too.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import text

from shared.auth import WORKER_ROLES, Principal, Role, current_principal
from shared.deadlines import DeadlineSet
from shared.eventstore import EventStore, NewEvent
from shared.policy import Action, Decision, Relation, Resource, decide
from shared.problems import Problem
from shared.ratelimit import TokenBuckets, too_many

CHILD_REGISTERED = "visits.ChildRegistered"
HOUSEHOLD_REGISTERED = "carers.HouseholdRegistered"
PLACEMENT_STARTED = "carers.PlacementStarted"
PLACEMENT_ENDED = "carers.PlacementEnded"
WORKER_ALLOCATED = "access.WorkerAllocated"
ALLOCATION_ENDED = "access.AllocationEnded"
BREAK_GLASS_USED = "access.BreakGlassUsed"
BREAK_GLASS_HEADER = "x-break-glass-reason"
# One answer for an object that does not exist and one the caller may not know exists.
NOT_FOUND = "No such record."
# A break-glass reason is kept in the access log, the log and the escalation: a paragraph, no more.
MAX_BREAK_GLASS_REASON_CHARS = 2000
ALL_RELATIONS = frozenset(Relation)


@dataclass(frozen=True)
class RouteRule:
    resource: Resource
    action: Action
    locate: str | None = None  # kind of object named by the parameter `param`
    param: str = "id"
    source: str = "path"  # where `param` is: path, query (optional filter) or body
    audited: bool = False  # a read of the child's record: written to the access log
    self_param: str | None = None  # a query parameter naming the caller (their own worklist)


@dataclass
class Target:
    child_ids: set[uuid.UUID] = field(default_factory=set)
    household_ids: set[uuid.UUID] = field(default_factory=set)
    found: bool = True


# ---- finding the object and the caller's relationships in the log ------------------------------
# These run on a driver (asyncpg) connection from the store's pool: every request asks them.
async def _first_event(conn: Any, stream_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        "SELECT data, child_ids FROM events WHERE stream_id = $1 ORDER BY stream_version LIMIT 1", stream_id
    )
    if row is None:
        return None
    data = row["data"] if isinstance(row["data"], dict) else orjson.loads(row["data"])
    return {"data": data, "child_ids": set(row["child_ids"] or ())}


def _uuid_set(*values: Any) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    for value in values:
        if value is None:
            continue
        for item in value if isinstance(value, list | tuple | set) else [value]:
            try:
                found.add(uuid.UUID(str(item)))
            except ValueError:
                continue
    return found


async def locate(store: EventStore, kind: str, object_id: uuid.UUID) -> Target:
    if kind == "child":
        return Target(child_ids={object_id}, found=await store.stream_exists(f"child-{object_id}"))
    if kind == "household":
        return Target(household_ids={object_id}, found=await store.stream_exists(f"household-{object_id}"))
    async with store.acquire() as conn:
        first = await _first_event(conn, f"{kind}-{object_id}")
    if first is None:
        return Target(found=False)
    data = first["data"]
    return Target(
        child_ids=first["child_ids"] | _uuid_set(data.get("child_id"), data.get("child_ids")),
        household_ids=_uuid_set(data.get("household_id"), data.get("about_household_id")),
    )


async def _allocated_workers(conn: Any, kind: str, object_id: uuid.UUID) -> set[str]:
    """Workers allocated to a child or household: its registration, then allocation events."""
    registered_type, field_name = (
        (CHILD_REGISTERED, "social_worker_id")
        if kind == "child"
        else (HOUSEHOLD_REGISTERED, "supervising_social_worker_id")
    )
    rows = await conn.fetch(
        "SELECT type, data->>$1 AS registered, data->>'worker_id' AS worker FROM events "
        "WHERE stream_id = ANY($2::text[]) AND type = ANY($3::text[]) ORDER BY position",
        field_name,
        [f"{kind}-{object_id}", f"allocation-{object_id}"],
        [registered_type, WORKER_ALLOCATED, ALLOCATION_ENDED],
    )
    workers: set[str] = set()
    for row in rows:
        if row["type"] == registered_type and row["registered"]:
            workers.add(row["registered"])
        elif row["type"] == WORKER_ALLOCATED and row["worker"]:
            workers.add(row["worker"])
        elif row["type"] == ALLOCATION_ENDED and row["worker"]:
            workers.discard(row["worker"])
    return workers


async def _open_placements(conn: Any, where: str, value: str) -> dict[str, tuple[str, str]]:
    """Placements still open, by id: (child, household), folded from the log in order."""
    rows = await conn.fetch(
        "SELECT type, data->>'placement_id' AS placement, data->>'child_id' AS child, "
        f"data->>'household_id' AS household FROM events WHERE type = ANY($1::text[]) AND {where} ORDER BY position",
        [PLACEMENT_STARTED, PLACEMENT_ENDED],
        value,
    )
    placements: dict[str, tuple[str, str]] = {}
    for row in rows:
        if row["type"] == PLACEMENT_STARTED:
            placements[row["placement"]] = (row["child"], row["household"])
        else:
            placements.pop(row["placement"], None)
    return placements


async def current_households_of(conn: Any, child_id: uuid.UUID) -> set[uuid.UUID]:
    placements = await _open_placements(conn, "child_ids @> ARRAY[$2::uuid]", str(child_id))
    return _uuid_set([household for _, household in placements.values()])


async def children_placed_in(conn: Any, household_id: uuid.UUID) -> set[uuid.UUID]:
    placements = await _open_placements(conn, "data->>'household_id' = $2", str(household_id))
    return _uuid_set([child for child, _ in placements.values()])


async def relations_to(conn: Any, principal: Principal, target: Target) -> frozenset[Relation]:
    me = principal.subject
    found: set[Relation] = set()
    own_households = set(principal.household_ids)
    for child_id in target.child_ids:
        if child_id in principal.child_ids or me in await _allocated_workers(conn, "child", child_id):
            found.add(Relation.ALLOCATED)
        households = await current_households_of(conn, child_id)
        if households & own_households:
            found.add(Relation.CARES_FOR_CHILD)
        if principal.role == Role.SUPERVISING_SOCIAL_WORKER:
            for household_id in households:
                if me in await _allocated_workers(conn, "household", household_id):
                    found.add(Relation.SUPERVISES_PLACEMENT)
    for household_id in target.household_ids:
        if household_id in own_households:
            found.add(Relation.OWN_HOUSEHOLD)
        if principal.role != Role.CARER and me in await _allocated_workers(conn, "household", household_id):
            found.add(Relation.ALLOCATED)
        if principal.role == Role.CHILD_SOCIAL_WORKER:
            for child_id in await children_placed_in(conn, household_id):
                if child_id in principal.child_ids or me in await _allocated_workers(conn, "child", child_id):
                    found.add(Relation.ALLOCATED_CHILD_PLACED)
    return frozenset(found)


# ---- enforcement -----------------------------------------------------------------------------
# /metrics is not here: it checks its own credentials (shared/observability.py).
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})


class ReadsOfRecords:
    """The access log of one request: a row per child whose record it returns, each written once
    and before the answer (the route's reads and the writes overlap)."""

    def __init__(self, request: Request, principal: Principal, reason: str | None) -> None:
        self.request, self.principal, self.reason = request, principal, reason
        self._logged: set[uuid.UUID] = set()
        self._writes: list[asyncio.Future[None]] = []

    def note(self, child_ids: Iterable[uuid.UUID]) -> None:
        """Start writing the rows of `child_ids` not yet logged by this request."""
        new = sorted(set(child_ids) - self._logged)
        if new:
            self._logged.update(new)
            self._writes.append(asyncio.ensure_future(_write_access(self.request, self.principal, new, self.reason)))

    async def written(self) -> None:
        """Wait for every row noted so far."""
        writes, self._writes = self._writes, []
        if writes:
            await asyncio.gather(*writes)


async def children_read(request: Request, child_ids: Iterable[uuid.UUID | str]) -> None:
    """For a route whose answer holds parts of children's records found as it reads (the raw log, a
    household's placements, a worklist): log each child once, before any of it is sent."""
    reads: ReadsOfRecords | None = getattr(request.state, "reads", None)
    if reads is None:
        raise RuntimeError("children_read needs the access policy's dependency on the route")
    reads.note(c if isinstance(c, uuid.UUID) else uuid.UUID(str(c)) for c in child_ids)
    await reads.written()


async def enforce_policy(request: Request) -> AsyncIterator[None]:
    """Global dependency: every route is either public or listed in the app's route table.

    A read of the child's record is written to the access log while the route runs (the two round
    trips overlap), and the answer waits for it: nothing is served unless its reading is logged.
    Give it as `Depends(enforce_policy, scope="function")`, so it ends before the response."""
    reads = await _allowed(request)
    try:
        yield
    finally:
        if reads is not None:
            await reads.written()


async def _allowed(request: Request) -> ReadsOfRecords | None:
    """Refuses what the policy refuses; for an allowed request, its access log (the child named by
    an audited route already noted)."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    if path in PUBLIC_PATHS:
        return None
    break_glass_reason = request.headers.get(BREAK_GLASS_HEADER, "").strip()
    if len(break_glass_reason) > MAX_BREAK_GLASS_REASON_CHARS:  # refused before anything is written
        raise Problem(
            "validation",
            f"X-Break-Glass-Reason is at most {MAX_BREAK_GLASS_REASON_CHARS} characters.",
            header="X-Break-Glass-Reason",
        )
    rules: dict[tuple[str, str], RouteRule] = request.app.state.route_rules
    rule = rules.get((request.method, path or ""))
    if rule is None:
        raise Problem("forbidden", "This route has no access rule; refusing by default.")
    principal = await current_principal(request)
    if request.method == "POST":
        _limit_writes(request, principal)
    target = Target()
    relations: frozenset[Relation] = frozenset()
    object_id = await _object_id(request, rule)
    # Whether relationships matter at all for this caller: managers and inspectors need none.
    needs_relations = decide(principal.role, rule.resource, rule.action) != decide(
        principal.role, rule.resource, rule.action, ALL_RELATIONS
    )
    if object_id is not None:
        store = request.app.state.store
        target = await locate(store, str(rule.locate), object_id)
        if target.found and needs_relations:
            async with store.acquire() as conn:
                relations = await relations_to(conn, principal, target)
    elif rule.locate is not None and rule.source == "path":
        return None  # a malformed id: the route's own validation answers 422
    if rule.self_param is not None and request.query_params.get(rule.self_param) == principal.subject:
        relations = relations | {Relation.ALLOCATED}
    # A role that could not do this even with every relationship is refused before existence is
    # revealed; otherwise an object that does not exist is not found, in the same words as one the
    # caller may not see (a carer must not tell the two apart).
    decision = decide(principal.role, rule.resource, rule.action, ALL_RELATIONS)
    if decision.allowed and object_id is not None and not target.found and rule.source == "path":
        raise Problem("not-found", NOT_FOUND)
    if decision.allowed:
        decision = decide(principal.role, rule.resource, rule.action, relations)
    if not decision.allowed and break_glass_reason and _may_break_glass(principal, rule, target):
        await _record_break_glass(request, principal, target, break_glass_reason)
        decision = Decision(True)
    if not decision.allowed:
        if decision.status == 404:
            raise Problem("not-found", NOT_FOUND)
        raise Problem("forbidden", decision.reason)
    reads = request.state.reads = ReadsOfRecords(request, principal, break_glass_reason or None)
    if rule.audited:
        reads.note(target.child_ids)
    return reads


def _limit_writes(request: Request, principal: Principal) -> None:
    """Writes per principal (CARELOG_WRITES_PER_MINUTE): one runaway client or stolen token cannot
    flood the log. Replays of an Idempotency-Key are answered before this and cost nothing."""
    limits: TokenBuckets | None = getattr(request.app.state, "write_limits", None)
    if limits is None:
        return
    wait = limits.take(principal.subject)
    if wait:
        raise too_many(wait, "Too many writes from this caller; try again later.")


async def _object_id(request: Request, rule: RouteRule) -> uuid.UUID | None:
    """The id of the object the request names, if any and well-formed."""
    if rule.locate is None:
        return None
    raw: Any
    if rule.source == "path":
        raw = request.path_params.get(rule.param)
    elif rule.source == "query":
        raw = request.query_params.get(rule.param)
    else:
        try:
            body = await request.json()
        except ValueError:
            return None
        raw = body.get(rule.param) if isinstance(body, dict) else None
    try:
        return uuid.UUID(str(raw)) if raw is not None else None
    except ValueError:
        return None


def _may_break_glass(principal: Principal, rule: RouteRule, target: Target) -> bool:
    """Break-glass opens a record for reading only: every write outside an allocation is refused."""
    return (
        principal.role in WORKER_ROLES
        and rule.action == Action.READ
        and rule.resource in (Resource.CHILD, Resource.SHARED_PLAN, Resource.HOUSEHOLD)
        and target.found
        and bool(target.child_ids or target.household_ids)
    )


async def _write_access(
    request: Request, principal: Principal, child_ids: Sequence[uuid.UUID], reason: str | None
) -> None:
    route = request.scope.get("route")
    async with request.app.state.store.acquire() as conn:  # one autocommitted INSERT
        await conn.execute(
            "INSERT INTO access_log (at, actor_id, actor_role, child_id, method, route, path, break_glass, reason, "
            "request_id) SELECT $1, $2, $3, c, $5, $6, $7, $8, $9, $10 FROM unnest($4::uuid[]) AS c",
            request.app.state.clock.now(),  # the agency's clock, as every recorded instant
            principal.subject,
            principal.role.value,
            list(child_ids),
            request.method,
            getattr(route, "path", ""),
            request.url.path,
            reason is not None,
            reason,
            getattr(request.state, "request_id", None),  # checked by RequestObservation, unlike the header
        )


async def _record_break_glass(request: Request, principal: Principal, target: Target, reason: str) -> None:
    """Break-glass is allowed, recorded in the log and escalated to the registered manager at once."""
    now = request.app.state.clock.now()
    subject_id = next(iter(sorted(target.child_ids or target.household_ids)))
    kind = "child" if target.child_ids else "household"
    deadline_id = uuid.uuid4()
    metadata = {
        **principal.actor,
        "service": "access",
        "summary": f"Break-glass access by {principal.subject}: {reason}",
    }
    children = tuple(sorted(target.child_ids))
    events = [
        NewEvent(
            type=BREAK_GLASS_USED,
            data={
                "actor_id": principal.subject,
                "role": principal.role.value,
                "reason": reason,
                "path": request.url.path,
                f"{kind}_id": str(subject_id),
            },
            occurred_at=now,
            child_ids=children,
            metadata=metadata,
        ),
        NewEvent(
            type="DeadlineSet",
            data=DeadlineSet(
                deadline_id=deadline_id,
                kind="access.break_glass_review",
                subject=f"{kind}-{subject_id}",
                child_ids=list(children),
                started_at=now,
                due_at=now,
                escalate_to=Role.REGISTERED_MANAGER.value,
                description=f"Review break-glass access by {principal.subject}",
                source="carelog access policy (DESIGN.md §4)",
            ).model_dump(mode="json"),
            occurred_at=now,
            child_ids=children,
            metadata={**metadata, "summary": "Break-glass access to be reviewed by the registered manager"},
        ),
    ]
    await request.app.state.store.append(f"access-{subject_id}", events)


# ---- the access log and allocations as API ---------------------------------------------------
router = APIRouter(prefix="/v1", tags=["access"])


@router.get("/children/{id}/access-log", summary="Who read this child's record, when and why")
async def access_log(
    request: Request,
    id: uuid.UUID,
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    async with request.app.state.store.reader.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT id, at, actor_id, actor_role, method, route, path, break_glass, reason FROM access_log "
                "WHERE child_id = :c AND id > :after ORDER BY id LIMIT :n"
            ),
            {"c": id, "after": after, "n": limit},
        )
        entries = [{**r._mapping, "at": r.at.isoformat()} for r in rows]
    return {"child_id": str(id), "entries": entries, "next_after": entries[-1]["id"] if len(entries) == limit else None}


class AllocationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    worker_id: str = Field(min_length=1, max_length=200, examples=["sw-ada"])
    role: Literal["child_social_worker", "supervising_social_worker", "lado"]
    child_id: uuid.UUID | None = None
    household_id: uuid.UUID | None = None
    reason: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _one_target(self) -> AllocationRequest:
        if (self.child_id is None) == (self.household_id is None):
            raise ValueError("name exactly one of child_id or household_id")
        return self


async def _allocate(request: Request, body: AllocationRequest, event_type: str) -> dict[str, Any]:
    principal = await current_principal(request)
    target_id = body.child_id or body.household_id
    kind = "child" if body.child_id else "household"
    if not await request.app.state.store.stream_exists(f"{kind}-{target_id}"):
        raise Problem("not-found", f"No such {kind}.")
    now: datetime = request.app.state.clock.now()
    verb = "allocated to" if event_type == WORKER_ALLOCATED else "no longer allocated to"
    recorded = await request.app.state.store.append(
        f"allocation-{target_id}",
        [
            NewEvent(
                type=event_type,
                data=body.model_dump(mode="json"),
                occurred_at=now,
                child_ids=(body.child_id,) if body.child_id else (),
                metadata={**principal.actor, "service": "access", "summary": f"{body.worker_id} {verb} this {kind}"},
            )
        ],
    )
    return {"event_id": str(recorded[0].event_id), "position": recorded[0].position, **body.model_dump(mode="json")}


@router.post("/allocations", status_code=201, summary="Allocate a worker to a child or household")
async def allocate(request: Request, body: AllocationRequest) -> dict[str, Any]:
    return await _allocate(request, body, WORKER_ALLOCATED)


@router.post("/allocations/end", status_code=201, summary="End a worker's allocation")
async def end_allocation(request: Request, body: AllocationRequest) -> dict[str, Any]:
    return await _allocate(request, body, ALLOCATION_ENDED)


R, A = Resource, Action


def _child(action: Action, param: str = "child_id", audited: bool = False) -> RouteRule:
    return RouteRule(R.CHILD, action, "child", param, audited=audited)


# Every route of the API and what it touches. A route missing here is refused (tested).
ROUTE_RULES: dict[tuple[str, str], RouteRule] = {
    # the raw log and its verification
    ("GET", "/v1/events"): RouteRule(R.LOG, A.READ),
    ("GET", "/v1/events/stream"): RouteRule(R.LOG, A.READ),
    ("GET", "/v1/streams/{stream_id}"): RouteRule(R.LOG, A.READ),
    ("GET", "/v1/admin/verify"): RouteRule(R.LOG, A.READ),
    ("POST", "/v1/admin/checkpoints"): RouteRule(R.LOG, A.WRITE),
    # access
    ("GET", "/v1/children/{id}/access-log"): RouteRule(R.ACCESS_LOG, A.READ, "child", "id"),
    ("POST", "/v1/allocations"): RouteRule(R.ALLOCATION, A.CREATE),
    ("POST", "/v1/allocations/end"): RouteRule(R.ALLOCATION, A.CREATE),
    # visits: the child's record
    ("POST", "/v1/children"): RouteRule(R.CHILD, A.CREATE),
    ("GET", "/v1/children/{child_id}"): _child(A.READ, audited=True),
    ("GET", "/v1/children/{child_id}/chronology"): _child(A.READ, audited=True),
    ("GET", "/v1/children/{child_id}/compliance"): _child(A.READ, audited=True),
    ("GET", "/v1/children/{child_id}/export"): _child(A.READ, audited=True),
    ("POST", "/v1/children/{child_id}/visits"): _child(A.WRITE),
    ("POST", "/v1/children/{child_id}/contacts"): _child(A.WRITE),
    ("POST", "/v1/children/{child_id}/incidents"): _child(A.WRITE),
    ("POST", "/v1/children/{child_id}/statements"): _child(A.WRITE),
    ("POST", "/v1/children/{child_id}/amendments"): _child(A.WRITE),
    ("POST", "/v1/children/{child_id}/complaints"): _child(A.WRITE),
    # visits: plans, risk, health, reviews, concerns (issue 12); carers see only the shared plans
    ("GET", "/v1/children/{child_id}/shared-plans"): RouteRule(
        R.SHARED_PLAN, A.READ, "child", "child_id", audited=True
    ),
    ("POST", "/v1/children/{child_id}/plans/{plan_id}/acknowledge"): RouteRule(
        R.SHARED_PLAN, A.WRITE, "child", "child_id"
    ),
    ("GET", "/v1/children/{child_id}/plans"): _child(A.READ, audited=True),
    ("GET", "/v1/children/{child_id}/health"): _child(A.READ, audited=True),
    ("GET", "/v1/children/{child_id}/concerns"): _child(A.READ, audited=True),
    **{
        ("POST", f"/v1/children/{{child_id}}/{tail}"): _child(A.WRITE)
        for tail in (
            "plans",
            "plans/{plan_id}/share",
            "risk-assessments",
            "health-checks",
            "looked-after-reviews",
            "concerns",
            "concerns/{concern_id}/actions",
            "concerns/{concern_id}/outcome",
            "concerns/{concern_id}/escalate",
        )
    },
    ("GET", "/v1/complaints/{complaint_id}"): RouteRule(R.CHILD, A.READ, "complaint", "complaint_id", audited=True),
    **{
        ("POST", f"/v1/complaints/{{complaint_id}}/{step}"): RouteRule(R.CHILD, A.WRITE, "complaint", "complaint_id")
        for step in ("acknowledge", "respond", "extend", "escalate", "close")
    },
    ("GET", "/v1/visits/due"): RouteRule(R.REPORT, A.READ, self_param="worker_id"),
    # carers: households, placements, allegations
    ("POST", "/v1/households"): RouteRule(R.HOUSEHOLD, A.CREATE),
    ("GET", "/v1/compliance/households"): RouteRule(R.REPORT, A.READ),
    ("GET", "/v1/households/{household_id}"): RouteRule(R.HOUSEHOLD, A.READ, "household", "household_id"),
    ("GET", "/v1/households/{household_id}/compliance"): RouteRule(R.HOUSEHOLD, A.READ, "household", "household_id"),
    **{
        ("POST", f"/v1/households/{{household_id}}/{tail}"): RouteRule(
            R.HOUSEHOLD, A.WRITE, "household", "household_id"
        )
        for tail in (
            "members",
            "members/{member_id}/checks",
            "approval",
            "approval/end",
            "supervisions",
            "training",
            "reviews",
            "holds",
            "holds/{hold_id}/lift",
        )
    },
    ("POST", "/v1/placements"): RouteRule(R.CHILD, A.WRITE, "child", "child_id", source="body"),
    ("GET", "/v1/placements/{placement_id}"): RouteRule(R.CHILD, A.READ, "placement", "placement_id", audited=True),
    ("POST", "/v1/placements/{placement_id}/end"): RouteRule(R.CHILD, A.WRITE, "placement", "placement_id"),
    ("POST", "/v1/placements/{placement_id}/ending"): RouteRule(R.CHILD, A.WRITE, "placement", "placement_id"),
    ("POST", "/v1/workers/{worker_id}/supervisions"): RouteRule(R.REPORT, A.WRITE),
    ("GET", "/v1/caseloads"): RouteRule(R.REPORT, A.READ, self_param="worker_id"),
    ("POST", "/v1/allegations"): RouteRule(R.ALLEGATION, A.CREATE),
    ("GET", "/v1/allegation-reports/{report_id}"): RouteRule(
        R.ALLEGATION, A.READ, "allegation-report", "report_id", audited=True
    ),
    ("POST", "/v1/allegation-reports/{report_id}/close"): RouteRule(
        R.ALLEGATION, A.WRITE, "allegation-report", "report_id"
    ),
    ("GET", "/v1/allegations/{allegation_id}"): RouteRule(
        R.ALLEGATION, A.READ, "allegation", "allegation_id", audited=True
    ),
    **{
        ("POST", f"/v1/allegations/{{allegation_id}}/{step}"): RouteRule(
            R.ALLEGATION, A.WRITE, "allegation", "allegation_id"
        )
        for step in ("lado-referral", "written-confirmation", "outcome")
    },
    # notifications
    ("POST", "/v1/subscriptions"): RouteRule(R.SUBSCRIPTION, A.CREATE),
    ("GET", "/v1/subscriptions"): RouteRule(R.SUBSCRIPTION, A.READ),
    ("GET", "/v1/subscriptions/{subscription_id}"): RouteRule(R.SUBSCRIPTION, A.READ),
    ("POST", "/v1/subscriptions/{subscription_id}/disable"): RouteRule(R.SUBSCRIPTION, A.WRITE),
    ("POST", "/v1/subscriptions/{subscription_id}/rotate-secret"): RouteRule(R.SUBSCRIPTION, A.WRITE),
    ("GET", "/v1/notifications"): RouteRule(R.NOTIFICATION, A.READ, "child", "child_id", source="query"),
    ("GET", "/v1/notifications/{notification_id}"): RouteRule(
        R.NOTIFICATION, A.READ, "notification", "notification_id", audited=True
    ),
    ("POST", "/v1/notifications/{notification_id}/acknowledge"): RouteRule(
        R.NOTIFICATION, A.WRITE, "notification", "notification_id"
    ),
    ("GET", "/v1/escalations"): RouteRule(R.NOTIFICATION, A.READ, "child", "child_id", source="query"),
    ("GET", "/v1/escalations/{escalation_id}"): RouteRule(
        R.NOTIFICATION, A.READ, "escalation", "escalation_id", audited=True
    ),
    # investigations: reports and the inspector's pages (the export is listed with the child's record)
    ("GET", "/v1/reports/kpis"): RouteRule(R.REPORT, A.READ),
    ("GET", "/inspect/children/{child_id}"): _child(A.READ, audited=True),
    ("GET", "/inspect/kpis"): RouteRule(R.REPORT, A.READ),
}
