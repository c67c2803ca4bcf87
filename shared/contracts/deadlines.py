"""Deadlines are facts in the log: a service appends `DeadlineSet` beside the event that starts a
statutory clock, and `DeadlineMet` or `DeadlineCancelled` when it ends. The notifications service
escalates any deadline whose `due_at` passes unmet. Every service reads and writes these."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from pydantic import AwareDatetime, Field, SerializerFunctionWrapHandler, model_serializer

from shared.contracts.base import Code, Event, RecordText


class DeadlineSet(Event):
    event_type: ClassVar[str] = "DeadlineSet"

    deadline_id: uuid.UUID
    kind: Code = Field(description="What must happen, e.g. `visits.statutory_visit`.")
    subject: Code = Field(description="The stream the clock is about, e.g. `child-<id>`.")
    child_ids: list[uuid.UUID] = Field(default_factory=list)
    household_id: uuid.UUID | None = None
    started_at: AwareDatetime
    due_at: AwareDatetime
    escalate_to: Code = "registered_manager"
    description: RecordText
    source: Code = Field(description="The rule that sets the clock, e.g. `CPPR 2010 reg 28`.")
    # What a household's compliance needs to name the clock (set by the carers service).
    member_id: uuid.UUID | None = None
    allegation_id: uuid.UUID | None = None
    concern_id: uuid.UUID | None = None
    course: Code | None = None
    item_id: uuid.UUID | None = None
    placement_id: uuid.UUID | None = None
    worker_id: Code | None = None

    @model_serializer(mode="wrap")
    def _stored(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _without_absent(handler(self), _HOUSEHOLD_DETAILS)


# Stored only when set: most clocks are not a household's and need none of them.
_HOUSEHOLD_DETAILS = (
    "household_id",
    "member_id",
    "allegation_id",
    "concern_id",
    "course",
    "item_id",
    "placement_id",
    "worker_id",
)


def _without_absent(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None or k not in keys}


class DeadlineMet(Event):
    event_type: ClassVar[str] = "DeadlineMet"

    deadline_id: uuid.UUID
    kind: Code
    met_at: AwareDatetime
    met_by_event_id: uuid.UUID | None = None
    late: bool = False
    household_id: uuid.UUID | None = None

    @model_serializer(mode="wrap")
    def _stored(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _without_absent(handler(self), ("household_id",))


class DeadlineCancelled(Event):
    event_type: ClassVar[str] = "DeadlineCancelled"

    deadline_id: uuid.UUID
    kind: Code
    reason: Code
    household_id: uuid.UUID | None = None

    @model_serializer(mode="wrap")
    def _stored(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _without_absent(handler(self), ("household_id",))
