"""A document over HTTP, the same for every service that keeps them: the upload is the request's
body (its Content-Type the type the client says it is, the file name a query parameter), the
download a stream of the stored content as an attachment."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import StreamingResponse

from shared.contracts.documents import DocumentKind
from shared.documents.checks import MEDIA_TYPES, Upload, content_disposition
from shared.documents.store import document_store
from shared.problems import Problem
from shared.responses import CommandResult

_BINARY = {"schema": {"type": "string", "format": "binary"}}

# The upload's request body in /openapi.json: the document's bytes, in any type carelog keeps.
UPLOAD_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The document's bytes. Its type is read from the content; Content-Type must agree.",
        "content": {media_type: _BINARY for media_type in sorted(MEDIA_TYPES)},
    }
}
DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The document's content, as an attachment (Content-Disposition)",
        "content": {"application/octet-stream": _BINARY},
    },
}

Kind = Annotated[DocumentKind, Query(description="What the document is")]
Title = Annotated[str, Query(min_length=1, max_length=200, description="What the record shows it as")]
Filename = Annotated[str, Query(min_length=1, max_length=255, description="The file's name (kept sanitised)")]


class DocumentResult(CommandResult):
    document_id: uuid.UUID
    kind: DocumentKind
    title: str
    filename: str
    media_type: str
    size_bytes: int
    sha256: str


async def read_upload(request: Request, filename: str) -> Upload:
    """The upload: the body (already held to the document limit by BodyLimitAndIdempotency)."""
    return Upload(await request.body(), request.headers.get("content-type", ""), filename)


def download(request: Request, sha256: str, filename: str, media_type: str) -> StreamingResponse:
    """The stored content, streamed a chunk at a time, to be saved and not opened in carelog's origin."""
    return StreamingResponse(
        document_store(request.app.state).chunks(sha256),
        media_type=media_type,
        headers={
            "Content-Disposition": content_disposition(filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


def attached_to(data: dict[str, Any] | None, field: str, object_id: uuid.UUID) -> dict[str, Any]:
    """The payload of a document's event if it is attached to `object_id`; the same 404 otherwise."""
    if data is None or data.get(field) != str(object_id):
        raise Problem("not-found", "No such document on this record.")
    return data
