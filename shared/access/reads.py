"""The access log: every read of a child's record, by whom, why (break-glass) and through which
route, written before the answer is sent. And break-glass itself: allowed, recorded in the log
and put before the registered manager at once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Sequence

from fastapi import Request

from shared.auth import Principal, Role
from shared.contracts.access import BreakGlassUsed
from shared.contracts.deadlines import DeadlineSet
from shared.eventstore import NewEvent


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
            self._writes.append(asyncio.ensure_future(_write(self.request, self.principal, new, self.reason)))

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
        raise RuntimeError("children_read needs the route's access declaration")
    reads.note(c if isinstance(c, uuid.UUID) else uuid.UUID(str(c)) for c in child_ids)
    await reads.written()


async def _write(request: Request, principal: Principal, child_ids: Sequence[uuid.UUID], reason: str | None) -> None:
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


async def record_break_glass(
    request: Request, principal: Principal, child_ids: set[uuid.UUID], household_ids: set[uuid.UUID], reason: str
) -> None:
    """Break-glass is allowed, recorded in the log and escalated to the registered manager at once."""
    now = request.app.state.clock.now()
    subject_id = next(iter(sorted(child_ids or household_ids)))
    kind = "child" if child_ids else "household"
    metadata = {
        **principal.actor,
        "service": "access",
        "summary": f"Break-glass access by {principal.subject}: {reason}",
    }
    children = tuple(sorted(child_ids))
    used = BreakGlassUsed(
        actor_id=principal.subject,
        role=principal.role.value,
        reason=reason,
        path=request.url.path,
        child_id=subject_id if kind == "child" else None,
        household_id=subject_id if kind == "household" else None,
    )
    review = DeadlineSet(
        deadline_id=uuid.uuid4(),
        kind="access.break_glass_review",
        subject=f"{kind}-{subject_id}",
        child_ids=list(children),
        started_at=now,
        due_at=now,
        escalate_to=Role.REGISTERED_MANAGER.value,
        description=f"Review break-glass access by {principal.subject}",
        source="carelog access policy: break-glass is reviewed by the registered manager",
    )
    events = [
        NewEvent(used.event_type, used.payload(), now, children, metadata),
        NewEvent(
            review.event_type,
            review.payload(),
            now,
            children,
            {**metadata, "summary": "Break-glass access to be reviewed by the registered manager"},
        ),
    ]
    await request.app.state.store.append(f"access-{subject_id}", events)
