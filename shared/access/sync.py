"""Sync for offline clients: `GET /v1/sync?cursor=` answers what changed in the log since the cursor
that the caller may read, a page at a time, with the cursor to ask from next.

A mobile client keeps the last cursor it was given. Offline, it queues its writes, each with its own
`Idempotency-Key` and the `If-Match` of the version it last saw; back online it replays the queue
(a write already made is answered again, not made twice; a record someone else changed meanwhile
is 412 with its current version) and then syncs from its cursor.

What the caller may read is decided per child by the same policy as every route (shared/policy.py)
from the caller's relations (shared/access/relations.py): an event appears only when the caller may
read the record of every child it names. Events that name no child, and the delivery diagnostics
of webhooks and email (for those who may read the raw log), never appear.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Request
from pydantic import BaseModel, Field

from shared.access.api import router
from shared.access.guard import access
from shared.access.reads import children_read
from shared.access.relations import Target, relations_to
from shared.auth import Principal
from shared.eventstore import EventFilter, RecordedEvent
from shared.policy import Action, Resource, decide

# The caller's own feed: caseworkers name themselves (`worker_id`), managers and inspectors need not.
SyncReader = Annotated[Principal, access(Resource.REPORT, Action.READ, self_param="worker_id")]
# What a child's record shows its readers, but the sync feed does not: why a delivery failed says
# what listens where (shown only to those who may read the raw log).
NOT_SYNCED = frozenset({"notifications.DeliveryAttempted"})
MAX_PAGE = 1000


class SyncEntry(BaseModel):
    position: int
    event_id: uuid.UUID
    stream_id: str
    stream_version: int = Field(description="Send it as If-Match to write to this stream next.")
    type: str
    data: dict[str, Any]
    child_ids: list[uuid.UUID]
    occurred_at: datetime
    recorded_at: datetime
    summary: str | None
    actor_id: str | None


class SyncPage(BaseModel):
    entries: list[SyncEntry]
    cursor: int = Field(description="Ask from here next time (`cursor=`), whether or not entries were found.")
    more: bool = Field(description="True when the log holds more after `cursor`: ask again at once.")


def _entry(event: RecordedEvent) -> SyncEntry:
    return SyncEntry(
        position=event.position,
        event_id=event.event_id,
        stream_id=event.stream_id,
        stream_version=event.stream_version,
        type=event.type,
        data=event.data,
        child_ids=list(event.child_ids),
        occurred_at=event.occurred_at,
        recorded_at=event.recorded_at,
        summary=event.metadata.get("summary"),
        actor_id=event.metadata.get("actor_id"),
    )


class Readable:
    """Whether the caller may read a child's record, asked once per child a page names."""

    def __init__(self, request: Request, principal: Principal) -> None:
        self.request = request
        self.principal = principal
        self.known: dict[uuid.UUID, bool] = {}

    async def child(self, child_id: uuid.UUID) -> bool:
        if child_id not in self.known:
            relations = await relations_to(self.request.app.state, self.principal, Target(child_ids={child_id}))
            self.known[child_id] = decide(self.principal.role, Resource.CHILD, Action.READ, relations).allowed
        return self.known[child_id]

    async def event(self, event: RecordedEvent) -> bool:
        if event.type in NOT_SYNCED or not event.child_ids:
            return False
        for child_id in event.child_ids:
            if not await self.child(child_id):
                return False
        return True


@router.get("/sync", tags=["sync"], summary="What changed since the cursor that you may read, a page at a time")
async def sync(
    request: Request,
    caller: SyncReader,
    cursor: Annotated[int, Query(ge=0, le=2**63 - 1, description="From the last page; 0 the first time")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Log positions looked at in this page")] = 200,
    worker_id: Annotated[str | None, Query(max_length=255, description="You (caseworkers)")] = None,
) -> SyncPage:
    events = await request.app.state.store.read(EventFilter(after=cursor, limit=limit))
    readable = Readable(request, caller)
    entries = [_entry(e) for e in events if await readable.event(e)]
    await children_read(request, {c for entry in entries for c in entry.child_ids})
    next_cursor = events[-1].position if events else cursor
    return SyncPage(entries=entries, cursor=next_cursor, more=len(events) == limit)
