"""carers: qualifying determinations on an approved household (FSR 2011 reg 28): the agency
proposes to end the approval or change its terms; the carers have 28 days to make representations
or apply to the Independent Review Mechanism; the agency decision maker decides after that (or
after hearing them), with reasons. A confirmed termination ends the approval; a confirmed change
of terms changes them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from services.carers.commands import loading
from services.carers.commands.bodies import (
    DeterminationDecisionIn,
    DeterminationIn,
    EndApprovalIn,
    RepresentationsIn,
)
from services.carers.commands.clocks import all_met, clock, not_in_future
from services.carers.commands.households import decide_end_of_approval
from services.carers.events import (
    HouseholdRefused,
    QualifyingDeterminationDecided,
    QualifyingDeterminationMade,
    RepresentationsReceived,
    Terms,
)
from services.carers.rules import STATUTORY, Clock, HouseholdState, HouseholdStatus
from services.carers.rules.household import Determination
from shared.auth import MANAGERS
from shared.commanding import CommandContext
from shared.eventstore import NewEvent, RecordedEvent
from shared.policy import require_role, require_writer
from shared.problems import Problem
from shared.recording import Recorder
from shared.refusals import Reason, refuse_if

B = TypeVar("B")


def _open_determination(state: HouseholdState) -> Determination:
    found = state.determination
    if found is None or found.decided:
        raise Problem("state-conflict", "The household has no qualifying determination awaiting a decision.")
    return found


def decide_determination(rec: Recorder, state: HouseholdState, body: DeterminationIn) -> list[NewEvent]:
    """Termination or a change of terms proposed, the carers told: their 28 days run (a clock)."""
    if state.status != HouseholdStatus.APPROVED:
        raise Problem("state-conflict", f"Only an approved household's approval is reviewed ({state.status.value}).")
    if state.determination is not None and not state.determination.decided:
        raise Problem("state-conflict", "A qualifying determination is already awaiting a decision.")
    if body.proposal == "change_of_terms" and body.new_terms is None:
        refuse_if([Reason("new_terms_missing", "A change of terms names the new terms.")])
    at = body.notified_at or rec.now()
    not_in_future(rec, notified_at=at)
    return determination_events(rec, state, body.proposal, body.reasons, at, body.new_terms)


def determination_events(
    rec: Recorder, state: HouseholdState, proposal: str, reasons: str, at: datetime, new_terms: Terms | None = None
) -> list[NewEvent]:
    """The determination notified at `at` (termination, change of terms, or an applicant's refusal
    proposed by the agency decision maker), and the clock of the carers' 28 days."""
    until = at + timedelta(days=STATUTORY.representations_days)
    made = QualifyingDeterminationMade(
        household_id=state.household_id,
        determination_id=rec.new_id(),
        proposal=proposal,
        new_terms=new_terms,
        reasons=reasons,
        notified_at=at,
        representations_until=until,
    )
    summary = f"Qualifying determination ({proposal.replace('_', ' ')}) notified to {state.name}"
    event = rec.event(made, occurred_at=at, summary=summary)
    description = "The carers' 28 days for representations or the IRM; then the agency decision maker decides"
    period = clock(rec, state.household_id, Clock.DETERMINATION, at, until, description, escalate_to="manager")
    return [event, period]


def decide_representations(rec: Recorder, state: HouseholdState, body: RepresentationsIn) -> list[NewEvent]:
    """The carers' representations to the agency, or their IRM application, within the 28 days."""
    determination = _open_determination(state)
    if determination.route is not None:
        raise Problem("state-conflict", f"The carers already chose: {determination.route}.")
    at = body.received_at or rec.now()
    not_in_future(rec, received_at=at)
    if at > determination.representations_until:
        until = f"{determination.representations_until:%d %b %Y}"
        refuse_if([Reason("out_of_time", f"The 28 days for representations ended on {until}.")])
    received = RepresentationsReceived(
        household_id=state.household_id,
        determination_id=determination.determination_id,
        received_at=at,
        route=body.route,
        summary=body.summary,
    )
    event = rec.event(received, occurred_at=at, summary=f"{state.name}: {body.route} on the qualifying determination")
    return [event, *all_met(rec, state.household_id, state.open_clocks(Clock.DETERMINATION), at, event)]


def decide_determination_outcome(rec: Recorder, state: HouseholdState, body: DeterminationDecisionIn) -> list[NewEvent]:
    """The ADM's decision: not before the 28 days end unless the carers have answered; taking the
    panel's or the IRM's recommendation into account when they did."""
    determination = _open_determination(state)
    at = rec.now()
    if determination.route is None and at < determination.representations_until:
        until = f"{determination.representations_until:%d %b %Y}"
        raise Problem("state-conflict", f"The carers have until {until} to make representations or apply to the IRM.")
    if determination.route is not None and not body.recommendation_considered:
        refuse_if([Reason("recommendation_not_considered", "Take the review's recommendation into account.")])
    decided = QualifyingDeterminationDecided(
        household_id=state.household_id,
        determination_id=determination.determination_id,
        decided_at=at,
        outcome=body.outcome,
        decision_maker_id=rec.principal.subject,
        recommendation_considered=body.recommendation_considered,
        reasons=body.reasons,
    )
    event = rec.event(decided, occurred_at=at, summary=f"Qualifying determination {body.outcome}: {state.name}")
    events = [event, *all_met(rec, state.household_id, state.open_clocks(Clock.DETERMINATION), at, event)]
    if body.outcome == "confirmed" and determination.proposal == "termination":
        events += decide_end_of_approval(rec, state, EndApprovalIn(reason=body.reasons, ended_at=at))
    if body.outcome == "confirmed" and determination.proposal == "refusal":
        refused = HouseholdRefused(household_id=state.household_id, refused_at=at, reason=body.reasons)
        events.append(rec.event(refused, occurred_at=at, summary=f"Approval refused: {state.name}"))
    return events


async def record(
    ctx: CommandContext,
    household_id: uuid.UUID,
    decide: Callable[[Recorder, HouseholdState, B], list[NewEvent]],
    body: B,
    *,
    managers_only: bool = False,
) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    if managers_only:
        require_role(ctx.principal, MANAGERS, "decide a qualifying determination")
    state = await loading.load_household(ctx, household_id)
    return await loading.append_to_household(ctx, state, decide(ctx, state, body))
