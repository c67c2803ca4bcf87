"""The child's chronology: every event about the child, from every service, read from the log
through the store (`EventStore.chronology`: one statement, the page and the amendments on it)."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from pydantic import BaseModel, Field

from services.visits import rules
from services.visits.events import EntryAmended, child_stream
from shared.eventstore import ChronologyQuery, EventStore
from shared.instants import instant_problem
from shared.problems import Problem

MAX_POSITION = 2**63 - 1  # positions are bigint


class Order(StrEnum):
    OCCURRED = "occurred"
    RECORDED = "recorded"


class RecordedBy(BaseModel):
    actor_id: str | None
    actor_role: str | None


class Amendment(BaseModel):
    event_id: uuid.UUID
    reason: str
    correction: str
    recorded_at: datetime
    recorded_by: RecordedBy


class ChronologyEntry(BaseModel):
    position: int
    event_id: uuid.UUID
    type: str = Field(examples=["visits.VisitRecorded"])
    stream_id: str
    service: str
    occurred_at: datetime
    recorded_at: datetime
    summary: str
    recorded_by: RecordedBy
    late: bool = Field(description="Recorded longer after it occurred than local practice allows.")
    data: dict[str, Any] = Field(description="The event's payload, as stored (its type's contract).")
    amended: bool
    amendments: list[Amendment] = Field(description="Corrections of this entry, oldest first.")
    amends_event_id: uuid.UUID | None = Field(default=None, description="The entry an amendment corrects.")


class Chronology(BaseModel):
    child_id: uuid.UUID
    order: Order
    as_of: datetime | None = Field(description="What the agency knew at this instant (null: now).")
    entries: list[ChronologyEntry]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


def encode_cursor(order: Order, row: Any) -> str:
    raw = orjson.dumps({"o": order.value, "t": row["occurred_at"].isoformat(), "p": row["position"]})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, order: Order) -> tuple[datetime, int]:
    """(occurred_at, position) after which the page starts. A cursor is the client's to send back:
    anything the database could not take as an instant or a position is refused here."""
    try:
        value = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if value["o"] != order.value:
            raise ValueError("cursor of another order")
        after_t, after_p = datetime.fromisoformat(value["t"]), value["p"]
        if type(after_p) is not int or not 0 <= after_p <= MAX_POSITION or instant_problem(after_t):
            raise ValueError("cursor out of range")
        return after_t, after_p
    except (ValueError, KeyError, TypeError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise Problem("malformed-request", "The cursor is not valid for this query; start again without it.") from exc


def _entry(row: Any, late_hours: float) -> dict[str, Any]:
    """One entry (a ChronologyEntry); instants are left to orjson, which writes what isoformat() would."""
    amendments = [
        {
            "event_id": event_id,
            "reason": reason,
            "correction": correction,
            "recorded_at": recorded_at,
            "recorded_by": {"actor_id": actor_id, "actor_role": actor_role},
        }
        for event_id, reason, correction, recorded_at, actor_id, actor_role in row["amendments"] or ()
    ]
    entry = {
        "position": row["position"],
        "event_id": row["event_id"],
        "type": row["type"],
        "stream_id": row["stream_id"],
        "service": row["service"],
        "occurred_at": row["occurred_at"],
        "recorded_at": row["recorded_at"],
        "summary": row["summary"],
        "recorded_by": {"actor_id": row["actor_id"], "actor_role": row["actor_role"]},
        "late": rules.is_late_entry(row["occurred_at"], row["recorded_at"], late_hours),
        # The payload as stored, passed through without being parsed and written again.
        "data": orjson.Fragment(row["data"]),
        "amended": bool(amendments),
        "amendments": amendments,
    }
    if row["type"] == EntryAmended.event_type:
        entry["amends_event_id"] = row["amends"]
    return entry


async def chronology(store: EventStore, query: ChronologyQuery, late_hours: float) -> bytes | None:
    """A page of the chronology as JSON (a `Chronology`), or None when there is no such child. Built
    for speed: the payloads are passed through as stored, not parsed into models and written again."""
    rows = await store.chronology(query, EntryAmended.event_type)
    if not rows and not await store.stream_exists(child_stream(query.child_id)):
        return None
    page, more = rows[: query.limit], len(rows) > query.limit
    order = Order(query.order)
    body = {
        "child_id": str(query.child_id),
        "order": order.value,
        "as_of": query.as_of.isoformat() if query.as_of else None,
        "entries": [_entry(r, late_hours) for r in page],
        "next_cursor": encode_cursor(order, page[-1]) if more and page else None,
    }
    return orjson.dumps(body)
