"""Deadlines are facts in the log (DESIGN.md §2): every service appends `DeadlineSet` beside the
event that starts a statutory clock, and `DeadlineMet` (or `DeadlineCancelled`) when it ends.
The notifications service escalates any deadline whose `due_at` passes unmet."""

from __future__ import annotations

import uuid

from pydantic import AwareDatetime, BaseModel, Field

DEADLINE_SET = "DeadlineSet"
DEADLINE_MET = "DeadlineMet"
DEADLINE_CANCELLED = "DeadlineCancelled"
DEADLINE_TYPES = frozenset({DEADLINE_SET, DEADLINE_MET, DEADLINE_CANCELLED})


class DeadlineSet(BaseModel):
    deadline_id: uuid.UUID
    kind: str = Field(description="What must happen, e.g. `visits.statutory_visit`.")
    subject: str = Field(description="The stream the clock is about, e.g. `child-<id>`.")
    child_ids: list[uuid.UUID] = Field(default_factory=list)
    household_id: uuid.UUID | None = None
    started_at: AwareDatetime
    due_at: AwareDatetime
    escalate_to: str = "registered_manager"
    description: str
    source: str = Field(description="The rule that sets the clock, e.g. `CPPR 2010 reg 28`.")


class DeadlineMet(BaseModel):
    deadline_id: uuid.UUID
    kind: str
    met_at: AwareDatetime
    met_by_event_id: uuid.UUID | None = None
    late: bool = False


class DeadlineCancelled(BaseModel):
    deadline_id: uuid.UUID
    kind: str
    reason: str
