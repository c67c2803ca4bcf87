"""Liveness, readiness and the raw log (global feed and streams)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from shared.access import access, children_read
from shared.auth import Principal
from shared.checkpoints import Checkpoint, signing_key, take_checkpoint
from shared.db import is_ready
from shared.eventstore import EventFilter, RecordedEvent, VerifyResult, verify_chain
from shared.policy import Action, Resource
from shared.problems import Problem
from shared.settings import ConfigurationError
from shared.tasks import wait_or_timeout
from shared.types import Instant

log = logging.getLogger(__name__)
router = APIRouter()

# Who may call each route (shared/policy.py decides; shared/access enforces and logs reads).
LogReader = Annotated[Principal, access(Resource.LOG, Action.READ)]
LogWriter = Annotated[Principal, access(Resource.LOG, Action.WRITE)]


class Feed(BaseModel):
    events: list[RecordedEvent]
    next_after: int | None = Field(description="Pass as `after` for the next page; null on the last page")


class StreamRead(BaseModel):
    stream_id: str
    version: int
    events: list[RecordedEvent]


class Liveness(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]


# The log's pages are sent as read (the stored JSON, not re-validated): the models above document them.
def _as_read(body: dict[str, Any], status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code)


@router.get("/healthz", tags=["operations"], summary="Liveness: the process answers")
async def healthz() -> Liveness:
    return Liveness(status="ok")


@router.get("/readyz", tags=["operations"], summary="Readiness: database reachable, migrations at head")
async def readyz(request: Request) -> Readiness:
    ready, reason = await is_ready(request.app.state.engine)
    if not ready:
        raise Problem("unavailable", reason)
    return Readiness(status="ready")


@router.get("/v1/events", tags=["log"], summary="The global feed, in position order", response_model=Feed)
async def global_feed(
    request: Request,
    _caller: LogReader,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="Return events after this position")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    type: Annotated[list[str] | None, Query(description="Only these event types")] = None,
    service: Annotated[str | None, Query(pattern="^[a-z]+$")] = None,
    child_id: uuid.UUID | None = None,
    actor_id: Annotated[str | None, Query(max_length=200)] = None,
    occurred_from: Instant | None = None,
    occurred_to: Instant | None = None,
    as_of: Instant | None = None,
) -> JSONResponse:
    flt = EventFilter(
        after=after,
        limit=limit,
        types=type,
        type_prefix=f"{service}." if service else None,
        child_id=child_id,
        actor_id=actor_id,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
        as_of=as_of,
    )
    events = await request.app.state.store.read(flt)
    await children_read(request, _children_of(events))
    return _as_read(_page(events, limit))


@router.get("/v1/streams/{stream_id}", tags=["log"], summary="One stream, in version order", response_model=StreamRead)
async def read_stream(
    request: Request,
    stream_id: Annotated[str, Path(max_length=200)],
    _caller: LogReader,
    as_of: Instant | None = None,
) -> JSONResponse:
    events = await request.app.state.store.read_stream(stream_id, as_of=as_of)
    if not events:
        raise Problem("not-found", f"No stream {stream_id}.")
    await children_read(request, _children_of(events))
    version = events[-1].stream_version
    return _as_read({"stream_id": stream_id, "version": version, "events": [e.as_json() for e in events]})


def _children_of(events: list[Any]) -> set[uuid.UUID]:
    return {child for event in events for child in event.child_ids}


def _page(events: list[Any], limit: int) -> dict[str, Any]:
    return {
        "events": [e.as_json() for e in events],
        "next_after": events[-1].position if len(events) == limit else None,
    }


@router.get("/v1/admin/verify", tags=["log"], summary="Recompute the hash chain of the whole log")
async def verify(
    request: Request,
    _caller: LogReader,
) -> VerifyResult:
    return await verify_chain(request.app.state.engine)


@router.post(
    "/v1/admin/checkpoints",
    tags=["log"],
    status_code=201,
    summary="Sign (position, head hash, time) now with the agency's Ed25519 key",
)
async def create_checkpoint(
    request: Request,
    _caller: LogWriter,
) -> Checkpoint:
    try:
        key = await asyncio.to_thread(signing_key, request.app.state.settings)
    except ConfigurationError as exc:  # never a key of the moment's own: no one could check against it
        raise Problem("unavailable", f"Checkpoints cannot be signed: {exc}.") from exc
    return await take_checkpoint(request.app.state.engine, key, request.app.state.clock.now())


async def checkpoint_worker(state: Any) -> None:
    """Sign the head every `checkpoint_interval` seconds (skipped while the log has not moved), until
    the app is stopping."""
    try:
        key = await asyncio.to_thread(signing_key, state.settings)
    except ConfigurationError as exc:
        log.error("no periodic checkpoints: %s", exc)
        return
    last_position = -1
    while True:
        await wait_or_timeout(state.stopping, state.settings.checkpoint_interval)
        if state.stopping.is_set():
            return
        try:
            position, _ = await state.store.head()
            if position != last_position:
                last_position = (await take_checkpoint(state.engine, key, state.clock.now())).position
        except Exception:
            log.exception("checkpoint failed; will retry")


@router.get(
    "/v1/events/stream",
    tags=["log"],
    summary="The global feed as NDJSON, streamed: for large ranges, read in chunks without a page limit",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "One event per line, each as in the global feed",
            "content": {"application/x-ndjson": {"schema": {"$ref": "#/components/schemas/RecordedEvent"}}},
        }
    },
)
async def stream_feed(
    request: Request,
    _caller: LogReader,
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    to_position: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    type: Annotated[list[str] | None, Query(description="Only these event types")] = None,
    service: Annotated[str | None, Query(pattern="^[a-z]+$")] = None,
    child_id: uuid.UUID | None = None,
    actor_id: Annotated[str | None, Query(max_length=200)] = None,
    as_of: Instant | None = None,
) -> StreamingResponse:
    flt = EventFilter(
        after=after,
        types=type,
        type_prefix=f"{service}." if service else None,
        child_id=child_id,
        actor_id=actor_id,
        as_of=as_of,
        to_position=to_position,
    )

    async def lines() -> AsyncIterator[bytes]:
        # A page at a time: its children are in the access log before any of it is sent.
        after = flt.after
        while True:
            page = await request.app.state.store.read(replace(flt, after=after, limit=1000))
            await children_read(request, _children_of(page))
            for event in page:
                yield orjson.dumps(event.as_json()) + b"\n"
            if len(page) < 1000:
                return
            after = page[-1].position

    return StreamingResponse(lines(), media_type="application/x-ndjson")
