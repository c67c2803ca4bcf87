"""`carelog retention run`: a child's record destroyed at the end of its retention period, and
everything else still working; a restored copy of the log cannot bring it back."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest
import structlog
from fastapi import FastAPI
from sqlalchemy import text

from services.app import all_projectors
from services.retention.destroy import due, run
from shared.auth import Role
from shared.calendar import local_date
from shared.clock import ManualClock
from shared.eventstore import EventStore, ProjectorRunner, record_to_event, verify_chain
from shared.eventstore.shredding import KeyRing, readable
from shared.logs import configure_logging
from shared.practice import RetentionPractice
from shared.progress import CommandProgress
from tests.builders import post
from tests.conftest import AuthHeaders, settle
from tests.foundation.test_progress import Terminal
from tests.foundation.test_shredding import CHILD_VALUES
from tests.investigations.conftest import child_history

SIBLING_VALUES = ["Jamie O'Brien-Nowak", "Jamie showed me his football trophies."]
# Her words and her date of birth (sealed like them: a date of birth is personal).
HER_VALUES = [*CHILD_VALUES, "2012-05-14"]
MARKER = "under child-75th-birthday]"


def plain(response: httpx.Response) -> str:
    assert response.status_code == 200, (response.request.url, response.text)
    return (
        response.text if "html" in response.headers["content-type"] else json.dumps(response.json(), ensure_ascii=False)
    )


async def sibling(client: httpx.AsyncClient, app: FastAPI, headers: dict[str, str], household_id: str) -> str:
    """Her brother, placed in the same household, with a visit of his own."""
    child = await post(
        client,
        headers,
        "/v1/children",
        {
            "name": SIBLING_VALUES[0],
            "date_of_birth": "2014-02-03",
            "legal_status": "section_31_care_order",
            "placing_authority": "West Northamptonshire Council",
            "social_worker_id": "sw-ada",
        },
    )
    cid = child["child_id"]
    body = {"child_id": cid, "household_id": household_id, "start_date": "2026-09-01", "placement_type": "short_term"}
    await post(client, headers, "/v1/placements", body)
    visit = {
        "occurred_at": "2026-10-11T10:00:00+00:00",
        "visitor_id": "sw-ada",
        "visitor_role": "child_social_worker",
        "kind": "statutory",
        "child_seen": True,
        "seen_alone": True,
        "bedroom_seen": True,
        "child_views": "Wants to stay with his sister.",
        "narrative": SIBLING_VALUES[1],
    }
    await post(client, headers, f"/v1/children/{cid}/visits", visit)
    await settle(app)
    return str(cid)


async def every_table(app: FastAPI, owner_engine: Any) -> str:
    """Every row of every table but the keys, as text (the raw log included)."""
    async with owner_engine.connect() as conn:
        tables = (
            await conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename NOT IN ('alembic_version', 'subject_keys') ORDER BY 1"
                )
            )
        ).scalars()
        out = []
        for table in list(tables):
            # Bytes (the answers kept for Idempotency-Key retries) searched as the text they hold.
            row = "t::text || coalesce(convert_from(t.body, 'UTF8'), '')" if table == "idempotency_keys" else "t::text"
            rows = (await conn.execute(text(f"SELECT {row} FROM {table} t"))).scalars()
            out.extend(f"{table}: {r}" for r in rows)
    return "\n".join(out)


async def reads(client: httpx.AsyncClient, headers: dict[str, str], inspector: dict[str, str], cid: str) -> str:
    """Every API read of a child: details, chronology, export, health, the inspector's page."""
    found = []
    for url in (f"/v1/children/{cid}", f"/v1/children/{cid}/chronology", f"/v1/children/{cid}/export"):
        found.append(plain(await client.get(url, headers=headers)))
    found.append(plain(await client.get(f"/inspect/children/{cid}", headers=inspector)))
    return "\n".join(found)


def leaked(values: list[str], body: str) -> list[str]:
    return [v for v in values if v in body or json.dumps(v)[1:-1] in body or v.replace("'", "&#x27;") in body]


@pytest.fixture
def server_log() -> Iterator[io.BytesIO]:
    """Every line the in-process server logs during the test (debug and up), as it would write them."""
    root = logging.getLogger()
    handlers, level = root.handlers, root.level
    lines = io.BytesIO()
    stream = io.TextIOWrapper(lines, encoding="utf-8", write_through=True)
    configure_logging("debug", "json", stream=stream)
    # Loggers bound during the test must not keep this stream once it is gone.
    structlog.configure(cache_logger_on_first_use=False)
    try:
        yield lines
    finally:
        root.handlers, root.level = handlers, level
        structlog.reset_defaults()
        stream.detach()


