"""The carer's journey, from enquiry to the agency's decision (FSR 2011 reg 26, 27; NMS 13, 14): the
stage a household is at, what each step needs before it, and which statutory checks of stage 1 are
still outstanding. Pure: the household's fold keeps a `JourneyState`; deciders ask these rules."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel

from services.carers.rules.tables import STATUTORY, CheckKind, CheckResult, MemberRole
from shared.contracts.base import Event
from shared.contracts.carers import (
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
    Terms,
)


class JourneyStage(StrEnum):
    ENQUIRY = "enquiry"  # enquiry received: the initial visit is next
    INITIAL_VISIT = "initial_visit"  # visited and invited to apply
    STAGE1 = "stage1"  # application received: statutory checks and references
    STAGE2 = "stage2"  # stage 1 passed: the Form F assessment
    PANEL = "panel"  # assessment completed: waiting for panel
    DECISION = "decision"  # panel recommended: waiting for the minutes and the agency decision maker
    APPROVED = "approved"
    QUALIFYING_DETERMINATION = "qualifying_determination"  # the ADM proposes not to approve
    CLOSED = "closed"  # not taken forward (after the initial visit or stage 1)


class JourneyStep(StrEnum):
    ENQUIRY_REPLY = "enquiry_reply"
    INITIAL_VISIT = "initial_visit"
    APPLICATION = "application"
    STAGE1_DECISION = "stage1_decision"
    ASSESSMENT = "assessment"
    PANEL = "panel"
    PANEL_MINUTES = "panel_minutes"
    AGENCY_DECISION = "agency_decision"
    APPLICANT_NOTICE = "applicant_notice"


class JourneyState(BaseModel):
    """What the household's journey has recorded so far (None: not reached)."""

    stage: JourneyStage | None = None
    enquiry_at: datetime | None = None
    enquiry_replied_at: datetime | None = None
    initial_visit_at: datetime | None = None
    application_at: datetime | None = None
    stage1_decided_at: datetime | None = None
    assessment_completed_at: datetime | None = None
    recommended_terms: Terms | None = None
    panel_date: date | None = None
    panel_recommendation: PanelRecommendation | None = None
    panel_terms: Terms | None = None
    minutes_received_at: datetime | None = None
    decided_at: datetime | None = None
    decision: AgencyDecision | None = None
    decision_reasons: str | None = None
    notified_at: datetime | None = None


# Which stage each step is taken from (the journey runs in this order; none is skipped).
STEP_FROM: dict[JourneyStep, frozenset[JourneyStage]] = {
    JourneyStep.INITIAL_VISIT: frozenset({JourneyStage.ENQUIRY}),
    JourneyStep.APPLICATION: frozenset({JourneyStage.INITIAL_VISIT}),
    JourneyStep.STAGE1_DECISION: frozenset({JourneyStage.STAGE1}),
    JourneyStep.ASSESSMENT: frozenset({JourneyStage.STAGE2}),
    JourneyStep.PANEL: frozenset({JourneyStage.PANEL}),
    JourneyStep.PANEL_MINUTES: frozenset({JourneyStage.DECISION}),
    JourneyStep.AGENCY_DECISION: frozenset({JourneyStage.DECISION}),
    JourneyStep.APPLICANT_NOTICE: frozenset({JourneyStage.APPROVED, JourneyStage.QUALIFYING_DETERMINATION}),
}


def out_of_order(journey: JourneyState, step: JourneyStep) -> str | None:
    """Why `step` cannot be recorded at the journey's stage (None: it can)."""
    if step == JourneyStep.ENQUIRY_REPLY:
        if journey.enquiry_at is None:
            return "No enquiry is recorded for this household."
        return "The enquiry was already answered." if journey.enquiry_replied_at is not None else None
    if step == JourneyStep.APPLICANT_NOTICE and journey.notified_at is not None:
        return "The applicant was already told of the decision in writing."
    if step == JourneyStep.AGENCY_DECISION and journey.minutes_received_at is None:
        return "The agency decision maker decides on the final panel minutes: record them first."
    if step == JourneyStep.PANEL_MINUTES and journey.minutes_received_at is not None:
        return "The final panel minutes were already received."
    if journey.stage in STEP_FROM[step]:
        return None
    stage = journey.stage.value if journey.stage else "no enquiry"
    return f"A {step.value.replace('_', ' ')} cannot be recorded at this stage of the journey ({stage})."


