"""Documents on the child's record: checked by content, kept once by their SHA-256, and attached by
an event (stream `document-<id>`, naming the child) that holds the hash, so the log's chain covers
the document and the child's chronology and subject-access export list it."""

from __future__ import annotations

import uuid

from services.visits.commands.common import child_of
from services.visits.events import DocumentAttached, document_stream
from shared.commanding import CommandContext
from shared.contracts.documents import DocumentKind
from shared.documents import Checked, DocumentStore, Upload, check_upload
from shared.eventstore import NO_STREAM, NewEvent, RecordedEvent
from shared.recording import Recorder


def decide_document(
    rec: Recorder, child_id: uuid.UUID, checked: Checked, kind: DocumentKind, title: str
) -> list[NewEvent]:
    """The document attached to the child's record, as its content was checked."""
    attached = DocumentAttached(
        document_id=rec.new_id(),
        child_id=child_id,
        kind=kind,
        title=title,
        filename=checked.filename,
        media_type=checked.media_type,
        size_bytes=checked.size_bytes,
        sha256=checked.sha256,
    )
    return [rec.event(attached, child_ids=[child_id], summary=f"Document attached: {title} ({kind.value})")]


async def attach_document(
    ctx: CommandContext, documents: DocumentStore, child_id: uuid.UUID, upload: Upload, kind: DocumentKind, title: str
) -> list[RecordedEvent]:
    """Refused (nothing kept) unless the child exists and the content is a document carelog keeps;
    then the content is kept and the event appended (content kept without its event, after a
    crash, is never shown: only an event names a document)."""
    await child_of(ctx, child_id)
    checked = check_upload(upload, ctx.settings.max_document_bytes)
    events = decide_document(ctx, child_id, checked, kind, title)
    await documents.put(upload.content, checked.media_type, ctx.now())
    return await ctx.append(document_stream(uuid.UUID(events[0].data["document_id"])), events, NO_STREAM)
