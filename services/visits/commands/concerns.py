"""Concerns that are not formal complaints: raised (with a clock to act and answer), acted on,
answered, or escalated to a complaint, an allegation or a child protection enquiry."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field

from services.visits import projections as pj
from services.visits import rules
from services.visits.commands.common import Body, Text, child_of, found, humanise, met, started
from services.visits.commands.record import RecordIncident, decide_incident
from services.visits.events import (
    ConcernActioned,
    ConcernEscalated,
    ConcernEscalation,
    ConcernRaised,
    ConcernRaisedBy,
    ConcernResolved,
    IncidentCategory,
    StrategyDiscussionRecorded,
    child_stream,
)
from services.visits.projections import ChildContext, Concern
from shared.commanding import CommandContext
from shared.eventstore import NewEvent, RecordedEvent
from shared.policy import require_writer
from shared.problems import Problem
from shared.recording import Recorder
from shared.refusals import Reason, refuse_if
from shared.types import Instant


class RaiseConcern(Body):
    raised_at: Instant
    raised_by: ConcernRaisedBy
    summary: str = Text
    childs_words: str | None = Field(default=None, max_length=20_000)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "raised_at": "2026-11-24T16:00:00Z",
                    "raised_by": "child",
                    "summary": "Told her teacher she does not feel safe with the older boy in the house.",
                    "childs_words": "I don't feel safe there.",
                }
            ]
        }
    )


class ConcernAction(Body):
    actioned_at: Instant | None = None
    action: str = Text


class ConcernOutcome(Body):
    resolved_at: Instant | None = None
    outcome: str = Text
    child_told: bool = False


class EscalateConcern(Body):
    escalated_at: Instant | None = None
    to: ConcernEscalation
    reason: str = Text


class StrategyDiscussion(Body):
    held_at: Instant
    outcome: str = Text


def decide_concern(rec: Recorder, child: ChildContext, child_id: uuid.UUID, body: RaiseConcern) -> list[NewEvent]:
    """The concern, in the household the child is placed with, and the clock to act on it and
    record its outcome."""
    refuse_if(rules.occurrence_refusals("raised_at", body.raised_at, rec.now()))
    deadline_id = rec.new_id()
    concern = rec.event(
        ConcernRaised(
            concern_id=rec.new_id(),
            child_id=child_id,
            household_id=child.household_id,
            response_deadline_id=deadline_id,
            **body.model_dump(),
        ),
        occurred_at=body.raised_at,
        child_ids=[child_id],
        summary=f"Concern raised by the {body.raised_by.value}: {body.summary[:120]}",
    )
    due = rules.concern_response(body.raised_at, rec.settings.visits)
    clock = started(
        rec,
        due,
        subject=child_stream(child_id),
        child_id=child_id,
        cause=concern,
        household_id=child.household_id,
        deadline_id=deadline_id,
    )
    return [concern, clock]


async def raise_concern(ctx: CommandContext, child_id: uuid.UUID, body: RaiseConcern) -> list[RecordedEvent]:
    child, version = await child_of(ctx, child_id)
    return await ctx.append(child_stream(child_id), decide_concern(ctx, child, child_id, body), ctx.expected(version))


_NO_HOUSEHOLD = (
    "The concern was raised while the child was placed with no household: record the allegation about "
    "the household or person it concerns directly (POST /v1/allegations)."
)


# ---- what happens to it --------------------------------------------------------------------------
def _still_open(concern: Concern) -> None:
    if concern.status in ("resolved", "escalated"):
        raise Problem("state-conflict", f"The concern is already {concern.status}.")


def _occurred(rec: Recorder, concern: Concern, field: str, value: datetime | None) -> tuple[datetime, list[Reason]]:
    """When it happened (default: now), and why that cannot be: ahead of now, before the concern."""
    at = value or rec.now()
    since = "the concern was raised"
    return at, rules.occurrence_refusals(field, at, rec.now(), not_before=concern.raised_at, since=since)


def decide_concern_action(rec: Recorder, concern: Concern, body: ConcernAction) -> list[NewEvent]:
    _still_open(concern)
    at, reasons = _occurred(rec, concern, "actioned_at", body.actioned_at)
    refuse_if(reasons)
    return [
        rec.event(
            ConcernActioned(
                concern_id=concern.concern_id, child_id=concern.child_id, actioned_at=at, action=body.action
            ),
            occurred_at=at,
            child_ids=[concern.child_id],
            summary=f"Action on a concern: {body.action[:120]}",
        )
    ]


def decide_concern_outcome(
    rec: Recorder, child: ChildContext, concern: Concern, body: ConcernOutcome
) -> list[NewEvent]:
    """The outcome, once something was done about the concern; it meets the concern's clock."""
    _still_open(concern)
    at, reasons = _occurred(rec, concern, "resolved_at", body.resolved_at)
    refuse_if(rules.concern_outcome_refusals(actions=concern.actions, status=concern.status) + reasons)
    event = rec.event(
        ConcernResolved(
            concern_id=concern.concern_id,
            child_id=concern.child_id,
            resolved_at=at,
            outcome=body.outcome,
            child_told=body.child_told,
        ),
        occurred_at=at,
        child_ids=[concern.child_id],
        summary=f"Concern outcome: {body.outcome[:120]}" + (" (child told)" if body.child_told else ""),
    )
    clock = child.clock(concern.response_deadline_id)
    return [event] + ([met(rec, clock, at, event, concern.child_id)] if clock is not None else [])


