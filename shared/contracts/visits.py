"""The visits service's published events: the child's record (stream `child-<id>`) and complaints
(stream `complaint-<id>`), with the vocabularies their payloads use. Every service may read them;
only visits writes them."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel

from shared.contracts.base import ChildDate, ChildText, ClockDate, Code, Event, HouseholdText
from shared.contracts.documents import DocumentFields


# ---- vocabularies the payloads use -----------------------------------------------------------------
class VisitorRole(StrEnum):
    CHILD_SOCIAL_WORKER = "child_social_worker"
    SUPERVISING_SOCIAL_WORKER = "supervising_social_worker"
    MANAGER = "manager"
    INDEPENDENT_REVIEWING_OFFICER = "independent_reviewing_officer"
    OTHER = "other"


class VisitKind(StrEnum):
    STATUTORY = "statutory"
    SUPERVISION = "supervision"
    UNANNOUNCED = "unannounced"
    OTHER = "other"


class NotSeenAloneReason(StrEnum):
    CHILD_REFUSED = "child_refused"
    INAPPROPRIATE_FOR_AGE_OR_UNDERSTANDING = "inappropriate_for_age_or_understanding"
    UNABLE = "unable"


class ContactKind(StrEnum):
    PHONE = "phone"
    MESSAGE = "message"
    MEETING = "meeting"
    VIDEO = "video"
    RETURN_HOME_INTERVIEW = "return_home_interview"
    OTHER = "other"


class IncidentCategory(StrEnum):
    DEATH = "death"
    SERIOUS_ILLNESS = "serious_illness"
    SERIOUS_ACCIDENT = "serious_accident"
    INFECTIOUS_DISEASE = "infectious_disease"
    OFFENCE_ALLEGATION = "offence_allegation"
    SEXUAL_EXPLOITATION = "sexual_exploitation"
    POLICE_CALLED = "police_called"
    MISSING = "missing"
    FOUND = "found"
    SELF_HARM = "self_harm"
    OVERDOSE = "overdose"
    SEIZURE = "seizure"
    SUBSTANCE_MISUSE = "substance_misuse"
    CHILD_PROTECTION_ENQUIRY_STARTED = "child_protection_enquiry_started"
    CHILD_PROTECTION_ENQUIRY_OUTCOME = "child_protection_enquiry_outcome"
    ASSAULT_ON_CARER = "assault_on_carer"
    DAMAGE = "damage"
    MEDICATION_ERROR = "medication_error"
    MEDICATION_REFUSED = "medication_refused"
    VIOLENCE = "violence"
    OTHER = "other"


class MadeBy(StrEnum):
    """Who made a complaint."""

    CHILD = "child"
    CARER = "carer"
    PARENT = "parent"
    OTHER = "other"


class PlanKind(StrEnum):
    CARE = "care"
    SAFE_CARE = "safe_care"
    HEALTH = "health"


class HealthCheckKind(StrEnum):
    INITIAL_HEALTH_ASSESSMENT = "initial_health_assessment"
    REVIEW_HEALTH_ASSESSMENT = "review_health_assessment"
    DENTAL_CHECK = "dental_check"


class ConcernRaisedBy(StrEnum):
    CHILD = "child"
    CARER = "carer"
    WORKER = "worker"
    PARENT = "parent"
    OTHER = "other"


class ConcernEscalation(StrEnum):
    """What a concern becomes when it is escalated."""

    COMPLAINT = "complaint"
    ALLEGATION = "allegation"
    CHILD_PROTECTION_ENQUIRY = "child_protection_enquiry"


class ChildNeed(StrEnum):
    """What a child needs of the carers looking after them (the vocabulary carers match training to)."""

    EPILEPSY = "epilepsy"
    COMPLEX_MEDICATION = "complex_medication"
    SELF_HARM = "self_harm"
    SUBSTANCE_MISUSE = "substance_misuse"
    DIABETES = "diabetes"
    SEXUAL_EXPLOITATION_RISK = "sexual_exploitation_risk"


# ---- the child's record -----------------------------------------------------------------------------
class ChildRegistered(Event):
    event_type: ClassVar[str] = "visits.ChildRegistered"

    child_id: uuid.UUID
    name: ChildText
    date_of_birth: ChildDate
    legal_status: Code
    placing_authority: Code
    social_worker_id: Code | None = None
    looked_after_since: ClockDate | None = None  # absent in events before issue 12: the registration date


class ChildNeedsRecorded(Event):
    """The child's needs as their social worker records them: the whole current list each time."""

    event_type: ClassVar[str] = "visits.ChildNeedsRecorded"

    child_id: uuid.UUID
    needs: list[ChildNeed]
    recorded_by: Code
    notes: ChildText | None = None


