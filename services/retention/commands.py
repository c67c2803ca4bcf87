"""Legal holds: pure deciders and their thin shells. Destruction is `destroy.py` (the CLI's)."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from services.retention import projections as pj
from services.retention.events import LegalHoldLifted, LegalHoldPlaced, SubjectKind, hold_stream
from shared.commanding import CommandContext
from shared.eventstore import NO_STREAM, NewEvent, RecordedEvent
from shared.policy import require_writer
from shared.problems import Problem
from shared.recording import Recorder

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2_000)]
Grounds = Annotated[str, StringConstraints(pattern="^(inquiry|litigation|ombudsman|other)$")]


class HoldIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "subject_kind": "child",
                    "subject_id": "0b1f5a2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
                    "grounds": "inquiry",
                    "reason": "Independent inquiry into child sexual abuse: records to be preserved",
                }
            ]
        },
    )
    subject_kind: SubjectKind
    subject_id: uuid.UUID
    grounds: Grounds
    reason: Reason


class LiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


def _child_ids(kind: SubjectKind, subject_id: uuid.UUID) -> list[uuid.UUID]:
    return [subject_id] if kind == SubjectKind.CHILD else []


def decide_hold(rec: Recorder, record: pj.RetentionRow | None, body: HoldIn) -> list[NewEvent]:
    if record is None:
        raise Problem("not-found", f"No {body.subject_kind.value} record {body.subject_id}.")
    if record.destroyed_on is not None:
        raise Problem("state-conflict", f"The record was destroyed on {record.destroyed_on:%d %b %Y}.")
    placed = LegalHoldPlaced(
        hold_id=rec.new_id(),
        subject_kind=body.subject_kind,
        subject_id=body.subject_id,
        grounds=body.grounds,
        reason=body.reason,
        placed_at=rec.now(),
    )
    summary = f"Legal hold ({body.grounds}) on the {body.subject_kind.value}'s record: {body.reason[:120]}"
    return [rec.event(placed, child_ids=_child_ids(body.subject_kind, body.subject_id), summary=summary)]


async def place_hold(ctx: CommandContext, body: HoldIn) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    async with ctx.store.acquire() as conn:
        found = await pj.retention_rows(conn, kind=body.subject_kind, subject_id=body.subject_id)
    events = decide_hold(ctx, found[0] if found else None, body)
    return await ctx.append(hold_stream(uuid.UUID(events[0].data["hold_id"])), events, NO_STREAM)


def decide_lift(rec: Recorder, hold: pj.HoldRow | None, hold_id: uuid.UUID, body: LiftIn) -> list[NewEvent]:
    if hold is None:
        raise Problem("not-found", f"No legal hold {hold_id}.")
    if hold.lifted_at is not None:
        raise Problem("state-conflict", f"The hold was already lifted on {hold.lifted_at:%d %b %Y}.")
    lifted = LegalHoldLifted(
        hold_id=hold_id, subject_kind=hold.kind, subject_id=hold.subject_id, reason=body.reason, lifted_at=rec.now()
    )
    summary = f"Legal hold lifted on the {hold.kind.value}'s record: {body.reason[:120]}"
    return [rec.event(lifted, child_ids=_child_ids(hold.kind, hold.subject_id), summary=summary)]


async def lift_hold(ctx: CommandContext, hold_id: uuid.UUID, body: LiftIn) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    async with ctx.store.acquire() as conn:
        hold = await pj.hold(conn, hold_id)
    version = await ctx.store.stream_version(hold_stream(hold_id))
    return await ctx.append(hold_stream(hold_id), decide_lift(ctx, hold, hold_id, body), ctx.expected(version))
