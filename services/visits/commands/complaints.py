"""Complaints (Children Act 1989 Representations Procedure (England) Regulations 2006): received
with their clocks, acknowledged, answered at each stage, extended, escalated and closed. Each
complaint is a stream of its own, `complaint-<id>`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, TypeVar

from pydantic import ConfigDict, Field, StringConstraints

from services.visits import projections as pj
from services.visits import rules
from services.visits.commands.common import Body, Text, child_of, found, humanise, met, started, stopped
from services.visits.events import (
    ComplaintAcknowledged,
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintPanelHeld,
    ComplaintPanelReported,
    ComplaintReceived,
    ComplaintResponded,
    ComplaintTimescaleExtended,
    MadeBy,
    child_stream,
    complaint_stream,
)
from services.visits.projections import ChildContext, ComplaintState
from shared.commanding import CommandContext
from shared.eventstore import NO_STREAM, NewEvent, RecordedEvent
from shared.policy import require_writer
from shared.problems import Problem
from shared.recording import Recorder
from shared.refusals import refuse_if
from shared.types import Instant

B = TypeVar("B", bound=Body)

WorkerId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class ReceiveComplaint(Body):
    received_at: Instant
    made_by: MadeBy
    about_household_id: uuid.UUID | None = None
    summary: str = Text
    serious: bool = False
    about_worker_ids: list[WorkerId] = Field(
        default_factory=list,
        max_length=20,
        description="The workers the complaint is about (their ids): none of them may acknowledge, answer, "
        "extend or close it.",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "received_at": "2026-11-24T09:00:00Z",
                    "made_by": "child",
                    "about_household_id": "0b6f0a4e-3f55-4d8c-9d2f-3c1b7a9e5a10",
                    "summary": "Does not feel safe with the other children in the house.",
                    "serious": True,
                    "about_worker_ids": ["ssw-ben-17"],
                }
            ]
        }
    )


class AcknowledgeComplaint(Body):
    acknowledged_at: Instant | None = None
    how: str | None = Field(default=None, max_length=200, examples=["letter to the child"])


class RespondComplaint(Body):
    responded_at: Instant | None = None
    response: str = Text
    outcome: str = Field(min_length=1, max_length=100, examples=["upheld", "partly_upheld", "not_upheld"])


class ExtendComplaint(Body):
    working_days: int = Field(ge=1, le=65, examples=[20])
    reason: str = Text


class EscalateComplaint(Body):
    requested_at: Instant | None = None
    reason: str = Text


class RecordPanel(Body):
    held_at: Instant | None = None


class RecordPanelReport(Body):
    reported_at: Instant | None = None
    recommendations: str = Text


class CloseComplaint(Body):
    closed_at: Instant | None = None
    outcome: str = Field(min_length=1, max_length=100, examples=["resolved"])
    learning: str | None = Field(default=None, max_length=20_000)


# ---- received ------------------------------------------------------------------------------------
def decide_complaint(
    rec: Recorder, child: ChildContext, complaint_id: uuid.UUID, body: ReceiveComplaint
) -> list[NewEvent]:
    """A new complaint's first events: the complaint (Schedule 7 row 9 and LADO as the rule says),
    its acknowledgement and stage 1 clocks, and a visit to the child when the child made it."""
    refuse_if(
        rules.occurrence_refusals("received_at", body.received_at, rec.now())
        + rules.complaint_about_refusals(body.about_household_id, child.households)
    )
    child_id = child.child.child_id
    row9, lado = rules.complaint_flags(
        made_by=body.made_by, serious=body.serious, about_household_id=body.about_household_id
    )
    flags = [s for s, on in (("serious", body.serious), ("Schedule 7 row 9", row9), ("LADO consultation", lado)) if on]
    received = rec.event(
        ComplaintReceived(
            complaint_id=complaint_id,
            child_id=child_id,
            schedule7_row9=row9,
            lado_consultation=lado,
            **body.model_dump(),
        ),
        occurred_at=body.received_at,
        child_ids=[child_id],
        summary=f"Complaint received from the {body.made_by.value}"
        + (" about their carers" if body.about_household_id else "")
        + (f" ({', '.join(flags)})" if flags else ""),
    )
    practice = rec.settings.visits
    clocks = [(due, complaint_stream(complaint_id)) for due in rules.complaint_clocks(body.received_at, practice)]
    if body.made_by == MadeBy.CHILD:
        clocks.append((rules.complaint_follow_up(body.received_at, practice), child_stream(child_id)))
    return [received] + [
        started(rec, due, subject=subject, child_id=child_id, cause=received, household_id=body.about_household_id)
        for due, subject in clocks
    ]


async def receive_complaint(ctx: CommandContext, child_id: uuid.UUID, body: ReceiveComplaint) -> list[RecordedEvent]:
    child, _ = await child_of(ctx, child_id)
    complaint_id = ctx.new_id()
    return await ctx.append(complaint_stream(complaint_id), decide_complaint(ctx, child, complaint_id, body), NO_STREAM)


# ---- each step of it -----------------------------------------------------------------------------
def _not_its_subject(rec: Recorder, complaint: ComplaintState, what: str) -> None:
    """A worker the complaint is about does not handle it (docs/domain.md: its subject may not)."""
    if rec.principal.subject in complaint.about_worker_ids:
        raise Problem(
            "forbidden",
            f"The complaint is about {rec.principal.subject}, who may not {what} it: "
            "a complaint is handled by someone it is not about.",
        )


def _when(rec: Recorder, complaint: ComplaintState, field: str, value: datetime | None) -> datetime:
    """When the step happened (default: now): not ahead of now, not before the complaint."""
    at = value or rec.now()
    since = "the complaint was received"
    refuse_if(rules.occurrence_refusals(field, at, rec.now(), not_before=complaint.received_at, since=since))
    return at


def decide_acknowledgement(rec: Recorder, complaint: ComplaintState, body: AcknowledgeComplaint) -> list[NewEvent]:
    """The acknowledgement, meeting the acknowledgement clock."""
    _not_its_subject(rec, complaint, "acknowledge")
    if complaint.acknowledged_at is not None or complaint.status == "closed":
        raise Problem("state-conflict", "The complaint has already been acknowledged.")
    at = _when(rec, complaint, "acknowledged_at", body.acknowledged_at)
    child_id = complaint.child_id
    event = rec.event(
        ComplaintAcknowledged(complaint_id=complaint.complaint_id, child_id=child_id, acknowledged_at=at, how=body.how),
        occurred_at=at,
        child_ids=[child_id],
        summary="Complaint acknowledged" + (f" ({body.how})" if body.how else ""),
    )
    acks = rules.clocks_met(complaint.open_clocks, {rules.COMPLAINT_ACK})
    return [event] + [met(rec, clock, at, event, child_id) for clock in acks]


def decide_response(rec: Recorder, complaint: ComplaintState, body: RespondComplaint) -> list[NewEvent]:
    """The response at the complaint's stage, late when after the stage clock; it meets that clock,
    and the acknowledgement clock if nobody acknowledged the complaint first."""
    _not_its_subject(rec, complaint, "respond to")
    if complaint.status in ("responded", "closed"):
        raise Problem("state-conflict", f"Stage {complaint.stage} already has a response; escalate or close it.")
    stage_clock = complaint.open_clock(rules.complaint_response_kind(complaint.stage))
    if complaint.stage == 3 and stage_clock is None:
        raise Problem(
            "state-conflict",
            "At stage 3 the agency responds to the review panel's report: record the panel and its report first.",
        )
    at = _when(rec, complaint, "responded_at", body.responded_at)
    late = stage_clock is not None and rules.is_met_late(stage_clock.due_at, at)
    child_id = complaint.child_id
    event = rec.event(
        ComplaintResponded(
            complaint_id=complaint.complaint_id,
            child_id=child_id,
            stage=complaint.stage,
            responded_at=at,
            response=body.response,
            outcome=body.outcome,
            late=late,
        ),
        occurred_at=at,
        child_ids=[child_id],
        summary=f"Complaint stage {complaint.stage} response: {humanise(body.outcome)}"
        + (" (out of timescale)" if late else ""),
    )
    answered_kinds = {rules.complaint_response_kind(complaint.stage), rules.COMPLAINT_ACK}
    answered = rules.clocks_met(complaint.open_clocks, answered_kinds)
    return [event] + [met(rec, clock, at, event, child_id) for clock in answered]


def decide_extension(rec: Recorder, complaint: ComplaintState, body: ExtendComplaint) -> list[NewEvent]:
    """The stage's timescale extended, with a reason: its clock stopped and set again, from when it
    started, to the longer timescale (stage 1 at most 20 working days, stage 2 at most 65)."""
    _not_its_subject(rec, complaint, "extend the timescale of")
    stage, stage_clock = complaint.stage, complaint.stage_clock()
    if stage == 3 or stage_clock is None:
        raise Problem("state-conflict", f"Stage {stage} has no open response timescale to extend.")
    refuse_if(rules.extension_refusals(stage, body.working_days))
    child_id = complaint.child_id
    event = rec.event(
        ComplaintTimescaleExtended(
            complaint_id=complaint.complaint_id,
            child_id=child_id,
            stage=stage,
            working_days=body.working_days,
            reason=body.reason,
        ),
        child_ids=[child_id],
        summary=f"Complaint stage {stage} timescale extended to {body.working_days} working days: {body.reason}",
    )
    extended = rules.extended_stage(stage, stage_clock.started_at, body.working_days)
    return [
        event,
        stopped(rec, stage_clock, "timescale extended", child_id),
        started(
            rec,
            extended,
            subject=complaint_stream(complaint.complaint_id),
            child_id=child_id,
            cause=event,
            household_id=complaint.about_household_id,
        ),
    ]


def decide_escalation(rec: Recorder, complaint: ComplaintState, body: EscalateComplaint) -> list[NewEvent]:
    """To the next stage, once the stage has a response or its timescale has passed: the stage's
    clock is stopped and the next stage's started (stage 3 is the review panel)."""
    if complaint.status == "closed":
        raise Problem("state-conflict", "The complaint is closed.")
    if complaint.stage >= 3:
        raise Problem("state-conflict", "The complaint is already at stage 3 (review panel).")
    at = _when(rec, complaint, "requested_at", body.requested_at)
    stage_clock = complaint.stage_clock()
    overdue = stage_clock is not None and rules.is_overdue(stage_clock.due_at, rec.now())
    if complaint.status != "responded" and not overdue:
        raise Problem(
            "state-conflict",
            f"Stage {complaint.stage} can be escalated once it has a response, or when its timescale has passed.",
        )
    to_stage, child_id = complaint.stage + 1, complaint.child_id
    event = rec.event(
        ComplaintEscalated(
            complaint_id=complaint.complaint_id,
            child_id=child_id,
            from_stage=complaint.stage,
            to_stage=to_stage,
            requested_at=at,
            reason=body.reason,
        ),
        occurred_at=at,
        child_ids=[child_id],
        summary=f"Complaint escalated to stage {to_stage}"
        + (" (review panel)" if to_stage == 3 else "")
        + f": {body.reason}",
    )
    superseded = rules.clocks_met(complaint.open_clocks, {rules.complaint_stage_kind(complaint.stage)})
    next_stage = started(
        rec,
        rules.escalated_stage(to_stage, at),
        subject=complaint_stream(complaint.complaint_id),
        child_id=child_id,
        cause=event,
        household_id=complaint.about_household_id,
    )
    return [event] + [stopped(rec, clock, "escalated", child_id) for clock in superseded] + [next_stage]


