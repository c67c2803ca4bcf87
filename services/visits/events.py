"""visits: the event types this service owns, and their payloads.

Streams: `child-<id>` (the child's record, visit clocks) and `complaint-<id>` (a complaint and its
stage clocks). Other services depend on these names and fields: never change them incompatibly.
"""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import AwareDatetime, BaseModel

CHILD_REGISTERED = "visits.ChildRegistered"
VISIT_RECORDED = "visits.VisitRecorded"
CONTACT_RECORDED = "visits.ContactRecorded"
INCIDENT_RECORDED = "visits.IncidentRecorded"
STATEMENT_RECORDED = "visits.StatementRecorded"
ENTRY_AMENDED = "visits.EntryAmended"
COMPLAINT_RECEIVED = "visits.ComplaintReceived"
COMPLAINT_ACKNOWLEDGED = "visits.ComplaintAcknowledged"
COMPLAINT_RESPONDED = "visits.ComplaintResponded"
COMPLAINT_EXTENDED = "visits.ComplaintTimescaleExtended"
COMPLAINT_ESCALATED = "visits.ComplaintEscalated"
COMPLAINT_CLOSED = "visits.ComplaintClosed"
PLAN_RECORDED = "visits.PlanRecorded"
PLAN_SHARED = "visits.PlanShared"
PLAN_ACKNOWLEDGED = "visits.PlanAcknowledged"
RISK_ASSESSMENT_RECORDED = "visits.RiskAssessmentRecorded"
HEALTH_CHECK_RECORDED = "visits.HealthCheckRecorded"
LAC_REVIEW_RECORDED = "visits.LookedAfterReviewRecorded"
CONCERN_RAISED = "visits.ConcernRaised"
CONCERN_ACTIONED = "visits.ConcernActioned"
CONCERN_RESOLVED = "visits.ConcernResolved"
CONCERN_ESCALATED = "visits.ConcernEscalated"

# The carers service's events this service follows (the cross-service contract).
PLACEMENT_STARTED = "carers.PlacementStarted"
PLACEMENT_ENDED = "carers.PlacementEnded"
ALLEGATION_RECEIVED = "carers.AllegationReceived"


def child_stream(child_id: uuid.UUID) -> str:
    return f"child-{child_id}"


def complaint_stream(complaint_id: uuid.UUID) -> str:
    return f"complaint-{complaint_id}"


class ChildRegistered(BaseModel):
    child_id: uuid.UUID
    name: str
    date_of_birth: date
    legal_status: str
    placing_authority: str
    social_worker_id: str | None = None
    looked_after_since: date | None = None  # absent in events before issue 12: the registration date


class VisitRecorded(BaseModel):
    visit_id: uuid.UUID
    child_id: uuid.UUID
    occurred_at: AwareDatetime
    visitor_id: str
    visitor_role: str
    kind: str
    child_seen: bool
    seen_alone: bool
    not_seen_alone_reason: str | None = None
    bedroom_seen: bool | None = None
    child_views: str | None = None
    narrative: str | None = None
    household_id: uuid.UUID | None = None


class ContactRecorded(BaseModel):
    contact_id: uuid.UUID
    child_id: uuid.UUID
    occurred_at: AwareDatetime
    kind: str
    with_whom: str
    summary: str
    worker_id: str | None = None


class IncidentRecorded(BaseModel):
    incident_id: uuid.UUID
    child_id: uuid.UUID
    category: str
    occurred_at: AwareDatetime
    narrative: str
    needed_hospital_treatment: bool = False
    police_called: bool = False
    household_id: uuid.UUID | None = None
    action_taken: str | None = None


class StatementRecorded(BaseModel):
    statement_id: uuid.UUID
    child_id: uuid.UUID
    occurred_at: AwareDatetime
    words: str
    how: str
    about_event_id: uuid.UUID | None = None


class EntryAmended(BaseModel):
    amendment_id: uuid.UUID
    child_id: uuid.UUID
    amends_event_id: uuid.UUID
    amends_type: str
    reason: str
    correction: str


class ComplaintReceived(BaseModel):
    complaint_id: uuid.UUID
    child_id: uuid.UUID
    received_at: AwareDatetime
    made_by: str
    about_household_id: uuid.UUID | None = None
    summary: str
    serious: bool = False
    schedule7_row9: bool = False
    lado_consultation: bool = False