class VisitRecorded(Event):
    event_type: ClassVar[str] = "visits.VisitRecorded"

    visit_id: uuid.UUID
    child_id: uuid.UUID
    occurred_at: AwareDatetime
    visitor_id: Code
    visitor_role: VisitorRole
    kind: VisitKind
    child_seen: bool
    seen_alone: bool
    not_seen_alone_reason: NotSeenAloneReason | None = None
    bedroom_seen: bool | None = None
    child_views: ChildText | None = None
    narrative: ChildText | None = None
    household_id: uuid.UUID | None = None


class ContactRecorded(Event):
    event_type: ClassVar[str] = "visits.ContactRecorded"

    contact_id: uuid.UUID
    child_id: uuid.UUID
    occurred_at: AwareDatetime
    kind: ContactKind
    with_whom: ChildText
    summary: ChildText
    worker_id: Code | None = None


class IncidentRecorded(Event):
    event_type: ClassVar[str] = "visits.IncidentRecorded"

    incident_id: uuid.UUID
    child_id: uuid.UUID
    category: IncidentCategory
    occurred_at: AwareDatetime
    narrative: ChildText
    needed_hospital_treatment: bool = False
    police_called: bool = False
    household_id: uuid.UUID | None = None
    action_taken: ChildText | None = None


class StatementRecorded(Event):
    event_type: ClassVar[str] = "visits.StatementRecorded"

    statement_id: uuid.UUID
    child_id: uuid.UUID
    occurred_at: AwareDatetime
    words: ChildText
    how: ChildText
    about_event_id: uuid.UUID | None = None


class EntryAmended(Event):
    event_type: ClassVar[str] = "visits.EntryAmended"

    amendment_id: uuid.UUID
    child_id: uuid.UUID
    amends_event_id: uuid.UUID
    amends_type: Code
    reason: ChildText
    correction: ChildText


class ComplaintReceived(Event):
    event_type: ClassVar[str] = "visits.ComplaintReceived"

    complaint_id: uuid.UUID
    child_id: uuid.UUID
    received_at: AwareDatetime
    made_by: MadeBy
    about_household_id: uuid.UUID | None = None
    summary: ChildText
    serious: bool = False
    schedule7_row9: bool = False
    lado_consultation: bool = False
    about_worker_ids: list[Code] = []  # the workers it is about: none of them handles it (issue 18)


class ComplaintAcknowledged(Event):
    event_type: ClassVar[str] = "visits.ComplaintAcknowledged"

    complaint_id: uuid.UUID
    child_id: uuid.UUID
    acknowledged_at: AwareDatetime
    how: ChildText | None = None


class ComplaintResponded(Event):
    event_type: ClassVar[str] = "visits.ComplaintResponded"

    complaint_id: uuid.UUID
    child_id: uuid.UUID
    stage: int
    responded_at: AwareDatetime
    response: ChildText
    outcome: ChildText
    late: bool = False


class ComplaintTimescaleExtended(Event):
    event_type: ClassVar[str] = "visits.ComplaintTimescaleExtended"

    complaint_id: uuid.UUID
    child_id: uuid.UUID
    stage: int
    working_days: int
    reason: ChildText


class ComplaintEscalated(Event):
    event_type: ClassVar[str] = "visits.ComplaintEscalated"

    complaint_id: uuid.UUID
    child_id: uuid.UUID
    from_stage: int
    to_stage: int
    requested_at: AwareDatetime
    reason: ChildText