def _panel_step(
    rec: Recorder,
    complaint: ComplaintState,
    waiting: str,
    step: str,
    at: datetime,
    event: NewEvent,
    next_due: rules.Due,
) -> list[NewEvent]:
    """A stage 3 step: it meets the clock `waiting` (refused when that step is not what the
    complaint waits for) and starts the next one."""
    clock = complaint.open_clock(waiting) if complaint.stage == 3 else None
    if clock is None:
        raise Problem("state-conflict", f"The complaint is not waiting for {step}.")
    child_id = complaint.child_id
    return [
        event,
        met(rec, clock, at, event, child_id),
        started(
            rec,
            next_due,
            subject=complaint_stream(complaint.complaint_id),
            child_id=child_id,
            cause=event,
            household_id=complaint.about_household_id,
        ),
    ]


def decide_panel(rec: Recorder, complaint: ComplaintState, body: RecordPanel) -> list[NewEvent]:
    """Stage 3: the review panel met (within 30 working days of the request); its report is due
    within 5 working days (RP 2006 reg 20)."""
    at = _when(rec, complaint, "held_at", body.held_at)
    event = rec.event(
        ComplaintPanelHeld(complaint_id=complaint.complaint_id, child_id=complaint.child_id, held_at=at),
        occurred_at=at,
        child_ids=[complaint.child_id],
        summary="Complaint review panel held (stage 3)",
    )
    return _panel_step(rec, complaint, rules.COMPLAINT_PANEL, "a review panel", at, event, rules.panel_report(at))


