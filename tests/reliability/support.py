"""Helpers for the reliability suite: real `carelog serve` processes, tokens, request bodies, the
log read straight from PostgreSQL, `carelog verify`/`replay`, and the live-vs-rebuilt comparison
of every projection."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from bench.ports import free_port, listened_by
from services.app import all_projectors
from shared.auth import Role, mint_token
from shared.db import as_role, create_engine
from shared.settings import Settings
from tests.builders import child_body

CARELOG = [sys.executable, "-m", "services.cli"]
JWT_SECRET = "reliability-suite-secret-0123456789-abcdefghijkl"
SETTINGS = Settings(jwt_secret=JWT_SECRET)


def token(role: Role | str = Role.REGISTERED_MANAGER, subject: str | None = None) -> dict[str, str]:
    minted = mint_token(SETTINGS, role=role, subject=subject or f"{Role(role).value}-{uuid.uuid4().hex[:6]}")
    return {"Authorization": f"Bearer {minted}"}


def server_client(url: str, timeout: float | httpx.Timeout = 60, connections: int = 10) -> httpx.AsyncClient:
    """A client of a real `carelog serve`. Idle connections are dropped after 2 s, before the
    server's own 5 s keep-alive timeout: with both at 5 s, a request sent on a connection the server
    is closing at that moment fails with a ReadError (seen on a loaded machine)."""
    limits = httpx.Limits(max_connections=connections, keepalive_expiry=2.0)
    return httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits)


def base_env(**overrides: str) -> dict[str, str]:
    """The environment of a child process: no CARELOG_ settings leak in from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELOG_")}
    env.update(
        {
            "CARELOG_JWT_SECRET": JWT_SECRET,
            "CARELOG_PROJECTOR_POLL_INTERVAL": "0.5",
            "CARELOG_CHECKPOINT_INTERVAL": "0",
            "CARELOG_LOGIN_FREE_REQUESTS_PER_MINUTE": "100000",
            # The suite writes as fast as it can as a few principals, and sends hostile tokens.
            "CARELOG_WRITES_PER_MINUTE": "0",
            "CARELOG_FAILED_AUTHENTICATIONS_PER_MINUTE": "100000",
            # Its webhook receivers listen on this machine.
            "CARELOG_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8,::1",
        }
    )
    env.update(overrides)
    return env


@dataclass
class Server:
    """One `carelog serve` process, restartable on the same port and database."""

    workdir: Path
    env: dict[str, str]
    args: tuple[str, ...] = ("--no-migrate",)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {"CARELOG_DATA_DIR": str(self.workdir / "data"), **self.env}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*CARELOG, "serve", "--port", str(self.port), *self.args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1

    def wait_ready(self, timeout: float = 90) -> float:  # noqa: ASYNC109
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}:\n{self.tail()}")
            try:
                status = httpx.get(f"{self.url}/readyz", timeout=2).status_code
            except httpx.HTTPError:
                status = 0
            if status and not listened_by(self.process.pid, self.port):
                raise AssertionError(f"another process answered on {self.url}: the port was taken before ours bound it")
            if status == 200:
                return time.monotonic() - started
            time.sleep(0.05)
        raise AssertionError(f"{self.url} not ready after {timeout}s:\n{self.tail()}")

    def kill(self) -> None:
        """kill -9: no shutdown, no flush, connections dropped mid-request."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)

    def errors(self, lines: int = 80) -> str:
        """The end of the log without its access lines: where a failed request's traceback is."""
        try:
            text_lines = self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return ""
        return "\n".join([line for line in text_lines if '"event":"request"' not in line][-lines:])

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


async def start_server(server: Server) -> float:
    server.start()
    return await asyncio.to_thread(server.wait_ready)


def run_carelog(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:  # noqa: ASYNC109
    return subprocess.run([*CARELOG, *args], env=env, capture_output=True, text=True, timeout=timeout)


# ---- request bodies ------------------------------------------------------------------------------
# Every reliability visit happened at the same instant: the runs are about the log, not the clocks.
VISITED_AT = "2026-01-10T10:00:00Z"


async def register_children(client: httpx.AsyncClient, headers: dict[str, str], count: int) -> list[str]:
    ids = []
    for n in range(count):
        response = await client.post(
            "/v1/children", json=child_body(n), headers={**headers, "Idempotency-Key": f"child-{uuid.uuid4()}"}
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["child_id"])
    return ids


# ---- the log, straight from PostgreSQL -----------------------------------------------------------
@dataclass
class LogFacts:
    head: int
    count: int
    min_position: int
    max_position: int
    event_ids: Counter[str]
    types: Counter[str]
    streams_contiguous: bool

    @property
    def gaps(self) -> int:
        return (self.max_position - self.min_position + 1 - self.count) if self.count else 0

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.event_ids.values() if n > 1)


