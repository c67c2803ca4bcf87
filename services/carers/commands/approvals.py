"""carers: what approval rests on and how it ends besides a decision: the foster care agreement
(FSR 2011 reg 27(5)(b), Schedule 5), the carers' resignation (reg 28(13)), and a connected person's
temporary approval and its one extension (CPPR 2010 reg 24, 25). Pure deciders and a thin shell;
what they mean for a placement is placement eligibility's (rules/eligibility.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TypeVar

from services.carers.commands import loading
from services.carers.commands.bodies import AgreementIn, ResignationIn, TemporaryApprovalIn, TemporaryExtensionIn
from services.carers.commands.clocks import cancelled, clock, future, not_in_future
from services.carers.events import (
    FosterCareAgreementSigned,
    ResignationNoticeReceived,
    TemporaryApprovalExtended,
    TemporaryApprovalGranted,
)
from services.carers.rules import STATUTORY, Clock, HouseholdState, HouseholdStatus
from shared.commanding import CommandContext
from shared.eventstore import NewEvent, RecordedEvent
from shared.policy import require_writer
from shared.problems import Problem
from shared.recording import Recorder
from shared.refusals import Reason, refuse_if

B = TypeVar("B")


def _approved(state: HouseholdState, what: str) -> None:
    if state.status != HouseholdStatus.APPROVED:
        raise Problem("state-conflict", f"{what} needs an approved household (status: {state.status.value}).")


def decide_agreement(rec: Recorder, state: HouseholdState, body: AgreementIn) -> list[NewEvent]:
    """The foster care agreement signed: without it an approved household takes no placement."""
    _approved(state, "A foster care agreement")
    refuse_if(future(rec, signed_on=body.signed_on))
    return [agreement_event(rec, state, body.signed_on)]


def agreement_event(rec: Recorder, state: HouseholdState, signed_on: date) -> NewEvent:
    signed = FosterCareAgreementSigned(
        household_id=state.household_id,
        agreement_id=rec.new_id(),
        signed_on=signed_on,
        recorded_by=rec.principal.subject,
    )
    summary = f"Foster care agreement signed by {state.name} on {signed.signed_on:%d %b %Y}"
    return rec.event(signed, summary=summary)


def decide_resignation(rec: Recorder, state: HouseholdState, body: ResignationIn) -> list[NewEvent]:
    """The carers' notice: no new placement from now, approval ends 28 days after it was received
    (a clock for the agency to record the end, escalated when it does not)."""
    _approved(state, "A resignation")
    if state.resignation_takes_effect_at is not None:
        raise Problem("state-conflict", "The carers' resignation notice is already recorded.")
    at = body.received_at or rec.now()
    not_in_future(rec, received_at=at)
    effect = at + timedelta(days=STATUTORY.resignation_notice_days)
    notice = ResignationNoticeReceived(
        household_id=state.household_id, received_at=at, takes_effect_at=effect, reason=body.reason
    )
    event = rec.event(notice, occurred_at=at, summary=f"Resignation notice from {state.name}: ends {effect:%d %b %Y}")
    description = "Approval ends on the carers' resignation: record the end"
    ends = clock(rec, state.household_id, Clock.RESIGNATION, at, effect, description, escalate_to="manager")
    return [event, ends]


def decide_temporary_approval(rec: Recorder, state: HouseholdState, body: TemporaryApprovalIn) -> list[NewEvent]:
    """A connected person approved for the named children for 16 weeks, inside which the full
    assessment must finish (its clock; a full approval meets it)."""
    if not state.connected_person:
        refuse_if([Reason("not_connected_person", "Temporary approval is for connected persons only (reg 24).")])
    if state.status != HouseholdStatus.ASSESSMENT or state.temporary_approval is not None:
        raise Problem("state-conflict", "The household is already approved, or was temporarily approved before.")
    at = body.granted_at or rec.now()
    not_in_future(rec, granted_at=at)
    expires = at + timedelta(weeks=STATUTORY.temporary_approval_weeks)
    granted = TemporaryApprovalGranted(
        household_id=state.household_id,
        approval_id=rec.new_id(),
        granted_at=at,
        expires_at=expires,
        child_ids=list(dict.fromkeys(body.child_ids)),
        relationship=body.relationship,
    )
    summary = f"Temporary approval of {state.name} as connected carers until {expires:%d %b %Y}"
    event = rec.event(granted, occurred_at=at, child_ids=granted.child_ids, summary=summary)
    return [event, _temporary_clock(rec, state, granted.child_ids, at, expires)]


def _temporary_clock(
    rec: Recorder, state: HouseholdState, child_ids: list[uuid.UUID], at: datetime, expires: datetime
) -> NewEvent:
    description = "Full assessment of the connected carers completed before temporary approval ends"
    return clock(
        rec,
        state.household_id,
        Clock.TEMPORARY_APPROVAL,
        at,
        expires,
        description,
        child_ids=child_ids,
        escalate_to="manager",
    )


def decide_temporary_extension(rec: Recorder, state: HouseholdState, body: TemporaryExtensionIn) -> list[NewEvent]:
    """Extended once, by up to 8 weeks, before it ends (reg 25)."""
    temporary = state.temporary_approval
    if temporary is None or state.status != HouseholdStatus.ASSESSMENT:
        raise Problem("state-conflict", "The household has no temporary approval to extend.")
    if temporary.extended:
        raise Problem("state-conflict", "Temporary approval was already extended once (reg 25).")
    now = rec.now()
    reasons = []
    if body.weeks > STATUTORY.temporary_extension_max_weeks:
        most = STATUTORY.temporary_extension_max_weeks
        reasons.append(
            Reason("extension_too_long", f"Temporary approval is extended by at most {most} weeks (reg 25).")
        )
    if now > temporary.expires_at:
        reasons.append(Reason("temporary_approval_expired", f"It ended on {temporary.expires_at:%d %b %Y}."))
    refuse_if(reasons)
    expires = temporary.expires_at + timedelta(weeks=body.weeks)
    extended = TemporaryApprovalExtended(
        household_id=state.household_id,
        approval_id=temporary.approval_id,
        extended_at=now,
        expires_at=expires,
        reason=body.reason,
    )
    event = rec.event(extended, summary=f"Temporary approval of {state.name} extended to {expires:%d %b %Y}")
    stopped = [cancelled(rec, state.household_id, d, "extended") for d in state.open_clocks(Clock.TEMPORARY_APPROVAL)]
    return [event, *stopped, _temporary_clock(rec, state, temporary.child_ids, now, expires)]


async def record(
    ctx: CommandContext,
    household_id: uuid.UUID,
    decide: Callable[[Recorder, HouseholdState, B], list[NewEvent]],
    body: B,
) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    state = await loading.load_household(ctx, household_id)
    return await loading.append_to_household(ctx, state, decide(ctx, state, body))


async def grant_temporary_approval(
    ctx: CommandContext, household_id: uuid.UUID, body: TemporaryApprovalIn
) -> list[RecordedEvent]:
    """Every child named must be in the log (the approval is for them)."""
    for child_id in body.child_ids:
        if await loading.child_registration(ctx.store, child_id) is None:
            raise Problem("not-found", f"No child {child_id} is registered.")
    return await record(ctx, household_id, decide_temporary_approval, body)
