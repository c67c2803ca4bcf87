"""The hash chain: SHA-256 over the RFC 8785 canonical JSON of every other column."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import rfc8785

GENESIS_HASH = "0" * 64


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
) -> str:
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
        "recorded_at": timestamp_text(recorded_at),
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(rfc8785.dumps(document)).hexdigest()
