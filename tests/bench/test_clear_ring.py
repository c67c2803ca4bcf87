"""bench/sealing.py compares a log sealed as in service with the same log in clear: its clear key
ring must leave every payload as it is, through the hook the store actually calls."""

from __future__ import annotations

import uuid

import pytest

from bench.sealing import ClearRing
from shared.eventstore.shredding import KeyRing, MissingKeys


def test_the_clear_ring_seals_nothing_where_a_key_ring_would() -> None:
    child = uuid.uuid4()
    data = {"child_id": str(child), "narrative": "Seen at home.", "visitor_id": "sw-1"}
    metadata = {"summary": "Visit: seen at home."}
    with pytest.raises(MissingKeys):  # a key ring with no keys refuses to seal a visit
        KeyRing().seal_payloads(f"child-{child}", "visits.VisitRecorded", data, metadata, [child])
    sealed = ClearRing().seal_payloads(f"child-{child}", "visits.VisitRecorded", data, metadata, [child])
    assert sealed == (data, metadata)
