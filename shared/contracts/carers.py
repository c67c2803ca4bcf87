"""The carers service's published events: households (`household-<id>`), placements
(`placement-<id>`), allegations (`allegation-<id>`, `allegation-report-<id>`) and the agency's
supervision of its workers (`worker-<id>`)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, Field

from shared.contracts.base import (
    ChildText,
    ClockDate,
    Code,
    Event,
    HouseholdDate,
    HouseholdText,
    RecordText,
    StaffText,
)
from shared.contracts.documents import DocumentFields


class MemberRole(StrEnum):
    APPLICANT = "applicant"
    CARER = "carer"
    ADULT = "adult"
    CHILD = "child"


class CheckResult(StrEnum):
    CLEAR = "clear"
    CONCERNS = "concerns"


class PlacementType(StrEnum):
    SHORT_TERM = "short_term"
    LONG_TERM = "long_term"
    RESPITE = "respite"
    EMERGENCY = "emergency"
    REMAND = "remand"
    CONNECTED_PERSON = "connected_person"
    PARENT_AND_CHILD = "parent_and_child"


class Terms(BaseModel):
    """The terms of a household's approval (reg 27): the children it may take."""

    age_min: int = Field(ge=0, le=25)
    age_max: int = Field(ge=0, le=25)
    max_children: int = Field(ge=1, le=10)
    placement_types: list[PlacementType] = Field(min_length=1)


class HouseholdRegistered(Event):
    event_type: ClassVar[str] = "carers.HouseholdRegistered"

    household_id: uuid.UUID
    name: HouseholdText
    address: HouseholdText | None = None
    connected_person: bool = False
    supervising_social_worker_id: Code | None = None
    local_authority: Code | None = Field(
        default=None,
        description="ONS code of the local authority the household lives in (its area authority); "
        "None for households registered before it was recorded.",
    )


class MemberAdded(Event):
    event_type: ClassVar[str] = "carers.MemberAdded"

    household_id: uuid.UUID
    member_id: uuid.UUID
    name: HouseholdText
    role: MemberRole
    date_of_birth: HouseholdDate
    joined_on: ClockDate


class MemberLeft(Event):
    """A person left the household: from `left_on` they are no longer one of its adults (no DBS
    check needed for a placement) and their open clocks stop."""

    event_type: ClassVar[str] = "carers.MemberLeft"

    household_id: uuid.UUID
    member_id: uuid.UUID
    left_on: ClockDate
    reason: HouseholdText | None = None


class HouseholdEntryAmended(Event):
    """A correction beside an entry of the household's record (the entry itself is never changed)."""

    event_type: ClassVar[str] = "carers.HouseholdEntryAmended"

    household_id: uuid.UUID
    amendment_id: uuid.UUID
    amends_event_id: uuid.UUID
    amends_type: Code
    reason: HouseholdText
    correction: HouseholdText
    local_authority: Code | None = Field(
        default=None, description="The household's local authority (ONS code) as corrected, when this corrects it."
    )


class MemberDemographicsRecorded(Event):
    """What Ofsted's annual fostering data collection asks of a carer or applicant, as they declared
    it. Ethnicity and disability are special-category data: sealed to the household like a name."""

    event_type: ClassVar[str] = "carers.MemberDemographicsRecorded"

    household_id: uuid.UUID
    member_id: uuid.UUID
    sex: HouseholdText = Field(description="`female`, `male` or `not_known`.")
    ethnicity: HouseholdText = Field(description="A DfE ethnicity code (shared/contracts/data/ethnicity.csv).")
    disability: HouseholdText = Field(description="`yes`, `no` or `not_declared`.")
    connected_person: bool = Field(description="A family member or friend of a child placed or to be placed.")


class CheckRecorded(Event):
    event_type: ClassVar[str] = "carers.CheckRecorded"

    household_id: uuid.UUID
    member_id: uuid.UUID
    check_id: uuid.UUID
    kind: Code
    result: CheckResult
    checked_at: ClockDate
    expires_on: ClockDate | None = None
    certificate_number: HouseholdText | None = None
    notes: HouseholdText | None = None


class HouseholdApproved(Event):
    event_type: ClassVar[str] = "carers.HouseholdApproved"

    household_id: uuid.UUID
    approval_id: uuid.UUID
    approved_at: AwareDatetime
    terms: Terms
    connected_person: bool = False
    panel_date: ClockDate | None = None
    decision_maker_id: Code | None = None


