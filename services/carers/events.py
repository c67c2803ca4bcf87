"""carers: the streams it writes and the contracts it publishes (shared/contracts/carers.py), with
the other services' contracts it follows.

Streams: `household-<id>`, `placement-<id>`, `allegation-<id>`, `allegation-report-<id>` and
`worker-<id>`; it reads the child's record (`child-<id>`, the visits service's)."""

from __future__ import annotations

import uuid

from shared.contracts.access import AllocationEnded, WorkerAllocated
from shared.contracts.base import Event
from shared.contracts.carers import (
    AllegationOutcomeRecorded,
    AllegationReceived,
    AllegationReportClosed,
    AllegationReported,
    ApprovalEnded,
    CheckRecorded,
    CheckResult,
    ChildSeen,
    ChildView,
    Concern,
    ConcernAddressed,
    EndingRecorded,
    HoldLifted,
    HoldPlaced,
    HouseholdApproved,
    HouseholdRefused,
    HouseholdRegistered,
    LadoReferralMade,
    LadoWrittenConfirmationSent,
    MemberAdded,
    MemberRole,
    NotSeen,
    PlacementEnded,
    PlacementStarted,
    PlacementType,
    ReviewRecorded,
    SupervisionAgendaItemAdded,
    SupervisionRecorded,
    Terms,
    TrainingRecorded,
    WorkerSupervisionRecorded,
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
    "HOUSEHOLD_RELATED",
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
    "MemberAdded",
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
    "WorkerSupervisionRecorded",
    "allegation_stream",
    "child_stream",
    "household_stream",
    "placement_stream",
    "report_stream",
    "worker_stream",
]


def household_stream(household_id: uuid.UUID | str) -> str:
    return f"household-{household_id}"


def placement_stream(placement_id: uuid.UUID | str) -> str:
    return f"placement-{placement_id}"


def allegation_stream(allegation_id: uuid.UUID | str) -> str:
    return f"allegation-{allegation_id}"


def report_stream(report_id: uuid.UUID | str) -> str:
    return f"allegation-report-{report_id}"


def worker_stream(worker_id: str) -> str:
    return f"worker-{worker_id}"


def child_stream(child_id: uuid.UUID | str) -> str:
    """The child's record, which the visits service keeps."""
    return f"child-{child_id}"


# Events on other streams that change a household: a household's state is its stream and these
# (the index of migration 0007 serves exactly these types).
HOUSEHOLD_RELATED: tuple[type[Event], ...] = (
    PlacementStarted,
    PlacementEnded,
    EndingRecorded,
    AllegationReceived,
    AllegationOutcomeRecorded,
    DeadlineSet,
    DeadlineMet,
    DeadlineCancelled,
)
