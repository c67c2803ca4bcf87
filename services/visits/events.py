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