class ComplaintPanelHeld(Event):
    """Stage 3: the review panel met (RP 2006 reg 19); its report is due within 5 working days."""

    event_type: ClassVar[str] = "visits.ComplaintPanelHeld"

    complaint_id: uuid.UUID
    child_id: uuid.UUID
    held_at: AwareDatetime


class ComplaintPanelReported(Event):
    """Stage 3: the panel's report with its recommendations (RP 2006 reg 20); the agency's response
    is due within 15 working days."""

    event_type: ClassVar[str] = "visits.ComplaintPanelReported"

    complaint_id: uuid.UUID
    child_id: uuid.UUID
    reported_at: AwareDatetime
    recommendations: ChildText


class ComplaintClosed(Event):
    event_type: ClassVar[str] = "visits.ComplaintClosed"

    complaint_id: uuid.UUID
    child_id: uuid.UUID
    closed_at: AwareDatetime
    stage: int
    outcome: ChildText
    learning: ChildText | None = None


class Medication(BaseModel):
    name: ChildText
    dose: ChildText
    given_by: ChildText
    watch_for: ChildText
    when: ChildText | None = None


class PlanRecorded(Event):
    """A new version of one of the child's plans (care, safe care, health); versions never change."""

    event_type: ClassVar[str] = "visits.PlanRecorded"

    plan_id: uuid.UUID
    child_id: uuid.UUID
    kind: PlanKind
    version: int
    summary: ChildText
    strategies: list[ChildText] = []
    medications: list[Medication] = []
    review_date: ClockDate
    review_deadline_id: uuid.UUID | None = None


class PlanShared(Event):
    """A version of a plan given to the carer household (reg 17: carers hold the care plan)."""

    event_type: ClassVar[str] = "visits.PlanShared"

    share_id: uuid.UUID
    plan_id: uuid.UUID
    child_id: uuid.UUID
    kind: PlanKind
    version: int
    household_id: uuid.UUID
    shared_at: AwareDatetime
    how: ChildText | None = None
    ack_deadline_id: uuid.UUID | None = None


class PlanAcknowledged(Event):
    event_type: ClassVar[str] = "visits.PlanAcknowledged"

    plan_id: uuid.UUID
    child_id: uuid.UUID
    kind: PlanKind
    version: int
    household_id: uuid.UUID | None = None
    acknowledged_by: HouseholdText
    acknowledged_at: AwareDatetime


class Hazard(BaseModel):
    hazard: ChildText
    measures: list[ChildText]


class RiskAssessmentRecorded(Event):
    event_type: ClassVar[str] = "visits.RiskAssessmentRecorded"

    assessment_id: uuid.UUID
    child_id: uuid.UUID
    assessed_at: AwareDatetime
    assessed_by: Code
    hazards: list[Hazard]
    review_date: ClockDate
    summary: ChildText | None = None
    prompted_by_event_id: uuid.UUID | None = None


class HealthCheckRecorded(Event):
    event_type: ClassVar[str] = "visits.HealthCheckRecorded"

    check_id: uuid.UUID
    child_id: uuid.UUID
    kind: HealthCheckKind
    occurred_at: AwareDatetime
    by: Code
    outcome: ChildText
    actions: ChildText | None = None


class LookedAfterReviewRecorded(Event):
    event_type: ClassVar[str] = "visits.LookedAfterReviewRecorded"

    review_id: uuid.UUID
    child_id: uuid.UUID
    number: int
    held_at: AwareDatetime
    chaired_by: Code
    child_attended: bool
    child_views_given: bool
    how_views_given: ChildText | None = None
    decisions: ChildText


class ConcernRaised(Event):
    """Something a child says or a worker notices that is not a formal complaint."""

    event_type: ClassVar[str] = "visits.ConcernRaised"

    concern_id: uuid.UUID
    child_id: uuid.UUID
    raised_at: AwareDatetime
    raised_by: ConcernRaisedBy
    summary: ChildText
    childs_words: ChildText | None = None
    household_id: uuid.UUID | None = None
    response_deadline_id: uuid.UUID | None = None


class ConcernActioned(Event):
    event_type: ClassVar[str] = "visits.ConcernActioned"

    concern_id: uuid.UUID
    child_id: uuid.UUID
    actioned_at: AwareDatetime
    action: ChildText


