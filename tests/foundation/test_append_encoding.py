"""What the append stores and hashes, checked against the definitions rather than the store's own
shortcuts: each row's text is its payload as read back, each sealed field opens with its
subject's key alone, and each hash is SHA-256 over the reference RFC 8785 form of the row."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import rfc8785
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import shared.contracts.visits  # noqa: F401  (registers the contracts)
from shared.eventstore import NewEvent
from shared.eventstore.hashing import GENESIS_HASH
from shared.eventstore.shredding import KeyRing, MissingKeys
from shared.eventstore.store import _encode, _Request, _Staged

CHILD = uuid.UUID("6f1c2a52-0d4e-4a7e-9d55-3b7f0c1e2d10")
KEY = bytes(range(32))
RECORDED_AT = datetime(2026, 11, 3, 9, 30, 0, 125000, tzinfo=UTC)

# Payloads the reference serialises like the fast path and unlike it (non-ASCII keys and texts).
PAYLOADS: list[dict[str, Any]] = [
    {"narrative": "Seen alone; room warm.", "child_views": "Likes the dog.", "kind": "statutory", "n": 2**53 - 1},
    {"narrative": "Zoë talked about Łódź 😀", "visitor_id": "sw-1", "nested": {"b": [1, None, True], "a": ""}},
    {"naïve": "key outside ASCII", "\U0001f600": 1, "\uffff": 2, "e": -(2**53 - 1)},
    {"control": '\x1f\x7f \u2028 \\ "', "empty": {}, "list": []},
]


def _ring() -> KeyRing:
    ring = KeyRing()
    wrapped = ring.wrapper.wrap(KEY)
    row = {"subject": f"child:{CHILD}", "wrapped": wrapped, "destroyed_on": None, "destroyed_under": None}
    ring._remember([row])
    return ring


def _events() -> list[NewEvent]:
    occurred = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    return [
        NewEvent(
            type="visits.VisitRecorded",
            data={**payload, "child_id": str(CHILD), "visit_id": str(uuid.UUID(int=i + 1))},
            occurred_at=occurred + timedelta(minutes=i),
            child_ids=(CHILD,),
            metadata={"actor_id": "sw-1", "summary": f"Visit {i} é", "service": "visits"},
            event_id=uuid.UUID(int=100 + i),
        )
        for i, payload in enumerate(PAYLOADS)
    ]


def _open(token: str) -> Any:
    """A sealed field opened by hand: enc1.<subject>.<nonce + ciphertext>, the subject bound in."""
    kind, subject_b64, blob_b64 = token.split(".")
    subject = base64.urlsafe_b64decode(subject_b64 + "=" * (-len(subject_b64) % 4))
    assert subject == f"child:{CHILD}".encode()
    blob = base64.urlsafe_b64decode(blob_b64 + "=" * (-len(blob_b64) % 4))
    plain = AESGCM(KEY).decrypt(blob[:12], blob[12:], subject)
    return plain.decode() if kind == "enc1" else orjson.loads(plain)


def _reference_hash(row: tuple[Any, ...]) -> str:
    (position, event_id, stream_id, version, type_, schema, data_text, metadata_text, children, occurred, recorded,
     prev, _) = row  # fmt: skip
    document = {
        "position": position,
        "event_id": str(event_id),
        "stream_id": stream_id,
        "stream_version": version,
        "type": type_,
        "schema_version": schema,
        "data": orjson.loads(data_text),
        "metadata": orjson.loads(metadata_text),
        "child_ids": children.strip("{}").split(","),
        "occurred_at": occurred.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "recorded_at": recorded.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "prev_hash": prev,
    }
    return hashlib.sha256(rfc8785.dumps(document)).hexdigest()


def test_rows_store_what_they_hash_and_chain_by_the_reference_form() -> None:
    ring, events, stream = _ring(), _events(), f"child-{CHILD}"
    encoded = [_encode(e, ring, stream) for e in events]
    staged = _Staged(head_position=7, position=7, prev_hash=GENESIS_HASH, recorded_at=RECORDED_AT)
    loop = asyncio.new_event_loop()
    try:
        recorded = staged.hash_rows(_Request(stream, events, encoded, 0, None, loop.create_future()), 0)
    finally:
        loop.close()
    prev = GENESIS_HASH
    for event, stored, row, read in zip(events, encoded, staged.rows, recorded, strict=True):
        assert row[0] == read.position and row[3] == read.stream_version and row[11] == prev
        assert row[12] == _reference_hash(row) == read.hash
        assert orjson.loads(row[6]) == stored.data and orjson.loads(row[7]) == stored.metadata
        # Personal fields sealed, the rest as given; the caller reads them open.
        for name, value in event.data.items():
            kept = stored.data[name]
            assert (_open(kept) if name in ("narrative", "child_views") else kept) == value
        assert _open(stored.metadata["summary"]) == event.metadata["summary"]
        assert read.data == event.data and read.metadata == event.metadata
        prev = row[12]


def test_sealing_without_the_subjects_key_says_which_is_missing() -> None:
    event = _events()[0]
    with pytest.raises(MissingKeys) as missing:
        _encode(event, KeyRing(), f"child-{CHILD}")
    assert missing.value.subjects == {f"child:{CHILD}"}
