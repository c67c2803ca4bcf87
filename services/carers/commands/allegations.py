"""carers: allegations against a household (Working Together 2023, chapter 4). Anyone who may raise
one is heard: a worker with a part in the household's or the children's care records it, and the
hold and the LADO clocks follow at once; anyone else's is a report for the registered manager to
triage. Then the LADO referral, its written confirmation and the outcome."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from services.carers.commands import loading
from services.carers.commands.bodies import (
    AllegationIn,
    CloseReportIn,
    LadoReferralIn,
    OutcomeIn,
    WrittenConfirmationIn,
)
from services.carers.commands.clocks import all_met, clock, future, minted_id
from services.carers.events import (
    AllegationOutcomeRecorded,
    AllegationReceived,
    AllegationReportClosed,
    AllegationReported,
    DeadlineSet,
    HoldPlaced,
    LadoReferralMade,
    LadoWrittenConfirmationSent,
    allegation_stream,
    household_stream,
    report_stream,
)
from services.carers.rules import (
    CLOCK_SOURCES,
    AllegationOutcome,
    AllegationReport,
    AllegationState,
    Clock,
    HouseholdState,
    children_not_placed_here,
    fold_allegation,
    fold_report,
    lado_confirmation_due,
    lado_referral_due,
)
from shared.access import Target
from shared.auth import MANAGERS, Role
from shared.commanding import CommandContext
from shared.contracts.base import load_as
from shared.eventstore import NewEvent, RecordedEvent, reaction_id
from shared.policy import require_role, require_writer
from shared.problems import Problem
from shared.recording import Recorder
from shared.refusals import Reason, refuse_if

# What a reporter is told, whether or not what they named exists: it reveals nothing.
REPORT_RECEIVED = (
    "Your report is recorded and passed to the registered manager, who must act on it within one working day."
)


# ---- receiving --------------------------------------------------------------------------------
def decide_allegation(
    rec: Recorder, state: HouseholdState, body: AllegationIn, allegation_id: uuid.UUID | None = None
) -> list[NewEvent]:
    """A new allegation about the household, and its LADO clocks: the referral within one working
    day, its written confirmation after it. (The hold it puts on the household is `allegation_hold`.)
    `allegation_id`: the id another record already gave it (a concern escalated to an allegation)."""
    reasons = future(rec, received_at=body.received_at)
    if body.member_id is not None and str(body.member_id) not in state.members:
        reasons.append(Reason("unknown_member", f"No member {body.member_id} in household {body.household_id}."))
    refuse_if(reasons + children_not_placed_here(state, body.child_ids))
    at, practice = body.received_at, rec.settings.carers
    received = AllegationReceived(
        allegation_id=allegation_id or rec.new_id(),
        household_id=body.household_id,
        member_id=body.member_id,
        child_ids=body.child_ids,
        received_at=at,
        summary=body.summary,
        source=body.source,
        report_id=body.report_id,
    )
    event = rec.event(
        received, occurred_at=at, child_ids=body.child_ids, summary=f"Allegation received about {state.name}"
    )
    subject, aid = allegation_stream(received.allegation_id), received.allegation_id
    confirmation = (
        f"Confirm the LADO referral in writing ({practice.lado_written_confirmation_working_days} working days)"
    )
    return [
        event,
        clock(
            rec,
            body.household_id,
            Clock.LADO_REFERRAL,
            at,
            lado_referral_due(at),
            "Refer the allegation to the LADO (1 working day)",
            subject=subject,
            child_ids=body.child_ids,
            allegation_id=aid,
            causation_id=event.event_id,
        ),
        clock(
            rec,
            body.household_id,
            Clock.LADO_WRITTEN_CONFIRMATION,
            at,
            lado_confirmation_due(at, practice),
            confirmation,
            subject=subject,
            child_ids=body.child_ids,
            allegation_id=aid,
            causation_id=event.event_id,
        ),
    ]


def allegation_hold(cause: RecordedEvent, metadata: dict[str, Any]) -> NewEvent:
    """The hold an allegation puts on its household. Its ids derive from the allegation's event,
    so the command and the reactor (which repairs a crash between the two appends) agree."""
    received = load_as(AllegationReceived, cause)
    hold = HoldPlaced(
        household_id=received.household_id,
        hold_id=hold_id_of(cause),
        reason="Allegation against the household: no new placements until a manager lifts this hold.",
        placed_at=cause.occurred_at,
        allegation_id=received.allegation_id,
    )
    return NewEvent(
        type=HoldPlaced.event_type,
        data=hold.payload(),
        occurred_at=cause.occurred_at,
        child_ids=cause.child_ids,
        metadata={**metadata, "causation_id": str(cause.event_id), "summary": "Household on hold: allegation"},
        event_id=reaction_id(cause, "hold"),
        schema_version=HoldPlaced.schema_version,
    )


def hold_id_of(allegation: RecordedEvent) -> uuid.UUID:
    """The id of the hold an allegation (its AllegationReceived) puts on its household."""
    return reaction_id(allegation, "hold-id")


async def receive_allegation(ctx: CommandContext, body: AllegationIn) -> list[RecordedEvent]:
    """An allegation recorded (the allegation's stream: what the caller is answered with), the hold
    on its household and, when it came from a report, the report's triage; or, from a worker with
    no part in the care, a report for the registered manager (its stream)."""
    require_writer(ctx.principal)
    refuse_if(future(ctx, received_at=body.received_at))
    if body.report_id is None and not await _involved(ctx, body):
        events = decide_report(ctx, body)
        return await ctx.append(report_stream(minted_id(events[0], "report_id")), events, expected_version=0)
    if body.report_id is not None:
        require_role(ctx.principal, MANAGERS, "record an allegation from a report")
    state = await loading.load_household(ctx, body.household_id)
    events = decide_allegation(ctx, state, body)
    allegation_id = minted_id(events[0], "allegation_id")
    report = await _report(ctx, body.report_id) if body.report_id is not None else None
    triage = decide_report_closed(ctx, report, "allegation_recorded", allegation_id=allegation_id) if report else []
    recorded = await ctx.append(allegation_stream(allegation_id), events, expected_version=0)
    await ctx.append(household_stream(body.household_id), [allegation_hold(recorded[0], ctx.metadata())])
    if report is not None:
        stream = report_stream(report.report.report_id)
        await ctx.append(stream, triage, expected_version=ctx.expected(report.version))
    return recorded


async def _involved(ctx: CommandContext, body: AllegationIn) -> bool:
    """Whether the caller stands in any relationship to the household or the children named."""
    if ctx.principal.role in MANAGERS or ctx.principal.role == Role.LADO:
        return True
    if ctx.relations is None:
        return False
    return bool(await ctx.relations(Target(child_ids=set(body.child_ids), household_ids={body.household_id})))


# ---- reports for triage -----------------------------------------------------------------------
def decide_report(rec: Recorder, body: AllegationIn) -> list[NewEvent]:
    """A report kept as it was given, with the registered manager's triage clock (not on the
    household's clocks, which its carers read)."""
    reporter = rec.principal.subject
    reported = AllegationReported(
        report_id=rec.new_id(),
        household_id=body.household_id,
        member_id=body.member_id,
        child_ids=body.child_ids,
        received_at=body.received_at,
        summary=body.summary,
        source=body.source,
        reported_by=reporter,
        reporter_role=rec.principal.role.value,
    )
    summary = f"Allegation reported by {reporter}, for the registered manager to triage"
    event = rec.event(reported, occurred_at=body.received_at, summary=summary)
    triage = DeadlineSet(
        deadline_id=rec.new_id(),
        kind=Clock.ALLEGATION_TRIAGE.value,
        subject=report_stream(reported.report_id),
        started_at=body.received_at,
        due_at=lado_referral_due(body.received_at),
        escalate_to=Role.REGISTERED_MANAGER.value,
        description=f"Triage the allegation reported by {reporter}",
        source=CLOCK_SOURCES[Clock.ALLEGATION_TRIAGE],
    )
    return [event, rec.deadline_set(triage, causation_id=event.event_id)]


def decide_report_closed(
    rec: Recorder,
    report: AllegationReport,
    outcome: str,
    *,
    allegation_id: uuid.UUID | None = None,
    reason: str | None = None,
) -> list[NewEvent]:
    """The registered manager's triage: recorded as an allegation, or closed with the reason."""
    if report.triage is not None:
        raise Problem("state-conflict", f"The report was already triaged: {report.triage.outcome}.")
    at = rec.now()
    closed = AllegationReportClosed(
        report_id=report.report.report_id, outcome=outcome, allegation_id=allegation_id, reason=reason, closed_at=at
    )
    summary = "Allegation report triaged: " + ("recorded as an allegation" if allegation_id else f"closed ({reason})")
    event = rec.event(closed, summary=summary)
    return [event, *all_met(rec, None, report.deadlines.values(), at, event)]


async def close_allegation_report(
    ctx: CommandContext, report_id: uuid.UUID, body: CloseReportIn
) -> list[RecordedEvent]:
    """The registered manager closes a report that is not an allegation to record (with why)."""
    require_writer(ctx.principal)
    require_role(ctx.principal, MANAGERS, "triage an allegation report")
    report = await _report(ctx, report_id)
    events = decide_report_closed(ctx, report, "closed", reason=body.reason)
    return await ctx.append(report_stream(report_id), events, expected_version=ctx.expected(report.version))


async def _report(ctx: CommandContext, report_id: uuid.UUID) -> AllegationReport:
    return await loading.load_record(
        ctx, report_stream(report_id), fold_report, missing=f"No allegation report {report_id}."
    )


# ---- the LADO and the outcome -----------------------------------------------------------------
def decide_lado_referral(rec: Recorder, allegation: AllegationState, body: LadoReferralIn) -> list[NewEvent]:
    """The referral to the LADO (meets its clock) and, when sent with it, the written confirmation."""
    if allegation.referred_at is not None:
        raise Problem("state-conflict", f"The allegation was already referred to the LADO at {allegation.referred_at}.")
    reasons = future(rec, referred_at=body.referred_at, written_confirmation_at=body.written_confirmation_at)
    confirmed = body.written_confirmation_at
    if body.referred_at < allegation.received_at or (confirmed is not None and confirmed < allegation.received_at):
        reasons.insert(0, Reason("before_allegation", "The referral cannot precede the allegation."))
    refuse_if(reasons)
    referred = LadoReferralMade(
        allegation_id=allegation.allegation_id,
        household_id=allegation.household_id,
        referred_at=body.referred_at,
        lado_name=body.lado_name,
        reference=body.reference,
    )
    event = rec.event(
        referred,
        occurred_at=body.referred_at,
        child_ids=allegation.child_ids,
        summary="Allegation referred to the LADO",
    )
    events = [event, *_clocks_met(rec, allegation, Clock.LADO_REFERRAL, event, body.referred_at)]
    if confirmed is not None:
        events += _written_confirmation(rec, allegation, confirmed)
    return events


def decide_written_confirmation(
    rec: Recorder, allegation: AllegationState, body: WrittenConfirmationIn
) -> list[NewEvent]:
    if allegation.written_confirmation_at is not None:
        raise Problem("state-conflict", "The written confirmation is already recorded.")
    reasons = future(rec, sent_at=body.sent_at)
    if body.sent_at < allegation.received_at:
        reasons.append(Reason("before_allegation", "The confirmation cannot precede the allegation."))
    refuse_if(reasons)
    return _written_confirmation(rec, allegation, body.sent_at)


def _written_confirmation(rec: Recorder, allegation: AllegationState, at: datetime) -> list[NewEvent]:
    sent = LadoWrittenConfirmationSent(
        allegation_id=allegation.allegation_id, household_id=allegation.household_id, sent_at=at
    )
    summary = "LADO referral confirmed in writing"
    event = rec.event(sent, occurred_at=at, child_ids=allegation.child_ids, summary=summary)
    return [event, *_clocks_met(rec, allegation, Clock.LADO_WRITTEN_CONFIRMATION, event, at)]


def _clocks_met(rec: Recorder, allegation: AllegationState, kind: Clock, by: NewEvent, at: datetime) -> list[NewEvent]:
    due = [d for d in allegation.deadlines.values() if d.kind == kind]
    return all_met(rec, allegation.household_id, due, at, by)


def decide_outcome(rec: Recorder, allegation: AllegationState, body: OutcomeIn) -> list[NewEvent]:
    """The outcome, after the LADO referral. A substantiated allegation starts the review of the
    household's approval (reg 28(2)(b))."""
    if allegation.outcome is not None:
        raise Problem("state-conflict", f"The outcome is already recorded: {allegation.outcome}.")
    if allegation.referred_at is None:
        raise Problem("state-conflict", "Refer the allegation to the LADO before recording its outcome.")
    at = body.decided_at or rec.now()
    refuse_if(future(rec, decided_at=at))
    decided = AllegationOutcomeRecorded(
        allegation_id=allegation.allegation_id,
        household_id=allegation.household_id,
        outcome=body.outcome.value,
        dbs_referral_made=body.dbs_referral_made,
        decided_at=at,
        narrative=body.narrative,
    )
    summary = f"Allegation outcome: {body.outcome.value}" + ("; referred to the DBS" if body.dbs_referral_made else "")
    event = rec.event(decided, occurred_at=at, child_ids=allegation.child_ids, summary=summary)
    if body.outcome != AllegationOutcome.SUBSTANTIATED:
        return [event]
    due = at + timedelta(days=rec.settings.carers.approval_review_days)
    review = clock(
        rec,
        allegation.household_id,
        Clock.APPROVAL_REVIEW,
        at,
        due,
        "Review the household's approval after a substantiated allegation",
        subject=allegation_stream(allegation.allegation_id),
        child_ids=allegation.child_ids,
        allegation_id=allegation.allegation_id,
        causation_id=event.event_id,
    )
    return [event, review]


async def record_lado_referral(
    ctx: CommandContext, allegation_id: uuid.UUID, body: LadoReferralIn
) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    allegation = await _allegation(ctx, allegation_id)
    return await _append(ctx, allegation, decide_lado_referral(ctx, allegation, body))


async def record_written_confirmation(
    ctx: CommandContext, allegation_id: uuid.UUID, body: WrittenConfirmationIn
) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    allegation = await _allegation(ctx, allegation_id)
    return await _append(ctx, allegation, decide_written_confirmation(ctx, allegation, body))


async def record_outcome(ctx: CommandContext, allegation_id: uuid.UUID, body: OutcomeIn) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    allegation = await _allegation(ctx, allegation_id)
    return await _append(ctx, allegation, decide_outcome(ctx, allegation, body))


async def _allegation(ctx: CommandContext, allegation_id: uuid.UUID) -> AllegationState:
    return await loading.load_record(
        ctx, allegation_stream(allegation_id), fold_allegation, missing=f"No allegation {allegation_id}."
    )


async def _append(ctx: CommandContext, allegation: AllegationState, events: list[NewEvent]) -> list[RecordedEvent]:
    stream = allegation_stream(allegation.allegation_id)
    return await ctx.append(stream, events, expected_version=ctx.expected(allegation.version))
