"""carers: placements. A child is placed only with a household eligible at the instant the
placement is appended (the check runs inside the locked append); an ending is recorded with the
child's wishes, the carers' views and the ending meeting, or its record is chased by a clock."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from services.carers.commands import loading
from services.carers.commands.bodies import EndingIn, PlacementEndIn, PlacementIn
from services.carers.commands.clocks import all_met, cancelled, clock, future, minted_id
from services.carers.events import (
    ChildRegistered,
    EndingRecorded,
    PlacementEnded,
    PlacementStarted,
    PlacementType,
    placement_stream,
)
from services.carers.rules import (
    CHILD_SEEN_CLOCKS,
    Clock,
    HouseholdState,
    OpenDeadline,
    PlacementRequest,
    PlacementState,
    already_placed,
    first_clocks,
    fold_placement,
    placement_eligibility,
    start_of,
    training_gaps,
)
from shared.calendar import add_working_days_at
from shared.commanding import CommandContext
from shared.eventstore import NewEvent, RecordedEvent
from shared.policy import require_writer
from shared.problems import Problem
from shared.recording import Recorder
from shared.refusals import Reason, refusal, refuse_if


# ---- starting ---------------------------------------------------------------------------------
def decide_placement(
    rec: Recorder, state: HouseholdState, child: ChildRegistered, needs_on_record: Sequence[str], body: PlacementIn
) -> list[NewEvent]:
    """The placement, with a training clock for each carer lacking a course the child's needs call
    for (the placement goes ahead; the gap is a deadline). Eligibility is `placement_refusal`."""
    if child.date_of_birth is None:
        refuse_if([Reason("record_destroyed", "The child's record was destroyed at the end of its retention.")])
    assert child.date_of_birth is not None
    if child.date_of_birth > body.start_date:
        refuse_if([Reason("before_birth", "start_date is before the child's date of birth.")])
    now = rec.now()
    today = now.date()
    long_term = body.placement_type == PlacementType.LONG_TERM if body.long_term is None else body.long_term
    started = PlacementStarted(
        placement_id=rec.new_id(),
        child_id=body.child_id,
        household_id=body.household_id,
        start_date=body.start_date,
        long_term=long_term,
        connected_person=state.connected_person if body.connected_person is None else body.connected_person,
        placing_authority=body.placing_authority or child.placing_authority or "unknown",
        placement_type=body.placement_type,
        child_needs=list(dict.fromkeys([*(n.value for n in body.child_needs), *needs_on_record])),
    )
    summary = f"Placed with {state.name} from {body.start_date:%d %b %Y}" + (" (long-term)" if long_term else "")
    occurred_at = now if body.start_date == today else start_of(body.start_date)
    event = rec.event(started, occurred_at=occurred_at, child_ids=[body.child_id], summary=summary)
    starts = now if body.start_date <= today else start_of(body.start_date)
    return [event, *needs_training_clocks(rec, state, started, starts, event), *child_seen_clocks(rec, started, event)]


def child_seen_clocks(rec: Recorder, placement: PlacementStarted, cause: NewEvent) -> list[NewEvent]:
    """The clocks of the agency's duty to see the child (issue 18), from the day the placement
    starts: the SSW's first visit, the child seen and seen alone by the SSW, their bedroom seen."""
    start = start_of(placement.start_date)
    return [
        clock(
            rec,
            placement.household_id,
            kind,
            start,
            due,
            description,
            child_ids=[placement.child_id],
            escalate_to="manager",
            causation_id=cause.event_id,
            placement_id=placement.placement_id,
        )
        for kind, due, description in first_clocks(start, rec.settings.carers)
    ]