class ComplaintAcknowledged(BaseModel):
    complaint_id: uuid.UUID
    child_id: uuid.UUID
    acknowledged_at: AwareDatetime
    how: str | None = None


class ComplaintResponded(BaseModel):
    complaint_id: uuid.UUID
    child_id: uuid.UUID
    stage: int
    responded_at: AwareDatetime
    response: str
    outcome: str
    late: bool = False


class ComplaintTimescaleExtended(BaseModel):
    complaint_id: uuid.UUID
    child_id: uuid.UUID
    stage: int
    working_days: int
    reason: str


class ComplaintEscalated(BaseModel):
    complaint_id: uuid.UUID
    child_id: uuid.UUID
    from_stage: int
    to_stage: int
    requested_at: AwareDatetime
    reason: str


class ComplaintClosed(BaseModel):
    complaint_id: uuid.UUID
    child_id: uuid.UUID
    closed_at: AwareDatetime
    stage: int
    outcome: str
    learning: str | None = None


# ---- plans, risk, health, reviews, concerns (issue 12; all in the child's stream) -----------------
class Medication(BaseModel):
    name: str
    dose: str
    given_by: str
    watch_for: str
    when: str | None = None


class PlanRecorded(BaseModel):
    """A new version of one of the child's plans (care, safe care, health); versions never change."""

    plan_id: uuid.UUID
    child_id: uuid.UUID
    kind: str
    version: int
    summary: str
    strategies: list[str] = []
    medications: list[Medication] = []
    review_date: date
    review_deadline_id: uuid.UUID | None = None


class PlanShared(BaseModel):
    """A version of a plan given to the carer household (reg 17: carers hold the care plan)."""

    share_id: uuid.UUID
    plan_id: uuid.UUID
    child_id: uuid.UUID
    kind: str
    version: int
    household_id: uuid.UUID
    shared_at: AwareDatetime
    how: str | None = None
    ack_deadline_id: uuid.UUID | None = None


class PlanAcknowledged(BaseModel):
    plan_id: uuid.UUID
    child_id: uuid.UUID
    kind: str
    version: int
    household_id: uuid.UUID | None = None
    acknowledged_by: str
    acknowledged_at: AwareDatetime


class Hazard(BaseModel):
    hazard: str
    measures: list[str]


class RiskAssessmentRecorded(BaseModel):
    assessment_id: uuid.UUID
    child_id: uuid.UUID
    assessed_at: AwareDatetime
    assessed_by: str
    hazards: list[Hazard]
    review_date: date
    summary: str | None = None
    prompted_by_event_id: uuid.UUID | None = None


class HealthCheckRecorded(BaseModel):
    check_id: uuid.UUID
    child_id: uuid.UUID
    kind: str
    occurred_at: AwareDatetime
    by: str
    outcome: str
    actions: str | None = None


class LookedAfterReviewRecorded(BaseModel):
    review_id: uuid.UUID
    child_id: uuid.UUID
    number: int
    held_at: AwareDatetime
    chaired_by: str
    child_attended: bool
    child_views_given: bool
    how_views_given: str | None = None
    decisions: str


class ConcernRaised(BaseModel):
    """Something a child says or a worker notices that is not a formal complaint."""

    concern_id: uuid.UUID
    child_id: uuid.UUID
    raised_at: AwareDatetime
    raised_by: str
    summary: str
    childs_words: str | None = None
    household_id: uuid.UUID | None = None
    response_deadline_id: uuid.UUID | None = None


class ConcernActioned(BaseModel):
    concern_id: uuid.UUID
    child_id: uuid.UUID
    actioned_at: AwareDatetime
    action: str


class ConcernResolved(BaseModel):
    concern_id: uuid.UUID
    child_id: uuid.UUID
    resolved_at: AwareDatetime
    outcome: str
    child_told: bool = False


class ConcernEscalated(BaseModel):
    """The concern becomes a complaint, an allegation (the carers team follows the log) or a child
    protection enquiry: the decision is recorded here; the process it starts has its own record."""

    concern_id: uuid.UUID
    child_id: uuid.UUID
    escalated_at: AwareDatetime
    to: str
    reason: str
    household_id: uuid.UUID | None = None
    complaint_id: uuid.UUID | None = None
