"""investigations keeps no read models: every export, report and inspector page is computed from the
log as of an instant, read through the store, so it can be reproduced for ever (and there is nothing
to rebuild). Here are the query functions that read it into typed documents."""

from __future__ import annotations

import gc
import itertools
import uuid
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import orjson
import rfc8785

from services.investigations import rules
from shared.contracts import load
from shared.contracts.base import Event
from shared.contracts.retention import RecordDestroyed
from shared.eventstore import EventFilter, EventStore, RecordedEvent
from shared.problems import Problem

# Appends hold the head lock for milliseconds; an instant older than this is settled for ever.
SETTLE_MARGIN = timedelta(seconds=60)
# The log's resolution: "after the close" is from the next microsecond on.
TICK = timedelta(microseconds=1)
PAGE = 5000
FOLD_PAGE = 500  # the KPI sources folded between two turns of the event loop
READ_SPANS = 4  # kept spans read (and decoded) between two turns
# Late entries are read unopened: a page of them is cheap, and each page is one more index scan.
LATE_PAGE = 50_000


def canonical(document: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> bytes:
    """RFC 8785 canonical JSON: the same report is the same bytes."""
    return rfc8785.dumps(document)


# ---- the monthly KPI report --------------------------------------------------------------------
KPI_TYPES = [c.event_type for c in rules.KPI_SOURCES]
# The log's positions in spans of this many: a span's fold is kept once the head is past it.
SPAN = 5_000

# The spans' folds, kept in investigations_kpi_spans (migrations 0021, 0022) as JSON by their size
# and last position, in the fold's shape rules.FOLD_FORMAT: written by the follower (`follow_spans`,
# run by `carelog serve`) as the head passes each span's end, or by the first report that needs
# one. `folded_at` is the log's head when the span was folded: its personal texts were opened as
# they stood then, so a RecordDestroyed after it makes the row unusable (and the follower deletes it).
SPANS_KEPT = """
    SELECT span_end, folded_at, recorded_to, fold FROM investigations_kpi_spans
    WHERE span_end = ANY($1::bigint[]) AND folded_at >= $2 AND span = $3 AND format = $4
"""
KEEP_SPAN = """
    INSERT INTO investigations_kpi_spans (span, span_end, folded_at, recorded_to, fold, format)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (span, span_end) DO UPDATE SET folded_at = EXCLUDED.folded_at, recorded_to = EXCLUDED.recorded_to,
        fold = EXCLUDED.fold, format = EXCLUDED.format
    WHERE investigations_kpi_spans.folded_at < EXCLUDED.folded_at OR investigations_kpi_spans.format <> EXCLUDED.format
"""
SPAN_ENDS_KEPT = "SELECT span_end FROM investigations_kpi_spans WHERE folded_at >= $1 AND span = $2 AND format = $3"
FORGET_SPANS = "DELETE FROM investigations_kpi_spans WHERE folded_at < $1 OR span <> $2 OR format <> $3"


@dataclass
class _Span:
    fold: rules.FactsFold
    recorded_to: datetime | None  # the latest recorded_at of the span's KPI sources
    folded_at: int  # the log's head when it was folded


@dataclass
class _Merged:
    """The spans (0, end] folded together, and its clocks indexed: a report whose spans up to
    `end` are all recorded by its as_of starts from a copy of it instead of folding them again."""

    fold: rules.FactsFold = field(default_factory=rules.FactsFold)
    clocks: rules.ClockIndex = field(default_factory=rules.ClockIndex)
    end: int = 0
    recorded_to: datetime | None = None  # the latest of its spans'

    def usable(self, up_to: int, as_of: datetime) -> bool:
        return 0 < self.end <= up_to and (self.recorded_to is None or self.recorded_to <= as_of)

    def take(self, span: _Span) -> None:
        """Fold in the span after `end`."""
        self.fold.extend(span.fold)
        self.end += SPAN
        touched = itertools.chain(span.fold.deadlines, span.fold.met, span.fold.cancelled)
        self.clocks.absorb(self.fold, touched, step=self.end)
        if span.recorded_to is not None:
            self.recorded_to = max(self.recorded_to or span.recorded_to, span.recorded_to)


@dataclass
class _Spans:
    """The KPI sources' folds over the spans (0, SPAN], (SPAN, 2 SPAN], ... of the log, as this
    process last read or folded them (the table keeps them across restarts): a report as of T
    folds the spans recorded by T together and reads only the events after the last of them."""

    spans: dict[int, _Span] = field(default_factory=dict)  # by the span's last position
    merged: _Merged = field(default_factory=_Merged)
    destroyed_checked: int = 0  # the log read up to here for RecordDestroyed
    last_destroyed: int = 0  # the position of the last RecordDestroyed

    def merge(self, up_to: int) -> None:
        """Extend `merged` over the spans in memory, up to position `up_to`."""
        took = False
        while self.merged.end + SPAN <= up_to and (span := self.spans.get(self.merged.end + SPAN)) is not None:
            self.merged.take(span)
            took = True
        if took:
            # The facts kept live as long as the process: out of the collector's full passes, which
            # would otherwise walk them all every few requests (0.5 s a pass at 1M events). The
            # collect first leaves no garbage to freeze, and walks only what came since the last.
            gc.collect()
            gc.freeze()


_KEPT: weakref.WeakKeyDictionary[EventStore, _Spans] = weakref.WeakKeyDictionary()


async def _kept_spans(store: EventStore) -> _Spans:
    """This process's spans, less those folded before the last RecordDestroyed."""
    kept = _KEPT.setdefault(store, _Spans())
    destroyed = EventFilter(types=[RecordDestroyed.event_type], after=kept.destroyed_checked, limit=1_000_000)
    found = await store.read(destroyed)
    if found:
        kept.last_destroyed = kept.destroyed_checked = found[-1].position
        kept.spans = {end: s for end, s in kept.spans.items() if s.folded_at >= kept.last_destroyed}
        kept.merged = _Merged()
    return kept


async def _fold(store: EventStore, fold: rules.FactsFold, wanted: EventFilter) -> datetime | None:
    """Fold the events of `wanted` into `fold`; the latest recorded_at among them. Read in small
    pages: the process's other requests run between them (the follower folds thousands)."""
    latest = None
    async for page in store.iterate(wanted, chunk=FOLD_PAGE):
        for event in page:
            fold.add(load(event), event)
        newest = max(e.recorded_at for e in page)
        latest = newest if latest is None else max(latest, newest)
    return latest


async def _fold_span(store: EventStore, kept: _Spans, end: int) -> _Span:
    """The span ending at `end` folded from the log, kept here and in the table."""
    folded_at, _ = await store.head()
    span = _Span(rules.FactsFold(), None, folded_at)
    span_of = EventFilter(types=KPI_TYPES, after=end - SPAN, to_position=end, summaries=False)
    span.recorded_to = await _fold(store, span.fold, span_of)
    encoded = orjson.dumps(span.fold.to_json())
    async with store.acquire() as conn:
        await conn.execute(KEEP_SPAN, SPAN, end, folded_at, span.recorded_to, encoded, rules.FOLD_FORMAT)
    # Held as a restarted process reads it from the table: the same facts, their ids and kinds
    # shared with every other span's and each instant one object, not a copy per event (from_json).
    span.fold = rules.FactsFold.from_json(orjson.loads(encoded))
    kept.spans[end] = span
    return span


async def _read_spans(store: EventStore, kept: _Spans, ends: Sequence[int]) -> None:
    """The spans of `ends` not in this process's memory, from the table when it has them (a few
    at a time: the process's other requests run in between)."""
    missing = [end for end in ends if end not in kept.spans]
    for start in range(0, len(missing), READ_SPANS):
        async with store.acquire() as conn:
            batch = missing[start : start + READ_SPANS]
            rows = await conn.fetch(SPANS_KEPT, batch, kept.last_destroyed, SPAN, rules.FOLD_FORMAT)
        for row in rows:
            fold = rules.FactsFold.from_json(orjson.loads(row["fold"]))
            kept.spans[row["span_end"]] = _Span(fold, row["recorded_to"], row["folded_at"])


async def load_facts(
    store: EventStore, as_of: datetime, up_to: int | None = None, window: rules.Window | None = None
) -> rules.Facts:
    """Every fact the KPIs need (of `window`, if given), as recorded by `as_of`, each with its own
    recorded_at: the kept spans up to `up_to` (the last position recorded by `as_of`) whose
    sources were all recorded by `as_of` (all of the merged ones at once, if it can), then the
    events after them, read from the log. The merged spans' clock index finds the window's clocks
    among the spans it covers; `fresh` holds what it does not."""
    merged, fold, fresh, after = None, rules.FactsFold(), rules.FactsFold(), 0
    if up_to is not None:
        kept = await _kept_spans(store)
        ends = range(SPAN, up_to + 1, SPAN)  # positions are gap-free: up to `up_to`, all there
        await _read_spans(store, kept, ends)
        kept.merge(up_to)
        merged = kept.merged if kept.merged.end else None
        if kept.merged.usable(up_to, as_of):
            fold, after = kept.merged.fold.copy(), kept.merged.end
        for end in ends[after // SPAN :]:
            span = kept.spans.get(end) or await _fold_span(store, kept, end)
            if span.recorded_to is not None and span.recorded_to > as_of:
                break  # recorded out of position order: read the rest from the log
            (fold if end <= kept.merged.end else fresh).extend(span.fold)
            after = end
    # Nothing after `up_to` was recorded by as_of: the read stops there, not at the head.
    recorded = EventFilter(types=KPI_TYPES, as_of=as_of, after=after, to_position=up_to, summaries=False)
    await _fold(store, fresh, recorded)
    fold.extend(fresh)
    if merged is None or window is None:
        return fold.facts(window)
    known_to = min(after, merged.end)
    return fold.facts(window, merged.clocks.candidates(window, fold.deadlines.keys(), fresh.deadlines.keys(), known_to))


async def follow_spans(store: EventStore) -> int:
    """Bring the kept spans up to the log's head: forget those folded before the last
    RecordDestroyed (or of another size), fold each span the head has passed that the table
    lacks, and hold them all in this process's memory. How many were folded."""
    kept = await _kept_spans(store)
    head, _ = await store.head()
    async with store.acquire() as conn:
        await conn.execute(FORGET_SPANS, kept.last_destroyed, SPAN, rules.FOLD_FORMAT)
        kept_ends = await conn.fetch(SPAN_ENDS_KEPT, kept.last_destroyed, SPAN, rules.FOLD_FORMAT)
    have = {row["span_end"] for row in kept_ends}
    folded = 0
    for end in range(SPAN, head + 1, SPAN):
        if end not in have:
            await _fold_span(store, kept, end)
            folded += 1
    # Read into this process's memory too, and folded together: the first report after a start
    # finds them there.
    await _read_spans(store, kept, range(SPAN, head + 1, SPAN))
    kept.merge(head)
    return folded


async def ofsted_fostering(store: EventStore, year: int, as_of: datetime) -> bytes:
    """Ofsted's annual fostering data collection for `year` as the agency knew it at `as_of` (CSV)."""
    # A destroyed record's personal dates load as None and its text as the destruction marker.
    events = [(load(e), e.occurred_at) for e in await _return_sources(store, rules.OFSTED_SOURCES, as_of)]
    return rules.ofsted_fostering_csv(events, year, as_of)


async def ssda903(store: EventStore, year: int, as_of: datetime) -> dict[str, list[dict[str, str]]]:
    """The SSDA903 return's tables for collection year `year` as the agency knew them at `as_of`."""
    events = [load(e) for e in await _return_sources(store, rules.SSDA903_SOURCES, as_of)]
    return rules.ssda903_tables(events, year)


async def _return_sources(store: EventStore, sources: Sequence[type[Event]], as_of: datetime) -> list[RecordedEvent]:
    """The events a statutory return is built from, as recorded by `as_of`; their chronology lines
    are left sealed (no return reads them)."""
    _aware(as_of)
    wanted = EventFilter(types=[c.event_type for c in sources], as_of=as_of, summaries=False)
    found: list[RecordedEvent] = []
    async for page in store.iterate(wanted, chunk=PAGE):
        found.extend(page)
    return found


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
    """Entries about the month recorded after its close (and by as_of). Only the first
    LATE_ENTRIES_LISTED are listed, so only they are opened (the rest are counted by type)."""
    start, end = rules.month_bounds(reading.month)
    late = EventFilter(
        occurred_from=start,
        occurred_to=end - TICK,
        recorded_from=reading.close + TICK,
        recorded_to=reading.as_of,
        summaries=False,
        opened=False,
    )
    found = [e async for page in store.iterate(late, chunk=LATE_PAGE) for e in page]
    first = replace(late, limit=rules.LATE_ENTRIES_LISTED, summaries=True, opened=True)
    listed = {e.position: e for e in await store.read(first)}
    return [
        rules.LateEntry(
            position=e.position,
            event_id=str(e.event_id),
            type=e.type,
            occurred_at=rules.iso(e.occurred_at),
            recorded_at=rules.iso(e.recorded_at),
            summary=listed[e.position].metadata.get("summary") if e.position in listed else None,
        )
        for e in found
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
    facts = await load_facts(store, reading.as_of, reading.log["position"], rules.report_window(reading))
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
