"""carers: the streams it writes and the contracts it publishes (shared/contracts/carers.py), with
the other services' contracts it follows.

Streams: `household-<id>`, `placement-<id>`, `allegation-<id>`, `allegation-report-<id>` and
`worker-<id>`; it reads the child's record (`child-<id>`, the visits service's)."""

from __future__ import annotations

import uuid

from shared.contracts.access import AllocationEnded, WorkerAllocated
from shared.contracts.base import Event
from shared.contracts.carers import (
    AgencyDecision,
    AgencyDecisionMade,
    AllegationOutcomeRecorded,
    AllegationReceived,
    AllegationReportClosed,
    AllegationReported,
    ApplicantNotified,
    ApplicationReceived,
    ApprovalEnded,
    AssessmentCompleted,
    CheckRecorded,
    CheckResult,
    ChildSeen,
    ChildView,
    Concern,
    ConcernAddressed,
    DocumentAttached,
    EndingRecorded,
    EnquiryReceived,
    EnquiryReplied,
    FosterCareAgreementSigned,
    HoldLifted,
    HoldPlaced,
    HouseholdApproved,
    HouseholdEntryAmended,
    HouseholdRefused,
    HouseholdRegistered,
    InitialVisitHeld,
    LadoReferralMade,
    LadoWrittenConfirmationSent,
    MemberAdded,
    MemberDemographicsRecorded,
    MemberLeft,
    MemberRole,
    NotSeen,
    PanelCase,
    PanelCaseListed,
    PanelMember,
    PanelMinutesAgreed,
    PanelMinutesReceived,
    PanelRecommendation,
    PanelRecommended,
    PanelScheduled,
    PlacementEnded,
    PlacementStarted,
    PlacementType,
    QualifyingDeterminationDecided,
    QualifyingDeterminationMade,
    RepresentationsReceived,
    ResignationNoticeReceived,
    ReviewRecorded,
    StaffCourse,
    StaffRole,
    Stage1Decided,
    SupervisionAgendaItemAdded,
    SupervisionRecorded,
    TemporaryApprovalExtended,
    TemporaryApprovalGranted,
    Terms,
    TrainingRecorded,
    WorkerSupervisionRecorded,
    WorkerTrainingRecorded,
)
from shared.contracts.deadlines import DeadlineCancelled, DeadlineMet, DeadlineSet
from shared.contracts.visits import (
    ChildNeedsRecorded,
    ChildRegistered,
    ConcernEscalated,
    ConcernEscalation,
    IncidentRecorded,
    VisitRecorded,
)

__all__ = [
    "DocumentAttached",
    "document_stream",
    "HOUSEHOLD_RELATED",
    "PanelCase",
    "PanelCaseListed",
    "PanelMember",
    "PanelMinutesAgreed",
    "PanelScheduled",
    "QualifyingDeterminationDecided",
    "QualifyingDeterminationMade",
    "RepresentationsReceived",
    "panel_stream",
    "FosterCareAgreementSigned",
    "ResignationNoticeReceived",
    "TemporaryApprovalExtended",
    "TemporaryApprovalGranted",
    "AgencyDecision",
    "AgencyDecisionMade",
    "ApplicantNotified",
    "ApplicationReceived",
    "AssessmentCompleted",
    "EnquiryReceived",
    "EnquiryReplied",
    "InitialVisitHeld",
    "PanelMinutesReceived",
    "PanelRecommendation",
    "PanelRecommended",
    "Stage1Decided",
    "AllegationOutcomeRecorded",
    "AllegationReceived",
    "AllegationReportClosed",
    "AllegationReported",
    "AllocationEnded",
    "ApprovalEnded",
    "CheckRecorded",
    "CheckResult",
    "ChildNeedsRecorded",
    "ChildRegistered",
    "ChildSeen",
    "ChildView",
    "ConcernEscalated",
    "ConcernEscalation",
    "Concern",
    "ConcernAddressed",
    "DeadlineCancelled",
    "DeadlineMet",
    "DeadlineSet",
    "EndingRecorded",
    "HoldLifted",
    "HoldPlaced",
    "HouseholdApproved",
    "HouseholdRefused",
    "HouseholdRegistered",
    "IncidentRecorded",
    "LadoReferralMade",
    "LadoWrittenConfirmationSent",
    "HouseholdEntryAmended",
    "MemberAdded",
    "MemberDemographicsRecorded",
    "MemberLeft",
    "MemberRole",
    "NotSeen",
    "PlacementEnded",
    "PlacementStarted",
    "PlacementType",
    "ReviewRecorded",
    "SupervisionAgendaItemAdded",
    "SupervisionRecorded",
    "Terms",
    "TrainingRecorded",
    "VisitRecorded",
    "WorkerAllocated",
    "StaffCourse",
    "StaffRole",
    "WorkerSupervisionRecorded",
    "WorkerTrainingRecorded",
    "allegation_stream",
    "child_stream",
    "household_stream",
    "placement_stream",
    "report_stream",
    "worker_stream",
]


def household_stream(household_id: uuid.UUID | str) -> str:
    return f"household-{household_id}"


def document_stream(document_id: uuid.UUID | str) -> str:
    """A document attached to a household or an allegation (its content is kept by its hash)."""
    return f"document-{document_id}"


def placement_stream(placement_id: uuid.UUID | str) -> str:
    return f"placement-{placement_id}"


def allegation_stream(allegation_id: uuid.UUID | str) -> str:
    return f"allegation-{allegation_id}"


def report_stream(report_id: uuid.UUID | str) -> str:
    return f"allegation-report-{report_id}"


def panel_stream(panel_id: uuid.UUID | str) -> str:
    return f"panel-{panel_id}"


def worker_stream(worker_id: str) -> str:
    return f"worker-{worker_id}"


def child_stream(child_id: uuid.UUID | str) -> str:
    """The child's record, which the visits service keeps."""
    return f"child-{child_id}"


# Events on other streams that change a household: a household's state is its stream and these
# (the index of migration i19a_01 serves exactly these types).
HOUSEHOLD_RELATED: tuple[type[Event], ...] = (
    PlacementStarted,
    PlacementEnded,
    EndingRecorded,
    AllegationReceived,
    AllegationOutcomeRecorded,
    DeadlineSet,
    DeadlineMet,
    DeadlineCancelled,
    PanelRecommended,  # a panel's recommendation on the household's case (on `panel-<id>`)
    PanelMinutesReceived,  # its final minutes, which start the agency decision maker's clock
)
