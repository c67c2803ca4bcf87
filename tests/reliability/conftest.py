"""Sizes of the reliability runs: reduced by default, full with `pytest -m reliability --full`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.support import Server, app_env


@pytest.fixture
def server_factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    """`server_factory(owner_url, **env)` -> a started-later Server; every one is stopped at the end."""
    servers: list[Server] = []

    def make(owner_url: str, **env: str) -> Server:
        server = Server(workdir=tmp_path / f"server{len(servers)}", env=app_env(owner_url, **env))
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
