"""investigations keeps no read models: every export, report and inspector page is computed from the
log as of an instant, read through the store, so it can be reproduced for ever (and there is nothing
to rebuild). Here are the query functions that read it into typed documents."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import rfc8785
from pydantic import ValidationError

from services.investigations import rules
from shared.contracts import load
from shared.contracts.base import Event
from shared.eventstore import EventFilter, EventStore
from shared.problems import Problem

# Appends hold the head lock for milliseconds; an instant older than this is settled for ever.
SETTLE_MARGIN = timedelta(seconds=60)
# The log's resolution: "after the close" is from the next microsecond on.
TICK = timedelta(microseconds=1)
PAGE = 5000


def canonical(document: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> bytes:
    """RFC 8785 canonical JSON: the same report is the same bytes."""
    return rfc8785.dumps(document)


# ---- the monthly KPI report --------------------------------------------------------------------
async def load_facts(store: EventStore, as_of: datetime) -> rules.Facts:
    """Every fact the KPIs need, as recorded by `as_of`, each with its own recorded_at."""
    fold = rules.FactsFold()
    wanted = EventFilter(types=[c.event_type for c in rules.KPI_SOURCES], as_of=as_of)
    async for page in store.iterate(wanted, chunk=PAGE):
        for event in page:
            fold.add(load(event), event)
    return fold.facts()


async def ofsted_fostering(store: EventStore, year: int, as_of: datetime) -> bytes:
    """Ofsted's annual fostering data collection for `year` as the agency knew it at `as_of` (CSV)."""
    _aware(as_of)
    events: list[tuple[Event, datetime]] = []
    wanted = EventFilter(types=[c.event_type for c in rules.OFSTED_SOURCES], as_of=as_of)
    async for page in store.iterate(wanted, chunk=PAGE):
        for event in page:
            try:
                events.append((load(event), event.occurred_at))
            except ValidationError:  # a carer whose record was destroyed (a date of birth no longer kept)
                continue
    return rules.ofsted_fostering_csv(events, year, as_of)


async def ssda903(store: EventStore, year: int, as_of: datetime) -> dict[str, list[dict[str, str]]]:
    """The SSDA903 return's tables for collection year `year` as the agency knew them at `as_of`."""
    _aware(as_of)
    events: list[Event] = []
    wanted = EventFilter(types=[c.event_type for c in rules.SSDA903_SOURCES], as_of=as_of)
    async for page in store.iterate(wanted, chunk=PAGE):
        events.extend(load(event) for event in page)
    return rules.ssda903_tables(events, year)


async def _reading(
    store: EventStore, month: str, as_of: datetime | None, close_days: float, now: datetime
) -> rules.Reading:
    """Which instant a report of `month` reads the log at, `now` by the agency's clock."""
    close = rules.month_close(month, close_days)
    head_recorded_at = await store.head_recorded_at()
    settled = max(now - SETTLE_MARGIN, head_recorded_at) if head_recorded_at else now - SETTLE_MARGIN
    resolved, provisional = rules.resolve_as_of(as_of, close, settled, head_recorded_at)
    position, hash_ = await store.last_as_of(resolved)
    return rules.Reading(month, resolved, provisional, close, close_days, rules.Anchor(position=position, hash=hash_))


async def _late_entries(store: EventStore, reading: rules.Reading) -> list[rules.LateEntry]:
    """Entries about the month recorded after its close (and by as_of)."""
    start, end = rules.month_bounds(reading.month)
    late = EventFilter(
        occurred_from=start, occurred_to=end - TICK, recorded_from=reading.close + TICK, recorded_to=reading.as_of
    )
    return [
        rules.LateEntry(
            position=e.position,
            event_id=str(e.event_id),
            type=e.type,
            occurred_at=rules.iso(e.occurred_at),
            recorded_at=rules.iso(e.recorded_at),
            summary=e.metadata.get("summary"),
        )
        async for page in store.iterate(late, chunk=PAGE)
        for e in page
    ]


def _valid(month: str, as_of: datetime | None) -> None:
    try:
        rules.parse_month(month)
    except ValueError as exc:
        raise Problem("validation", str(exc)) from exc
    _aware(as_of)


def _aware(as_of: datetime | None) -> None:
    if as_of is not None and as_of.tzinfo is None:
        raise Problem("validation", "as_of needs a time zone, e.g. 2026-11-25T12:00:00Z.")


async def kpi_report(
    store: EventStore, month: str, *, now: datetime, as_of: datetime | None = None, close_days: float = 5.0
) -> rules.KpiReport:
    """The KPIs of `month` as the log stood at `as_of` (default: the month's close)."""
    _valid(month, as_of)
    reading = await _reading(store, month, as_of, close_days, now)
    facts = await load_facts(store, reading.as_of)
    late = await _late_entries(store, reading) if reading.as_of > reading.close else None
    return rules.assemble_report(facts, reading, late)


async def kpi_series(
    store: EventStore, months: Sequence[str], *, now: datetime, close_days: float = 5.0
) -> list[rules.KpiReport]:
    """Each month's official (or provisional) figures, reading the log once."""
    readings = [await _reading(store, m, None, close_days, now) for m in months]
    latest = max((r.as_of for r in readings), default=None)
    facts = await load_facts(store, latest) if latest else rules.Facts()
    return [rules.assemble_report(facts.known_at(r.as_of), r, None) for r in readings]


# ---- the subject-access export -----------------------------------------------------------------
async def child_export(
    store: EventStore, child_id: uuid.UUID, *, as_of: datetime | None = None, late_entry_hours: float = 24.0
) -> rules.ChildExport:
    """The child's whole record: every event whose child_ids include the child, in order."""
    _aware(as_of)
    record = await store.child_record(child_id, as_of)
    if not record:
        raise Problem("not-found", f"No record of child {child_id}.")
    head, _ = await store.head()
    return rules.child_export(child_id, record, as_of=as_of, log_head=head, late_entry_hours=late_entry_hours)
