"""carers: the event types this service owns and their payloads (the contract with other services).

Streams: `household-<id>`, `placement-<id>`, `allegation-<id>`. Shipped events never change
incompatibly; add optional fields only.
"""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import AwareDatetime, BaseModel, Field

from services.carers.rules import CheckResult, MemberRole, PlacementType, Terms
from shared.deadlines import DeadlineCancelled, DeadlineMet, DeadlineSet

HOUSEHOLD_REGISTERED = "carers.HouseholdRegistered"
MEMBER_ADDED = "carers.MemberAdded"
CHECK_RECORDED = "carers.CheckRecorded"
HOUSEHOLD_APPROVED = "carers.HouseholdApproved"
HOUSEHOLD_REFUSED = "carers.HouseholdRefused"
APPROVAL_ENDED = "carers.ApprovalEnded"
SUPERVISION_RECORDED = "carers.SupervisionRecorded"
TRAINING_RECORDED = "carers.TrainingRecorded"
REVIEW_RECORDED = "carers.ReviewRecorded"
HOLD_PLACED = "carers.HoldPlaced"
HOLD_LIFTED = "carers.HoldLifted"
PLACEMENT_STARTED = "carers.PlacementStarted"
PLACEMENT_ENDED = "carers.PlacementEnded"
ALLEGATION_RECEIVED = "carers.AllegationReceived"
ALLEGATION_REPORTED = "carers.AllegationReported"
ALLEGATION_REPORT_CLOSED = "carers.AllegationReportClosed"
LADO_REFERRAL_MADE = "carers.LadoReferralMade"
LADO_WRITTEN_CONFIRMATION_SENT = "carers.LadoWrittenConfirmationSent"
ALLEGATION_OUTCOME_RECORDED = "carers.AllegationOutcomeRecorded"
SUPERVISION_AGENDA_ITEM_ADDED = "carers.SupervisionAgendaItemAdded"
ENDING_RECORDED = "carers.EndingRecorded"
WORKER_SUPERVISION_RECORDED = "carers.WorkerSupervisionRecorded"

# Events outside the household stream that still change the household's state.
HOUSEHOLD_RELATED_TYPES = (
    PLACEMENT_STARTED,
    PLACEMENT_ENDED,
    ENDING_RECORDED,
    ALLEGATION_RECEIVED,
    ALLEGATION_OUTCOME_RECORDED,
    "DeadlineSet",
    "DeadlineMet",
    "DeadlineCancelled",
)

# The child's record (owned by visits): a placement may only name a child registered there.
CHILD_REGISTERED = "visits.ChildRegistered"
# Other events of the child's record the carers service follows (read by type name from the log).
CHILD_NEEDS_RECORDED = "visits.ChildNeedsRecorded"  # {child_id, needs: [...]}: the child's current needs
INCIDENT_RECORDED = "visits.IncidentRecorded"  # {incident_id, child_id, category, police_called, household_id}
# Allocations of workers to children and households (shared/access.py, `allocation-<id>` streams).
WORKER_ALLOCATED = "access.WorkerAllocated"
ALLOCATION_ENDED = "access.AllocationEnded"


class HouseholdRegistered(BaseModel):
    household_id: uuid.UUID
    name: str
    address: str | None = None
    connected_person: bool = False
    supervising_social_worker_id: str | None = None


class MemberAdded(BaseModel):
    household_id: uuid.UUID
    member_id: uuid.UUID
    name: str
    role: MemberRole
    date_of_birth: date
    joined_on: date


class CheckRecorded(BaseModel):
    household_id: uuid.UUID
    member_id: uuid.UUID
    check_id: uuid.UUID
    kind: str
    result: CheckResult
    checked_at: date
    expires_on: date | None = None
    certificate_number: str | None = None
    notes: str | None = None


class HouseholdApproved(BaseModel):
    household_id: uuid.UUID
    approval_id: uuid.UUID
    approved_at: AwareDatetime
    terms: Terms
    connected_person: bool = False
    panel_date: date | None = None
    decision_maker_id: str | None = None


class HouseholdRefused(BaseModel):
    household_id: uuid.UUID
    refused_at: AwareDatetime
    reason: str


class ApprovalEnded(BaseModel):
    household_id: uuid.UUID
    ended_at: AwareDatetime
    reason: str


class Concern(BaseModel):
    concern_id: uuid.UUID
    text: str


class ConcernAddressed(BaseModel):
    concern_id: uuid.UUID
    action: str


class NotSeen(BaseModel):
    child_id: uuid.UUID
    reason: str


class SupervisionRecorded(BaseModel):
    household_id: uuid.UUID
    supervision_id: uuid.UUID
    occurred_at: AwareDatetime
    unannounced: bool
    supervising_social_worker_id: str
    children_discussed: list[uuid.UUID] = Field(default_factory=list)
    children_seen: list[uuid.UUID] = Field(default_factory=list)
    children_not_seen_reason: str | None = None
    children_not_seen: list[NotSeen] = Field(default_factory=list)
    agenda_items_discussed: list[uuid.UUID] = Field(default_factory=list)
    concerns: list[Concern] = Field(default_factory=list)
    concerns_addressed: list[ConcernAddressed] = Field(default_factory=list)
    actions: list[str] = Field(default_factory=list)
    narrative: str


