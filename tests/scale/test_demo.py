"""`carelog demo` then `carelog serve` on a fresh embedded database: overdue work shows at once."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from shared.auth import mint_token
from shared.settings import Settings
from tests.foundation.test_cli import CARELOG, free_port, wait_ready


@pytest.mark.embedded_postgres
def test_demo_then_serve_shows_overdue_visits_within_seconds(embedded_data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELOG_")}
    data_dir = embedded_data_dir
    loaded = subprocess.run(
        [*CARELOG, "demo", "--children", "4", "--households", "2", "--data-dir", str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    port = free_port()
    server = subprocess.Popen(
        [*CARELOG, "serve", "--port", str(port), "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        seconds = wait_ready(f"http://127.0.0.1:{port}/readyz", timeout=120, process=server)
        token = mint_token(Settings(), role="registered_manager", subject="demo-reader")
        due = httpx.get(
            f"http://127.0.0.1:{port}/v1/visits/due", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=60)
    assert seconds < 30
    assert due.status_code == 200, due.text
    items = due.json()["items"]
    assert any(item["overdue"] for item in items), items
