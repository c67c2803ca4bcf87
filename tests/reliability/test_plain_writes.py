"""Writers who send no If-Match, on few children, while the services react: 16 writers record
visits over 5 placed children through one `carelog serve` process, with incidents mixed in (the
carers service reacts with an agenda item on the household, notifications with a Schedule 7
notification) and supervisions of the households racing those reactions. Every write lands (201,
never a 409), once; some are sent again with their Idempotency-Key and replayed."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from shared.auth import Role
from shared.db import create_engine
from tests.reliability.support import (
    Server,
    command_retries,
    log_facts,
    percentile,
    record,
    register_children,
    replay_and_compare,
    server_client,
    start_server,
    token,
    verify_chain,
    wait_projections_at_head,
)

pytestmark = pytest.mark.reliability

WRITERS = 16
CHILDREN = 5
TERMS = {"age_min": 0, "age_max": 17, "max_children": 3, "placement_types": ["short_term", "long_term"]}
INCIDENT_EVERY = 10  # after every tenth visit of a writer, an incident ...
SUPERVISION_EVERY = 10  # ... and a supervision of a household
RESEND_EVERY = 8  # one request in eight is sent again with its Idempotency-Key


async def _post(client: httpx.AsyncClient, headers: dict[str, str], path: str, body: dict[str, Any]) -> Any:
    response = await client.post(path, json=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 201, response.text
    return response.json()


async def _approved_household(client: httpx.AsyncClient, headers: dict[str, str], n: int) -> str:
    hid = (await _post(client, headers, "/v1/households", {"local_authority": "E06000062", "name": f"Household {n}"}))[
        "household_id"
    ]
    carer = await _post(
        client,
        headers,
        f"/v1/households/{hid}/members",
        {"name": f"Carer {n}", "role": "applicant", "date_of_birth": "1980-01-01"},
    )
    await _post(
        client,
        headers,
        f"/v1/households/{hid}/members/{carer['member_id']}/checks",
        {"kind": "dbs_enhanced", "result": "clear", "checked_at": "2026-10-01"},
    )
    await _post(
        client,
        headers,
        f"/v1/households/{hid}/approval",
        {"decision": "approved", "terms": TERMS, "agreement_signed_on": "2026-10-01"},
    )
    return str(hid)


async def test_plain_writers_and_the_services_reactions_all_land_once(
    fresh_database_url: str, server_factory: Callable[..., Server], full_size: bool
) -> None:
    per_writer = 1000 if full_size else 50
    server = server_factory(fresh_database_url)
    await start_server(server)
    auth = token(Role.REGISTERED_MANAGER, "rm-plain")
    async with server_client(server.url, 120, connections=WRITERS + 4) as client:
        households = [await _approved_household(client, auth, n) for n in range(2)]
        children = await register_children(client, auth, CHILDREN)
        home = {child: households[n % 2] for n, child in enumerate(children)}
        for child, hid in home.items():
            await _post(
                client,
                auth,
                "/v1/placements",
                {"child_id": child, "household_id": hid, "start_date": "2026-11-01", "placement_type": "short_term"},
            )
        await wait_projections_at_head(fresh_database_url)
        before = await command_retries(client)
        base = datetime.now(UTC) - timedelta(days=2)

        acknowledged: dict[str, list[str]] = {"visit": [], "incident": [], "supervision": []}
        statuses: Counter[int] = Counter()
        refusals: Counter[str] = Counter()
        latencies: list[float] = []
        replays = {"sent": 0, "replayed_identical": 0}

        def plan(w: int) -> list[tuple[str, str, dict[str, Any]]]:
            """The writer's requests: its visits, an incident after every tenth and a supervision of
            a household after every tenth (offset), on the children in turn."""
            out = []
            for j in range(per_writer):
                n = w * per_writer + j
                child = children[n % CHILDREN]
                at = (base + timedelta(seconds=n)).isoformat()
                visit = {
                    "occurred_at": at,
                    "visitor_id": f"sw-{w}",
                    "visitor_role": "child_social_worker",
                    "kind": "statutory",
                    "child_seen": True,
                    "seen_alone": True,
                    "child_views": f"Views {n}",
                    "narrative": f"Visit {n}: spoke with the child alone.",
                }
                out.append(("visit", f"/v1/children/{child}/visits", visit))
                if j % INCIDENT_EVERY == INCIDENT_EVERY - 1:
                    # Police called: carers puts it on the household's supervision agenda,
                    # notifications raises Schedule 7 row 7 (the child is placed).
                    incident = {
                        "category": "other",
                        "occurred_at": at,
                        "narrative": f"Incident {n}",
                        "police_called": True,
                    }
                    out.append(("incident", f"/v1/children/{child}/incidents", incident))
                if j % SUPERVISION_EVERY == SUPERVISION_EVERY // 2:
                    placed_there = [c for c in home if home[c] == home[child]]  # each accounted for (seen)
                    supervision = {
                        "occurred_at": at,
                        "narrative": f"Supervision {n}: talked about the placements.",
                        "children_seen": placed_there,
                    }
                    out.append(("supervision", f"/v1/households/{home[child]}/supervisions", supervision))
            return out

        async def writer(w: int) -> None:
            for i, (kind, path, body) in enumerate(plan(w)):
                headers = {**auth, "Idempotency-Key": f"plain-{w}-{i}-{uuid.uuid4()}"}  # and no If-Match
                started = time.perf_counter()
                response = await client.post(path, json=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] += 1
                if response.status_code != 201:
                    refusals[f"{kind} {response.status_code} {response.json().get('type', '').rsplit('/', 1)[-1]}"] += 1
                    continue  # counted; the assertions below fail the run
                answer = response.json()
                acknowledged[kind].append(answer["supervision_id"] if kind == "supervision" else answer["event_id"])
                if i % RESEND_EVERY == RESEND_EVERY - 1:
                    # The answer was lost on the way: the client sends the request again.
                    again = await client.post(path, json=body, headers=headers)
                    replays["sent"] += 1
                    assert again.status_code == 201 and again.headers.get("idempotent-replayed") == "true"
                    assert again.content == response.content
                    replays["replayed_identical"] += 1

        started = time.monotonic()
        async with asyncio.timeout(3600 if full_size else 300):
            await asyncio.gather(*(writer(w) for w in range(WRITERS)))
        elapsed = time.monotonic() - started
        await wait_projections_at_head(fresh_database_url)
        after = await command_retries(client)
    server.stop()

    facts = await log_facts(fresh_database_url)
    engine = create_engine(fresh_database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            supervisions = Counter(
                r[0]
                for r in await conn.execute(
                    text("SELECT data->>'supervision_id' FROM events WHERE type = 'carers.SupervisionRecorded'")
                )
            )
            agenda_causes = Counter(
                r[0]
                for r in await conn.execute(
                    text("SELECT data->>'incident_id' FROM events WHERE type = 'carers.SupervisionAgendaItemAdded'")
                )
            )
    finally:
        await engine.dispose()
    sent = sum(len(ids) for ids in acknowledged.values())
    lost = [e for e in acknowledged["visit"] + acknowledged["incident"] if facts.event_ids[e] == 0]
    lost += [s for s in acknowledged["supervision"] if supervisions[s] == 0]
    doubled = [e for e in acknowledged["visit"] + acknowledged["incident"] if facts.event_ids[e] > 1]
    doubled += [s for s, n in supervisions.items() if n > 1]
    retried = {s: after.get(s, 0) - before.get(s, 0) for s in after}
    verified = verify_chain(server.env)
    replay = await replay_and_compare(fresh_database_url, server.env)
    figures = {
        "writers": WRITERS,
        "children": CHILDREN,
        "visits_per_writer": per_writer,
        "requests": sent,
        "statuses": dict(statuses),
        "refusals": dict(refusals),
        "visits": len(acknowledged["visit"]),
        "incidents": len(acknowledged["incident"]),
        "supervisions": len(acknowledged["supervision"]),
        "stored_visits": facts.types["visits.VisitRecorded"],
        "agenda_items_by_reaction": facts.types["carers.SupervisionAgendaItemAdded"],
        "notifications_by_reaction": facts.types["notifications.NotificationRaised"],
        "lost": len(lost),
        "duplicated": len(doubled) + facts.duplicates,
        "gaps": facts.gaps,
        "head": facts.head,
        "server_retries": retried,
        "resent_with_key": replays["sent"],
        "replayed_identical": replays["replayed_identical"],
        "seconds": round(elapsed, 1),
        "writes_per_second": round(sent / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "replay_rows": replay.rows,
        "replay_differences": replay.differences,
        "verify": verified,
    }
    record("plain_writes", figures)

    assert statuses == Counter({201: sent}), (refusals, server.errors())  # no 409, no 412, nothing else
    assert len(acknowledged["visit"]) == WRITERS * per_writer
    assert lost == [] and doubled == [] and facts.duplicates == 0
    assert facts.types["visits.VisitRecorded"] == len(acknowledged["visit"])  # nothing unacknowledged
    assert facts.types["visits.IncidentRecorded"] == len(acknowledged["incident"])
    assert sum(supervisions.values()) == len(acknowledged["supervision"])
    # The reactions ran: one agenda item per incident, on the household of the child.
    assert len(agenda_causes) == len(acknowledged["incident"]) and set(agenda_causes.values()) == {1}
    assert facts.types["notifications.NotificationRaised"] >= len(acknowledged["incident"])
    assert sum(retried.values()) > 0  # the writers really raced: the server decided again
    assert replays["replayed_identical"] == replays["sent"] > 0
    assert facts.gaps == 0 and facts.streams_contiguous
    assert verified["ok"] is True
    assert replay.differences == 0, replay.detail
