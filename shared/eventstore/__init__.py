"""The append-only event log shared by every service (docs/architecture.md)."""

from shared.eventstore.batch import Batch
from shared.eventstore.model import (
    ANY_VERSION,
    NO_STREAM,
    DuplicateEventConflict,
    EventStoreError,
    InvalidEventContent,
    NewEvent,
    RecordedEvent,
    WrongExpectedVersion,
)
from shared.eventstore.projector import (
    Projector,
    ProjectorRunner,
    Reactor,
    handles,
    reaction_id,
    reaction_metadata,
    reacts,
)
from shared.eventstore.reader import ChronologyQuery, EventFilter, record_to_event, row_to_event
from shared.eventstore.sql import EVENT_COLUMNS
from shared.eventstore.store import Check, EventStore
from shared.eventstore.verify import VerifyResult, verify_chain

__all__ = [
    "EVENT_COLUMNS",
    "ANY_VERSION",
    "Batch",
    "NO_STREAM",
    "Check",
    "ChronologyQuery",
    "DuplicateEventConflict",
    "EventFilter",
    "EventStore",
    "EventStoreError",
    "InvalidEventContent",
    "NewEvent",
    "Projector",
    "ProjectorRunner",
    "Reactor",
    "RecordedEvent",
    "VerifyResult",
    "WrongExpectedVersion",
    "handles",
    "reacts",
    "reaction_id",
    "reaction_metadata",
    "record_to_event",
    "row_to_event",
    "verify_chain",
]
