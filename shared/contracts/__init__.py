"""The events every service publishes, one class each (type name, schema version, payload).

Importing this package registers every contract, so `load` knows every type in the log."""

from shared.contracts import access, carers, deadlines, notifications, retention, visits
from shared.contracts.base import EVENT_TYPES, Event, event_class, load, load_as

__all__ = [
    "EVENT_TYPES",
    "Event",
    "access",
    "carers",
    "deadlines",
    "event_class",
    "load",
    "load_as",
    "notifications",
    "retention",
    "visits",
]
