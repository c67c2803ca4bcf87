"""Deadline events' type names, for code that filters the log by type (the classes themselves are
shared/contracts/deadlines.py)."""

from __future__ import annotations

from shared.contracts.deadlines import DeadlineCancelled, DeadlineMet, DeadlineSet

DEADLINE_SET = DeadlineSet.event_type
DEADLINE_MET = DeadlineMet.event_type
DEADLINE_CANCELLED = DeadlineCancelled.event_type
DEADLINE_TYPES = frozenset({DEADLINE_SET, DEADLINE_MET, DEADLINE_CANCELLED})

__all__ = [
    "DEADLINE_CANCELLED",
    "DEADLINE_MET",
    "DEADLINE_SET",
    "DEADLINE_TYPES",
    "DeadlineCancelled",
    "DeadlineMet",
    "DeadlineSet",
]