def needs_training_clocks(
    rec: Recorder, state: HouseholdState, placement: PlacementStarted, started: datetime, cause: NewEvent
) -> list[NewEvent]:
    """A training clock for every carer lacking a course the child's needs call for (matching)."""
    carers = [(m.member_id, m.name) for m in state.carers()]
    days = rec.settings.carers.needs_training_days
    out = []
    for gap in training_gaps(placement.child_needs, carers, state.trainings, started.date()):
        if state.open_clocks(Clock.NEEDS_TRAINING, member_id=gap.member_id, course=gap.course):
            continue
        description = (
            f"{gap.member_name} to complete {gap.course} training for a placed child's needs ({', '.join(gap.needs)})"
        )
        out.append(
            clock(
                rec,
                state.household_id,
                Clock.NEEDS_TRAINING,
                started,
                started + timedelta(days=days),
                description,
                child_ids=[placement.child_id],
                escalate_to="manager",
                causation_id=cause.event_id,
                member_id=gap.member_id,
                course=gap.course,
                placement_id=placement.placement_id,
            )
        )
    return out


def placement_refusal(
    state: HouseholdState | None, child: ChildRegistered, body: PlacementIn, today: date, elsewhere: Sequence[uuid.UUID]
) -> None:
    """Refuses (409, every reason) a placement the household may not take now or when it starts,
    or a child already placed elsewhere."""
    if state is None:
        raise Problem("not-found", "The household or child is no longer in the log.")
    if child.date_of_birth is None:
        raise Problem("state-conflict", "The child's record was destroyed at the end of its retention.")
    request = PlacementRequest(body.child_id, child.date_of_birth, body.start_date, body.placement_type)
    reasons = placement_eligibility(state, request, max(today, body.start_date)) + already_placed(elsewhere)
    if reasons:
        raise refusal(
            reasons, slug="invariant-violated", household_id=str(body.household_id), child_id=str(body.child_id)
        )


async def start_placement(ctx: CommandContext, body: PlacementIn) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    state = await loading.load_household(ctx, body.household_id)
    child = await loading.child_registration(ctx.store, body.child_id)
    if child is None:
        raise Problem("not-found", f"No child {body.child_id} is registered; register the child first.")
    needs = await loading.recorded_needs(ctx.store, body.child_id)
    events = decide_placement(ctx, state, child, needs, body)
    today = ctx.now().date()

    async def eligible(conn: AsyncConnection) -> None:
        """Under the log's lock: the household read here is the one the placement joins."""
        current = await loading.read_household(ctx.store, body.household_id, conn)
        elsewhere = await loading.open_placements_of_child(ctx.store, body.child_id, conn)
        placement_refusal(current, child, body, today, [p.placement_id for p in elsewhere])

    stream = placement_stream(minted_id(events[0], "placement_id"))
    return await ctx.append(stream, events, expected_version=0, check=eligible)


# ---- ending -----------------------------------------------------------------------------------
def decide_placement_end(
    rec: Recorder, placement: PlacementState, body: PlacementEndIn, child_clocks: Sequence[OpenDeadline] = ()
) -> list[NewEvent]:
    """The placement ended. An ending recorded with none of its three parts starts a clock to
    complete the record (Ofsted: endings not recorded). `child_clocks`, the open clocks of the
    duty to see the child in this placement, stop."""
    if placement.ended:
        raise Problem("state-conflict", f"The placement already ended on {placement.end_date}.")
    reasons = []
    if body.end_date < placement.start_date:
        reasons.append(Reason("end_before_start", "end_date is before the placement's start_date."))
    refuse_if(reasons + future(rec, end_date=body.end_date, ending_meeting_on=body.ending_meeting_on))
    now = rec.now()
    parts = body.parts()
    ended = PlacementEnded(
        placement_id=placement.placement_id,
        child_id=placement.child_id,
        household_id=placement.household_id,
        end_date=body.end_date,
        reason=body.reason,
        narrative=body.narrative,
        carer_feelings=body.carer_feelings,
        child_wishes_contact=body.child_wishes_contact,
        child_wishes=body.child_wishes,
        carer_views=body.carer_views,
        ending_meeting_held=body.ending_meeting_held,
        ending_meeting_on=body.ending_meeting_on,
    )
    summary = f"Placement ended on {body.end_date:%d %b %Y}: {body.reason}"
    if not parts:
        summary += " (ending not recorded: no wishes, views or meeting)"
    occurred_at = now if body.end_date == now.date() else start_of(body.end_date)
    event = rec.event(ended, occurred_at=occurred_at, child_ids=[placement.child_id], summary=summary)
    stopped = [cancelled(rec, placement.household_id, d, "placement ended") for d in child_clocks]
    return [event, *stopped] if parts else [event, *stopped, _ending_record_clock(rec, placement, now, event)]


