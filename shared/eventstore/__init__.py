"""The append-only event log shared by every service (DESIGN.md §2)."""

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
from shared.eventstore.projector import Projector, ProjectorRunner, Reactor, reaction_id, reaction_metadata
from shared.eventstore.store import Check, EventFilter, EventStore
from shared.eventstore.verify import VerifyResult, verify_chain

__all__ = [
    "ANY_VERSION",
    "NO_STREAM",
    "Check",
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
    "reaction_id",
    "reaction_metadata",
    "verify_chain",
]
