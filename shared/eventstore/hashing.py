"""The hash chain: SHA-256 over the RFC 8785 canonical JSON of every other column."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import rfc8785

GENESIS_HASH = "0" * 64
# RFC 8785 serialises numbers as IEEE 754 doubles: only integers in this range are exact.
_SAFE_INTEGER = 2**53 - 1


def canonical_json(document: Any) -> bytes:
    """The RFC 8785 canonical form of `document`.

    For what events hold almost always (ASCII keys, strings, integers in the exact range, true,
    false, null) RFC 8785 is byte for byte what orjson writes with sorted keys: keys sorted by
    code unit, strings escaped as ECMAScript does, no whitespace (proved in
    tests/foundation/test_hashing.py). That is fifty times faster than the reference library, which
    serves every other document (floats above all)."""
    if _plain(document):
        try:
            return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:  # e.g. a lone surrogate: the reference says what to do
            pass
    return rfc8785.dumps(document)


def _plain(value: Any) -> bool:
    if isinstance(value, str) or value is None or value is True or value is False:
        return True
    if isinstance(value, dict):
        return all(type(k) is str and k.isascii() and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if type(value) is int:
        return -_SAFE_INTEGER <= value <= _SAFE_INTEGER
    return False


def timestamp_text(value: datetime) -> str:
    """One textual form for instants, identical on write and on verify."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    *,
    position: int,
    event_id: uuid.UUID,
    stream_id: str,
    stream_version: int,
    type: str,
    schema_version: int,
    data: dict[str, Any],
    metadata: dict[str, Any],
    child_ids: Sequence[uuid.UUID],
    occurred_at: datetime,
    recorded_at: datetime,
    prev_hash: str,
    checked: bool = False,
    recorded_at_text: str | None = None,
) -> str:
    """The event's hash. `checked`: data and metadata are as `content.encode` reads them back
    (exact JSON types, no floats, integers in range; sealing only puts texts in), so only their
    keys may need the reference library. `recorded_at_text`: its text, if the caller has it (a
    batch shares one)."""
    document: Any = {
        "position": position,
        "event_id": str(event_id),
        "stream_id": stream_id,
        "stream_version": stream_version,
        "type": type,
        "schema_version": schema_version,
        "data": data,
        "metadata": metadata,
        "child_ids": [str(c) for c in child_ids],
        "occurred_at": timestamp_text(occurred_at),
        "recorded_at": recorded_at_text or timestamp_text(recorded_at),
        "prev_hash": prev_hash,
    }
    if checked:
        try:
            # Of checked content, ASCII output means ASCII keys: `canonical_json` would write the same.
            text = orjson.dumps(document, option=orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER)
            if text.isascii():
                return hashlib.sha256(text).hexdigest()
        except orjson.JSONEncodeError:
            pass
    return hashlib.sha256(canonical_json(document)).hexdigest()