def _ending_record_clock(rec: Recorder, placement: PlacementState, now: datetime, cause: NewEvent) -> NewEvent:
    due = add_working_days_at(now, rec.settings.carers.ending_record_working_days)
    description = (
        "Record the ending: the child's wishes about keeping in touch, the carers' views and feelings, "
        "and whether an ending meeting was held"
    )
    return clock(
        rec,
        placement.household_id,
        Clock.ENDING_RECORD,
        now,
        due,
        description,
        subject=placement_stream(placement.placement_id),
        child_ids=[placement.child_id],
        escalate_to="manager",
        causation_id=cause.event_id,
        placement_id=placement.placement_id,
    )


async def end_placement(ctx: CommandContext, placement_id: uuid.UUID, body: PlacementEndIn) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    placement = await _placement(ctx, placement_id)
    household = await loading.read_household(ctx.store, placement.household_id)
    open_clocks = household.deadlines.values() if household is not None else []
    child_clocks = [d for d in open_clocks if d.kind in CHILD_SEEN_CLOCKS and d.placement_id == placement_id]
    events = decide_placement_end(ctx, placement, body, child_clocks)
    return await ctx.append(placement_stream(placement_id), events, expected_version=ctx.expected(placement.version))


def decide_ending(rec: Recorder, placement: PlacementState, body: EndingIn) -> list[NewEvent]:
    """The record of an ending completed: what the child wishes, what the carers feel, the meeting."""
    if not placement.ended:
        raise Problem("state-conflict", "The placement has not ended; record the ending when it ends.")
    parts = body.parts()
    reasons = future(rec, ending_meeting_on=body.ending_meeting_on)
    if not parts:
        reasons.insert(
            0,
            Reason(
                "ending_empty",
                "Record at least one of: the child's wishes about keeping in touch, the carers' views and "
                "feelings, whether an ending meeting was held.",
            ),
        )
    refuse_if(reasons)
    now = rec.now()
    recorded = EndingRecorded(
        placement_id=placement.placement_id,
        child_id=placement.child_id,
        household_id=placement.household_id,
        recorded_at=now,
        child_wishes_contact=body.child_wishes_contact,
        child_wishes=body.child_wishes,
        carer_views=body.carer_views,
        ending_meeting_held=body.ending_meeting_held,
        ending_meeting_on=body.ending_meeting_on,
    )
    summary = "Ending recorded: " + ", ".join(p.replace("_", " ") for p in parts)
    event = rec.event(recorded, child_ids=[placement.child_id], summary=summary)
    chased = [d for d in placement.deadlines.values() if d.kind == Clock.ENDING_RECORD]
    return [event, *all_met(rec, placement.household_id, chased, now, event)]


async def record_ending(ctx: CommandContext, placement_id: uuid.UUID, body: EndingIn) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    placement = await _placement(ctx, placement_id)
    events = decide_ending(ctx, placement, body)
    return await ctx.append(placement_stream(placement_id), events, expected_version=ctx.expected(placement.version))


async def _placement(ctx: CommandContext, placement_id: uuid.UUID) -> PlacementState:
    return await loading.load_record(
        ctx, placement_stream(placement_id), fold_placement, missing=f"No placement {placement_id}."
    )
