"""visits: the streams it writes, and its published events (the contracts, shared/contracts/visits.py).

Streams: `child-<id>` (the child's record and the clocks about it) and `complaint-<id>` (a
complaint and its stage clocks). Other services depend on the contracts: never change them
incompatibly.
"""

from __future__ import annotations

import uuid

from shared.contracts.visits import (
    CareEnded,
    CareLeaverContactRecorded,
    ChildNeed,
    ChildNeedsRecorded,
    ChildRegistered,
    ComplaintAcknowledged,
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintPanelHeld,
    ComplaintPanelReported,
    ComplaintReceived,
    ComplaintResponded,
    ComplaintTimescaleExtended,
    ConcernActioned,
    ConcernEscalated,
    ConcernEscalation,
    ConcernRaised,
    ConcernRaisedBy,
    ConcernResolved,
    ContactKind,
    ContactRecorded,
    DocumentAttached,
    EntryAmended,
    Hazard,
    HealthCheckKind,
    HealthCheckRecorded,
    HealthOutcomesRecorded,
    IncidentCategory,
    IncidentRecorded,
    LegalStatusChanged,
    LookedAfterReviewRecorded,
    MadeBy,
    Medication,
    MissingEpisodeRecorded,
    NotSeenAloneReason,
    PlacementCodesRecorded,
    PlanAcknowledged,
    PlanKind,
    PlanRecorded,
    PlanShared,
    RiskAssessmentRecorded,
    StatementRecorded,
    StatutoryDetailsRecorded,
    StrategyDiscussionRecorded,
    VisitKind,
    VisitorRole,
    VisitRecorded,
)


def child_stream(child_id: uuid.UUID) -> str:
    return f"child-{child_id}"


def document_stream(document_id: uuid.UUID) -> str:
    """A document attached to a child's record (its content is kept by its hash: shared/documents)."""
    return f"document-{document_id}"


def complaint_stream(complaint_id: uuid.UUID) -> str:
    return f"complaint-{complaint_id}"


__all__ = [
    "CareEnded",
    "CareLeaverContactRecorded",
    "HealthOutcomesRecorded",
    "LegalStatusChanged",
    "MissingEpisodeRecorded",
    "PlacementCodesRecorded",
    "StatutoryDetailsRecorded",
    "DocumentAttached",
    "document_stream",
    "ChildNeed",
    "ChildNeedsRecorded",
    "ChildRegistered",
    "ComplaintAcknowledged",
    "ComplaintClosed",
    "ComplaintEscalated",
    "ComplaintPanelHeld",
    "ComplaintPanelReported",
    "ComplaintReceived",
    "ComplaintResponded",
    "ComplaintTimescaleExtended",
    "ConcernActioned",
    "ConcernEscalated",
    "ConcernEscalation",
    "ConcernRaised",
    "ConcernRaisedBy",
    "ConcernResolved",
    "StrategyDiscussionRecorded",
    "ContactKind",
    "ContactRecorded",
    "EntryAmended",
    "Hazard",
    "HealthCheckKind",
    "HealthCheckRecorded",
    "IncidentCategory",
    "IncidentRecorded",
    "LookedAfterReviewRecorded",
    "MadeBy",
    "Medication",
    "NotSeenAloneReason",
    "PlanAcknowledged",
    "PlanKind",
    "PlanRecorded",
    "PlanShared",
    "RiskAssessmentRecorded",
    "StatementRecorded",
    "VisitKind",
    "VisitRecorded",
    "VisitorRole",
    "child_stream",
    "complaint_stream",
]