async def log_facts(url: str) -> LogFacts:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            head = int((await conn.execute(text("SELECT position FROM events_head WHERE id"))).scalar_one())
            rows = (await conn.execute(text("SELECT position, event_id::text AS id, type FROM events"))).all()
            contiguous = (
                await conn.execute(
                    text(
                        "SELECT bool_and(n = v) FROM (SELECT stream_version AS v, "
                        "row_number() OVER (PARTITION BY stream_id ORDER BY stream_version) AS n FROM events) s"
                    )
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    positions = [r.position for r in rows]
    return LogFacts(
        head=head,
        count=len(rows),
        min_position=min(positions, default=0),
        max_position=max(positions, default=0),
        event_ids=Counter(r.id for r in rows),
        types=Counter(r.type for r in rows),
        streams_contiguous=bool(contiguous) if rows else True,
    )


def verify_chain(env: dict[str, str], *args: str) -> dict[str, Any]:
    result = run_carelog("verify", *args, env=env)
    assert result.returncode == 0, f"carelog verify failed:\n{result.stdout}\n{result.stderr}"
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


# ---- replay: rebuilt projections against the live tables -----------------------------------------
def projection_tables() -> list[str]:
    return [t for p in all_projectors(Settings(_env_file=None)) for t in p.tables]


async def wait_projections_at_head(url: str, timeout: float = 60) -> int:  # noqa: ASYNC109
    """Wait until every projector's checkpoint has reached the head (and the head is still)."""
    names = [p.name for p in all_projectors(Settings(_env_file=None))]
    engine = create_engine(url, pool_size=1)
    deadline = time.monotonic() + timeout
    stable = 0
    try:
        while True:
            async with engine.connect() as conn:
                head = int((await conn.execute(text("SELECT position FROM events_head WHERE id"))).scalar_one())
                rows = await conn.execute(text("SELECT name, position FROM projector_checkpoints"))
                known = {r.name: int(r.position) for r in rows}
            if all(known.get(n, -1) >= head for n in names):
                stable += 1
                if stable >= 3:
                    return head
            else:
                stable = 0
            if time.monotonic() > deadline:
                raise AssertionError(f"projections did not reach head {head}: {known}")
            await asyncio.sleep(0.3)
    finally:
        await engine.dispose()


async def snapshot(url: str) -> dict[str, Counter[str]]:
    engine = create_engine(url, pool_size=1)
    try:
        out: dict[str, Counter[str]] = {}
        async with engine.connect() as conn:
            for table in projection_tables():
                rows = await conn.execute(text(f"SELECT to_jsonb(t)::text FROM {table} t"))
                out[table] = Counter(r[0] for r in rows)
        return out
    finally:
        await engine.dispose()


@dataclass
class ReplayResult:
    rows: int
    differences: int
    detail: dict[str, list[str]]
    seconds: float


async def replay_and_compare(owner_url: str, env: dict[str, str]) -> ReplayResult:
    """Snapshot every projection table, rebuild all projections from position 0 with `carelog
    replay` (as the application role), snapshot again and count the rows that differ."""
    before = await snapshot(owner_url)
    started = time.monotonic()
    result = await asyncio.to_thread(run_carelog, "replay", env=env)
    seconds = time.monotonic() - started
    assert result.returncode == 0, f"carelog replay failed:\n{result.stdout}\n{result.stderr}"
    after = await snapshot(owner_url)
    differences = 0
    detail: dict[str, list[str]] = {}
    for table, live in before.items():
        rebuilt = after[table]
        diff = (live - rebuilt) + (rebuilt - live)
        if diff:
            differences += sum(diff.values())
            detail[table] = _describe(list((live - rebuilt).elements()), list((rebuilt - live).elements()))
    return ReplayResult(sum(sum(c.values()) for c in before.values()), differences, detail, seconds)


def _describe(live: list[str], rebuilt: list[str]) -> list[str]:
    """Which columns differ, pairing rows by their first *_id column."""
    live_rows = [json.loads(r) for r in live]
    rebuilt_rows = [json.loads(r) for r in rebuilt]
    sample = (live_rows or rebuilt_rows)[0]
    key = next((k for k in sample if k.endswith("_id")), None)
    by_key = {row.get(key): row for row in rebuilt_rows}
    columns: Counter[str] = Counter()
    examples: list[str] = []
    for row in live_rows:
        other = by_key.get(row.get(key))
        if other is None:
            columns["<row missing after replay>"] += 1
            continue
        for column in row:
            if row[column] != other.get(column):
                columns[column] += 1
                if len(examples) < 4:
                    examples.append(f"{column}: live={row[column]!r} rebuilt={other.get(column)!r}")
    extra = len(rebuilt_rows) - len(live_rows)
    return [f"{len(live_rows)} live rows differ; columns {dict(columns)}; extra rebuilt rows {extra}", *examples]


def app_env(owner_url: str, **overrides: str) -> dict[str, str]:
    """Environment for a server process or CLI on `owner_url`'s database, as the application role."""
    return base_env(CARELOG_DATABASE_URL=as_role(owner_url), **overrides)


def record(name: str, figures: dict[str, Any]) -> None:
    """Print the figures of a run (shown with -s, and kept in a JSON file for docs/RELIABILITY.md)."""
    line = json.dumps({"test": name, **figures}, default=str)
    print(f"\nRELIABILITY {line}")
    path = os.environ.get("CARELOG_RELIABILITY_FIGURES")
    if path:
        with open(path, "a") as out:
            out.write(line + "\n")


async def command_retries(client: httpx.AsyncClient) -> dict[str, float]:
    """How many times the server ran a command again after its stream moved, per service (/metrics)."""
    metrics = (await client.get("/metrics", headers=token(Role.ADMIN, "admin-metrics"))).text
    found = re.findall(r'^carelog_command_retries_total\{service="(\w+)"\} ([0-9.e+]+)$', metrics, re.M)
    return {service: float(value) for service, value in found}


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]
