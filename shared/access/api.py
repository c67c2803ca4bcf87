"""The access log and allocations as API: who read a child's record, and who works with whom."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.access.guard import access
from shared.auth import Principal
from shared.contracts.access import AllocationEnded, WorkerAllocated
from shared.eventstore import NewEvent
from shared.policy import Action, Resource
from shared.problems import Problem
from shared.recording import Recorder

router = APIRouter(prefix="/v1", tags=["access"])


class AccessLogEntry(BaseModel):
    id: int
    at: datetime
    actor_id: str
    actor_role: str
    method: str
    route: str
    path: str
    break_glass: bool
    reason: str | None


class AccessLog(BaseModel):
    child_id: uuid.UUID
    entries: list[AccessLogEntry]
    next_after: int | None = Field(description="Pass as `after` for the next page; null at the end.")


_ACCESS_LOG = (
    "SELECT id, at, actor_id, actor_role, method, route, path, break_glass, reason FROM access_log "
    "WHERE child_id = $1 AND id > $2 ORDER BY id LIMIT $3"
)


@router.get("/children/{id}/access-log", summary="Who read this child's record, when and why")
async def access_log(
    request: Request,
    id: uuid.UUID,
    _caller: Annotated[Principal, access(Resource.ACCESS_LOG, Action.READ, locate="child", param="id")],
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AccessLog:
    async with request.app.state.store.acquire() as conn:
        rows = await conn.fetch(_ACCESS_LOG, id, after, limit)
    entries = [AccessLogEntry(**dict(r)) for r in rows]
    return AccessLog(child_id=id, entries=entries, next_after=entries[-1].id if len(entries) == limit else None)


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


class Allocation(AllocationRequest):
    event_id: uuid.UUID
    position: int


Allocator = Annotated[Principal, access(Resource.ALLOCATION, Action.CREATE)]


def decide_allocation(rec: Recorder, body: AllocationRequest, allocated: bool) -> NewEvent:
    """Pure: the allocation (or its end) as an event of the target's allocation stream."""
    fields = body.model_dump()
    payload = WorkerAllocated(**fields) if allocated else AllocationEnded(**fields)
    kind = "child" if body.child_id else "household"
    verb = "allocated to" if allocated else "no longer allocated to"
    children = (body.child_id,) if body.child_id else ()
    return rec.event(payload, child_ids=children, summary=f"{body.worker_id} {verb} this {kind}")


async def _allocate(request: Request, principal: Principal, body: AllocationRequest, allocated: bool) -> Allocation:
    target_id = body.child_id or body.household_id
    kind = "child" if body.child_id else "household"
    state = request.app.state
    if not await state.store.stream_exists(f"{kind}-{target_id}"):
        raise Problem("not-found", f"No such {kind}.")
    # Event ids derive from the Idempotency-Key: a retry after a crash finds its event stored.
    rec = Recorder(
        service="access",
        principal=principal,
        clock=state.clock,
        settings=state.settings,
        request_id=getattr(request.state, "request_id", ""),
        correlation_id=getattr(request.state, "correlation_id", None) or "",
        idempotency_key=request.headers.get("idempotency-key"),
    )
    [recorded] = await state.store.append(f"allocation-{target_id}", [decide_allocation(rec, body, allocated)])
    return Allocation(event_id=recorded.event_id, position=recorded.position, **body.model_dump())


@router.post("/allocations", status_code=201, summary="Allocate a worker to a child or household")
async def allocate(request: Request, body: AllocationRequest, caller: Allocator) -> Allocation:
    return await _allocate(request, caller, body, allocated=True)


@router.post("/allocations/end", status_code=201, summary="End a worker's allocation")
async def end_allocation(request: Request, body: AllocationRequest, caller: Allocator) -> Allocation:
    return await _allocate(request, caller, body, allocated=False)
