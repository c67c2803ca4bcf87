"""What every service's "document attached" event carries: the document's own stream is
`document-<id>`; its content is stored once, by its SHA-256 (shared/documents), and the hash is in
the event, so the log's hash chain covers the document too. Each owning service publishes its own
event class on these fields (visits: a child's documents; carers: a household's or an allegation's)."""

from __future__ import annotations

import uuid
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.base import Code, RecordText


class DocumentKind(StrEnum):
    FORM_F = "form_f"  # the assessment of a prospective foster carer
    NOTICE_OF_APPROVAL = "notice_of_approval"
    FOSTER_CARE_AGREEMENT = "foster_care_agreement"  # reg 27(5)(b), Schedule 5
    PANEL_MINUTES = "panel_minutes"
    MEDICAL_REPORT = "medical_report"
    PLAN = "plan"  # care, placement, health, education or safety plan
    CORRESPONDENCE = "correspondence"
    OTHER = "other"


class DocumentFields(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    document_id: uuid.UUID
    kind: DocumentKind
    title: RecordText
    filename: RecordText  # sanitised: a plain file name, no path
    media_type: Code  # as the content itself shows, not as the client said
    size_bytes: int = Field(ge=1)
    sha256: Code  # the content's SHA-256, hex
