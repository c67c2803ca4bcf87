"""The subject-access export: the child's whole record as the log holds it, amendments beside the
entries they correct, and every entry that may hold other people's information marked for review
before disclosure (UK GDPR Art. 15(4), DPA 2018 Sch. 2 para 16)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NotRequired, TypeVar

from typing_extensions import TypedDict

from services.investigations.rules.months import iso, year_of
from shared.contracts.base import Event, load_as
from shared.contracts.carers import (
    AllegationOutcomeRecorded,
    AllegationReceived,
    HoldLifted,
    HoldPlaced,
    LadoReferralMade,
    LadoWrittenConfirmationSent,
    PlacementEnded,
    ReviewRecorded,
    SupervisionRecorded,
)
from shared.contracts.carers import (
    DocumentAttached as CarersDocumentAttached,
)
from shared.contracts.notifications import NotificationRaised
from shared.contracts.visits import (
    ChildRegistered,
    ComplaintReceived,
    ContactRecorded,
    DocumentAttached,
    EntryAmended,
    IncidentRecorded,
    StatementRecorded,
)
from shared.eventstore.model import RecordedEvent

E = TypeVar("E", bound=Event)

# ---- what needs review before disclosure -------------------------------------------------------
THIRD_PARTY_TYPES: dict[str, str] = {
    ComplaintReceived.event_type: "a complaint: may name the carers, parents or others",
    StatementRecorded.event_type: "the child's own words: may name other people",
    AllegationReceived.event_type: "allegation details about an adult in the household",
    LadoReferralMade.event_type: "a LADO referral about an adult",
    LadoWrittenConfirmationSent.event_type: "a LADO referral about an adult",
    AllegationOutcomeRecorded.event_type: "the outcome of an allegation about an adult",
    SupervisionRecorded.event_type: "a carer supervision: the carers' own information",
    HoldPlaced.event_type: "a hold on the carers' household",
    HoldLifted.event_type: "a hold on the carers' household",
    PlacementEnded.event_type: "may include the carers' feelings",
    ReviewRecorded.event_type: "a carer review: the carers' own information",
    NotificationRaised.event_type: "a notification: may describe other people",
}
CHILD_ONLY_CONTACTS = frozenset({"the child", "child"})


def _contact(data: Mapping[str, Any]) -> str | None:
    if str(data.get("with_whom", "")).strip().lower() in CHILD_ONLY_CONTACTS:
        return None
    return f"a contact with {data.get('with_whom')}: third-party information"


def _complaint(data: Mapping[str, Any]) -> str | None:
    made_by = data.get("made_by")
    return None if made_by in (None, "child") else f"made by a {made_by}, not the child"


def _incident(data: Mapping[str, Any]) -> str | None:
    if data.get("police_called") or data.get("household_id"):
        return "an incident at the foster home: may describe the carers or others"
    return None


# What in an entry's own words makes it other people's information too (the entry as recorded).
DATA_FLAGS: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    ContactRecorded.event_type: _contact,
    ComplaintReceived.event_type: _complaint,
    IncidentRecorded.event_type: _incident,
}


def redaction_flags(event_type: str, data: Mapping[str, Any], child_ids: Sequence[str], child_id: str) -> list[str]:
    """Why an entry needs third-party review before it is disclosed (empty: none known)."""
    flags: list[str] = []
    others = [c for c in child_ids if c != child_id]
    if others:
        flags.append(f"concerns {len(others)} other child{'ren' if len(others) > 1 else ''} too")
    if event_type in THIRD_PARTY_TYPES:
        flags.append(THIRD_PARTY_TYPES[event_type])
    flag = DATA_FLAGS[event_type](data) if event_type in DATA_FLAGS else None
    return [*flags, flag] if flag else flags


# ---- the document ------------------------------------------------------------------------------
class Amendment(TypedDict):
    event_id: str
    position: int
    recorded_at: str
    by: str | None
    reason: str
    correction: str


class RecordedBy(TypedDict):
    actor_id: str | None
    role: str | None


class ExportEntry(TypedDict):
    position: int
    event_id: str
    stream_id: str
    stream_version: int
    type: str
    schema_version: int
    occurred_at: str
    recorded_at: str
    year: int
    late: bool
    summary: str
    recorded_by: RecordedBy
    service: str | None
    child_ids: list[str]
    data: dict[str, Any]
    hash: str
    amendments: list[Amendment]
    redaction_review: list[str]
    amends_event_id: NotRequired[str]


class Counts(TypedDict):
    entries: int
    amended_entries: int
    amendments: int
    for_redaction_review: int
    late_entries: int


class ExportDocument(TypedDict):
    document_id: str
    kind: str
    title: str
    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    attached_at: str
    event_id: str
    download: str  # the path that serves its content (access-logged)


class ChildExport(TypedDict):
    export: str
    child: dict[str, Any]
    as_of: str | None
    log_head: int
    counts: Counts
    years: dict[str, int]
    redaction_note: str
    documents: list[ExportDocument]
    entries: list[ExportEntry]


REDACTION_NOTE = (
    "Entries under `redaction_review` contain or may contain information about other people "
    "(other children, carers, complainants, adults subject to allegations). Review them before "
    "disclosure (UK GDPR Art. 15(4), DPA 2018 Sch. 2 para 16)."
)


def _amendments(record: Sequence[RecordedEvent]) -> dict[str, list[Amendment]]:
    """Every amendment, by the id of the entry it corrects."""
    found: dict[str, list[Amendment]] = defaultdict(list)
    for logged in record:
        if logged.type == EntryAmended.event_type:
            amended = load_as(EntryAmended, logged)
            found[str(amended.amends_event_id)].append(
                Amendment(
                    event_id=str(logged.event_id),
                    position=logged.position,
                    recorded_at=iso(logged.recorded_at),
                    by=logged.metadata.get("actor_id"),
                    reason=amended.reason,
                    correction=amended.correction,
                )
            )
    return found


def _child(child_id: uuid.UUID, record: Sequence[RecordedEvent]) -> dict[str, Any]:
    """The child's details as registered (as recorded, whatever version of the form)."""
    child: dict[str, Any] = {"child_id": str(child_id)}
    for logged in record:
        if logged.type == ChildRegistered.event_type and load_as(ChildRegistered, logged).child_id == child_id:
            child.update({k: v for k, v in logged.data.items() if k != "child_id"})
    return child