async def test_a_destroyed_child_leaves_nothing_readable_and_everything_else_working(
    client: httpx.AsyncClient,
    app: FastAPI,
    auth: AuthHeaders,
    clock: ManualClock,
    owner_engine: Any,
    server_log: io.BytesIO,
) -> None:
    rm = auth(Role.REGISTERED_MANAGER, subject="rm-1")
    inspector = auth(Role.INSPECTOR, subject="inspector-1")
    story = await child_history(client, app, rm)
    cid, hid = story["child_id"], story["household_id"]
    brother = await sibling(client, app, rm, hid)
    # An answer kept for an Idempotency-Key retry, naming her (the chronology line of her words).
    words = {"occurred_at": "2026-11-21T10:00:00+00:00", "words": "Kingsthorpe College is OK.", "how": "spoken"}
    kept = await client.post(f"/v1/children/{cid}/statements", json=words, headers={**rm, "Idempotency-Key": "k-1"})
    assert kept.status_code == 201, kept.text
    kpis_before = plain(await client.get("/v1/reports/kpis", params={"month": "2026-10"}, headers=rm))
    async with owner_engine.begin() as conn:  # a backup of the log taken before the destruction
        await conn.execute(text("DROP TABLE IF EXISTS events_backup"))
        await conn.execute(text("CREATE TABLE events_backup AS SELECT * FROM events"))
    store: EventStore = app.state.store

    # Nothing is due while she is young; a run destroys nothing.
    nothing = await run(store, all_projectors(app.state.settings), local_date(clock.now()), actor="t", dry_run=False)
    assert nothing.records == [] and nothing.access_log is None
    # Past her 75th birthday (14 May 2087): the dry run lists her and destroys nothing.
    clock.advance(date(2087, 5, 20) - local_date(clock.now()))
    today = local_date(clock.now())
    listed = (await run(store, all_projectors(app.state.settings), today, actor="t", dry_run=True)).records
    assert [str(r.subject_id) for r in listed] == [cid]
    assert CHILD_VALUES[0] in plain(await client.get(f"/v1/children/{cid}/export", headers=rm))
    # A legal hold keeps it; lifted, the run destroys it.
    hold = await post(
        client,
        rm,
        "/v1/retention/holds",
        {"subject_kind": "child", "subject_id": cid, "grounds": "ombudsman", "reason": "Complaint to the LGSCO"},
    )
    assert await due(store, today) == []
    await post(client, rm, f"/v1/retention/holds/{hold['hold_id']}/lift", {"reason": "LGSCO closed the case"})
    await settle(app)
    # The access log kept as the agency's policy says (100 years here): only reads of her go.
    assert (await client.get(f"/v1/children/{brother}", headers=rm)).status_code == 200
    policy = RetentionPractice(access_log_years=100)
    screen = Terminal()  # as `carelog retention run` shows it on a terminal
    with CommandProgress(screen) as progress:
        projectors = all_projectors(app.state.settings)
        outcome = await run(store, projectors, today, actor="rm-1", dry_run=False, practice=policy, progress=progress)
    assert [str(r.subject_id) for r in outcome.records] == [cid]
    assert "destroying keys" in screen.getvalue() and "rebuilding projections" in screen.getvalue()
    assert outcome.access_log is not None and outcome.access_log.rows_past_policy == 0
    assert outcome.access_log.rows_of_destroyed_records > 0
    await settle(app)
    async with owner_engine.connect() as conn:
        named = dict((await conn.execute(text("SELECT child_id::text, count(*) FROM access_log GROUP BY 1"))).all())
    assert cid not in named and named[brother] > 0

    assert (await verify_chain(app.state.engine)).ok
    record = await reads(client, rm, inspector, cid)
    assert leaked(HER_VALUES, record) == []
    assert MARKER in record
    # Her brother's record, in the same household: his own words read, none of hers.
    his = await reads(client, rm, inspector, brother)
    assert leaked(HER_VALUES, his) == [] and leaked(SIBLING_VALUES, his) == SIBLING_VALUES
    feed = plain(await client.get("/v1/events", params={"limit": 1000}, headers=inspector))
    assert leaked(HER_VALUES, feed) == [] and "retention.RecordDestroyed" in feed
    assert "retention.AccessLogExpired" in feed
    # The KPIs of a month she was in care still compute, to the same figures.
    assert plain(await client.get("/v1/reports/kpis", params={"month": "2026-10"}, headers=rm)) == kpis_before
    # Every projection replays, and no table (nor the raw log) holds anything of hers.
    await ProjectorRunner(app.state.engine, all_projectors(app.state.settings)).replay()
    tables = await every_table(app, owner_engine)
    assert leaked(HER_VALUES, tables) == []
    assert (await client.get(f"/v1/retention/records/child/{cid}", headers=rm)).json()["destroyed_on"] == str(today)
    # A second run finds nothing to do.
    again = await run(store, all_projectors(app.state.settings), today, actor="t", dry_run=False, practice=policy)
    assert again.records == [] and again.staff == []

    # The backup taken before the destruction, restored, still cannot be read: its keys are gone.
    async with owner_engine.connect() as conn:
        driver: Any = (await conn.get_raw_connection()).driver_connection
        rows = await driver.fetch("SELECT * FROM events_backup ORDER BY position")
        restored = await readable(KeyRing(store.keys.wrapper), driver, [record_to_event(r) for r in rows])
        await conn.execute(text("DROP TABLE events_backup"))
        await conn.commit()
    assert restored and restored[-1].type != "retention.RecordDestroyed"
    text_of = json.dumps([e.as_json() for e in restored], ensure_ascii=False)
    assert leaked(HER_VALUES, text_of) == [] and MARKER in text_of
    # Nor did any line the server logged, from her registration to the restore.
    logged = server_log.getvalue().decode()
    assert leaked(HER_VALUES, logged) == [] and '"event"' in logged
    assert leaked(SIBLING_VALUES, text_of) == SIBLING_VALUES
