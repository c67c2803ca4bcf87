"""carers: the HTTP API of the agency's records kept beside the households: the register of foster
parents (reg 31) and the documents of a household's record or of an allegation. Included in the
service's router."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from services.carers import commands as cmd
from services.carers import projections as pj
from services.carers.api_common import (
    CREATED,
    REFUSALS,
    AllegationReader,
    AllegationWriter,
    Ctx,
    HouseholdReader,
    HouseholdWriter,
    ReportReader,
)
from services.carers.rules.register import RegisterEntry
from shared.commanding import CommandRoute
from shared.documents import (
    DOWNLOAD_RESPONSES,
    UPLOAD_OPENAPI,
    DocumentResult,
    Filename,
    Kind,
    Title,
    attached_to,
    document_store,
    download,
    read_upload,
)
from shared.eventstore import RecordedEvent
from shared.responses import result_of
from shared.types import Instant

router = APIRouter(prefix="/v1", tags=["carers"], route_class=CommandRoute)  # one of the service's routers


class HouseholdDocument(DocumentResult):
    household_id: uuid.UUID
    allegation_id: uuid.UUID | None = None


class FosterParentsRegister(BaseModel):
    """The register of foster parents (FSR 2011 reg 31) as the agency knew it at `as_of`."""

    as_of: datetime
    approved: int
    ended: int
    entries: list[RegisterEntry]


# ---- the register of foster parents --------------------------------------------------------------
@router.get(
    "/registers/foster-parents",
    summary="The register of foster parents (reg 31): approved households and those whose approval ended",
    responses=REFUSALS,
)
async def foster_parents_register(
    request: Request,
    _: ReportReader,
    as_of: Annotated[Instant | None, Query(description="As the agency knew it at this instant (default: now)")] = None,
) -> FosterParentsRegister:
    at = as_of or request.app.state.clock.now()
    entries = await pj.register_of_foster_parents(request.app.state.store, at)
    ended = sum(1 for e in entries if e.status == "ended")
    return FosterParentsRegister(as_of=at, approved=len(entries) - ended, ended=ended, entries=entries)


# ---- documents ----------------------------------------------------------------------------------
def _document(recorded: list[RecordedEvent]) -> HouseholdDocument:
    return HouseholdDocument(**result_of(recorded), **recorded[0].data)


async def _download(request: Request, document_id: uuid.UUID, field: str, object_id: uuid.UUID) -> Response:
    first = await request.app.state.store.first_event(f"document-{document_id}")
    data = attached_to(first.data if first is not None else None, field, object_id)
    if field == "household_id" and data.get("allegation_id"):
        # An allegation's document is served only with the allegation's access (and access log).
        attached_to(None, field, object_id)
    return download(request, data["sha256"], data["filename"], data["media_type"])


@router.post(
    "/households/{household_id}/documents",
    summary="Attach a document (PDF, image or Office file) to the household's record: the body is the file",
    responses=REFUSALS,
    openapi_extra=UPLOAD_OPENAPI,
    **CREATED,
)
async def attach_household_document(
    request: Request,
    ctx: Ctx,
    household_id: uuid.UUID,
    _caller: HouseholdWriter,
    kind: Kind,
    title: Title,
    filename: Filename,
) -> HouseholdDocument:
    upload = await read_upload(request, filename)
    store = document_store(request.app.state)
    return _document(await cmd.attach_household_document(ctx, store, household_id, upload, kind, title))


@router.get(
    "/households/{household_id}/documents/{document_id}",
    summary="Download a document of the household's record (an attachment)",
    responses={**DOWNLOAD_RESPONSES, **REFUSALS},
    response_class=Response,
)
async def download_household_document(
    request: Request, household_id: uuid.UUID, document_id: uuid.UUID, _: HouseholdReader
) -> Response:
    return await _download(request, document_id, "household_id", household_id)


@router.post(
    "/allegations/{allegation_id}/documents",
    summary="Attach a document to an allegation: the body is the file",
    responses=REFUSALS,
    openapi_extra=UPLOAD_OPENAPI,
    **CREATED,
)
async def attach_allegation_document(
    request: Request,
    ctx: Ctx,
    allegation_id: uuid.UUID,
    _caller: AllegationWriter,
    kind: Kind,
    title: Title,
    filename: Filename,
) -> HouseholdDocument:
    upload = await read_upload(request, filename)
    store = document_store(request.app.state)
    return _document(await cmd.attach_allegation_document(ctx, store, allegation_id, upload, kind, title))


@router.get(
    "/allegations/{allegation_id}/documents/{document_id}",
    summary="Download a document of an allegation (an attachment; access-logged for its children)",
    responses={**DOWNLOAD_RESPONSES, **REFUSALS},
    response_class=Response,
)
async def download_allegation_document(
    request: Request, allegation_id: uuid.UUID, document_id: uuid.UUID, _: AllegationReader
) -> Response:
    return await _download(request, document_id, "allegation_id", allegation_id)
