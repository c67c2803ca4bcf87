"""The list of households (`GET /v1/households`): filtered, searched by name and paged by a keyset
cursor on (name, household_id). "Overdue" is the household's compliance report at the clock's now
(services/carers/rules/compliance.py), so that filter reads the rows in order, a chunk at a time,
until the page is full."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from services.carers.rules import HouseholdState, HouseholdStatus, compliance
from shared.practice import CarersPractice

# Rows read per round when the overdue filter thins them out.
_CHUNK = 200


@dataclass(frozen=True)
class HouseholdFilter:
    """What the caller asked for; `readable` None: every household (a role that reads them all)."""

    readable: frozenset[uuid.UUID] | None = None
    worker: str | None = None
    status: HouseholdStatus | None = None
    overdue: bool | None = None
    search: str | None = None  # a to_tsquery('simple', ...) text (shared/listing.search_query)


class HouseholdListItem(BaseModel):
    household_id: uuid.UUID
    name: str
    status: HouseholdStatus
    connected_person: bool
    supervising_social_worker_id: str | None
    approved_at: datetime | None
    on_hold: bool
    overdue_count: int


_LIST = (
    "SELECT household_id, name, state FROM carers_households "
    "WHERE ($1::uuid[] IS NULL OR household_id = ANY($1::uuid[])) "
    "AND ($2::text IS NULL OR state->>'supervising_social_worker_id' = $2) "
    "AND ($3::text IS NULL OR status = $3) "
    "AND ($4::text IS NULL OR to_tsvector('simple', name) @@ to_tsquery('simple', $4)) "
    "AND ($5::text IS NULL OR (name, household_id) > ($5, $6::uuid)) "
    "ORDER BY name, household_id LIMIT $7"
)


def _item(state: HouseholdState, now: datetime, practice: CarersPractice) -> HouseholdListItem:
    report = compliance(state, now, practice)
    return HouseholdListItem(
        household_id=state.household_id,
        name=state.name,
        status=state.status,
        connected_person=state.connected_person,
        supervising_social_worker_id=state.supervising_social_worker_id,
        approved_at=state.approved_at,
        on_hold=report.on_hold,
        overdue_count=report.overdue_count,
    )


async def list_households(
    conn: Any,
    wanted: HouseholdFilter,
    now: datetime,
    practice: CarersPractice,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> list[HouseholdListItem]:
    """Up to `limit` households after the cursor's (name, id), in name order."""
    found: list[HouseholdListItem] = []
    ids = None if wanted.readable is None else sorted(wanted.readable)
    status = None if wanted.status is None else wanted.status.value
    while len(found) < limit:
        chunk = limit if wanted.overdue is None else _CHUNK
        rows = await conn.fetch(_LIST, ids, wanted.worker, status, wanted.search, *(after or (None, None)), chunk)
        for row in rows:
            item = _item(HouseholdState.model_validate(row["state"]), now, practice)
            if wanted.overdue is None or (item.overdue_count > 0) == wanted.overdue:
                found.append(item)
        if len(rows) < chunk:
            break
        after = (rows[-1]["name"], rows[-1]["household_id"])
    return found[:limit]
