"""Who works with whom, and who opened a record outside it: streams `allocation-<id>` (the id of the
child or household the worker is allocated to) and `access-<id>` (break-glass)."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from shared.contracts.base import Code, Event, RecordText

AllocationRole = Literal["child_social_worker", "supervising_social_worker", "lado"]


class WorkerAllocated(Event):
    event_type: ClassVar[str] = "access.WorkerAllocated"

    worker_id: Code
    role: AllocationRole
    child_id: uuid.UUID | None = None
    household_id: uuid.UUID | None = None
    reason: RecordText | None = None


class AllocationEnded(Event):
    event_type: ClassVar[str] = "access.AllocationEnded"

    worker_id: Code
    role: AllocationRole
    child_id: uuid.UUID | None = None
    household_id: uuid.UUID | None = None
    reason: RecordText | None = None


class BreakGlassUsed(Event):
    """A worker opened a record outside their allocation, with the reason they gave."""

    event_type: ClassVar[str] = "access.BreakGlassUsed"

    actor_id: Code
    role: Code
    reason: RecordText
    path: Code
    child_id: uuid.UUID | None = None
    household_id: uuid.UUID | None = None
