"""The statutory clocks carers starts (DeadlineSet.kind), each with the rule behind it, and a
stream's open clocks as its DeadlineSet, DeadlineMet and DeadlineCancelled events leave them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from shared.contracts.base import Event
from shared.contracts.deadlines import DeadlineCancelled, DeadlineMet, DeadlineSet


class Clock(StrEnum):
    SUPERVISION = "carers.supervision"
    UNANNOUNCED_VISIT = "carers.unannounced_visit"
    ANNUAL_REVIEW = "carers.annual_review"
    TSD = "carers.tsd_standards"
    SAFEGUARDING_TRAINING = "carers.safeguarding_training"
    TRAINING_RENEWAL = "carers.training_renewal"
    DBS = "carers.dbs_check"
    SUPERVISION_FOLLOW_UP = "carers.supervision_follow_up"
    LADO_REFERRAL = "carers.lado_referral"
    ALLEGATION_TRIAGE = "carers.allegation_triage"
    LADO_WRITTEN_CONFIRMATION = "carers.lado_written_confirmation"
    APPROVAL_REVIEW = "carers.approval_review"
    NEEDS_TRAINING = "carers.needs_training"
    INCIDENT_AGENDA = "carers.incident_agenda"
    ENDING_RECORD = "carers.ending_record"
    WORKER_SUPERVISION = "carers.worker_supervision"
    ENQUIRY_REPLY = "carers.enquiry_reply"
    STAGE1_DECISION = "carers.stage1_decision"
    STAGE2_ASSESSMENT = "carers.stage2_assessment"
    PANEL = "carers.panel"
    AGENCY_DECISION = "carers.agency_decision"
    APPLICANT_NOTICE = "carers.applicant_notice"
    RESIGNATION = "carers.resignation"
    TEMPORARY_APPROVAL = "carers.temporary_approval"
    DETERMINATION = "carers.qualifying_determination"
    STAFF_TRAINING = "carers.staff_training"
    SSW_FIRST_VISIT = "carers.ssw_first_visit"
    SSW_CHILD_SEEN = "carers.ssw_child_seen"
    SSW_CHILD_SEEN_ALONE = "carers.ssw_child_seen_alone"
    BEDROOM_SEEN = "carers.bedroom_seen"


CLOCK_SOURCES: dict[str, str] = {
    Clock.SUPERVISION: "NMS 21 (monthly: local practice)",
    Clock.UNANNOUNCED_VISIT: "NMS 21.8",
    Clock.ANNUAL_REVIEW: "Fostering Services (England) Regulations 2011 reg 28",
    Clock.TSD: "NMS 20.3",
    Clock.SAFEGUARDING_TRAINING: "NMS 20 (each review period; renewal local)",
    Clock.TRAINING_RENEWAL: "NMS 20.5 (renewal: local)",
    Clock.DBS: "Fostering Services (England) Regulations 2011 Schedule 3 (renewal: local)",
    Clock.SUPERVISION_FOLLOW_UP: "Ofsted finding: concerns noted in supervision and not acted on (local)",
    Clock.LADO_REFERRAL: "Working Together to Safeguard Children 2023, chapter 4",
    Clock.ALLEGATION_TRIAGE: "Working Together to Safeguard Children 2023, chapter 4: a reported allegation is "
    "triaged in time for its LADO referral (1 working day)",
    Clock.LADO_WRITTEN_CONFIRMATION: "Working Together to Safeguard Children 2023, chapter 4 (3 working days: local)",
    Clock.APPROVAL_REVIEW: "Fostering Services (England) Regulations 2011 reg 28(2)(b)",
    Clock.NEEDS_TRAINING: "reg 17(1) and NMS 20.5: training as appears necessary for the child placed (days: local)",
    Clock.INCIDENT_AGENDA: "NMS 21.8; Ofsted finding: incidents not discussed at the next supervision (local)",
    Clock.ENDING_RECORD: "NMS 11 and Ofsted finding: endings not recorded for children (working days: local)",
    Clock.WORKER_SUPERVISION: "NMS 24.3 / 25.7: staff receive regular supervision (monthly: local)",
    Clock.ENQUIRY_REPLY: "NMS 13: enquiries from prospective carers answered promptly (1 working day: local)",
    Clock.STAGE1_DECISION: "Fostering Services (England) Regulations 2011 reg 26 and the 2013 assessment guidance: "
    "stage 1 decided once its checks are back (10 working days: local)",
    Clock.STAGE2_ASSESSMENT: "Fostering Services (England) Regulations 2011 reg 26; 2013 assessment guidance: "
    "stage 2 completed within 4 months of the application (local)",
    Clock.PANEL: "NMS 14.4: the case presented to panel within 8 months of the application",
    Clock.AGENCY_DECISION: "NMS 14: the decision within 7 working days of the final panel minutes",
    Clock.APPLICANT_NOTICE: "Fostering Services (England) Regulations 2011 reg 27: the applicant told in writing "
    "(working days: local)",
    Clock.RESIGNATION: "Fostering Services (England) Regulations 2011 reg 28(13): approval ends 28 days after "
    "the carers' notice is received",
    Clock.TEMPORARY_APPROVAL: "Care Planning, Placement and Case Review (England) Regulations 2010 reg 24, 25: "
    "temporary approval lasts 16 weeks, extendable once by up to 8; the full assessment finishes inside it",
    Clock.DETERMINATION: "Fostering Services (England) Regulations 2011 reg 28: 28 days for representations or "
    "the Independent Review Mechanism, then the agency decision maker decides",
    Clock.STAFF_TRAINING: "NMS 20, 24 and Working Together to Safeguard Children 2023: staff safeguarding and "
    "supervision training kept in date (renewal: local)",
    Clock.SSW_FIRST_VISIT: "NMS 21; scrutiny committee: children not seen by their SSW (7 days: local)",
    Clock.SSW_CHILD_SEEN: "NMS 21; Ofsted finding: a child not spoken to by the SSW for over a year (3 months: local)",
    Clock.SSW_CHILD_SEEN_ALONE: "NMS 21; Ofsted finding: children not seen alone by the SSW (6 months: local)",
    Clock.BEDROOM_SEEN: "NMS 10; Ofsted finding: bedrooms not seen from March to August (3 months: local)",
}

# The clocks of the carer's journey, from enquiry to the applicant told of the decision.
JOURNEY_CLOCKS = frozenset(
    {
        Clock.ENQUIRY_REPLY,
        Clock.STAGE1_DECISION,
        Clock.STAGE2_ASSESSMENT,
        Clock.PANEL,
        Clock.AGENCY_DECISION,
        Clock.APPLICANT_NOTICE,
    }
)

# The clocks each placed child has of the agency's own duty to see them (issue 18).
CHILD_SEEN_CLOCKS = frozenset(
    {Clock.SSW_FIRST_VISIT, Clock.SSW_CHILD_SEEN, Clock.SSW_CHILD_SEEN_ALONE, Clock.BEDROOM_SEEN}
)


def is_carers_clock(kind: str) -> bool:
    return kind.startswith("carers.")


class OpenDeadline(BaseModel):
    """A clock started and not yet met or stopped, with what names it in a household's compliance."""

    deadline_id: uuid.UUID
    kind: str
    description: str
    started_at: datetime
    due_at: datetime
    member_id: uuid.UUID | None = None
    allegation_id: uuid.UUID | None = None
    concern_id: uuid.UUID | None = None
    course: str | None = None
    item_id: uuid.UUID | None = None
    placement_id: uuid.UUID | None = None


def opened(deadline: DeadlineSet) -> OpenDeadline:
    return OpenDeadline(
        deadline_id=deadline.deadline_id,
        kind=deadline.kind,
        description=deadline.description,
        started_at=deadline.started_at,
        due_at=deadline.due_at,
        member_id=deadline.member_id,
        allegation_id=deadline.allegation_id,
        concern_id=deadline.concern_id,
        course=deadline.course,
        item_id=deadline.item_id,
        placement_id=deadline.placement_id,
    )


def track_clock(deadlines: dict[str, OpenDeadline], payload: Event) -> None:
    """A stream's open clocks: DeadlineSet opens one; DeadlineMet or DeadlineCancelled closes it."""
    if isinstance(payload, DeadlineSet):
        deadlines[str(payload.deadline_id)] = opened(payload)
    elif isinstance(payload, DeadlineMet | DeadlineCancelled):
        deadlines.pop(str(payload.deadline_id), None)
