"""Recompute the hash chain and name the first position that does not match."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from shared.eventstore import sql
from shared.eventstore.content import content_problem
from shared.eventstore.hashing import GENESIS_HASH, event_hash
from shared.eventstore.reader import record_to_event


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    head_position: int
    head_hash: str
    first_bad_position: int | None = None
    reason: str | None = None


async def verify_chain(
    engine: AsyncEngine, *, chunk: int = 5000, progress: Callable[[int, int], None] | None = None
) -> VerifyResult:
    """Every event from position 1 to the head, in chunks; `progress(position, head)` after each."""
    expected_prev = GENESIS_HASH
    expected_position = 0
    checked = 0
    async with engine.connect() as own:
        conn: Any = (await own.get_raw_connection()).driver_connection
        row = await conn.fetchrow(sql.HEAD)
        head_position, head_hash = int(row["position"]), str(row["hash"])
        # Up to the head read first: the head moves with its events' commit, so every position up
        # to it is there, and what is appended meanwhile is for the next verify.
        while True:
            rows = await conn.fetch(sql.RANGE, expected_position, head_position, chunk)
            events = [record_to_event(r) for r in rows]
            if not events:
                break
            for event in events:
                expected_position += 1
                if event.position != expected_position:
                    return VerifyResult(False, checked, head_position, head_hash, expected_position, "gap")
                if event.prev_hash != expected_prev:
                    return VerifyResult(False, checked, head_position, head_hash, event.position, "prev_hash")
                digest = event_hash(
                    position=event.position,
                    event_id=event.event_id,
                    stream_id=event.stream_id,
                    stream_version=event.stream_version,
                    type=event.type,
                    schema_version=event.schema_version,
                    data=event.data,
                    metadata=event.metadata,
                    child_ids=event.child_ids,
                    occurred_at=event.occurred_at,
                    recorded_at=event.recorded_at,
                    prev_hash=event.prev_hash,
                )
                if digest != event.hash:
                    return VerifyResult(False, checked, head_position, head_hash, event.position, "hash")
                # The store writes no other numbers: one here was changed after it was hashed.
                if content_problem(event.data) or content_problem(event.metadata):
                    return VerifyResult(False, checked, head_position, head_hash, event.position, "content")
                expected_prev = event.hash
                checked += 1
            if progress is not None:
                progress(expected_position, head_position)
        if head_position != expected_position or head_hash != expected_prev:
            return VerifyResult(False, checked, head_position, head_hash, expected_position + 1, "head does not match")
        # The chain holds each document's hash; the content must still be what it names.
        document = await conn.fetchval(sql.DOCUMENT_MISMATCH, head_position)
        if document is not None:
            return VerifyResult(False, checked, head_position, head_hash, int(document), "document")
    return VerifyResult(True, checked, head_position, head_hash)
