"""An inspector signs in to the HTML pages in a real browser: a real OpenID Connect provider
(`oidc-provider` from npm, tests/js/provider.mjs) and Debian's chromium driven by playwright-core
(tests/js/signin.mjs), against a live `carelog serve`. The flow is authorization code with PKCE;
the session cookie it ends in opens the pages, and is refused by the API."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.auth import Role, mint_token
from shared.settings import Settings
from tests.conftest import require
from tests.foundation.test_cli import CARELOG, free_port, wait_ready
from tests.foundation.test_typescript_client import a_child_with_an_incident_overnight

JS = Path(__file__).resolve().parents[1] / "js"
CHROMIUM = "/usr/bin/chromium"
CLIENT_ID, CLIENT_SECRET = "carelog-inspect", "a-test-client-secret"
INSPECTOR = "hmi-ada"


@pytest.fixture
def provider() -> Iterator[tuple[str, int]]:
    """The provider on a port of its own; yields its issuer and the port carelog will listen on."""
    require(shutil.which("node") is not None, "Node")
    require((JS / "node_modules" / "oidc-provider").exists(), "tests/js packages (npm ci --prefix tests/js)")
    issuer, carelog_port = f"http://127.0.0.1:{free_port()}", free_port()
    env = {
        **os.environ,
        "ISSUER": issuer,
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "REDIRECT_URI": f"http://127.0.0.1:{carelog_port}/signin/callback",
        "ACCOUNTS": json.dumps({INSPECTOR: {"role": "inspector"}}),
    }
    process = subprocess.Popen(
        ["node", "provider.mjs"], cwd=JS, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_ready(f"{issuer}/.well-known/openid-configuration", timeout=30, process=process)
        yield issuer, carelog_port
    finally:
        process.terminate()
        process.communicate(timeout=30)


@pytest.fixture
def server(database_url: str, provider: tuple[str, int]) -> Iterator[str]:
    issuer, port = provider
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELOG_")}
    env |= {
        "CARELOG_DATABASE_URL": database_url,
        "CARELOG_LOG_LEVEL": "warning",
        "CARELOG_OIDC_ISSUER": issuer,
        "CARELOG_OIDC_CLIENT_ID": CLIENT_ID,
        "CARELOG_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "CARELOG_OIDC_REDIRECT_URL": f"http://127.0.0.1:{port}/signin/callback",
        "CARELOG_OIDC_SCOPES": "openid carelog",
    }
    process = subprocess.Popen(
        [*CARELOG, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", timeout=120, process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)


def test_an_inspector_signs_in_with_the_agencys_provider_and_reads_the_pages(
    server: str, provider: tuple[str, int], tmp_path: Path
) -> None:
    require(shutil.which(CHROMIUM) is not None, "Debian's chromium")
    require((JS / "node_modules" / "playwright-core").exists(), "tests/js packages (npm ci --prefix tests/js)")
    manager = mint_token(Settings(), role=Role.MANAGER, subject="mgr-duty", ttl=timedelta(hours=1))
    child_id = a_child_with_an_incident_overnight(server, manager)
    env = {
        **os.environ,
        "CARELOG_URL": server,
        "ISSUER": provider[0],
        "CHILD_ID": child_id,
        "LOGIN": INSPECTOR,
        "CHROMIUM": CHROMIUM,
        "SCREENSHOTS": str(tmp_path),
    }
    done = subprocess.run(["node", "signin.mjs"], cwd=JS, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert done.stdout.splitlines()[-1] == "signin done"
    seen: dict[str, Any] = {line.pop("what"): line for line in map(json.loads, done.stdout.splitlines()[:-1])}

    assert seen["signin form"]["url"].startswith(provider[0]) and seen["signin form"]["login"] == 1
    cookie = seen["cookie"]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Lax", "/inspect")
    child = seen["child page"]
    assert child["heading"] == "Amira K" and f"{len(child['entries'])} entries · 1 incidents" in child["meta"]
    assert any("overdose" in entry for entry in child["entries"]), child["entries"]
    assert child["viewer"] == f"Signed in as {INSPECTOR} (inspector) · Sign out"
    kpis = seen["kpi page"]
    assert kpis["heading"] == "Monthly KPIs" and len(kpis["rows"]) > 5
    assert "Children in care with a statutory visit within the last 6 weeks" in [row[0] for row in kpis["rows"]]
    # The session opens the pages only: the API from the same browser wants a bearer token.
    api = seen["api from the browser"]
    assert (api["read"], api["write"]) == (401, 401)
    assert api["headers"]["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in api["headers"]["content-security-policy"]
    assert seen["signed out"] == {"text": "You are signed out of carelog", "cookies": []}
    assert seen["no session"] == {"status": 303, "location": "/signin?then=%2Finspect%2Fkpis"}

    # The reads went through the access policy and into the access log, as the inspector.
    log = httpx.get(f"{server}/v1/children/{child_id}/access-log", headers={"Authorization": f"Bearer {manager}"})
    assert log.status_code == 200, log.text
    assert [(e["actor_id"], e["actor_role"], e["route"]) for e in log.json()["entries"]][-1] == (
        INSPECTOR,
        "inspector",
        "/inspect/children/{child_id}",
    )
    for name in ("inspector-child.png", "inspector-kpis.png"):
        png = (tmp_path / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
        keep = os.environ.get("CARELOG_SCREENSHOT_DIR")
        if keep:
            shutil.copy(tmp_path / name, Path(keep) / name)
