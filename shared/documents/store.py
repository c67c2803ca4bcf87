"""Where documents' content is kept: one small interface, so an agency too large for its database
can keep documents in an S3-compatible bucket instead, and the PostgreSQL store every agency starts
with (the one tested).

The contract of a `DocumentStore`:
- `put(content, media_type, at)` keeps the bytes under their SHA-256 (hex) and returns it; putting
  the same bytes again keeps nothing new. Content is never changed or deleted by carelog (the
  PostgreSQL table refuses it, as the log does).
- `size(sha256)` is the stored size, or None when nothing is kept under that hash.
- `chunks(sha256)` yields the content in order, a piece at a time, for a streamed download.

An S3 store would `PUT` the object at `documents/<sha256>` with `If-None-Match: *` (or check
first), in a bucket with Object Lock (compliance mode) so nothing can replace or delete it; `size` is
a `HEAD`, `chunks` a ranged `GET`. Select it by setting `app.state.document_store`; the hash in the
log is what proves any store's content unchanged."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shared.eventstore import EventStore

# Bytes read per round of a download: the database never returns a whole large document at once.
CHUNK_BYTES = 1_048_576


@dataclass(frozen=True)
class StoredContent:
    sha256: str
    size_bytes: int


class DocumentStore(Protocol):
    async def put(self, content: bytes, media_type: str, at: datetime) -> StoredContent: ...

    async def size(self, sha256: str) -> int | None: ...

    def chunks(self, sha256: str) -> AsyncIterator[bytes]: ...


_PUT = (
    "INSERT INTO documents_content (sha256, size_bytes, media_type, stored_at, content) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING"
)
_SIZE = "SELECT size_bytes FROM documents_content WHERE sha256 = $1"
_CHUNK = "SELECT substring(content FROM $2 FOR $3) FROM documents_content WHERE sha256 = $1"


class PostgresDocumentStore:
    """documents_content: append-only (a trigger refuses UPDATE, DELETE and TRUNCATE; the
    application's role may only read and insert), the content stored uncompressed out of line so a
    download reads it a chunk at a time."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def put(self, content: bytes, media_type: str, at: datetime) -> StoredContent:
        sha256 = hashlib.sha256(content).hexdigest()
        async with self.store.acquire() as conn:
            await conn.execute(_PUT, sha256, len(content), media_type, at, content)
        return StoredContent(sha256, len(content))

    async def size(self, sha256: str) -> int | None:
        async with self.store.acquire() as conn:
            found: int | None = await conn.fetchval(_SIZE, sha256)
        return found

    async def chunks(self, sha256: str) -> AsyncIterator[bytes]:
        offset = 1  # substring counts from 1
        while True:
            async with self.store.acquire() as conn:
                piece: bytes | None = await conn.fetchval(_CHUNK, sha256, offset, CHUNK_BYTES)
            if not piece:
                return
            yield piece
            if len(piece) < CHUNK_BYTES:
                return
            offset += len(piece)


def document_store(state: Any) -> DocumentStore:
    """The app's document store: `state.document_store` when one is configured, else PostgreSQL."""
    configured: DocumentStore | None = getattr(state, "document_store", None)
    return configured if configured is not None else PostgresDocumentStore(state.store)
