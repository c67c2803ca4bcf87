"""Health assessments and dental checks, and looked-after child reviews (CPPR 2010 reg 33): each
meets its clock and starts the next."""

from __future__ import annotations

import uuid

from pydantic import Field

from services.visits import rules
from services.visits.commands.common import Body, ShortText, Text, child_of, duty_started, humanise, met
from services.visits.events import HealthCheckKind, HealthCheckRecorded, LookedAfterReviewRecorded, child_stream
from services.visits.projections import ChildContext
from shared.commanding import CommandContext
from shared.eventstore import NewEvent, RecordedEvent
from shared.problems import Problem
from shared.recording import Recorder
from shared.refusals import refuse_if
from shared.types import Instant


class RecordHealthCheck(Body):
    kind: HealthCheckKind
    occurred_at: Instant
    by: str = ShortText
    outcome: str = Text
    actions: str | None = Field(default=None, max_length=20_000)


def decide_health_check(
    rec: Recorder, child: ChildContext, child_id: uuid.UUID, body: RecordHealthCheck
) -> list[NewEvent]:
    """The check, meeting the clocks it answers, and the clock of the next one."""
    refuse_if(rules.occurrence_refusals("occurred_at", body.occurred_at, rec.now()))
    born = child.child.date_of_birth
    if born is None:
        raise Problem("state-conflict", "The child's record was destroyed at the end of its retention.")
    check = rec.event(
        HealthCheckRecorded(check_id=rec.new_id(), child_id=child_id, **body.model_dump()),
        occurred_at=body.occurred_at,
        child_ids=[child_id],
        summary=f"{humanise(body.kind.value).capitalize()} by {body.by}",
    )
    answered = rules.clocks_met(child.open_clocks, rules.HEALTH_CLOCKS_MET[body.kind], body.occurred_at)
    due = rules.next_health_check(body.kind, born, body.occurred_at, rec.settings.visits)
    return (
        [check]
        + [met(rec, clock, body.occurred_at, check, child_id) for clock in answered]
        + duty_started(rec, child, due, cause=check)
    )


async def record_health_check(ctx: CommandContext, child_id: uuid.UUID, body: RecordHealthCheck) -> list[RecordedEvent]:
    child, version = await child_of(ctx, child_id)
    events = decide_health_check(ctx, child, child_id, body)
    return await ctx.append(child_stream(child_id), events, ctx.expected(version))


# ---- looked-after child reviews ------------------------------------------------------------------
class RecordLacReview(Body):
    held_at: Instant
    chaired_by: str = ShortText
    child_attended: bool
    child_views_given: bool
    how_views_given: str | None = Field(default=None, max_length=2000, examples=["spoke to the IRO before"])
    decisions: str = Text


def _participation(body: RecordLacReview) -> str:
    if body.child_attended:
        return "child attended"
    return "child's views given" if body.child_views_given else "child neither attended nor gave views"


def decide_lac_review(rec: Recorder, child: ChildContext, child_id: uuid.UUID, body: RecordLacReview) -> list[NewEvent]:
    """The review (numbered from the reviews held before it), meeting the review clock, and the
    clock of the next review."""
    refuse_if(
        rules.occurrence_refusals("held_at", body.held_at, rec.now())
        + rules.views_refusals(body.child_views_given, body.how_views_given)
    )
    number = child.reviews_held + 1
    review = rec.event(
        LookedAfterReviewRecorded(review_id=rec.new_id(), child_id=child_id, number=number, **body.model_dump()),
        occurred_at=body.held_at,
        child_ids=[child_id],
        summary=f"Looked-after child review {number} chaired by {body.chaired_by} ({_participation(body)})",
    )
    answered = rules.clocks_met(child.open_clocks, {rules.LAC_REVIEW}, body.held_at)
    due = rules.next_lac_review(number, body.held_at)
    return (
        [review]
        + [met(rec, clock, body.held_at, review, child_id) for clock in answered]
        + duty_started(rec, child, due, cause=review)
    )


async def record_lac_review(ctx: CommandContext, child_id: uuid.UUID, body: RecordLacReview) -> list[RecordedEvent]:
    child, version = await child_of(ctx, child_id)
    events = decide_lac_review(ctx, child, child_id, body)
    return await ctx.append(child_stream(child_id), events, ctx.expected(version))