class TrainingRecorded(BaseModel):
    household_id: uuid.UUID
    training_id: uuid.UUID
    member_id: uuid.UUID
    course: str
    title: str | None = None
    completed_on: date
    expires_on: date | None = None


class ChildView(BaseModel):
    child_id: uuid.UUID
    view: str | None = None
    not_obtained_reason: str | None = None


class ReviewRecorded(BaseModel):
    household_id: uuid.UUID
    review_id: uuid.UUID
    occurred_at: AwareDatetime
    first_review: bool
    to_panel: bool
    outcome: str
    child_views: list[ChildView] = Field(default_factory=list)
    carer_views: str | None = None
    reviewer_id: str | None = None
    narrative: str | None = None
    new_terms: Terms | None = None


class HoldPlaced(BaseModel):
    household_id: uuid.UUID
    hold_id: uuid.UUID
    reason: str
    placed_at: AwareDatetime
    allegation_id: uuid.UUID | None = None


class HoldLifted(BaseModel):
    household_id: uuid.UUID
    hold_id: uuid.UUID
    reason: str
    lifted_at: AwareDatetime


class PlacementStarted(BaseModel):
    placement_id: uuid.UUID
    child_id: uuid.UUID
    household_id: uuid.UUID
    start_date: date
    long_term: bool
    connected_person: bool
    placing_authority: str
    placement_type: PlacementType | None = None
    child_needs: list[str] = Field(default_factory=list)


class PlacementEnded(BaseModel):
    placement_id: uuid.UUID
    child_id: uuid.UUID
    household_id: uuid.UUID
    end_date: date
    reason: str
    narrative: str
    carer_feelings: str | None = None
    child_wishes_contact: bool | None = None
    child_wishes: str | None = None
    carer_views: str | None = None
    ending_meeting_held: bool | None = None
    ending_meeting_on: date | None = None


class EndingRecorded(BaseModel):
    """The ending of a placement completed after the fact: the child's wishes about keeping in
    touch, the carers' views and feelings, whether an ending meeting was held."""

    placement_id: uuid.UUID
    child_id: uuid.UUID
    household_id: uuid.UUID
    recorded_at: AwareDatetime
    child_wishes_contact: bool | None = None
    child_wishes: str | None = None
    carer_views: str | None = None
    ending_meeting_held: bool | None = None
    ending_meeting_on: date | None = None


class SupervisionAgendaItemAdded(BaseModel):
    """A behavioural incident put on the agenda of the household's next supervision."""

    household_id: uuid.UUID
    item_id: uuid.UUID
    incident_id: uuid.UUID | None = None
    child_id: uuid.UUID | None = None
    category: str
    occurred_at: AwareDatetime
    summary: str
    added_at: AwareDatetime


class WorkerSupervisionRecorded(BaseModel):
    """A manager supervised a social worker (stream `worker-<worker_id>`)."""

    worker_id: str
    supervision_id: uuid.UUID
    occurred_at: AwareDatetime
    supervisor_id: str
    narrative: str
    cases_discussed: list[uuid.UUID] = Field(default_factory=list)


class AllegationReceived(BaseModel):
    allegation_id: uuid.UUID
    household_id: uuid.UUID
    member_id: uuid.UUID | None = None
    child_ids: list[uuid.UUID]
    received_at: AwareDatetime
    summary: str
    source: str | None = None
    report_id: uuid.UUID | None = None  # the report it was triaged from, if any


class AllegationReported(BaseModel):
    """An allegation raised by a worker with no part in the household's or the children's care: kept
    as they gave it, for the registered manager to triage (it names what the reporter named, which
    may not exist); nothing is put on hold and no child's record is touched until a manager acts."""

    report_id: uuid.UUID
    household_id: uuid.UUID
    member_id: uuid.UUID | None = None
    child_ids: list[uuid.UUID]
    received_at: AwareDatetime
    summary: str
    source: str | None = None
    reported_by: str
    reporter_role: str


class AllegationReportClosed(BaseModel):
    """The registered manager's triage of a report: made into an allegation, or closed with a reason."""

    report_id: uuid.UUID
    outcome: str  # allegation_recorded | closed
    allegation_id: uuid.UUID | None = None
    reason: str | None = None
    closed_at: AwareDatetime


class LadoReferralMade(BaseModel):
    allegation_id: uuid.UUID
    household_id: uuid.UUID
    referred_at: AwareDatetime
    lado_name: str | None = None
    reference: str | None = None


class LadoWrittenConfirmationSent(BaseModel):
    allegation_id: uuid.UUID
    household_id: uuid.UUID
    sent_at: AwareDatetime


class AllegationOutcomeRecorded(BaseModel):
    allegation_id: uuid.UUID
    household_id: uuid.UUID
    outcome: str
    dbs_referral_made: bool
    decided_at: AwareDatetime
    narrative: str | None = None


class CarersDeadlineSet(DeadlineSet):
    """DeadlineSet with what the household's compliance needs to name the clock."""

    member_id: uuid.UUID | None = None
    allegation_id: uuid.UUID | None = None
    concern_id: uuid.UUID | None = None
    course: str | None = None
    item_id: uuid.UUID | None = None
    placement_id: uuid.UUID | None = None
    worker_id: str | None = None


class CarersDeadlineMet(DeadlineMet):
    household_id: uuid.UUID | None = None


class CarersDeadlineCancelled(DeadlineCancelled):
    household_id: uuid.UUID | None = None