class ConcernResolved(Event):
    event_type: ClassVar[str] = "visits.ConcernResolved"

    concern_id: uuid.UUID
    child_id: uuid.UUID
    resolved_at: AwareDatetime
    outcome: ChildText
    child_told: bool = False


class ConcernEscalated(Event):
    """The concern becomes a complaint (received by visits), an allegation (recorded by the carers
    service from this event, with the id named here: its hold, LADO clocks and notifications follow)
    or a child protection enquiry (its incident and strategy discussion clock are recorded with it)."""

    event_type: ClassVar[str] = "visits.ConcernEscalated"

    concern_id: uuid.UUID
    child_id: uuid.UUID
    escalated_at: AwareDatetime
    to: ConcernEscalation
    reason: ChildText
    household_id: uuid.UUID | None = None
    complaint_id: uuid.UUID | None = None
    allegation_id: uuid.UUID | None = None  # to an allegation: the one the carers service records from it


class StrategyDiscussionRecorded(Event):
    """The strategy discussion of a child protection enquiry a concern was escalated to."""

    event_type: ClassVar[str] = "visits.StrategyDiscussionRecorded"

    concern_id: uuid.UUID
    child_id: uuid.UUID
    held_at: AwareDatetime
    outcome: ChildText


class DocumentAttached(Event, DocumentFields):
    """A document attached to the child's record (stream `document-<id>`; shared/contracts/documents.py)."""

    event_type: ClassVar[str] = "visits.DocumentAttached"

    child_id: uuid.UUID


# ---- what the SSDA903 return needs (codes: shared/returns/ssda903_codes.yaml) -------------------
class StatutoryDetailsRecorded(Event):
    """The child's details as the DfE's return codes them: the whole current set each time."""

    event_type: ClassVar[str] = "visits.StatutoryDetailsRecorded"

    child_id: uuid.UUID
    sex: Code
    ethnicity: Code
    upn: ChildText | None = None  # the unique pupil number, or UN1-UN5 when there is none
    category_of_need: Code
    home_postcode: ChildText | None = None  # where the child lived when they came into care
    mother: bool | None = None  # a girl who is herself a mother


class LegalStatusChanged(Event):
    """The child's legal status (a DfE code) from a date: a new episode of care from that day."""

    event_type: ClassVar[str] = "visits.LegalStatusChanged"

    child_id: uuid.UUID
    legal_status: Code
    from_date: ClockDate


class PlacementCodesRecorded(Event):
    """How the return codes one of the child's placements (the placement is the carers service's)."""

    event_type: ClassVar[str] = "visits.PlacementCodesRecorded"

    child_id: uuid.UUID
    placement_id: uuid.UUID
    placement_type: Code
    provider: Code
    placement_postcode: ChildText
    reason_place_change: Code | None = None  # why the child left the placement before this one


class CareEnded(Event):
    """The child stopped being looked after (the return's reason the episode ceased)."""

    event_type: ClassVar[str] = "visits.CareEnded"

    child_id: uuid.UUID
    ended_on: ClockDate
    reason: Code


class MissingEpisodeRecorded(Event):
    event_type: ClassVar[str] = "visits.MissingEpisodeRecorded"

    missing_id: uuid.UUID
    child_id: uuid.UUID
    kind: Code  # M missing, A away without authorisation
    started_on: ClockDate
    ended_on: ClockDate | None = None


class HealthOutcomesRecorded(Event):
    """Immunisations, the SDQ and the other outcomes the return asks of a child in care 12 months."""

    event_type: ClassVar[str] = "visits.HealthOutcomesRecorded"

    child_id: uuid.UUID
    recorded_on: ClockDate
    immunisations_up_to_date: bool | None = None
    sdq_score: int | None = None
    sdq_reason: Code | None = None
    convicted: bool | None = None
    substance_misuse: bool | None = None


class CareLeaverContactRecorded(Event):
    """The agency's contact with a young person who has left care, around their birthday."""

    event_type: ClassVar[str] = "visits.CareLeaverContactRecorded"

    child_id: uuid.UUID
    contacted_on: ClockDate
    in_touch: Code
    activity: Code | None = None
    accommodation: Code | None = None