def _entry(
    logged: RecordedEvent, child_id: str, late_after: timedelta, amendments: Mapping[str, list[Amendment]]
) -> ExportEntry:
    child_ids = [str(c) for c in logged.child_ids]
    entry = ExportEntry(
        position=logged.position,
        event_id=str(logged.event_id),
        stream_id=logged.stream_id,
        stream_version=logged.stream_version,
        type=logged.type,
        schema_version=logged.schema_version,
        occurred_at=iso(logged.occurred_at),
        recorded_at=iso(logged.recorded_at),
        year=year_of(logged.occurred_at),
        late=logged.recorded_at - logged.occurred_at > late_after,
        summary=logged.metadata.get("summary") or logged.type,
        recorded_by=RecordedBy(actor_id=logged.metadata.get("actor_id"), role=logged.metadata.get("actor_role")),
        service=logged.metadata.get("service"),
        child_ids=child_ids,
        data=logged.data,
        hash=logged.hash,
        amendments=amendments.get(str(logged.event_id), []),
        redaction_review=redaction_flags(logged.type, logged.data, child_ids, child_id),
    )
    if logged.type == EntryAmended.event_type:
        entry["amends_event_id"] = str(load_as(EntryAmended, logged).amends_event_id)
    return entry


def _download_path(logged: RecordedEvent) -> str:
    data = logged.data
    if logged.type == DocumentAttached.event_type:
        return f"/v1/children/{data['child_id']}/documents/{data['document_id']}"
    if data.get("allegation_id"):
        return f"/v1/allegations/{data['allegation_id']}/documents/{data['document_id']}"
    return f"/v1/households/{data['household_id']}/documents/{data['document_id']}"


DOCUMENT_TYPES = frozenset({DocumentAttached.event_type, CarersDocumentAttached.event_type})


def _documents(record: Sequence[RecordedEvent]) -> list[ExportDocument]:
    """Every document attached to the child's record or to one that names the child, in the order
    they were attached; each is the content its SHA-256 names (the hash is in the log's chain)."""
    return [
        ExportDocument(
            document_id=str(logged.data["document_id"]),
            kind=str(logged.data["kind"]),
            title=str(logged.data["title"]),
            filename=str(logged.data["filename"]),
            media_type=str(logged.data["media_type"]),
            size_bytes=int(logged.data["size_bytes"]),
            sha256=str(logged.data["sha256"]),
            attached_at=iso(logged.recorded_at),
            event_id=str(logged.event_id),
            download=_download_path(logged),
        )
        for logged in sorted(record, key=lambda logged: logged.position)
        if logged.type in DOCUMENT_TYPES
    ]


def _counts(entries: Sequence[ExportEntry]) -> Counts:
    return Counts(
        entries=len(entries),
        amended_entries=sum(1 for e in entries if e["amendments"]),
        amendments=sum(1 for e in entries if e["type"] == EntryAmended.event_type),
        for_redaction_review=sum(1 for e in entries if e["redaction_review"]),
        late_entries=sum(1 for e in entries if e["late"]),
    )


def child_export(
    child_id: uuid.UUID,
    record: Sequence[RecordedEvent],
    *,
    as_of: datetime | None,
    log_head: int,
    late_entry_hours: float,
) -> ChildExport:
    """The export of a child's `record` (every event naming the child, in the order things
    happened); an entry recorded more than `late_entry_hours` after it happened is marked late."""
    amendments = _amendments(record)
    late_after = timedelta(hours=late_entry_hours)
    entries = [_entry(logged, str(child_id), late_after, amendments) for logged in record]
    years: dict[str, int] = defaultdict(int)
    for entry in entries:
        years[str(entry["year"])] += 1
    return ChildExport(
        export="subject access request: the child's whole record",
        child=_child(child_id, record),
        as_of=iso(as_of) if as_of else None,
        log_head=log_head,
        counts=_counts(entries),
        years=dict(sorted(years.items())),
        redaction_note=REDACTION_NOTE,
        documents=_documents(record),
        entries=entries,
    )