class HouseholdRefused(Event):
    event_type: ClassVar[str] = "carers.HouseholdRefused"

    household_id: uuid.UUID
    refused_at: AwareDatetime
    reason: HouseholdText


class ApprovalEnded(Event):
    event_type: ClassVar[str] = "carers.ApprovalEnded"

    household_id: uuid.UUID
    ended_at: AwareDatetime
    reason: HouseholdText


class Concern(BaseModel):
    concern_id: uuid.UUID
    text: HouseholdText


class ConcernAddressed(BaseModel):
    concern_id: uuid.UUID
    action: HouseholdText


class NotSeen(BaseModel):
    child_id: uuid.UUID
    reason: Code


class ChildSeen(BaseModel):
    """What a supervision or SSW visit records of one placed child: seen, seen alone, bedroom
    seen, and for each that was not, one of the reasons statutory visits give."""

    child_id: uuid.UUID
    seen: bool
    seen_alone: bool = False
    bedroom_seen: bool = False
    not_seen_reason: Code | None = None
    not_seen_alone_reason: Code | None = None
    bedroom_not_seen_reason: Code | None = None


class SupervisionRecorded(Event):
    event_type: ClassVar[str] = "carers.SupervisionRecorded"

    household_id: uuid.UUID
    supervision_id: uuid.UUID
    occurred_at: AwareDatetime
    unannounced: bool
    supervising_social_worker_id: Code
    children_discussed: list[uuid.UUID] = Field(default_factory=list)
    children_seen: list[uuid.UUID] = Field(default_factory=list)
    children_not_seen_reason: HouseholdText | None = None
    children_not_seen: list[NotSeen] = Field(default_factory=list)
    children_accounts: list[ChildSeen] = Field(default_factory=list)  # each placed child (issue 18)
    agenda_items_discussed: list[uuid.UUID] = Field(default_factory=list)
    concerns: list[Concern] = Field(default_factory=list)
    concerns_addressed: list[ConcernAddressed] = Field(default_factory=list)
    actions: list[HouseholdText] = Field(default_factory=list)
    narrative: HouseholdText


class TrainingRecorded(Event):
    event_type: ClassVar[str] = "carers.TrainingRecorded"

    household_id: uuid.UUID
    training_id: uuid.UUID
    member_id: uuid.UUID
    course: Code
    title: Code | None = None
    completed_on: ClockDate
    expires_on: ClockDate | None = None


class ChildView(BaseModel):
    child_id: uuid.UUID
    view: HouseholdText | None = None
    not_obtained_reason: HouseholdText | None = None


class ReviewRecorded(Event):
    event_type: ClassVar[str] = "carers.ReviewRecorded"

    household_id: uuid.UUID
    review_id: uuid.UUID
    occurred_at: AwareDatetime
    first_review: bool
    to_panel: bool
    outcome: Code
    child_views: list[ChildView] = Field(default_factory=list)
    carer_views: HouseholdText | None = None
    reviewer_id: Code | None = None
    narrative: HouseholdText | None = None
    new_terms: Terms | None = None


class HoldPlaced(Event):
    event_type: ClassVar[str] = "carers.HoldPlaced"

    household_id: uuid.UUID
    hold_id: uuid.UUID
    reason: HouseholdText
    placed_at: AwareDatetime
    allegation_id: uuid.UUID | None = None


class HoldLifted(Event):
    event_type: ClassVar[str] = "carers.HoldLifted"

    household_id: uuid.UUID
    hold_id: uuid.UUID
    reason: HouseholdText
    lifted_at: AwareDatetime


class PlacementStarted(Event):
    event_type: ClassVar[str] = "carers.PlacementStarted"

    placement_id: uuid.UUID
    child_id: uuid.UUID
    household_id: uuid.UUID
    start_date: ClockDate
    long_term: bool
    connected_person: bool
    placing_authority: Code
    placement_type: PlacementType | None = None
    child_needs: list[Code] = Field(default_factory=list)


class PlacementEnded(Event):
    event_type: ClassVar[str] = "carers.PlacementEnded"

    placement_id: uuid.UUID
    child_id: uuid.UUID
    household_id: uuid.UUID
    end_date: ClockDate
    reason: ChildText
    narrative: ChildText
    carer_feelings: ChildText | None = None
    child_wishes_contact: bool | None = None
    child_wishes: ChildText | None = None
    carer_views: ChildText | None = None
    ending_meeting_held: bool | None = None
    ending_meeting_on: ClockDate | None = None


