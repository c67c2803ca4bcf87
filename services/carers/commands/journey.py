"""carers: the carer's journey, enquiry to the applicant told of the decision (FSR 2011 reg 26, 27;
NMS 13, 14). Each step is an event on the household's stream, taken only from the stage before it
(409 otherwise), and starts or meets the journey's clocks. Pure deciders and one thin shell."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from services.carers.commands import loading
from services.carers.commands.bodies import (
    AgencyDecisionIn,
    ApplicantNoticeIn,
    ApplicationIn,
    AssessmentIn,
    EnquiryIn,
    EnquiryReplyIn,
    InitialVisitIn,
    PanelMinutesIn,
    PanelRecommendationIn,
    Stage1DecisionIn,
)
from services.carers.commands.clocks import all_met, cancelled, clock, not_in_future
from services.carers.commands.determinations import determination_events
from services.carers.commands.households import approval_events
from services.carers.commands.stage1 import stage1_decision_clock
from services.carers.events import (
    AgencyDecision,
    AgencyDecisionMade,
    ApplicantNotified,
    ApplicationReceived,
    AssessmentCompleted,
    EnquiryReceived,
    EnquiryReplied,
    InitialVisitHeld,
    PanelMinutesReceived,
    PanelRecommendation,
    PanelRecommended,
    Stage1Decided,
)
from services.carers.rules import STATUTORY, Clock, HouseholdState, HouseholdStatus, add_months_at
from services.carers.rules.clocks import JOURNEY_CLOCKS
from services.carers.rules.journey import JourneyStage, JourneyStep, out_of_order
from shared.auth import MANAGERS
from shared.calendar import add_working_days_at
from shared.commanding import CommandContext
from shared.eventstore import NewEvent, RecordedEvent
from shared.policy import require_role, require_writer
from shared.problems import Problem
from shared.recording import Recorder
from shared.refusals import Reason, refuse_if

B = TypeVar("B")


def _in_order(state: HouseholdState, step: JourneyStep) -> None:
    why = out_of_order(state.journey, step)
    if why is not None:
        raise Problem("state-conflict", why)


def _when(rec: Recorder, given: datetime | None, field: str) -> datetime:
    at = given or rec.now()
    not_in_future(rec, **{field: at})
    return at


def _meet(rec: Recorder, state: HouseholdState, kind: Clock, at: datetime, by: NewEvent) -> list[NewEvent]:
    return all_met(rec, state.household_id, state.open_clocks(kind), at, by)


# ---- enquiry, initial visit, application --------------------------------------------------------
def decide_enquiry(rec: Recorder, state: HouseholdState, body: EnquiryIn) -> list[NewEvent]:
    """An enquiry starts the journey and the clock to reply to it (NMS 13; working days: local)."""
    if state.journey.stage is not None or state.status != HouseholdStatus.ASSESSMENT:
        raise Problem("state-conflict", "This household's journey has already begun.")
    at = _when(rec, body.received_at, "received_at")
    enquiry = EnquiryReceived(
        household_id=state.household_id, received_at=at, channel=body.channel, summary=body.summary
    )
    event = rec.event(enquiry, occurred_at=at, summary=f"Fostering enquiry from {state.name}")
    due = add_working_days_at(at, rec.settings.carers.enquiry_reply_working_days)
    reply = clock(rec, state.household_id, Clock.ENQUIRY_REPLY, at, due, "Reply to the fostering enquiry")
    return [event, reply]


def decide_enquiry_reply(rec: Recorder, state: HouseholdState, body: EnquiryReplyIn) -> list[NewEvent]:
    _in_order(state, JourneyStep.ENQUIRY_REPLY)
    at = _when(rec, body.replied_at, "replied_at")
    replied = EnquiryReplied(household_id=state.household_id, replied_at=at, replied_by=rec.principal.subject)
    event = rec.event(replied, occurred_at=at, summary=f"Enquiry answered: {state.name}")
    return [event, *_meet(rec, state, Clock.ENQUIRY_REPLY, at, event)]


def decide_initial_visit(rec: Recorder, state: HouseholdState, body: InitialVisitIn) -> list[NewEvent]:
    _in_order(state, JourneyStep.INITIAL_VISIT)
    at = _when(rec, body.occurred_at, "occurred_at")
    visit = InitialVisitHeld(
        household_id=state.household_id,
        occurred_at=at,
        visitor_id=body.visitor_id or rec.principal.subject,
        proceed=body.proceed,
        notes=body.notes,
    )
    outcome = "invited to apply" if body.proceed else "not taken forward"
    return [rec.event(visit, occurred_at=at, summary=f"Initial visit to {state.name}: {outcome}")]


def decide_application(rec: Recorder, state: HouseholdState, body: ApplicationIn) -> list[NewEvent]:
    """The application starts stage 1 and two clocks: stage 2 completed (months: local) and the
    case presented to panel (NMS 14.4); stage 1's own clock if every check is already back."""
    _in_order(state, JourneyStep.APPLICATION)
    at = _when(rec, body.received_at, "received_at")
    hid = state.household_id
    applied = ApplicationReceived(household_id=hid, received_at=at)
    event = rec.event(applied, occurred_at=at, summary=f"Application to foster received: {state.name}")
    stage2_due = add_months_at(at, rec.settings.carers.stage2_months)
    panel_due = add_months_at(at, STATUTORY.panel_months)
    after = state.model_copy(deep=True)
    after.journey.stage = JourneyStage.STAGE1
    return [
        event,
        clock(rec, hid, Clock.STAGE2_ASSESSMENT, at, stage2_due, "Stage 2 assessment (Form F) completed"),
        clock(rec, hid, Clock.PANEL, at, panel_due, "The application presented to the fostering panel"),
        *stage1_decision_clock(rec, after, at, event),
    ]


