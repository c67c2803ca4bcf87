"""The `carelog` command as a user runs it: real processes, real PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import text

from shared.db import as_role, create_engine
from shared.eventstore import EventStore, NewEvent

CARELOG = [sys.executable, "-m", "services.cli"]


def run_carelog(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CARELOG, *args], env=env, capture_output=True, text=True, timeout=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, timeout: float = 60, process: subprocess.Popen[bytes] | None = None) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} not ready after {timeout}s")


def test_serve_with_no_database_url_runs_an_embedded_postgres_and_reuses_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELOG_")}
    data_dir = tmp_path / "data"
    for _start in range(2):  # the second start reuses the data directory
        port = free_port()
        process = subprocess.Popen(
            [*CARELOG, "serve", "--port", str(port), "--data-dir", str(data_dir)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        ready = False
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz", timeout=120, process=process)
            ready = True
        finally:
            process.send_signal(signal.SIGINT)  # Ctrl-C stops the API and the database
            output = process.communicate(timeout=60)[0].decode()
        assert ready and process.returncode == 0, output
    assert (data_dir / "pgdata" / "PG_VERSION").exists()
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()


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
