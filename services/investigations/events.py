"""investigations: this service owns no events and no tables.

It is read-only: every export, report and inspector page is computed from the `events` table (the
log) alone, never from another service's tables or modules, so what it shows can be reproduced
from the log as of any instant. The names below are the other services' event types it reads
(the cross-service contract); they are strings here so no service module is imported.
"""

from __future__ import annotations

OWNED_EVENT_TYPES: tuple[str, ...] = ()

# visits
CHILD_REGISTERED = "visits.ChildRegistered"
VISIT_RECORDED = "visits.VisitRecorded"
CONTACT_RECORDED = "visits.ContactRecorded"
INCIDENT_RECORDED = "visits.IncidentRecorded"
STATEMENT_RECORDED = "visits.StatementRecorded"
ENTRY_AMENDED = "visits.EntryAmended"
COMPLAINT_RECEIVED = "visits.ComplaintReceived"
# carers
HOUSEHOLD_REGISTERED = "carers.HouseholdRegistered"
MEMBER_ADDED = "carers.MemberAdded"
SUPERVISION_RECORDED = "carers.SupervisionRecorded"
HOLD_PLACED = "carers.HoldPlaced"
HOLD_LIFTED = "carers.HoldLifted"
PLACEMENT_STARTED = "carers.PlacementStarted"
PLACEMENT_ENDED = "carers.PlacementEnded"
ALLEGATION_RECEIVED = "carers.AllegationReceived"
LADO_REFERRAL_MADE = "carers.LadoReferralMade"
ALLEGATION_OUTCOME_RECORDED = "carers.AllegationOutcomeRecorded"
# notifications
NOTIFICATION_RAISED = "notifications.NotificationRaised"
NOTIFICATION_ACKNOWLEDGED = "notifications.NotificationAcknowledged"
DELIVERY_ATTEMPTED = "notifications.DeliveryAttempted"
ESCALATION_RAISED = "notifications.EscalationRaised"
# access (shared/access.py)
WORKER_ALLOCATED = "access.WorkerAllocated"
ALLOCATION_ENDED = "access.AllocationEnded"
# deadlines (shared/deadlines.py)
DEADLINE_SET = "DeadlineSet"
DEADLINE_MET = "DeadlineMet"
DEADLINE_CANCELLED = "DeadlineCancelled"

# Everything the KPI report reads (one scan of the log, filtered by type).
KPI_SOURCE_TYPES: tuple[str, ...] = (
    CHILD_REGISTERED,
    VISIT_RECORDED,
    HOUSEHOLD_REGISTERED,
    SUPERVISION_RECORDED,
    HOLD_PLACED,
    HOLD_LIFTED,
    PLACEMENT_STARTED,
    PLACEMENT_ENDED,
    NOTIFICATION_RAISED,
    NOTIFICATION_ACKNOWLEDGED,
    DELIVERY_ATTEMPTED,
    ESCALATION_RAISED,
    WORKER_ALLOCATED,
    ALLOCATION_ENDED,
    DEADLINE_SET,
    DEADLINE_MET,
    DEADLINE_CANCELLED,
)
