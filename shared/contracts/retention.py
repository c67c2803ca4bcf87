"""The retention service's published events: legal holds on a record (`hold-<hold_id>`) and the
destruction of a record at the end of its retention period (`retention-<kind>-<subject_id>`).

A RecordDestroyed holds no personal data: which subject, under which rule, when and by whom."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime

from shared.contracts.base import Code, Event, RecordText


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
    retain_until: date
    destroyed_on: date
    destroyed_by: Code
