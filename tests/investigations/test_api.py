"""Subject-access export, monthly KPIs and the inspector's pages, through the HTTP API."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from services.investigations.rules import KPIS
from shared.auth import Role
from tests.builders import post
from tests.carers.helpers import household
from tests.conftest import AuthHeaders, require
from tests.investigations.conftest import child_history

MANAGER = Role.REGISTERED_MANAGER


async def run(args: list[str]) -> subprocess.CompletedProcess[bytes]:
    return await asyncio.to_thread(subprocess.run, args, check=True, capture_output=True, timeout=120)


async def all_events_of(client: httpx.AsyncClient, headers: dict[str, str], child_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        page = (
            await client.get(
                "/v1/events", params={"child_id": child_id, "after": after, "limit": 1000}, headers=headers
            )
        ).json()
        events += page["events"]
        if page["next_after"] is None:
            return events
        after = page["next_after"]


async def head_recorded_at(app: FastAPI) -> str:
    async with app.state.engine.connect() as conn:
        value = (await conn.execute(text("SELECT max(recorded_at) FROM events"))).scalar_one()
    return str(value.isoformat())


async def test_export_json_holds_every_event_amendments_beside_and_third_parties_flagged(
    fclient: httpx.AsyncClient, fresh_app: FastAPI, auth: AuthHeaders
) -> None:
    manager = auth(MANAGER, subject="rm-1")
    story = await child_history(fclient, fresh_app, manager)
    cid = story["child_id"]
    response = await fclient.get(f"/v1/children/{cid}/export", headers=manager)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    export = response.json()
    log = await all_events_of(fclient, auth(Role.INSPECTOR), cid)
    assert {e["event_id"] for e in export["entries"]} == {e["event_id"] for e in log}
    assert export["counts"]["entries"] == len(log) > 10
    assert export["child"]["name"] == "Zoë Łucja O'Brien-Nowak"
    # in the order things happened
    assert [e["occurred_at"] for e in export["entries"]] == sorted(e["occurred_at"] for e in export["entries"])
    by_id = {e["event_id"]: e for e in export["entries"]}
    corrected = by_id[story["visit_event_ids"][0]]
    assert [a["event_id"] for a in corrected["amendments"]] == [story["amendment_event_id"]]
    assert corrected["amendments"][0]["correction"].startswith("She talked about Kingsthorpe")
    assert by_id[story["amendment_event_id"]]["amends_event_id"] == corrected["event_id"]
    assert by_id[story["visit_event_ids"][1]]["amendments"] == []
    flagged = {e["type"] for e in export["entries"] if e["redaction_review"]}
    assert {"visits.ContactRecorded", "visits.StatementRecorded", "notifications.NotificationRaised"} <= flagged
    assert "visits.VisitRecorded" not in flagged
    kinds = {e["type"] for e in export["entries"]}
    assert {"notifications.EscalationRaised", "visits.IncidentRecorded", "carers.PlacementStarted"} <= kinds
    assert export["years"] == {"2026": len(log)}


async def test_export_pdf_renders_with_headed_pages(
    fclient: httpx.AsyncClient, fresh_app: FastAPI, auth: AuthHeaders, tmp_path: Path
) -> None:
    manager = auth(MANAGER, subject="rm-1")
    story = await child_history(fclient, fresh_app, manager)
    response = await fclient.get(f"/v1/children/{story['child_id']}/export", params={"format": "pdf"}, headers=manager)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF")
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") + pdf.count(b"/Type /Page>") >= 2 or (
        b"/Count " in pdf
    )
    if shutil.which("pdftotext"):
        (tmp_path / "x.pdf").write_bytes(pdf)
        await run(["pdftotext", "-layout", str(tmp_path / "x.pdf"), str(tmp_path / "x.txt")])
        words = (tmp_path / "x.txt").read_text()
        assert "Zoë Łucja O'Brien-Nowak" in words
        assert "Contents by year" in words and "2026" in words
        pages = words.count("\f")
        assert pages >= 2 and f"Page 1 of {pages}" in words
        assert "Amended" in words and "Review before disclosure" in words


async def test_export_is_an_audited_read_refused_to_strangers(
    fclient: httpx.AsyncClient, fresh_app: FastAPI, auth: AuthHeaders
) -> None:
    manager = auth(MANAGER, subject="rm-1")
    story = await child_history(fclient, fresh_app, manager)
    url = f"/v1/children/{story['child_id']}/export"
    assert (await fclient.get(url)).status_code == 401
    assert (await fclient.get(url, headers=auth(Role.CARER, subject="c-1"))).status_code == 404
    assert (await fclient.get(url, headers=auth(Role.CHILD_SOCIAL_WORKER, subject="sw-other"))).status_code == 403
    assert (await fclient.get(url, headers=auth(Role.CHILD_SOCIAL_WORKER, subject="sw-ada"))).status_code == 200
    assert (await fclient.get(url, headers=auth(Role.INSPECTOR, subject="hmi-1"))).status_code == 200
    log = (await fclient.get(f"/v1/children/{story['child_id']}/access-log", headers=manager)).json()
    readers = {(e["actor_id"], e["route"]) for e in log["entries"]}
    assert ("hmi-1", "/v1/children/{child_id}/export") in readers
    unknown = "/v1/children/00000000-0000-4000-8000-000000000000/export"
    assert (await fclient.get(unknown, headers=manager)).status_code == 404


async def test_kpi_report_is_byte_identical_on_rerun_and_explains_late_entries(
    fclient: httpx.AsyncClient, fresh_app: FastAPI, auth: AuthHeaders
) -> None:
    manager = auth(MANAGER, subject="rm-1")
    story = await child_history(fclient, fresh_app, manager)
    t1 = await head_recorded_at(fresh_app)
    first = await fclient.get("/v1/reports/kpis", params={"month": "2026-10", "as_of": t1}, headers=manager)
    assert first.status_code == 200, first.text
    report = first.json()
    assert report["as_of"] == t1.replace("+00:00", "Z") and report["provisional"] is False
    k = report["kpis"]
    assert k["statutory_visits_within_6_weeks"]["value"] == 100.0
    assert k["visits_seen_alone"]["value"] == 0.0  # the one October visit: not seen alone
    assert k["visits_child_views_recorded"]["value"] == 100.0
    assert report["per_worker"]["sw-ada"]["children_in_care"] == 1
    assert report["per_household"][story["household_id"]]["children_placed"] == 1
    # Everything here was recorded after October closed: all of it is a late entry, and explained.
    late = report["late_entries"]
    assert late["count"] >= 3 and story["visit_event_ids"][1] in {e["event_id"] for e in late["entries"]}
    assert late["changed"]["statutory_visits_within_6_weeks"] == {"at_close": None, "as_of": 100.0}
    default = await fclient.get("/v1/reports/kpis", params={"month": "2026-10"}, headers=manager)
    assert default.json()["official"] is True and default.json()["kpis"]["visits_seen_alone"]["value"] is None

    # A visit in October recorded a minute later: the report as of t1 does not move; a later one does,
    # and says why.
    fresh_app.state.clock.advance(timedelta(minutes=1))
    late_visit = await post(
        fclient,
        manager,
        f"/v1/children/{story['child_id']}/visits",
        {
            "occurred_at": "2026-10-28T10:00:00+00:00",
            "visitor_id": "sw-ada",
            "visitor_role": "child_social_worker",
            "kind": "statutory",
            "child_seen": True,
            "seen_alone": True,
            "child_views": "Fine.",
            "narrative": "Late record of a visit.",
        },
    )
    again = await fclient.get("/v1/reports/kpis", params={"month": "2026-10", "as_of": t1}, headers=manager)
    assert again.content == first.content
    assert (await fclient.get("/v1/reports/kpis", params={"month": "2026-10"}, headers=manager)).content == (
        default.content
    )
    t2 = await head_recorded_at(fresh_app)
    later = (await fclient.get("/v1/reports/kpis", params={"month": "2026-10", "as_of": t2}, headers=manager)).json()
    assert later["kpis"]["visits_seen_alone"]["value"] == 50.0
    assert late_visit["event_id"] in {e["event_id"] for e in later["late_entries"]["entries"]}
    assert later["log"]["position"] > report["log"]["position"]


async def test_a_household_drops_out_of_the_months_after_its_approval_ended(
    fclient: httpx.AsyncClient, fresh_app: FastAPI, auth: AuthHeaders
) -> None:
    manager = auth(MANAGER, subject="rm-1")
    hid = (await household(fclient, manager, decided_at="2026-09-01T10:00:00+00:00"))["household_id"]
    ended = {"reason": "Retired from fostering.", "ended_at": "2026-10-10T12:00:00+00:00"}
    await post(fclient, manager, f"/v1/households/{hid}/approval/end", ended)
    as_of = await head_recorded_at(fresh_app)

    async def listed(month: str) -> bool:
        response = await fclient.get("/v1/reports/kpis", params={"month": month, "as_of": as_of}, headers=manager)
        assert response.status_code == 200, response.text
        return hid in response.json()["per_household"]

    assert await listed("2026-09") and await listed("2026-10")  # fostering, then leaving in October
    assert not await listed("2026-11")


async def test_kpi_report_access_and_validation(fclient: httpx.AsyncClient, auth: AuthHeaders) -> None:
    url = "/v1/reports/kpis"
    assert (await fclient.get(url, params={"month": "2026-10"}, headers=auth(Role.INSPECTOR))).status_code == 200
    assert (await fclient.get(url, params={"month": "2026-10"}, headers=auth(Role.MANAGER))).status_code == 200
    refused = await fclient.get(url, params={"month": "2026-10"}, headers=auth(Role.CHILD_SOCIAL_WORKER))
    assert refused.status_code == 403
    assert (await fclient.get(url, params={"month": "2026-10"}, headers=auth(Role.CARER))).status_code == 404
    assert (await fclient.get(url, params={"month": "2026-13"}, headers=auth(MANAGER))).status_code == 422
    naive = await fclient.get(url, params={"month": "2026-10", "as_of": "2026-11-01T00:00:00"}, headers=auth(MANAGER))
    assert naive.status_code == 422
    # A month not yet closed is provisional, capped at the last event recorded.
    current = (await fclient.get(url, params={"month": "2027-01"}, headers=auth(MANAGER))).json()
    assert current["provisional"] is True and current["official"] is False


async def test_inspector_pages(fclient: httpx.AsyncClient, fresh_app: FastAPI, auth: AuthHeaders) -> None:
    manager = auth(MANAGER, subject="rm-1")
    story = await child_history(fclient, fresh_app, manager)
    inspector = auth(Role.INSPECTOR, subject="hmi-1")
    page = await fclient.get(f"/inspect/children/{story['child_id']}", headers=inspector)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    body = page.text
    assert "Zoë Łucja O&#x27;Brien-Nowak" in body
    for marker in ('class="incident"', 'class="notification"', 'class="escalation"', 'class="amendment"'):
        assert marker in body
    assert "Kingsthorpe College" in body and "<script" not in body
    kpis = await fclient.get("/inspect/kpis", params={"to": "2026-11", "months": 4}, headers=inspector)
    assert kpis.status_code == 200
    assert kpis.text.count("<svg") == len(KPIS) and "2026-08" in kpis.text and "2026-11*" in kpis.text
    assert "Children in care with a statutory visit within the last 6 weeks" in kpis.text
    assert (await fclient.get("/inspect/kpis")).status_code == 401
    carer = auth(Role.CARER, subject="c-9")
    assert (await fclient.get(f"/inspect/children/{story['child_id']}", headers=carer)).status_code == 404
    assert (await fclient.get("/inspect/kpis", headers=auth(Role.CHILD_SOCIAL_WORKER))).status_code == 403


CHROMIUM = "/usr/bin/chromium"


async def test_inspector_pages_render_in_a_headless_browser(
    fclient: httpx.AsyncClient, fresh_app: FastAPI, auth: AuthHeaders, tmp_path: Path
) -> None:
    require(shutil.which(CHROMIUM) is not None, "Debian's chromium")
    manager = auth(MANAGER, subject="rm-1")
    story = await child_history(fclient, fresh_app, manager)
    inspector = auth(Role.INSPECTOR, subject="hmi-1")
    for name, url in (
        ("child", f"/inspect/children/{story['child_id']}"),
        ("kpis", "/inspect/kpis?to=2026-11&months=6"),
    ):
        html_file = tmp_path / f"{name}.html"
        html_file.write_text((await fclient.get(url, headers=inspector)).text)
        png = tmp_path / f"{name}.png"
        await run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--screenshot={png}",
                "--window-size=1200,1400",
                html_file.as_uri(),
            ]
        )
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
        keep = os.environ.get("CARELOG_SCREENSHOT_DIR")
        if keep:
            shutil.copy(png, Path(keep) / png.name)


async def carelog(args: list[str], database_url: str) -> subprocess.CompletedProcess[bytes]:
    """The `carelog` command as a separate process, against the test's database (owner URL)."""
    env = {**os.environ, "CARELOG_DATABASE_URL": database_url}
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "services.cli", *args],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )


async def test_cli_report_and_export_match_the_api(
    fclient: httpx.AsyncClient, fresh_app: FastAPI, auth: AuthHeaders, fresh_database_url: str, tmp_path: Path
) -> None:
    manager = auth(MANAGER, subject="rm-1")
    story = await child_history(fclient, fresh_app, manager)
    t1 = await head_recorded_at(fresh_app)
    api = await fclient.get("/v1/reports/kpis", params={"month": "2026-10", "as_of": t1}, headers=manager)
    done = await carelog(
        ["report", "--month", "2026-10", "--as-of", t1, "--out", str(tmp_path / "r.json")], fresh_database_url
    )
    assert done.returncode == 0, done.stderr.decode()
    assert (tmp_path / "r.json").read_bytes() == api.content
    done = await carelog(
        ["export", "--child", story["child_id"], "--format", "pdf", "--out", str(tmp_path / "c.pdf")],
        fresh_database_url,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert (tmp_path / "c.pdf").read_bytes().startswith(b"%PDF")
    done = await carelog(["export", "--child", story["child_id"]], fresh_database_url)
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout)["counts"]["entries"] == len(
        await all_events_of(fclient, auth(Role.INSPECTOR), story["child_id"])
    )
