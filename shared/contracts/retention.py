"""The retention service's published events: legal holds on a record (`hold-<hold_id>`) and the
destruction of a record at the end of its retention period (`retention-<kind>-<subject_id>`).

A RecordDestroyed holds no personal data: which subject, under which rule, when and by whom."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime

from shared.contracts.base import ClockDate, Code, Event, RecordText


class SubjectKind(StrEnum):
    """Whose record: each has its own data key (shared/eventstore/shredding.py)."""

    CHILD = "child"
    HOUSEHOLD = "household"


class LegalHoldPlaced(Event):
    """The registered manager stopped a record being destroyed (an inquiry, litigation, a complaint
    to the Ombudsman) until the hold is lifted."""

    event_type: ClassVar[str] = "retention.LegalHoldPlaced"

    hold_id: uuid.UUID
    subject_kind: SubjectKind
    subject_id: uuid.UUID
    grounds: Code  # inquiry, litigation, ombudsman, other
    reason: RecordText
    placed_at: AwareDatetime


class LegalHoldLifted(Event):
    event_type: ClassVar[str] = "retention.LegalHoldLifted"

    hold_id: uuid.UUID
    subject_kind: SubjectKind
    subject_id: uuid.UUID
    reason: RecordText
    lifted_at: AwareDatetime


class RecordDestroyed(Event):
    """A subject's data key was destroyed: every personal field of its record reads as destroyed."""

    event_type: ClassVar[str] = "retention.RecordDestroyed"

    subject_kind: SubjectKind
    subject_id: uuid.UUID
    rule: Code  # the rule's code in services/retention/rules.py
    source: Code  # the rule's legal source, as the rules table gives it
    retain_until: ClockDate
    destroyed_on: ClockDate
    destroyed_by: Code


class StaffRecordDestroyed(Event):
    """A member of staff's data key was destroyed: their own records (training, supervision) read
    as destroyed (stream `retention-staff-<worker_id>`)."""

    event_type: ClassVar[str] = "retention.StaffRecordDestroyed"

    worker_id: Code
    rule: Code
    source: Code
    retain_until: ClockDate
    destroyed_on: ClockDate
    destroyed_by: Code


class AccessLogExpired(Event):
    """The retention run removed rows of the access log (a table, not the event log): how many, past
    which day under the agency's policy, and how many named a child whose record was destroyed
    (stream `retention-access-log`)."""

    event_type: ClassVar[str] = "retention.AccessLogExpired"

    rule: Code
    source: Code
    recorded_before: ClockDate
    rows_past_policy: int
    rows_of_destroyed_records: int
    expired_on: ClockDate
    expired_by: Code
