"""The retention service's streams, and the contracts it writes and reads."""

from __future__ import annotations

import uuid

from shared.contracts.carers import (
    AllegationReceived,
    ApprovalEnded,
    HouseholdApproved,
    HouseholdRefused,
    HouseholdRegistered,
    WorkerSupervisionRecorded,
    WorkerTrainingRecorded,
)
from shared.contracts.retention import (
    AccessLogExpired,
    LegalHoldLifted,
    LegalHoldPlaced,
    RecordDestroyed,
    StaffRecordDestroyed,
    SubjectKind,
)
from shared.contracts.visits import ChildRegistered, IncidentCategory, IncidentRecorded

__all__ = [
    "AccessLogExpired",
    "StaffRecordDestroyed",
    "WorkerSupervisionRecorded",
    "WorkerTrainingRecorded",
    "access_log_stream",
    "staff_retention_stream",
    "AllegationReceived",
    "ApprovalEnded",
    "ChildRegistered",
    "HouseholdApproved",
    "HouseholdRefused",
    "HouseholdRegistered",
    "IncidentCategory",
    "IncidentRecorded",
    "LegalHoldLifted",
    "LegalHoldPlaced",
    "RecordDestroyed",
    "SubjectKind",
    "hold_stream",
    "retention_stream",
    "subject_stream",
]


def hold_stream(hold_id: uuid.UUID) -> str:
    return f"hold-{hold_id}"


def retention_stream(kind: SubjectKind, subject_id: uuid.UUID) -> str:
    """Where a subject's destruction is recorded."""
    return f"retention-{kind.value}-{subject_id}"


def staff_retention_stream(worker_id: str) -> str:
    return f"retention-staff-{worker_id}"


def access_log_stream() -> str:
    return "retention-access-log"


def subject_stream(kind: SubjectKind, subject_id: uuid.UUID) -> str:
    """The stream that opens the subject's record (child-<id>, household-<id>)."""
    return f"{kind.value}-{subject_id}"