class EndingRecorded(Event):
    """The ending of a placement completed after the fact: the child's wishes about keeping in
    touch, the carers' views and feelings, whether an ending meeting was held."""

    event_type: ClassVar[str] = "carers.EndingRecorded"

    placement_id: uuid.UUID
    child_id: uuid.UUID
    household_id: uuid.UUID
    recorded_at: AwareDatetime
    child_wishes_contact: bool | None = None
    child_wishes: ChildText | None = None
    carer_views: ChildText | None = None
    ending_meeting_held: bool | None = None
    ending_meeting_on: ClockDate | None = None


class SupervisionAgendaItemAdded(Event):
    """A behavioural incident put on the agenda of the household's next supervision."""

    event_type: ClassVar[str] = "carers.SupervisionAgendaItemAdded"

    household_id: uuid.UUID
    item_id: uuid.UUID
    incident_id: uuid.UUID | None = None
    child_id: uuid.UUID | None = None
    category: Code
    occurred_at: AwareDatetime
    summary: RecordText
    added_at: AwareDatetime


class StaffCourse(StrEnum):
    """The training the agency's own staff (SSW, child's social worker, manager) keep in date."""

    SAFEGUARDING = "safeguarding"
    SUPERVISION = "supervision"


class StaffRole(StrEnum):
    SUPERVISING_SOCIAL_WORKER = "supervising_social_worker"
    CHILD_SOCIAL_WORKER = "child_social_worker"
    MANAGER = "manager"


class WorkerTrainingRecorded(Event):
    """A member of staff completed a course, valid until `expires_on` (stream `worker-<worker_id>`)."""

    event_type: ClassVar[str] = "carers.WorkerTrainingRecorded"

    worker_id: Code
    training_id: uuid.UUID
    role: StaffRole
    course: StaffCourse
    completed_on: ClockDate
    expires_on: ClockDate
    provider: StaffText | None = None


class WorkerSupervisionRecorded(Event):
    """A manager supervised a social worker (stream `worker-<worker_id>`)."""

    event_type: ClassVar[str] = "carers.WorkerSupervisionRecorded"

    worker_id: Code
    supervision_id: uuid.UUID
    occurred_at: AwareDatetime
    supervisor_id: Code
    narrative: StaffText
    cases_discussed: list[uuid.UUID] = Field(default_factory=list)


class AllegationReceived(Event):
    event_type: ClassVar[str] = "carers.AllegationReceived"

    allegation_id: uuid.UUID
    household_id: uuid.UUID
    member_id: uuid.UUID | None = None
    child_ids: list[uuid.UUID]
    received_at: AwareDatetime
    summary: HouseholdText
    source: HouseholdText | None = None
    report_id: uuid.UUID | None = None  # the report it was triaged from, if any


class AllegationReported(Event):
    """An allegation raised by a worker with no part in the household's or the children's care: kept
    as they gave it, for the registered manager to triage (it names what the reporter named, which
    may not exist); nothing is put on hold and no child's record is touched until a manager acts."""

    event_type: ClassVar[str] = "carers.AllegationReported"

    report_id: uuid.UUID
    household_id: uuid.UUID
    member_id: uuid.UUID | None = None
    child_ids: list[uuid.UUID]
    received_at: AwareDatetime
    summary: HouseholdText
    source: HouseholdText | None = None
    reported_by: Code
    reporter_role: Code


class AllegationReportClosed(Event):
    """The registered manager's triage of a report: made into an allegation, or closed with a reason."""

    event_type: ClassVar[str] = "carers.AllegationReportClosed"

    report_id: uuid.UUID
    outcome: Code  # allegation_recorded | closed
    allegation_id: uuid.UUID | None = None
    reason: HouseholdText | None = None
    closed_at: AwareDatetime


class LadoReferralMade(Event):
    event_type: ClassVar[str] = "carers.LadoReferralMade"

    allegation_id: uuid.UUID
    household_id: uuid.UUID
    referred_at: AwareDatetime
    lado_name: HouseholdText | None = None
    reference: Code | None = None