class MemberChecks(BaseModel):
    """One member's checks as stage 1 reads them: role, adult or not, and each clear check's kind."""

    name: str
    role: MemberRole
    adult: bool
    clear: list[str]


# Stage 1 (FSR 2011 reg 26 and Schedule 3): an enhanced DBS for every adult; each applicant's
# health (medical) and local authority checks; two personal references and the home's safety
# for the household. Employer and previous partner checks are recorded where they apply.
APPLICANT_CHECKS = (CheckKind.MEDICAL, CheckKind.LOCAL_AUTHORITY)
HOUSEHOLD_CHECKS = (CheckKind.HOME_SAFETY,)


def stage1_outstanding(members: list[MemberChecks]) -> list[str]:
    """Every stage 1 check still to come back clear (empty: stage 1 can be decided)."""
    missing = []
    for m in members:
        if m.adult and CheckKind.DBS_ENHANCED not in m.clear:
            missing.append(f"{CheckKind.DBS_ENHANCED.value}: {m.name}")
        if m.role in (MemberRole.APPLICANT, MemberRole.CARER):
            missing += [f"{kind.value}: {m.name}" for kind in APPLICANT_CHECKS if kind not in m.clear]
    every = [kind for m in members for kind in m.clear]
    missing += [f"{kind.value}: the household" for kind in HOUSEHOLD_CHECKS if kind not in every]
    references = every.count(CheckKind.REFERENCES)
    if references < STATUTORY.personal_references:
        missing.append(f"{CheckKind.REFERENCES.value}: {STATUTORY.personal_references - references} more")
    if not any(m.role in (MemberRole.APPLICANT, MemberRole.CARER) for m in members):
        missing.append("an applicant")
    return missing


def clear_kinds(results: list[tuple[str, CheckResult]]) -> list[str]:
    return [kind for kind, result in results if result == CheckResult.CLEAR]


def evolve_journey(journey: JourneyState, payload: Event) -> None:
    """The journey after one of its events (others leave it as it is)."""
    if isinstance(payload, EnquiryReceived):
        journey.stage, journey.enquiry_at = JourneyStage.ENQUIRY, payload.received_at
    elif isinstance(payload, EnquiryReplied):
        journey.enquiry_replied_at = payload.replied_at
    elif isinstance(payload, InitialVisitHeld):
        journey.initial_visit_at = payload.occurred_at
        journey.stage = JourneyStage.INITIAL_VISIT if payload.proceed else JourneyStage.CLOSED
    elif isinstance(payload, ApplicationReceived):
        journey.stage, journey.application_at = JourneyStage.STAGE1, payload.received_at
    elif isinstance(payload, Stage1Decided):
        journey.stage1_decided_at = payload.decided_at
        journey.stage = JourneyStage.STAGE2 if payload.proceed else JourneyStage.CLOSED
    elif isinstance(payload, AssessmentCompleted):
        journey.stage, journey.assessment_completed_at = JourneyStage.PANEL, payload.completed_at
        journey.recommended_terms = payload.recommended_terms
    else:
        _evolve_decision(journey, payload)


def _evolve_decision(journey: JourneyState, payload: Event) -> None:
    if isinstance(payload, PanelRecommended):
        journey.stage, journey.panel_date = JourneyStage.DECISION, payload.panel_date
        journey.panel_recommendation, journey.panel_terms = payload.recommendation, payload.terms
    elif isinstance(payload, PanelMinutesReceived):
        journey.minutes_received_at = payload.received_at
    elif isinstance(payload, AgencyDecisionMade):
        journey.decided_at, journey.decision = payload.decided_at, payload.decision
        journey.decision_reasons = payload.reasons
        approved = payload.decision == AgencyDecision.APPROVE
        journey.stage = JourneyStage.APPROVED if approved else JourneyStage.QUALIFYING_DETERMINATION
    elif isinstance(payload, ApplicantNotified):
        journey.notified_at = payload.sent_at


JOURNEY_EVENTS: tuple[type[Event], ...] = (
    EnquiryReceived,
    EnquiryReplied,
    InitialVisitHeld,
    ApplicationReceived,
    Stage1Decided,
    AssessmentCompleted,
    PanelRecommended,
    PanelMinutesReceived,
    AgencyDecisionMade,
    ApplicantNotified,
)
