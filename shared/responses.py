"""What every command answers with: what it recorded and the clocks it moved. Services extend
`CommandResult` with the ids a caller needs next (`visit_id`, `placement_id`...)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from shared.deadlines import DEADLINE_TYPES
from shared.eventstore import RecordedEvent


class ClockChange(BaseModel):
    """A statutory clock the command started, met or stopped."""

    event: str = Field(description="DeadlineSet, DeadlineMet or DeadlineCancelled.")
    deadline_id: uuid.UUID
    kind: str
    due_at: datetime | None = None
    reason: str | None = None
    late: bool | None = None


class CommandResult(BaseModel):
    event_id: uuid.UUID = Field(description="The main event the command recorded.")
    stream_id: str
    version: int = Field(description="The stream's version after the command: send it as If-Match next time.")
    position: int = Field(description="Where the command's last event stands in the log.")
    type: str
    summary: str | None = Field(description="The line the chronology shows for it.")
    recorded_at: datetime
    clocks: list[ClockChange] = Field(default_factory=list)


def result_of(recorded: Sequence[RecordedEvent]) -> dict[str, Any]:
    """The CommandResult fields of what a command appended (its first event is the main one)."""
    first = recorded[0]
    return {
        "event_id": first.event_id,
        "stream_id": first.stream_id,
        "version": recorded[-1].stream_version,
        "position": recorded[-1].position,
        "type": first.type,
        "summary": first.metadata.get("summary"),
        "recorded_at": first.recorded_at,
        "clocks": [
            ClockChange(event=e.type, **{k: e.data[k] for k in ClockChange.model_fields if k in e.data})
            for e in recorded[1:]
            if e.type in DEADLINE_TYPES
        ],
    }