# ---- stage 1 and stage 2 ------------------------------------------------------------------------
def decide_stage1(rec: Recorder, state: HouseholdState, body: Stage1DecisionIn) -> list[NewEvent]:
    """Stage 1 decided. Going on needs every statutory check back clear (each missing one listed);
    not going on ends the journey and stops its clocks."""
    _in_order(state, JourneyStep.STAGE1_DECISION)
    at = _when(rec, body.decided_at, "decided_at")
    if body.proceed:
        refuse_if([Reason("stage1_check_outstanding", m) for m in state.stage1_outstanding(at.date())])
    decided = Stage1Decided(
        household_id=state.household_id,
        decided_at=at,
        proceed=body.proceed,
        reason=body.reason,
        decided_by=rec.principal.subject,
    )
    outcome = "on to stage 2" if body.proceed else "not taken forward"
    event = rec.event(decided, occurred_at=at, summary=f"Stage 1 decided for {state.name}: {outcome}")
    events = [event, *_meet(rec, state, Clock.STAGE1_DECISION, at, event)]
    if not body.proceed:
        events += _stop_journey(rec, state, "not taken forward after stage 1", keep={Clock.STAGE1_DECISION})
    return events


def _stop_journey(rec: Recorder, state: HouseholdState, reason: str, keep: set[Clock]) -> list[NewEvent]:
    stopped = [d for d in state.deadlines.values() if d.kind in JOURNEY_CLOCKS and d.kind not in keep]
    return [cancelled(rec, state.household_id, d, reason) for d in stopped]


def decide_assessment(rec: Recorder, state: HouseholdState, body: AssessmentIn) -> list[NewEvent]:
    _in_order(state, JourneyStep.ASSESSMENT)
    at = _when(rec, body.completed_at, "completed_at")
    done = AssessmentCompleted(
        household_id=state.household_id,
        completed_at=at,
        assessor_id=body.assessor_id or rec.principal.subject,
        recommended_terms=body.recommended_terms,
    )
    event = rec.event(done, occurred_at=at, summary=f"Stage 2 assessment (Form F) completed: {state.name}")
    return [event, *_meet(rec, state, Clock.STAGE2_ASSESSMENT, at, event)]


# ---- panel and the agency decision --------------------------------------------------------------
def decide_panel_recommendation(rec: Recorder, state: HouseholdState, body: PanelRecommendationIn) -> list[NewEvent]:
    """The panel's recommendation (reasons, any dissent): the case was presented (NMS 14.4)."""
    _in_order(state, JourneyStep.PANEL)
    not_in_future(rec, panel_date=body.panel_date)
    recommended = PanelRecommended(
        household_id=state.household_id,
        panel_date=body.panel_date,
        recommendation=body.recommendation,
        terms=body.terms,
        reasons=body.reasons,
        dissent=body.dissent,
    )
    at = rec.now()
    summary = f"Fostering panel recommended ({body.recommendation.value}): {state.name}"
    event = rec.event(recommended, occurred_at=at, summary=summary)
    return [event, *_meet(rec, state, Clock.PANEL, at, event)]


def decide_panel_minutes(rec: Recorder, state: HouseholdState, body: PanelMinutesIn) -> list[NewEvent]:
    """The final minutes reach the agency decision maker, whose clock starts (NMS 14)."""
    _in_order(state, JourneyStep.PANEL_MINUTES)
    at = _when(rec, body.received_at, "received_at")
    return minutes_received(rec, state, at)


