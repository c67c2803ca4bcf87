"""The list of children (`GET /v1/children`): filtered, searched by name and paged by a keyset
cursor on (name, child_id), so a child registered or moved between two pages neither repeats nor
hides another. "Overdue" is decided at query time from the open clocks' due instants and the
clock's now."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel


class PlacedStatus(StrEnum):
    PLACED = "placed"  # in a placement that has not ended
    NOT_PLACED = "not_placed"


@dataclass(frozen=True)
class ChildFilter:
    """What the caller asked for; `readable` None: every child (a role that reads them all)."""

    readable: frozenset[uuid.UUID] | None = None
    worker: str | None = None
    household_id: uuid.UUID | None = None
    status: PlacedStatus | None = None
    overdue: bool | None = None
    search: str | None = None  # a to_tsquery('simple', ...) text (shared/listing.search_query)


class ChildListItem(BaseModel):
    child_id: uuid.UUID
    name: str
    date_of_birth: date | None  # None: destroyed with the record
    legal_status: str
    placing_authority: str
    social_worker_id: str | None
    status: PlacedStatus
    household_id: uuid.UUID | None
    placement_id: uuid.UUID | None
    overdue_clocks: int


_OVERDUE = (
    "(SELECT count(*) FROM visits_deadlines d WHERE d.child_id = c.child_id AND d.status = 'open' AND d.due_at < $1)"
)
_LIST = (
    "SELECT c.child_id, c.name, c.date_of_birth, c.legal_status, c.placing_authority, c.social_worker_id, "
    f"p.household_id, p.placement_id, {_OVERDUE} AS overdue_clocks "
    "FROM visits_children c LEFT JOIN LATERAL (SELECT household_id, placement_id FROM visits_placements p "
    "WHERE p.child_id = c.child_id AND p.end_date IS NULL ORDER BY p.start_date DESC, p.started_position DESC "
    "LIMIT 1) p ON true "
    "WHERE ($2::uuid[] IS NULL OR c.child_id = ANY($2::uuid[])) "
    "AND ($3::text IS NULL OR c.social_worker_id = $3) "
    "AND ($4::uuid IS NULL OR p.household_id = $4) "
    "AND ($5::text IS NULL OR ($5 = 'placed') = (p.placement_id IS NOT NULL)) "
    f"AND ($6::boolean IS NULL OR ({_OVERDUE} > 0) = $6) "
    "AND ($7::text IS NULL OR to_tsvector('simple', c.name) @@ to_tsquery('simple', $7)) "
    "AND ($8::text IS NULL OR (c.name, c.child_id) > ($8, $9::uuid)) "
    "ORDER BY c.name, c.child_id LIMIT $10"
)


async def list_children(
    conn: Any, wanted: ChildFilter, now: datetime, after: tuple[str, uuid.UUID] | None, limit: int
) -> list[ChildListItem]:
    """Up to `limit` children after the cursor's (name, id), in name order."""
    rows = await conn.fetch(
        _LIST,
        now,
        None if wanted.readable is None else sorted(wanted.readable),
        wanted.worker,
        wanted.household_id,
        None if wanted.status is None else wanted.status.value,
        wanted.overdue,
        wanted.search,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [
        ChildListItem(
            **{k: v for k, v in row.items()},
            status=PlacedStatus.PLACED if row["placement_id"] is not None else PlacedStatus.NOT_PLACED,
        )
        for row in rows
    ]
