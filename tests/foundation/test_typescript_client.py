"""The API as a front-end team meets it: a TypeScript client generated from the live /openapi.json
(openapi-typescript, openapi-fetch), type-checked with `tsc --noEmit`, and a social worker's morning
(tests/js/morning.mts) run with Node against a live `carelog serve`. The generated client is never
committed: a change to the API that breaks the client breaks this test."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from shared.auth import Role, mint_token
from shared.settings import Settings
from tests.conftest import require
from tests.foundation.test_cli import CARELOG, free_port, wait_ready

JS = Path(__file__).resolve().parents[1] / "js"
GENERATED = JS / "generated"
BIN = JS / "node_modules" / ".bin"
WORKER = "sw-morning"


def run(*command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=JS, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture
def server(fresh_database_url: str) -> Iterator[str]:
    """`carelog serve` on a port of its own, on a database of the test's own."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELOG_")}
    env |= {"CARELOG_DATABASE_URL": fresh_database_url, "CARELOG_LOG_LEVEL": "warning"}
    process = subprocess.Popen(
        [*CARELOG, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", timeout=120, process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)


def token(role: Role, subject: str) -> str:
    return mint_token(Settings(), role=role, subject=subject, ttl=timedelta(hours=1))


def a_child_with_an_incident_overnight(url: str, manager: str) -> str:
    headers = {"Authorization": f"Bearer {manager}"}
    child = httpx.post(
        f"{url}/v1/children",
        headers=headers,
        json={
            "name": "Amira K",
            "date_of_birth": "2012-03-14",
            "legal_status": "section_31_care_order",
            "placing_authority": "West Northamptonshire Council",
            "social_worker_id": WORKER,
        },
        timeout=60,
    )
    assert child.status_code == 201, child.text
    child_id = str(child.json()["child_id"])
    overnight = (datetime.now(UTC) - timedelta(hours=10)).isoformat()
    incident = httpx.post(
        f"{url}/v1/children/{child_id}/incidents",
        headers=headers,
        json={
            "category": "overdose",
            "occurred_at": overnight,
            "narrative": "Took tablets; the carer took her to A&E.",
            "needed_hospital_treatment": True,
        },
        timeout=60,
    )
    assert incident.status_code == 201, incident.text
    return child_id


def test_a_generated_typescript_client_type_checks_and_gets_through_a_social_workers_morning(server: str) -> None:
    require((BIN / "tsc").exists() and shutil.which("node") is not None, "Node and tests/js (npm ci in tests/js)")
    GENERATED.mkdir(exist_ok=True)
    document = httpx.get(f"{server}/openapi.json", timeout=120)
    assert document.status_code == 200
    (GENERATED / "openapi.json").write_bytes(document.content)
    run(str(BIN / "openapi-typescript"), "generated/openapi.json", "-o", "generated/schema.d.ts")
    run(str(BIN / "tsc"), "--noEmit", "-p", ".")
    run(str(BIN / "tsc"), "-p", ".")  # the same program, emitted for Node

    manager = token(Role.MANAGER, "mgr-duty")
    child_id = a_child_with_an_incident_overnight(server, manager)
    env = {
        **os.environ,
        "CARELOG_URL": server,
        "MANAGER_TOKEN": manager,
        "WORKER_TOKEN": token(Role.CHILD_SOCIAL_WORKER, WORKER),
        "WORKER_ID": WORKER,
        "CHILD_ID": child_id,
    }
    morning = run("node", "generated/out/morning.mjs", env=env)
    print(morning.stdout)
    lines = morning.stdout.splitlines()
    assert lines[-1] == "morning done"
    assert any("clocks met: visits.follow_up_visit" in line for line in lines)
    assert any(line.startswith("412 precondition-failed") for line in lines)

    # From the outside: the retried visit landed once; the manager's and the recovered write too.
    chronology = httpx.get(
        f"{server}/v1/children/{child_id}/chronology",
        params={"types": "visits.VisitRecorded"},
        headers={"Authorization": f"Bearer {manager}"},
        timeout=60,
    )
    assert chronology.status_code == 200, chronology.text
    assert len(chronology.json()["entries"]) == 3


def test_the_client_is_not_committed() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(GENERATED / "schema.d.ts")], cwd=JS, capture_output=True, timeout=30
    )
    assert ignored.returncode == 0, "tests/js/generated/ must be ignored by git"