def minutes_received(rec: Recorder, state: HouseholdState, at: datetime) -> list[NewEvent]:
    """The household's final panel minutes received, and the agency decision maker's clock."""
    minutes = PanelMinutesReceived(household_id=state.household_id, received_at=at)
    event = rec.event(minutes, occurred_at=at, summary=f"Final panel minutes received: {state.name}")
    due = add_working_days_at(at, STATUTORY.agency_decision_working_days)
    description = "The agency decision maker's decision on the panel's recommendation"
    return [event, clock(rec, state.household_id, Clock.AGENCY_DECISION, at, due, description, escalate_to="manager")]


def decide_agency_decision(rec: Recorder, state: HouseholdState, body: AgencyDecisionIn) -> list[NewEvent]:
    """The ADM decides, having taken the recommendation into account (reasons where the decision
    differs): approval on terms (with approval's clocks), or a qualifying determination. Either
    way the applicant is to be told in writing (working days: local)."""
    _in_order(state, JourneyStep.AGENCY_DECISION)
    at = _when(rec, body.decided_at, "decided_at")
    recommendation = state.journey.panel_recommendation or PanelRecommendation.NOT_APPROVE
    approve = body.decision == AgencyDecision.APPROVE
    differs = approve != (recommendation == PanelRecommendation.APPROVE)
    terms = body.terms or state.journey.panel_terms
    refuse_if(_decision_refusals(state, body, differs, approve and terms is None))
    decided = AgencyDecisionMade(
        household_id=state.household_id,
        decided_at=at,
        decision=body.decision,
        decision_maker_id=rec.principal.subject,
        recommendation=recommendation,
        recommendation_considered=body.recommendation_considered,
        differs_from_recommendation=differs,
        reasons=body.reasons or "As the panel recommended.",
        terms=terms if approve else None,
    )
    event = rec.event(decided, occurred_at=at, summary=f"Agency decision ({body.decision.value}): {state.name}")
    events = [event, *_meet(rec, state, Clock.AGENCY_DECISION, at, event)]
    if approve and terms is not None:
        events += approval_events(rec, state, at, terms, state.journey.panel_date)
    due = add_working_days_at(at, rec.settings.carers.applicant_notice_working_days)
    events.append(clock(rec, state.household_id, Clock.APPLICANT_NOTICE, at, due, "The applicant told in writing"))
    return events


def _decision_refusals(state: HouseholdState, body: AgencyDecisionIn, differs: bool, no_terms: bool) -> list[Reason]:
    reasons = []
    if not body.recommendation_considered:
        reasons.append(
            Reason("recommendation_not_considered", "The panel's recommendation must be taken into account.")
        )
    if differs and not body.reasons:
        reasons.append(Reason("reasons_missing", "The decision differs from the panel's: record the reasons."))
    if no_terms:
        reasons.append(Reason("terms_missing", "An approval needs its terms (the panel recommended none)."))
    if body.decision == AgencyDecision.APPROVE and not state.carers():
        reasons.append(Reason("no_carer", "A household is approved for its carers: add an applicant first."))
    return reasons


def decide_applicant_notice(rec: Recorder, state: HouseholdState, body: ApplicantNoticeIn) -> list[NewEvent]:
    _in_order(state, JourneyStep.APPLICANT_NOTICE)
    at = _when(rec, body.sent_at, "sent_at")
    notified = ApplicantNotified(household_id=state.household_id, sent_at=at, method=body.method)
    event = rec.event(notified, occurred_at=at, summary=f"Decision sent to {state.name} by {body.method}")
    events = [event, *_meet(rec, state, Clock.APPLICANT_NOTICE, at, event)]
    if state.journey.decision == AgencyDecision.QUALIFYING_DETERMINATION:  # the applicant's 28 days (reg 27)
        reasons = state.journey.decision_reasons or "The agency decision maker proposes not to approve."
        events += determination_events(rec, state, "refusal", reasons, at)
    return events


# ---- the shell ----------------------------------------------------------------------------------
async def record_step(
    ctx: CommandContext,
    household_id: uuid.UUID,
    decide: Callable[[Recorder, HouseholdState, B], list[NewEvent]],
    body: B,
    *,
    managers_only: bool = False,
) -> list[RecordedEvent]:
    """Any step of the journey: load the household, decide, append (the ADM's: managers only)."""
    require_writer(ctx.principal)
    if managers_only:
        require_role(ctx.principal, MANAGERS, "make the agency decision")
    state = await loading.load_household(ctx, household_id)
    return await loading.append_to_household(ctx, state, decide(ctx, state, body))