def decide_concern_escalation(
    rec: Recorder, child: ChildContext, concern: Concern, body: EscalateConcern
) -> list[NewEvent]:
    """The decision to treat the concern as a complaint, an allegation or a child protection enquiry;
    it meets the concern's clock. A complaint is then received by this service (its reactor); an
    allegation (about the household the concern was raised in) is recorded by the carers service,
    which follows the log, under the id named here."""
    _still_open(concern)
    at, reasons = _occurred(rec, concern, "escalated_at", body.escalated_at)
    if body.to == ConcernEscalation.ALLEGATION and concern.household_id is None:
        reasons.append(Reason("no_household", _NO_HOUSEHOLD))
    refuse_if(reasons)
    complaint_id = rec.new_id() if body.to == ConcernEscalation.COMPLAINT else None
    allegation_id = rec.new_id() if body.to == ConcernEscalation.ALLEGATION else None
    event = rec.event(
        ConcernEscalated(
            concern_id=concern.concern_id,
            child_id=concern.child_id,
            escalated_at=at,
            to=body.to,
            reason=body.reason,
            household_id=concern.household_id,
            complaint_id=complaint_id,
            allegation_id=allegation_id,
        ),
        occurred_at=at,
        child_ids=[concern.child_id],
        summary=f"Concern escalated to {humanise(body.to.value)}: {body.reason[:120]}",
    )
    clock = child.clock(concern.response_deadline_id)
    events = [event] + ([met(rec, clock, at, event, concern.child_id)] if clock is not None else [])
    if body.to == ConcernEscalation.CHILD_PROTECTION_ENQUIRY:
        events += _enquiry_started(rec, child, concern, at, event, body.reason)
    return events


def strategy_deadline_id(concern_id: uuid.UUID) -> uuid.UUID:
    """The id of the strategy discussion clock of the enquiry a concern was escalated to (one per
    concern: a concern is escalated once), so recording the discussion finds it from the concern."""
    return uuid.uuid5(concern_id, "strategy-discussion")


def _enquiry_started(
    rec: Recorder, child: ChildContext, concern: Concern, at: datetime, cause: NewEvent, reason: str
) -> list[NewEvent]:
    """A child protection enquiry: its start as the child's incident (Schedule 7 row 10 tells
    Ofsted, the placing authority and the area authority; a social worker sees the child), and the
    clock for the strategy discussion (Working Together 2023)."""
    incident = RecordIncident(
        category=IncidentCategory.CHILD_PROTECTION_ENQUIRY_STARTED,
        occurred_at=at,
        narrative=f"Child protection enquiry started from a concern: {reason}",
    )
    subject = child_stream(concern.child_id)
    due = rules.strategy_discussion(at, rec.settings.visits)
    clock = started(
        rec,
        due,
        subject=subject,
        child_id=concern.child_id,
        cause=cause,
        household_id=concern.household_id,
        deadline_id=strategy_deadline_id(concern.concern_id),
    )
    return [*decide_incident(rec, child, concern.child_id, incident), clock]


def decide_strategy_discussion(
    rec: Recorder, child: ChildContext, concern: Concern, body: StrategyDiscussion
) -> list[NewEvent]:
    """The strategy discussion of the enquiry the concern was escalated to; it meets its clock."""
    clock = child.clock(strategy_deadline_id(concern.concern_id))
    if clock is None:
        raise Problem(
            "state-conflict",
            "No strategy discussion is due for this concern: it was not escalated to a child protection "
            "enquiry, or the discussion is already recorded.",
        )
    since = "the enquiry began"
    refuse_if(rules.occurrence_refusals("held_at", body.held_at, rec.now(), not_before=clock.started_at, since=since))
    event = rec.event(
        StrategyDiscussionRecorded(
            concern_id=concern.concern_id, child_id=concern.child_id, held_at=body.held_at, outcome=body.outcome
        ),
        occurred_at=body.held_at,
        child_ids=[concern.child_id],
        summary=f"Strategy discussion held: {body.outcome[:120]}",
    )
    return [event, met(rec, clock, body.held_at, event, concern.child_id)]


async def _concern(
    ctx: CommandContext, child_id: uuid.UUID, concern_id: uuid.UUID
) -> tuple[ChildContext, Concern, int]:
    require_writer(ctx.principal)
    current = await ctx.read_current(lambda conn: pj.concern_context(conn, child_id, concern_id))
    context = found(current, f"No child {child_id}.")
    if context.concern is None:
        raise Problem("not-found", f"No concern {concern_id} for this child.")
    return context.child, context.concern, current.version


async def action_concern(
    ctx: CommandContext, child_id: uuid.UUID, concern_id: uuid.UUID, body: ConcernAction
) -> list[RecordedEvent]:
    _, concern, version = await _concern(ctx, child_id, concern_id)
    events = decide_concern_action(ctx, concern, body)
    return await ctx.append(child_stream(child_id), events, ctx.expected(version))


async def resolve_concern(
    ctx: CommandContext, child_id: uuid.UUID, concern_id: uuid.UUID, body: ConcernOutcome
) -> list[RecordedEvent]:
    child, concern, version = await _concern(ctx, child_id, concern_id)
    events = decide_concern_outcome(ctx, child, concern, body)
    return await ctx.append(child_stream(child_id), events, ctx.expected(version))


async def escalate_concern(
    ctx: CommandContext, child_id: uuid.UUID, concern_id: uuid.UUID, body: EscalateConcern
) -> list[RecordedEvent]:
    child, concern, version = await _concern(ctx, child_id, concern_id)
    events = decide_concern_escalation(ctx, child, concern, body)
    return await ctx.append(child_stream(child_id), events, ctx.expected(version))


async def record_strategy_discussion(
    ctx: CommandContext, child_id: uuid.UUID, concern_id: uuid.UUID, body: StrategyDiscussion
) -> list[RecordedEvent]:
    child, concern, version = await _concern(ctx, child_id, concern_id)
    events = decide_strategy_discussion(ctx, child, concern, body)
    return await ctx.append(child_stream(child_id), events, ctx.expected(version))
