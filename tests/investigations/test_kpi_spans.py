"""The monthly KPI report as of an instant, read after a restart from the span snapshots kept in
the database (investigations_kpi_spans), is byte for byte the report folded from the whole log:
as of an instant before the first span's end, inside a span, with a span recorded out of position
order, and after a RecordDestroyed (which no snapshot folded before it may outlive)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from bench.generator import load_bulk
from services.app import create_app
from services.investigations import projections as investigations
from services.retention.destroy import destroy
from services.retention.events import SubjectKind
from services.retention.projections import RetentionRow
from shared.auth import Role
from shared.clock import ManualClock
from shared.db import as_role, create_engine
from shared.eventstore import EventFilter
from shared.eventstore.shredding import DESTROYED, PREFIX
from shared.settings import Settings
from tests.conftest import AuthHeaders, settle

SPAN = 500  # small, so the log below has several spans
MONTHS = ("2026-01", "2026-06", "2026-09", "2026-10", "2026-11")


@asynccontextmanager
async def serving(url: str, clock: ManualClock, settings: Settings) -> AsyncIterator[FastAPI]:
    """One run of the server (its memory is gone when it stops); the follower is stepped by hand.
    What its reactors append on start is recorded before the instants asked about."""
    application = create_app(settings, database_url=as_role(url), clock=clock, run_workers=False)
    async with application.router.lifespan_context(application):
        await settle(application)
        clock.advance(timedelta(minutes=5))
        yield application


async def owner_execute(url: str, statement: str, *before: str, **params: Any) -> list[Any]:
    """`statement`'s rows, run as the owner after the statements `before`, in one transaction."""
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            for other in before:
                await conn.execute(text(other))
            result = await conn.execute(text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        await engine.dispose()


async def full_fold(app: FastAPI, month: str, at: datetime, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """The report from the whole log and every fact (no span, no window): as computed before
    either."""
    with monkeypatch.context() as m:
        m.setattr(investigations, "SPAN", 10**12)
        m.setattr(investigations.rules, "report_window", lambda _reading: None)
        report = await investigations.kpi_report(app.state.store, month, now=app.state.clock.now(), as_of=at)
    return investigations.canonical(report)


async def reports_over_http(app: FastAPI, headers: dict[str, str], instants: list[datetime]) -> dict[Any, bytes]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    out = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://carelog.test", timeout=60) as client:
        for at in instants:
            for month in MONTHS:
                response = await client.get(
                    "/v1/reports/kpis", params={"month": month, "as_of": at.isoformat()}, headers=headers
                )
                assert response.status_code == 200, response.text
                out[month, at] = response.content
    return out


def refuse_folding(monkeypatch: pytest.MonkeyPatch) -> None:
    async def refused(*_args: Any) -> Any:
        raise AssertionError("a span was folded from the log")

    monkeypatch.setattr(investigations, "_fold_span", refused)


async def test_the_report_from_kept_spans_after_a_restart_is_the_report_from_the_whole_log(
    fresh_database_url: str, clock: ManualClock, settings: Settings, auth: AuthHeaders, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(investigations, "SPAN", SPAN)
    manager = auth(Role.REGISTERED_MANAGER, subject="kpi-manager", ttl=timedelta(days=30))
    url = fresh_database_url
    households: list[uuid.UUID] = []
    instants: list[datetime] = []
    async with serving(url, clock, settings) as app:
        # A log recorded in four loads a quarter of an hour apart, the first ending before the
        # first span's end: each load's last position is inside a span.
        blocks = 0
        for size in (60, 600, 600, 600):
            loaded = await load_bulk(app.state.store, size, first_block=blocks, now=clock.now())
            blocks, households = loaded.blocks, households + loaded.household_ids
            instants.append(clock.now())
            clock.advance(timedelta(minutes=15))
        head, _ = await app.state.store.head()
        ends = [await last(app, at) for at in instants]
        assert ends[0] < SPAN and head > 5 * SPAN and all(p % SPAN for p in ends)

    # A KPI source of the second span recorded after every load (a log recorded out of position
    # order): until then, that span is not all recorded, and the report reads the log after the first.
    late = instants[-1] + timedelta(minutes=1)
    triggers = await owner_execute(
        url, "SELECT tgname FROM pg_trigger WHERE tgrelid = 'events'::regclass AND NOT tgisinternal"
    )
    moved = await owner_execute(
        url,
        "UPDATE events SET recorded_at = :late WHERE position = (SELECT max(position) FROM events "
        "WHERE position <= :end AND type = ANY(:types)) RETURNING position",
        *(f"ALTER TABLE events DISABLE TRIGGER {t.tgname}" for t in triggers),
        late=late,
        end=2 * SPAN,
        types=investigations.KPI_TYPES,
    )
    for t in triggers:
        await owner_execute(url, f"ALTER TABLE events ENABLE ALWAYS TRIGGER {t.tgname}")
    assert SPAN < moved[0].position <= 2 * SPAN
    instants = [instants[0] - timedelta(microseconds=1), *instants, late]

    # The follower folds every span the head has passed, then the server stops.
    async with serving(url, clock, settings) as app:
        head, _ = await app.state.store.head()
        assert await investigations.follow_spans(app.state.store) == head // SPAN
        assert await investigations.follow_spans(app.state.store) == 0
    kept = await owner_execute(url, "SELECT span_end FROM investigations_kpi_spans ORDER BY span_end")
    assert [r.span_end for r in kept] == list(range(SPAN, head + 1, SPAN))

    # Restarted, it reads them (it folds no span from the log) and answers the whole log's bytes.
    async with serving(url, clock, settings) as app:
        with monkeypatch.context() as m:
            refuse_folding(m)
            from_spans = await reports_over_http(app, manager, instants)
        for (month, at), body in from_spans.items():
            assert body == await full_fold(app, month, at, monkeypatch), (month, at)
        assert len(set(from_spans.values())) > len(instants)  # the instants see different logs
        # The late entries listed have their chronology lines opened, as when every one was.
        reading = await investigations._reading(app.state.store, "2026-10", instants[-1], 5.0, clock.now())
        late = await investigations._late_entries(app.state.store, reading)
        assert len(late) > investigations.rules.LATE_ENTRIES_LISTED
        assert late[: investigations.rules.LATE_ENTRIES_LISTED] == await every_late_entry_opened(app, reading)

    # A household's record destroyed: its name reads as destroyed in every report, so no span
    # folded before it may be used, and the follower deletes them.
    household = households[0]
    async with serving(url, clock, settings) as app:
        before = await reports_over_http(app, manager, instants[-1:])
        row = RetentionRow(
            kind=SubjectKind.HOUSEHOLD,
            subject_id=household,
            retain_until=date(2026, 1, 1),
            rule="carer-not-approved",
            source=None,
            held=False,
            holds=[],
            destroyed_on=None,
        )
        clock.advance(timedelta(minutes=1))
        await destroy(app.state.store, row, clock.now().date(), "kpi-test")
    after_destruction = [*instants, clock.now()]
    destroyed_at = await owner_execute(
        url, "SELECT max(position) AS p FROM events WHERE type = 'retention.RecordDestroyed'"
    )
    usable = "SELECT count(*) AS n FROM investigations_kpi_spans WHERE folded_at >= :p"
    assert (await owner_execute(url, usable, p=destroyed_at[0].p))[0].n == 0  # every kept span is too old
    async with serving(url, clock, settings) as app:
        reports = await reports_over_http(app, manager, after_destruction)
        for (month, at), body in reports.items():
            assert body == await full_fold(app, month, at, monkeypatch), (month, at)
        shown = before["2026-09", instants[-1]]
        assert str(household).encode() in shown and DESTROYED.encode() not in shown
        assert DESTROYED.encode() in reports["2026-09", instants[-1]]
        await investigations.follow_spans(app.state.store)
        head, _ = await app.state.store.head()
    # The follower deleted the spans folded before the destruction (and folded them again).
    folded_at = await owner_execute(url, "SELECT min(folded_at) AS oldest, count(*) AS n FROM investigations_kpi_spans")
    assert folded_at[0].oldest >= destroyed_at[0].p and folded_at[0].n == head // SPAN


async def last(app: FastAPI, at: datetime) -> int:
    position, _ = await app.state.store.last_as_of(at)
    return int(position)


async def every_late_entry_opened(app: FastAPI, reading: Any) -> list[Any]:
    """The first late entries listed, read as the report read them before: every one opened."""
    start, end = investigations.rules.month_bounds(reading.month)
    wanted = EventFilter(
        occurred_from=start,
        occurred_to=end - investigations.TICK,
        recorded_from=reading.close + investigations.TICK,
        recorded_to=reading.as_of,
        limit=investigations.rules.LATE_ENTRIES_LISTED,
    )
    found = await app.state.store.read(wanted)
    assert found and all(e.metadata["summary"] and not e.metadata["summary"].startswith(PREFIX) for e in found)
    return [
        investigations.rules.LateEntry(
            position=e.position,
            event_id=str(e.event_id),
            type=e.type,
            occurred_at=investigations.rules.iso(e.occurred_at),
            recorded_at=investigations.rules.iso(e.recorded_at),
            summary=e.metadata.get("summary"),
        )
        for e in found
    ]


async def test_spans_kept_in_another_shape_of_fold_are_folded_again(
    fresh_database_url: str, clock: ManualClock, settings: Settings, auth: AuthHeaders, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(investigations, "SPAN", SPAN)
    manager = auth(Role.REGISTERED_MANAGER, subject="kpi-manager", ttl=timedelta(days=30))
    url = fresh_database_url
    async with serving(url, clock, settings) as app:
        await load_bulk(app.state.store, 1500, now=clock.now())
        head, _ = await app.state.store.head()
        assert await investigations.follow_spans(app.state.store) == head // SPAN
        at = [clock.now()]
        # What the next servers' reactors append on start is recorded after `at`.
        clock.advance(timedelta(minutes=1))
        expected = await reports_over_http(app, manager, at)
    # As an older carelog kept them: another shape, which this one must not read.
    await owner_execute(
        url, "UPDATE investigations_kpi_spans SET format = :old", old=investigations.rules.FOLD_FORMAT - 1
    )
    async with serving(url, clock, settings) as app:
        with monkeypatch.context() as m:
            refuse_folding(m)
            with pytest.raises(AssertionError, match="500"):  # it would fold them from the log
                await reports_over_http(app, manager, at)
        assert await investigations.follow_spans(app.state.store) == head // SPAN  # every one again
        with monkeypatch.context() as m:
            refuse_folding(m)
            assert await reports_over_http(app, manager, at) == expected
    formats = await owner_execute(url, "SELECT DISTINCT format FROM investigations_kpi_spans")
    assert [r.format for r in formats] == [investigations.rules.FOLD_FORMAT]