def decide_panel_report(rec: Recorder, complaint: ComplaintState, body: RecordPanelReport) -> list[NewEvent]:
    """Stage 3: the panel's report and recommendations; the agency's response is due within 15
    working days (RP 2006 reg 20)."""
    at = _when(rec, complaint, "reported_at", body.reported_at)
    event = rec.event(
        ComplaintPanelReported(
            complaint_id=complaint.complaint_id,
            child_id=complaint.child_id,
            reported_at=at,
            recommendations=body.recommendations,
        ),
        occurred_at=at,
        child_ids=[complaint.child_id],
        summary="Complaint review panel reported its recommendations (stage 3)",
    )
    waiting, next_due = rules.COMPLAINT_PANEL_REPORT, rules.panel_response(at)
    return _panel_step(rec, complaint, waiting, "the review panel's report", at, event, next_due)


def decide_closing(rec: Recorder, complaint: ComplaintState, body: CloseComplaint) -> list[NewEvent]:
    """The complaint closed at its stage, which has a response; any clock still open is stopped."""
    _not_its_subject(rec, complaint, "close")
    if complaint.status == "closed":
        raise Problem("state-conflict", "The complaint is already closed.")
    refuse_if(rules.closing_refusals(complaint.stage, complaint.status))
    at = _when(rec, complaint, "closed_at", body.closed_at)
    child_id = complaint.child_id
    event = rec.event(
        ComplaintClosed(
            complaint_id=complaint.complaint_id,
            child_id=child_id,
            closed_at=at,
            stage=complaint.stage,
            outcome=body.outcome,
            learning=body.learning,
        ),
        occurred_at=at,
        child_ids=[child_id],
        summary=f"Complaint closed at stage {complaint.stage}: {humanise(body.outcome)}",
    )
    return [event] + [stopped(rec, clock, "complaint closed", child_id) for clock in complaint.open_clocks]


async def _complaint(ctx: CommandContext, complaint_id: uuid.UUID) -> tuple[ComplaintState, int]:
    require_writer(ctx.principal)
    current = await ctx.read_current(lambda conn: pj.complaint_context(conn, complaint_id))
    return found(current, f"No complaint {complaint_id}."), current.version


async def on_complaint(
    ctx: CommandContext,
    complaint_id: uuid.UUID,
    decide: Callable[[Recorder, ComplaintState, B], list[NewEvent]],
    body: B,
) -> list[RecordedEvent]:
    """Every step of a complaint after its receipt: read the complaint, decide, append at the
    version read."""
    complaint, version = await _complaint(ctx, complaint_id)
    return await ctx.append(complaint_stream(complaint_id), decide(ctx, complaint, body), ctx.expected(version))
