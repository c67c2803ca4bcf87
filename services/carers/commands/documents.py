"""Documents on a household's record (the Form F, the notice of approval, the foster care
agreement, panel minutes, medical reports) or on an allegation: checked by content, kept once by
their SHA-256, and attached by an event (stream `document-<id>`) that holds the hash, so the log's
chain covers the document. A document on an allegation names its children: their subject-access
exports list it."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from services.carers.commands import loading
from services.carers.events import DocumentAttached, allegation_stream, document_stream
from services.carers.rules import AllegationState, fold_allegation
from shared.commanding import CommandContext
from shared.contracts.documents import DocumentKind
from shared.documents import Checked, DocumentStore, Upload, check_upload
from shared.eventstore import NO_STREAM, NewEvent, RecordedEvent
from shared.policy import require_writer
from shared.recording import Recorder

# Decides the document's event once its content has been checked.
Decide = Callable[[Checked], list[NewEvent]]


def decide_document(
    rec: Recorder,
    household_id: uuid.UUID,
    checked: Checked,
    kind: DocumentKind,
    title: str,
    allegation: AllegationState | None = None,
) -> list[NewEvent]:
    """The document attached to the household's record, or to an allegation about one of its members."""
    attached = DocumentAttached(
        document_id=rec.new_id(),
        household_id=household_id,
        allegation_id=allegation.allegation_id if allegation is not None else None,
        kind=kind,
        title=title,
        filename=checked.filename,
        media_type=checked.media_type,
        size_bytes=checked.size_bytes,
        sha256=checked.sha256,
    )
    on = "the allegation" if allegation is not None else "the household"
    children = allegation.child_ids if allegation is not None else []
    return [rec.event(attached, child_ids=children, summary=f"Document attached to {on}: {title} ({kind.value})")]


async def _attach(ctx: CommandContext, documents: DocumentStore, upload: Upload, decide: Decide) -> list[RecordedEvent]:
    checked = check_upload(upload, ctx.settings.max_document_bytes)
    events = decide(checked)
    await documents.put(upload.content, checked.media_type, ctx.now())
    return await ctx.append(document_stream(events[0].data["document_id"]), events, NO_STREAM)


async def attach_household_document(
    ctx: CommandContext,
    documents: DocumentStore,
    household_id: uuid.UUID,
    upload: Upload,
    kind: DocumentKind,
    title: str,
) -> list[RecordedEvent]:
    """Refused (nothing kept) unless the household exists and the content is a document carelog keeps."""
    require_writer(ctx.principal)
    await loading.load_household(ctx, household_id)
    return await _attach(
        ctx, documents, upload, lambda checked: decide_document(ctx, household_id, checked, kind, title)
    )


async def attach_allegation_document(
    ctx: CommandContext,
    documents: DocumentStore,
    allegation_id: uuid.UUID,
    upload: Upload,
    kind: DocumentKind,
    title: str,
) -> list[RecordedEvent]:
    """Refused (nothing kept) unless the allegation exists and the content is a document carelog keeps."""
    require_writer(ctx.principal)
    allegation = await loading.load_record(
        ctx, allegation_stream(allegation_id), fold_allegation, missing=f"No allegation {allegation_id}."
    )
    return await _attach(
        ctx,
        documents,
        upload,
        lambda checked: decide_document(ctx, allegation.household_id, checked, kind, title, allegation),
    )