class LadoWrittenConfirmationSent(Event):
    event_type: ClassVar[str] = "carers.LadoWrittenConfirmationSent"

    allegation_id: uuid.UUID
    household_id: uuid.UUID
    sent_at: AwareDatetime


class AllegationOutcomeRecorded(Event):
    event_type: ClassVar[str] = "carers.AllegationOutcomeRecorded"

    allegation_id: uuid.UUID
    household_id: uuid.UUID
    outcome: Code
    dbs_referral_made: bool
    decided_at: AwareDatetime
    narrative: HouseholdText | None = None


class DocumentAttached(Event, DocumentFields):
    """A document attached to a household's record, or to an allegation about one of its members
    (stream `document-<id>`; shared/contracts/documents.py)."""

    event_type: ClassVar[str] = "carers.DocumentAttached"

    household_id: uuid.UUID
    allegation_id: uuid.UUID | None = None


# ---- the carer's journey: enquiry to the agency's decision (all on `household-<id>`) -----------
class PanelRecommendation(StrEnum):
    APPROVE = "approve"
    NOT_APPROVE = "not_approve"


class PanelCase(StrEnum):
    APPROVAL = "approval"
    REVIEW = "review"
    TERMINATION = "termination"
    CHANGE_OF_TERMS = "change_of_terms"


class AgencyDecision(StrEnum):
    APPROVE = "approve"
    QUALIFYING_DETERMINATION = "qualifying_determination"  # proposes not to approve (reg 27(4))


class EnquiryReceived(Event):
    """Someone asked about fostering with the agency: the journey starts, and the reply clock."""

    event_type: ClassVar[str] = "carers.EnquiryReceived"

    household_id: uuid.UUID
    received_at: AwareDatetime
    channel: Code | None = None
    summary: HouseholdText | None = None


class EnquiryReplied(Event):
    event_type: ClassVar[str] = "carers.EnquiryReplied"

    household_id: uuid.UUID
    replied_at: AwareDatetime
    replied_by: Code


class InitialVisitHeld(Event):
    event_type: ClassVar[str] = "carers.InitialVisitHeld"

    household_id: uuid.UUID
    occurred_at: AwareDatetime
    visitor_id: Code
    proceed: bool
    notes: HouseholdText | None = None


class ApplicationReceived(Event):
    """The formal application: stage 1 (checks and references) and stage 2 (Form F) begin."""

    event_type: ClassVar[str] = "carers.ApplicationReceived"

    household_id: uuid.UUID
    received_at: AwareDatetime


class Stage1Decided(Event):
    """After the statutory checks and references: go on to stage 2, or not suitable (reg 26)."""

    event_type: ClassVar[str] = "carers.Stage1Decided"

    household_id: uuid.UUID
    decided_at: AwareDatetime
    proceed: bool
    reason: HouseholdText | None = None
    decided_by: Code


class AssessmentCompleted(Event):
    """Stage 2: the assessment report (Form F) completed, ready for panel."""

    event_type: ClassVar[str] = "carers.AssessmentCompleted"

    household_id: uuid.UUID
    completed_at: AwareDatetime
    assessor_id: Code
    recommended_terms: Terms | None = None


class PanelRecommended(Event):
    """The fostering panel's recommendation on the household, with its reasons and any dissent."""

    event_type: ClassVar[str] = "carers.PanelRecommended"

    household_id: uuid.UUID
    panel_date: ClockDate
    recommendation: PanelRecommendation
    terms: Terms | None = None
    reasons: HouseholdText
    dissent: HouseholdText | None = None
    panel_id: uuid.UUID | None = None
    case: PanelCase = PanelCase.APPROVAL
    members_present: list[Code] = Field(default_factory=list)


class PanelMinutesReceived(Event):
    """The final panel minutes reached the agency decision maker: the decision clock starts."""

    event_type: ClassVar[str] = "carers.PanelMinutesReceived"

    household_id: uuid.UUID
    received_at: AwareDatetime


class AgencyDecisionMade(Event):
    """The agency decision maker's decision, having taken the panel's recommendation into account."""

    event_type: ClassVar[str] = "carers.AgencyDecisionMade"

    household_id: uuid.UUID
    decided_at: AwareDatetime
    decision: AgencyDecision
    decision_maker_id: Code
    recommendation: PanelRecommendation
    recommendation_considered: bool
    differs_from_recommendation: bool
    reasons: HouseholdText
    terms: Terms | None = None


