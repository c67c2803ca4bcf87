"""What goes into the log and what comes out of it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event a command wants appended. `event_id` makes re-sending it a no-op."""

    type: str
    data: dict[str, Any]
    occurred_at: datetime
    child_ids: tuple[uuid.UUID, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
    schema_version: int = 1


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    position: int
    event_id: uuid.UUID
    stream_id: str
    stream_version: int
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    child_ids: tuple[uuid.UUID, ...]
    occurred_at: datetime
    recorded_at: datetime
    prev_hash: str
    hash: str

    def as_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "event_id": str(self.event_id),
            "stream_id": self.stream_id,
            "stream_version": self.stream_version,
            "type": self.type,
            "schema_version": self.schema_version,
            "data": self.data,
            "metadata": self.metadata,
            "child_ids": [str(c) for c in self.child_ids],
            "occurred_at": self.occurred_at.isoformat(),
            "recorded_at": self.recorded_at.isoformat(),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


class EventStoreError(Exception):
    pass


class WrongExpectedVersion(EventStoreError):
    """The stream is not at the version the writer expected (optimistic concurrency)."""

    def __init__(self, stream_id: str, expected: int, current: int) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.current = current
        super().__init__(f"{stream_id}: expected version {expected}, stream is at {current}")


class DuplicateEventConflict(EventStoreError):
    """Some, but not all, of the event ids of an append are already stored elsewhere."""


class InvalidEventContent(EventStoreError):
    """The payload cannot be stored faithfully (e.g. a NUL character, which jsonb refuses)."""


NO_STREAM = 0  # expected_version for a stream that must not exist yet
ANY_VERSION = -1  # skip the optimistic concurrency check