class ApplicantNotified(Event):
    """The applicant told of the decision in writing."""

    event_type: ClassVar[str] = "carers.ApplicantNotified"

    household_id: uuid.UUID
    sent_at: AwareDatetime
    method: Code


# ---- approval's agreement and its endings (on `household-<id>`) ---------------------------------
class FosterCareAgreementSigned(Event):
    """The foster care agreement (FSR 2011 reg 27(5)(b), Schedule 5) signed by the carers and the agency."""

    event_type: ClassVar[str] = "carers.FosterCareAgreementSigned"

    household_id: uuid.UUID
    agreement_id: uuid.UUID
    signed_on: ClockDate
    recorded_by: Code


class ResignationNoticeReceived(Event):
    """The carers' written notice that they resign: approval ends 28 days after it is received."""

    event_type: ClassVar[str] = "carers.ResignationNoticeReceived"

    household_id: uuid.UUID
    received_at: AwareDatetime
    takes_effect_at: AwareDatetime
    reason: HouseholdText | None = None


class TemporaryApprovalGranted(Event):
    """A connected person approved temporarily as foster parent for the named children (CPPR 2010 reg 24)."""

    event_type: ClassVar[str] = "carers.TemporaryApprovalGranted"

    household_id: uuid.UUID
    approval_id: uuid.UUID
    granted_at: AwareDatetime
    expires_at: AwareDatetime
    child_ids: list[uuid.UUID]
    relationship: HouseholdText | None = None


class TemporaryApprovalExtended(Event):
    """Temporary approval extended, once (CPPR 2010 reg 25)."""

    event_type: ClassVar[str] = "carers.TemporaryApprovalExtended"

    household_id: uuid.UUID
    approval_id: uuid.UUID
    extended_at: AwareDatetime
    expires_at: AwareDatetime
    reason: HouseholdText


# ---- fostering panels (`panel-<id>`) and qualifying determinations (`household-<id>`) -----------
class PanelMember(BaseModel):
    member_id: Code
    name: StaffText
    role: Code  # chair, vice_chair, social_worker, independent, medical_adviser, ...


class PanelScheduled(Event):
    """A fostering panel meeting: its members and the quorum it needs (local)."""

    event_type: ClassVar[str] = "carers.PanelScheduled"

    panel_id: uuid.UUID
    meets_on: ClockDate
    members: list[PanelMember]
    quorum: int


class PanelCaseListed(Event):
    """A household's case on the panel's agenda."""

    event_type: ClassVar[str] = "carers.PanelCaseListed"

    panel_id: uuid.UUID
    household_id: uuid.UUID
    case: PanelCase


class PanelMinutesAgreed(Event):
    """The panel's final minutes: each case listed, its recommendation, reasons and dissent."""

    event_type: ClassVar[str] = "carers.PanelMinutesAgreed"

    panel_id: uuid.UUID
    agreed_at: AwareDatetime
    minutes: HouseholdText
    household_ids: list[uuid.UUID]


class QualifyingDeterminationMade(Event):
    """The agency proposes to end a household's approval or change its terms (FSR 2011 reg 28):
    the carers have 28 days to make representations or apply to the Independent Review Mechanism."""

    event_type: ClassVar[str] = "carers.QualifyingDeterminationMade"

    household_id: uuid.UUID
    determination_id: uuid.UUID
    proposal: Code  # termination | change_of_terms
    new_terms: Terms | None = None
    reasons: HouseholdText
    notified_at: AwareDatetime
    representations_until: AwareDatetime


class RepresentationsReceived(Event):
    event_type: ClassVar[str] = "carers.RepresentationsReceived"

    household_id: uuid.UUID
    determination_id: uuid.UUID
    received_at: AwareDatetime
    route: Code  # representations (to the agency's panel) | irm (the Independent Review Mechanism)
    summary: HouseholdText | None = None


class QualifyingDeterminationDecided(Event):
    """The agency decision maker's decision on the determination, once the 28 days have passed
    or the representations have been heard."""

    event_type: ClassVar[str] = "carers.QualifyingDeterminationDecided"

    household_id: uuid.UUID
    determination_id: uuid.UUID
    decided_at: AwareDatetime
    outcome: Code  # confirmed | withdrawn
    decision_maker_id: Code
    recommendation_considered: bool
    reasons: HouseholdText
