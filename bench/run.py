"""The benchmark: every carelog figure beside its raw-database baseline, measured in one run.

    python -m bench [--quick] [--events N] [--out FILE] [--database-url URL]

Creates a fresh database on the server of `--database-url` (default: CARELOG_TEST_DATABASE_URL or
postgresql://postgres@127.0.0.1:5432/test), runs real `carelog serve` processes against it, and
drops it afterwards. Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from bench.leanhttp import Connection, read_request
from bench.ports import free_port, listened_by

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
CLIENTS = 16
CLIENT_PROCESSES = 2


# ==== results ======================================================================================
@dataclass
class Row:
    metric: str
    carelog: float | None
    baseline: float | None
    unit: str
    target: str
    ratio: float | None = None
    verdict: str = "info"
    note: str = ""


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(
        self,
        metric: str,
        carelog: float | None,
        baseline: float | None,
        unit: str,
        target: str,
        *,
        ratio: float | None = None,
        check: Any = None,
        note: str = "",
    ) -> Row:
        if ratio is None and carelog is not None and baseline:
            ratio = carelog / baseline
        verdict = "info"
        if check is not None:
            if carelog is None:
                verdict = "not measured"
            else:
                verdict = "met" if check(ratio, carelog) else "MISSED"
        row = Row(metric, carelog, baseline, unit, target, ratio, verdict, note)
        self.rows.append(row)
        print(
            f"  {metric}: carelog={_fmt(carelog)} baseline={_fmt(baseline)} ratio={_fmt(ratio)} {verdict}", flush=True
        )
        return row

    def table(self) -> str:
        header = ("metric", "carelog", "baseline", "ratio", "target", "verdict")
        lines = [header]
        for r in self.rows:
            lines.append(
                (
                    r.metric,
                    f"{_fmt(r.carelog)} {r.unit}".strip() if r.carelog is not None else "not measured",
                    f"{_fmt(r.baseline)} {r.unit}".strip() if r.baseline is not None else "-",
                    _fmt(r.ratio) if r.ratio is not None else "-",
                    r.target,
                    r.verdict,
                )
            )
        widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
        out = []
        for index, line in enumerate(lines):
            out.append("| " + " | ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
            if index == 0:
                out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        return "\n".join(out)

    def as_json(self) -> dict[str, Any]:
        return {"sizes": self.sizes, "notes": self.notes, "rows": [asdict(r) for r in self.rows]}


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# ==== processes ======================================================================================
def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELOG_")}
    # One principal writes as fast as the server takes it: that is the measurement, not a client to limit.
    env["CARELOG_WRITES_PER_MINUTE"] = "0"
    # The webhook latency receiver listens on this machine.
    env["CARELOG_WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.0/8,::1"
    env.update(extra)
    return env


def carelog_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "services.cli", *args]


class Server:
    """A real `carelog serve` in a subprocess."""

    def __init__(self, env: dict[str, str], *, data_dir: Path | None = None, migrate: bool = False) -> None:
        self.args = ["serve"]
        if not migrate:
            self.args.append("--no-migrate")
        if data_dir is not None:
            self.args += ["--data-dir", str(data_dir)]
        self.env = env
        self.log = tempfile.NamedTemporaryFile(prefix="carelog-bench-serve-", suffix=".log", delete=False)  # noqa: SIM115
        self.started = time.perf_counter()
        self._start()

    def _start(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            carelog_cmd(*self.args, "--port", str(self.port)),
            env=self.env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60.0) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"carelog serve exited: {Path(self.log.name).read_text()[-2000:]}")
            try:
                status, _ = asyncio.run(_get_once(self.port, "/readyz"))
            except OSError:
                status = 0
            if status == 200 and listened_by(self.proc.pid, self.port):
                return time.perf_counter() - self.started
            if status != 0 and not listened_by(self.proc.pid, self.port):
                # Another process took the port first: ours cannot bind it. Start again elsewhere.
                self.proc.kill()
                self.proc.wait()
                self._start()
            time.sleep(0.02)
        raise TimeoutError(f"carelog serve not ready: {Path(self.log.name).read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        os.unlink(self.log.name)


async def _get_once(port: int, path: str) -> tuple[int, bytes]:
    conn = Connection("127.0.0.1", port, {"Connection": "close"})
    try:
        return await conn.request("GET", path)
    finally:
        await conn.close()


def token(role: str, subject: str) -> str:
    from shared.auth import mint_token
    from shared.settings import Settings

    return mint_token(Settings(), role=role, subject=subject, ttl=timedelta(hours=4))


# ==== 1 and 6: append throughput ===================================================================
VISIT_BODY = {
    "visitor_id": "sw-bench",
    "visitor_role": "child_social_worker",
    "kind": "statutory",
    "child_seen": True,
    "seen_alone": True,
    "bedroom_seen": True,
    "child_views": "Likes the dog. Finds maths hard. Wants to join the football club.",
    "narrative": "Seen alone in the bedroom for forty minutes; room warm and personalised.",
}


def _append_worker(port: int, auth: str, child_ids: list[str], warmup: float, duration: float, out: Any) -> None:
    """One client process: len(child_ids) keep-alive connections, each posting visits to its child."""

    async def run() -> tuple[list[int], list[str], float]:
        body = orjson.dumps({**VISIT_BODY, "occurred_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat()})
        start = time.perf_counter()
        measure_from, stop = start + warmup, start + warmup + duration
        counts = [0, 0, 0]  # counted 201s, counted failures, every request sent (warm-up included)
        errors: list[str] = []

        async def client(child: str) -> None:
            conn = Connection("127.0.0.1", port, {"Authorization": f"Bearer {auth}"})
            path = f"/v1/children/{child}/visits"
            try:
                while (now := time.perf_counter()) < stop:
                    status, data = await conn.request("POST", path, body)
                    done = time.perf_counter()
                    counts[2] += 1
                    if measure_from <= now and done <= stop:
                        counts[0 if status == 201 else 1] += 1
                    if status != 201 and len(errors) < 3:
                        errors.append(f"{status} {data[:200]!r}")
            finally:
                await conn.close()

        cpu0 = time.process_time()
        await asyncio.gather(*(client(c) for c in child_ids))
        return counts, errors, time.process_time() - cpu0

    counts, notes, cpu = asyncio.run(run())
    out.put((counts[0], counts[1], cpu, notes, counts[2]))


def api_append_throughput(port: int, children: list[str], duration: float, warmup: float = 1.0) -> dict[str, float]:
    """16 clients over CLIENT_PROCESSES processes; returns req/s, client CPU (cores) and the number
    of requests sent in all (warm-up included, for the server's CPU per request)."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    auth = token("registered_manager", "bench-writer")
    share = [children[i::CLIENT_PROCESSES] for i in range(CLIENT_PROCESSES)]
    procs = [ctx.Process(target=_append_worker, args=(port, auth, s, warmup, duration, queue)) for s in share]
    for p in procs:
        p.start()
    results = [queue.get(timeout=warmup + duration + 120) for _ in procs]
    for p in procs:
        p.join()
    ok = sum(r[0] for r in results)
    failed = sum(r[1] for r in results)
    cpu = sum(r[2] for r in results)
    errors = [e for r in results for e in r[3]]
    sent = sum(r[4] for r in results)
    if failed:
        print(f"  ! {failed} failed appends, e.g. {errors[:2]}", flush=True)
    return {"rps": ok / duration, "failed": failed, "client_cpu_cores": cpu / (warmup + duration), "sent": sent}


async def register_children(port: int, n: int) -> list[str]:
    conn = Connection("127.0.0.1", port, {"Authorization": f"Bearer {token('registered_manager', 'bench-setup')}"})
    ids = []
    try:
        for i in range(n):
            status, data = await conn.request(
                "POST",
                "/v1/children",
                orjson.dumps(
                    {
                        "name": f"Bench Child {i}",
                        "date_of_birth": "2014-05-01",
                        "legal_status": "section_31_care_order",
                        "placing_authority": "West Northamptonshire Council",
                        "social_worker_id": "sw-bench",
                    }
                ),
            )
            if status != 201:
                raise RuntimeError(f"register child: {status} {data[:300]!r}")
            ids.append(orjson.loads(data)["child_id"])
    finally:
        await conn.close()
    return ids


RAW_DDL = [
    "DROP TABLE IF EXISTS bench_raw_events",
    "DROP TABLE IF EXISTS bench_raw_head",
    "CREATE TABLE bench_raw_events (LIKE events INCLUDING ALL)",
    "CREATE TABLE bench_raw_head (id boolean PRIMARY KEY DEFAULT true, position bigint NOT NULL, "
    "hash text NOT NULL, recorded_at timestamptz)",
    "INSERT INTO bench_raw_head (position, hash) VALUES (0, repeat('0', 64))",
]
RAW_INSERT = (
    "INSERT INTO bench_raw_events (position, event_id, stream_id, stream_version, type, schema_version, data, "
    "metadata, child_ids, occurred_at, recorded_at, prev_hash, hash) "
    "VALUES ($1, $2, $3, $4, $5, 1, $6::jsonb, $7::jsonb, $8::uuid[], $9, $10, $11, $12)"
)


async def raw_append_throughput(url: str, batch: int, duration: float, warmup: float = 0.5) -> float:
    """Raw asyncpg: CLIENTS connections, `batch` events per transaction, under the same head lock
    and with the same SHA-256 / RFC 8785 hash; events per second."""
    from shared.eventstore.hashing import event_hash

    setup = await asyncpg.connect(url)
    for ddl in RAW_DDL:
        await setup.execute(ddl)
    await setup.close()
    conns = [await asyncpg.connect(url) for _ in range(CLIENTS)]
    start = time.perf_counter()
    measure_from, stop = start + warmup, start + warmup + duration
    counted = [0]

    async def client(conn: asyncpg.Connection, k: int) -> None:
        child = uuid.uuid4()
        stream = f"child-{child}"
        version = 0
        while (now := time.perf_counter()) < stop:
            async with conn.transaction():
                head = await conn.fetchrow("SELECT position, hash, recorded_at FROM bench_raw_head WHERE id FOR UPDATE")
                recorded_at = await conn.fetchval("SELECT clock_timestamp()")
                position, prev = head["position"], head["hash"]
                rows = []
                for _ in range(batch):
                    position += 1
                    version += 1
                    event_id = uuid.uuid4()
                    occurred = recorded_at - timedelta(hours=2)
                    data = {
                        **VISIT_BODY,
                        "visit_id": str(uuid.uuid4()),
                        "child_id": str(child),
                        "occurred_at": occurred.isoformat(),
                    }
                    meta = {"actor_id": "sw-bench", "actor_role": "child_social_worker", "service": "visits"}
                    data_text, meta_text = orjson.dumps(data).decode(), orjson.dumps(meta).decode()
                    digest = event_hash(
                        position=position,
                        event_id=event_id,
                        stream_id=stream,
                        stream_version=version,
                        type="visits.VisitRecorded",
                        schema_version=1,
                        data=orjson.loads(data_text),
                        metadata=orjson.loads(meta_text),
                        child_ids=[child],
                        occurred_at=occurred,
                        recorded_at=recorded_at,
                        prev_hash=prev,
                    )
                    rows.append(
                        (
                            position,
                            event_id,
                            stream,
                            version,
                            "visits.VisitRecorded",
                            data_text,
                            meta_text,
                            [child],
                            occurred,
                            recorded_at,
                            prev,
                            digest,
                        )
                    )
                    prev = digest
                if batch == 1:
                    await conn.execute(RAW_INSERT, *rows[0])
                else:
                    await conn.executemany(RAW_INSERT, rows)
                await conn.execute(
                    "UPDATE bench_raw_head SET position = $1, hash = $2, recorded_at = $3 WHERE id",
                    position,
                    prev,
                    recorded_at,
                )
            if now >= measure_from and time.perf_counter() <= stop:
                counted[0] += batch

    try:
        await asyncio.gather(*(client(c, k) for k, c in enumerate(conns)))
    finally:
        for c in conns:
            await c.close()
    return counted[0] / duration


# ==== 2: chronology latency ==========================================================================
CHRONO_SQL = (
    "SELECT position, event_id, stream_id, type, data, metadata, occurred_at, recorded_at FROM events "
    "WHERE child_ids @> ARRAY[$1::uuid] ORDER BY position LIMIT 100"
)


async def chronology_latency(port: int, url: str, children: list[str], samples: int, seed: int = 11) -> dict[str, Any]:
    """`samples` API chronology reads of random children, each followed by the raw query for the
    same child; the latencies in ms, and the number of API requests sent (warm-up included)."""
    import random

    rng = random.Random(seed)
    picks = [rng.choice(children) for _ in range(samples)]
    conn = Connection("127.0.0.1", port, {"Authorization": f"Bearer {token('registered_manager', 'bench-reader')}"})
    api: list[float] = []
    raw: list[float] = []
    warm = picks[: min(20, samples)]
    db = await asyncpg.connect(url)
    try:
        for child in warm:  # warm both paths
            await conn.request("GET", f"/v1/children/{child}/chronology?order=recorded&limit=100")
            await db.fetch(CHRONO_SQL, uuid.UUID(child))
        for child in picks:
            t = time.perf_counter()
            status, data = await conn.request("GET", f"/v1/children/{child}/chronology?order=recorded&limit=100")
            api.append((time.perf_counter() - t) * 1000.0)
            if status != 200:
                raise RuntimeError(f"chronology: {status} {data[:300]!r}")
            t = time.perf_counter()
            await db.fetch(CHRONO_SQL, uuid.UUID(child))
            raw.append((time.perf_counter() - t) * 1000.0)
    finally:
        await conn.close()
        await db.close()
    return {"api": api, "raw": raw, "sent": len(warm) + len(picks)}


# ==== 3: replay ======================================================================================
def replay_subprocess(url: str, *args: str) -> dict[str, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        carelog_cmd("replay", *args),
        env=_env(CARELOG_DATABASE_URL=url),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    err = proc.stderr.read().decode(errors="replace")
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"carelog replay failed: {err[-2000:]}")
    # The replay's own time, as the command reports it: the process start (imports, connecting)
    # is the same at any size and is reported beside it.
    reported = re.search(r"replayed (\d+) positions in ([0-9.]+) s", err)
    seconds = float(reported.group(2)) if reported else elapsed
    return {"seconds": seconds, "wall_seconds": elapsed, "peak_rss_mb": usage.ru_maxrss / 1024}


async def raw_cursor_read(url: str) -> tuple[int, float]:
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        count = 0
        async with conn.transaction():
            async for _row in conn.cursor("SELECT * FROM events ORDER BY position", prefetch=2000):
                count += 1
        return count, time.perf_counter() - started
    finally:
        await conn.close()


async def rows_written_alone(url: str) -> tuple[int, float]:
    """What PostgreSQL alone takes to write the rows a replay made: every projection table copied,
    set-based, into an empty table with the same indexes (rolled back). No replay can be faster
    than this on the same machine; it is the ceiling the replay is held against."""
    from services.app import all_projectors
    from shared.settings import Settings

    tables = [t for p in all_projectors(Settings(_env_file=None, database_url=None)) for t in p.tables]
    conn = await asyncpg.connect(url)
    rows, seconds = 0, 0.0
    try:
        async with conn.transaction():
            for table in tables:
                await conn.execute(f"CREATE TEMP TABLE bench_copy_{table} (LIKE {table} INCLUDING ALL)")
                started = time.perf_counter()
                status = await conn.execute(f"INSERT INTO bench_copy_{table} SELECT * FROM {table}")
                seconds += time.perf_counter() - started
                rows += int(status.split()[-1])
            raise _RollBack
    except _RollBack:
        pass
    finally:
        await conn.close()
    return rows, seconds


class _RollBack(Exception):
    pass


# ==== 4: event -> signed webhook =====================================================================
class Receiver:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[float, dict[str, str], bytes]] = asyncio.Queue()
        self.server: asyncio.base_events.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (request := await read_request(reader)) is not None:
                _line, headers, body = request
                self.queue.put_nowait((time.perf_counter(), headers, body))
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.CancelledError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


async def webhook_latency(port: int, samples: int) -> dict[str, Any]:
    from standardwebhooks import Webhook

    receiver = Receiver()
    await receiver.start()
    admin = Connection("127.0.0.1", port, {"Authorization": f"Bearer {token('admin', 'bench-admin')}"})
    manager = Connection("127.0.0.1", port, {"Authorization": f"Bearer {token('registered_manager', 'bench-rm')}"})

    async def post(conn: Connection, path: str, body: dict[str, Any]) -> dict[str, Any]:
        status, data = await conn.request("POST", path, orjson.dumps(body))
        if status >= 300:
            raise RuntimeError(f"POST {path}: {status} {data[:400]!r}")
        return orjson.loads(data) if data else {}

    try:
        sub = await post(
            admin,
            "/v1/subscriptions",
            {"url": f"http://127.0.0.1:{receiver.port}/hook", "recipient": "ofsted", "description": "bench receiver"},
        )
        secret = sub["secret"]
        now = datetime.now(UTC)
        hh = await post(manager, "/v1/households", {"local_authority": "E06000062", "name": "The Bench household"})
        hid = hh["household_id"]
        member = await post(
            manager,
            f"/v1/households/{hid}/members",
            {"name": "Carer One", "role": "applicant", "date_of_birth": "1980-01-01"},
        )
        await post(
            manager,
            f"/v1/households/{hid}/members/{member['member_id']}/checks",
            {"kind": "dbs_enhanced", "result": "clear", "checked_at": (now - timedelta(days=30)).date().isoformat()},
        )
        await post(
            manager,
            f"/v1/households/{hid}/approval",
            {
                "decision": "approved",
                "agreement_signed_on": now.date().isoformat(),
                "terms": {
                    "age_min": 0,
                    "age_max": 17,
                    "max_children": 3,
                    "placement_types": ["short_term", "long_term"],
                },
            },
        )
        (child,) = await register_children(port, 1)
        await post(
            manager,
            "/v1/placements",
            {
                "child_id": child,
                "household_id": hid,
                "start_date": (now - timedelta(days=3)).date().isoformat(),
                "placement_type": "short_term",
            },
        )
        await asyncio.sleep(1.0)  # the notifications service follows the placement from the log
        latencies: list[float] = []
        verified = 0
        for i in range(samples):
            while not receiver.queue.empty():
                receiver.queue.get_nowait()
            sent = time.perf_counter()
            await post(
                manager,
                f"/v1/children/{child}/incidents",
                {
                    "category": "overdose",
                    "occurred_at": (datetime.now(UTC) - timedelta(minutes=30)).isoformat(),
                    "narrative": f"Bench overdose {i}: took tablets, carer called 111, seen at A&E.",
                    "needed_hospital_treatment": True,
                },
            )
            while True:
                arrived, headers, body = await asyncio.wait_for(receiver.queue.get(), timeout=15)
                if child.encode() in body:
                    break
            latencies.append(arrived - sent)
            try:
                Webhook(secret).verify(body, headers)
                verified += 1
            except Exception:
                pass
        return {
            "p50": percentile(latencies, 0.5),
            "p99": percentile(latencies, 0.99),
            "verified": verified,
            "samples": len(latencies),
        }
    finally:
        await admin.close()
        await manager.close()
        await receiver.stop()


# ==== 5: cold start ==================================================================================
def cold_start(data_dir: Path) -> float:
    env = _env(CARELOG_DATA_DIR=str(data_dir))
    # Warm the code as an installed package is (pip writes its bytecode): with
    # PYTHONDONTWRITEBYTECODE set, each start would otherwise compile every module of the checkout.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "services", "shared", "migrations"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    # Warm the data dir: initdb, the carelog database and its migrations.
    subprocess.run(
        carelog_cmd("migrate", "--data-dir", str(data_dir)),
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    times = []
    for _ in range(2):
        server = Server(env, data_dir=data_dir, migrate=True)
        try:
            times.append(server.wait_ready(timeout=120))
        finally:
            server.stop()
    return min(times)


# ==== bulk loading ===================================================================================
async def bulk_load(url: str, target_total: int, first_block: int) -> tuple[int, list[str], list[str]]:
    from bench.generator import load_bulk
    from shared.db import create_engine
    from shared.eventstore import EventStore

    engine = create_engine(url, pool_size=4)
    store = EventStore(engine, max_batch=64)
    try:
        head = (await store.head())[0]
        # At least one block, so every size has children of its own to read.
        need = max(1, target_total - head)
        result = await load_bulk(store, need, first_block=first_block, concurrency=64)
        head = (await store.head())[0]
    finally:
        await store.stop()
        await engine.dispose()
    # Fresh statistics, as autovacuum would give a database that grew this much: both the API
    # and the raw query then run on the plans PostgreSQL would choose in service.
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return head, [str(c) for c in result.child_ids], [str(h) for h in result.household_ids]


async def vacuum(url: str) -> float:
    """VACUUM (ANALYZE) everything, as autovacuum would have a little at a time in service: a page
    never vacuumed has its hint bits written by its first reader, in the middle of a measurement
    (and this machine's PostgreSQL runs with autovacuum off)."""
    conn = await asyncpg.connect(url)
    started = time.perf_counter()
    try:
        await conn.execute("VACUUM (ANALYZE)")
        return time.perf_counter() - started
    finally:
        await conn.close()


async def wait_until_quiet(url: str, still: float = 2.0, longest: float = 600.0) -> float:
    """Wait until the log has not grown for `still` seconds, and the KPI report's span snapshots
    have caught up with it: a server started on a freshly loaded log first escalates every clock
    found overdue and folds the log's spans (once per log), and the figures are of the steady state."""
    from services.investigations.projections import SPAN

    conn = await asyncpg.connect(url)
    started = time.perf_counter()
    try:
        head, since = await conn.fetchval("SELECT position FROM events_head WHERE id"), time.perf_counter()
        while time.perf_counter() - since < still and time.perf_counter() - started < longest:
            await asyncio.sleep(0.25)
            now = await conn.fetchval("SELECT position FROM events_head WHERE id")
            if now != head:
                head, since = now, time.perf_counter()
        kept = "SELECT count(*) FROM investigations_kpi_spans WHERE span = $1"
        while time.perf_counter() - started < longest:
            if await conn.fetchval(kept, SPAN) >= head // SPAN:
                break
            await asyncio.sleep(0.5)
        return time.perf_counter() - started
    finally:
        await conn.close()


# ==== the run ========================================================================================
@dataclass
class Sized:
    """One of the two databases the sizes are measured on, and what was measured there."""

    label: str
    url: str
    env: dict[str, str]
    target: int
    head: int = 0
    children: list[str] = field(default_factory=list)
    households: list[str] = field(default_factory=list)
    busiest_child: str = ""
    replay: dict[str, float] = field(default_factory=dict)

    def this_year(self, ids: list[str], per_block: int) -> list[str]:
        """Of `ids` (children: 3 a block, households: 1), the current year's: the log's first blocks,
        the same at every size, so a read about one of them grows with the log, not the agency."""
        from bench.generator import BLOCKS_PER_YEAR

        return ids[: per_block * BLOCKS_PER_YEAR]


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Section:
    """Numbered section headers, printed in the order the sections run."""

    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0

    def __call__(self, title: str) -> None:
        self.done += 1
        print(f"[{self.done}/{self.total}] {title}", flush=True)


def section_append_empty(results: Results, url: str, env: dict[str, str], seconds: float, hooks: int) -> None:
    """Append throughput on an empty log against the raw baselines; the webhook on the same server."""
    raw1 = asyncio.run(raw_append_throughput(url, 1, seconds))
    raw10 = asyncio.run(raw_append_throughput(url, 10, seconds))
    raw100 = asyncio.run(raw_append_throughput(url, 100, seconds))
    server = Server(env)
    try:
        server.wait_ready()
        children = asyncio.run(register_children(server.port, CLIENTS))
        at0 = api_append_throughput(server.port, children, seconds)
        results.add(
            "append: API POST visits, 16 clients vs raw 1 event/txn",
            at0["rps"],
            raw1,
            "ev/s",
            ">= 1.5",
            check=lambda r, _c: r >= 1.5,
            note=f"client CPU {at0['client_cpu_cores']:.2f} cores over {CLIENT_PROCESSES} processes",
        )
        results.add("append: raw ceiling, 10 events/txn", at0["rps"], raw10, "ev/s", "ceiling (info)")
        results.add("append: raw ceiling, 100 events/txn", at0["rps"], raw100, "ev/s", "ceiling (info)")
        results.add("append: load client CPU (cores of 2)", at0["client_cpu_cores"], None, "cores", "< 1 (info)")
        section_webhook(results, server.port, hooks)
    finally:
        server.stop()


def section_webhook(results: Results, port: int, samples: int) -> None:
    try:
        hook: dict[str, Any] = asyncio.run(webhook_latency(port, samples))
    except Exception as exc:  # e.g. the notifications API not there yet
        note = f"not measured: {type(exc).__name__}: {str(exc)[:200]}"
        results.add("event -> signed webhook p99", None, None, "s", "<= 1 s", check=lambda *_: False, note=note)
        return
    note = f"{hook['verified']}/{hook['samples']} signatures verified"
    results.add("event -> signed webhook p50", hook["p50"], None, "s", "info", note=note)
    results.add(
        "event -> signed webhook p99", hook["p99"], None, "s", "<= 1 s", check=lambda _r, c: c <= 1.0, note=note
    )


def section_load_and_replay(results: Results, sized: Sized) -> None:
    """Load the database to its size, then the full replay beside the raw cursor read."""
    t = time.perf_counter()
    sized.head, sized.children, sized.households = asyncio.run(bulk_load(sized.url, sized.target, 0))
    sized.busiest_child = asyncio.run(busiest_child(sized.url, sized.this_year(sized.children, 3)))
    load_s = time.perf_counter() - t
    print(f"  loaded {sized.head:,} events in {load_s:.1f}s ({sized.head / max(load_s, 1e-9):,.0f} ev/s)", flush=True)
    results.sizes[f"{sized.label}_events_actual"] = sized.head
    replay = replay_subprocess(sized.url)
    count, raw_s = asyncio.run(raw_cursor_read(sized.url))
    replay["eps"], replay["raw_eps"] = count / replay["seconds"], count / raw_s
    rows, rows_s = asyncio.run(rows_written_alone(sized.url))
    replay["rows"], replay["rows_eps"] = rows, count / rows_s
    sized.replay = replay
    print(f"  vacuumed after the load and replay in {asyncio.run(vacuum(sized.url)):.1f}s", flush=True)
    n = f"{sized.head:,}"
    results.add(
        f"replay all projections at {n} events",
        replay["eps"],
        replay["raw_eps"],
        "ev/s",
        "ratio >= 0.5",
        check=lambda ratio, _c: ratio >= 0.5,
        note=f"replay {replay['seconds']:.1f}s ({replay['wall_seconds']:.1f}s with process start); "
        f"peak RSS {replay['peak_rss_mb']:.0f} MB",
    )
    results.add(
        f"replay: its rows written by PostgreSQL alone, {n} events",
        replay["eps"],
        replay["rows_eps"],
        "ev/s",
        "ceiling (info)",
        note=f"{rows:,} rows copied set-based into tables with the same indexes",
    )


async def busiest_child(url: str, children: list[str]) -> str:
    """Of `children` (the current year's), the one with the most events: the subject-access export
    measured is the largest, and the same child at both sizes."""
    conn = await asyncpg.connect(url)
    try:
        found = await conn.fetchval(
            "SELECT c FROM events, unnest(child_ids) AS c WHERE c = ANY($1::uuid[]) "
            "GROUP BY c ORDER BY count(*) DESC, c LIMIT 1",
            children,
        )
        return str(found)
    finally:
        await conn.close()


INTERACTIVE = (
    "worklist",
    "household compliance",
    "caseloads",
    "subject-access export (JSON)",
    "subject-access export (PDF)",
    "monthly KPI report",
)


async def interactive_reads(port: int, sized: Sized, samples: int, seed: int) -> dict[str, list[float]]:
    """`samples` sequential requests of each interactive read, as a registered manager; ms."""
    import random

    rng = random.Random(seed)
    month = (datetime.now(UTC) - timedelta(days=45)).strftime("%Y-%m")
    households = sized.this_year(sized.households, 1)  # fostering now, not resigned years ago
    # The bulk load records every event when it is loaded, long after the month closed: read as of
    # now (capped at the head, provisional), the report covers the whole log, not an empty month.
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    paths: dict[str, Callable[[], str]] = {
        "worklist": lambda: "/v1/visits/due",
        "household compliance": lambda: f"/v1/households/{rng.choice(households)}/compliance",
        "caseloads": lambda: "/v1/caseloads",
        "subject-access export (JSON)": lambda: f"/v1/children/{sized.busiest_child}/export",
        "subject-access export (PDF)": lambda: f"/v1/children/{sized.busiest_child}/export?format=pdf",
        "monthly KPI report": lambda: f"/v1/reports/kpis?month={month}&as_of={now}",
    }
    conn = Connection("127.0.0.1", port, {"Authorization": f"Bearer {token('registered_manager', 'bench-reads')}"})
    out: dict[str, list[float]] = {name: [] for name in INTERACTIVE}
    try:
        for name in INTERACTIVE:
            # A PDF takes most of a second to lay out (per entry, at any size): fewer of them keep
            # the run short.
            for k in range((max(3, samples // 4) if name.endswith("(PDF)") else samples) + 1):
                path = paths[name]()
                t = time.perf_counter()
                status, data = await conn.request("GET", path)
                elapsed = (time.perf_counter() - t) * 1000.0
                if status != 200:
                    raise RuntimeError(f"{path}: {status} {data[:300]!r}")
                if k > 0:  # the first warms the path
                    out[name].append(elapsed)
    finally:
        await conn.close()
    return out


def measure_round(server: Server, sized: Sized, writers: list[str], seconds: float, samples: int, k: int) -> Any:
    """One round on one database: chronology reads, then appends, with the server's CPU for each."""
    pid = server.proc.pid
    cpu0 = process_cpu_seconds(pid)
    chrono = asyncio.run(chronology_latency(server.port, sized.url, sized.children, samples, seed=11 + k))
    cpu1 = process_cpu_seconds(pid)
    reads = asyncio.run(interactive_reads(server.port, sized, max(5, samples // 20), seed=k))
    cpu1b = process_cpu_seconds(pid)
    append = api_append_throughput(server.port, writers, seconds)
    cpu2 = process_cpu_seconds(pid)
    figures: dict[str, Any] = {
        "reads": reads,
        "chrono": chrono,
        "chrono_p99": percentile(chrono["api"], 0.99),
        "append_rps": append["rps"],
        "chrono_cpu_ms": (cpu1 - cpu0) / chrono["sent"] * 1000.0,
        "append_cpu_ms": (cpu2 - cpu1b) / max(append["sent"], 1) * 1000.0,
    }
    print(
        f"  round {k + 1} {sized.label}: chronology p99 {figures['chrono_p99']:.2f} ms, "
        f"append {append['rps']:,.0f} ev/s",
        flush=True,
    )
    return figures


def interleaved_rounds(sizes: list[Sized], rounds: int, seconds: float, samples: int) -> dict[str, list[Any]]:
    """Both databases served at once and measured in turn (small, large, small, large, ...), so a
    drift of the machine's speed falls on both sizes alike; growth is then a per-round ratio."""
    servers = {s.label: Server(s.env) for s in sizes}
    try:
        for s in sizes:
            servers[s.label].wait_ready()
        for s in sizes:
            settled = asyncio.run(wait_until_quiet(s.url))
            print(
                f"  {s.label} server settled (overdue clocks escalated, KPI spans kept) in {settled:.1f}s", flush=True
            )
        writers = {s.label: asyncio.run(register_children(servers[s.label].port, CLIENTS)) for s in sizes}
        figures: dict[str, list[Any]] = {s.label: [] for s in sizes}
        for k in range(rounds):
            for s in sizes:
                figures[s.label].append(measure_round(servers[s.label], s, writers[s.label], seconds, samples, k))
        return figures
    finally:
        for server in servers.values():
            server.stop()


def _median(values: list[float]) -> float:
    return percentile(values, 0.5)


def report_rounds(results: Results, sizes: list[Sized], figures: dict[str, list[Any]]) -> None:
    small, large = sizes
    for s in sizes:
        api = [v for f in figures[s.label] for v in f["chrono"]["api"]]
        raw = [v for f in figures[s.label] for v in f["chrono"]["raw"]]
        n = f"{s.head:,}"
        results.add(f"chronology p50 at {n} events", percentile(api, 0.5), percentile(raw, 0.5), "ms", "info")
        results.add(
            f"chronology p99 at {n} events",
            percentile(api, 0.99),
            percentile(raw, 0.99),
            "ms",
            "ratio <= 2",
            check=lambda ratio, _c: ratio <= 2,
        )
    pairs = list(zip(figures[small.label], figures[large.label], strict=True))
    rounds = len(pairs)
    chrono_ratios = [b["chrono_p99"] / a["chrono_p99"] for a, b in pairs]
    results.add(
        f"chronology p99 growth (API, large vs small), median of {rounds} interleaved rounds",
        _median([b["chrono_p99"] for _a, b in pairs]),
        _median([a["chrono_p99"] for a, _b in pairs]),
        "ms",
        "ratio <= 1.5",
        ratio=_median(chrono_ratios),
        check=lambda ratio, _c: ratio <= 1.5,
        note="per-round ratios " + ", ".join(f"{r:.2f}" for r in chrono_ratios),
    )
    append_ratios = [b["append_rps"] / a["append_rps"] for a, b in pairs]
    results.add(
        f"append: API at {large.head:,} vs at {small.head:,} events, median of {rounds} interleaved rounds",
        _median([b["append_rps"] for _a, b in pairs]),
        _median([a["append_rps"] for a, _b in pairs]),
        "ev/s",
        "ratio >= 0.9",
        ratio=_median(append_ratios),
        check=lambda ratio, _c: ratio >= 0.9,
        note="per-round ratios " + ", ".join(f"{r:.2f}" for r in append_ratios),
    )
    for name in INTERACTIVE:
        report_read(results, sizes, figures, name)
    for s in sizes:
        for what in ("append", "chrono"):
            name = "append (POST visit)" if what == "append" else "chronology"
            results.add(
                f"server CPU per request, {name}, at {s.head:,} events",
                _median([f[f"{what}_cpu_ms"] for f in figures[s.label]]),
                None,
                "ms",
                "info",
                note="the server process's CPU time over the measurement / requests sent (warm-up included)",
            )


def section_peer_appends(results: Results, url: str, env: dict[str, str], seconds: float) -> None:
    """The `eventsourcing` library's recorder, carelog's store and carelog's API, one after the
    other on the same (fresh) database: 16 writers, one event per call, each its own stream."""
    from bench.peer import Peer, PeerSettings, carelog_store_throughput

    peer_rates: dict[str, float] = {}
    for settings in (PeerSettings(enable_db_functions=False), PeerSettings(enable_db_functions=True)):
        peer = Peer(url, settings)
        try:
            peer_rates[settings.describe()] = peer.append_throughput(seconds, VISIT_BODY)
            results.notes.append(f"peer: {settings.describe()}: {peer_rates[settings.describe()]:,.0f} ev/s")
        finally:
            peer.close()
    store_rate = asyncio.run(carelog_store_throughput(url, seconds, VISIT_BODY))
    server = Server(env)
    try:
        server.wait_ready()
        api = api_append_throughput(server.port, asyncio.run(register_children(server.port, CLIENTS)), seconds)
    finally:
        server.stop()
    best = max(peer_rates, key=lambda k: peer_rates[k])
    for described, rate in peer_rates.items():
        flag = described.split("enable_db_functions=")[1].split(",")[0]
        results.add(
            f"peer: eventsourcing recorder append, 16 writers, enable_db_functions={flag}",
            rate,
            None,
            "ev/s",
            "info",
            note=described,
        )
    results.add(
        "peer append: carelog EventStore.append vs eventsourcing recorder, 16 writers, 1 event/call",
        store_rate,
        peer_rates[best],
        "ev/s",
        "ratio >= 5",
        check=lambda ratio, _c: ratio >= 5,
        note=f"peer at its best measured configuration: {best}",
    )
    results.add(
        "peer append: carelog API POST visits vs eventsourcing recorder, 16 writers",
        api["rps"],
        peer_rates[best],
        "ev/s",
        "ratio >= 2",
        check=lambda ratio, _c: ratio >= 2,
        note=f"peer at its best measured configuration: {best}",
    )


def section_peer_reads(results: Results, sized: Sized, samples: int) -> None:
    """On the large database: the library's table filled with the same events; its notification
    log from 0 against carelog's replay read path (alternating, best of two each), then one
    aggregate's events against one child's chronology through the API, sample by sample."""
    import random

    from bench.peer import Peer, PeerSettings, carelog_read_all

    peer = Peer(sized.url, PeerSettings())
    server = Server(sized.env)
    try:
        filled = peer.fill_from_events(sized.url)
        peer_s, ours_s, count = [], [], 0
        for _ in range(2):
            count, seconds = peer.read_all()
            peer_s.append(seconds)
            ours, seconds = asyncio.run(carelog_read_all(sized.url))
            ours_s.append(seconds)
        results.add(
            f"peer read: carelog replay read path vs eventsourcing notification log, {count:,} events",
            count / min(ours_s),
            count / min(peer_s),
            "ev/s",
            "ratio >= 1",
            check=lambda ratio, _c: ratio >= 1,
            note=f"{filled:,} events filled into the library's table; carelog decodes each event's JSON and "
            "opens its sealed fields, the library returns the stored bytes",
        )
        server.wait_ready()
        asyncio.run(wait_until_quiet(sized.url))
        rng = random.Random(5)
        picks = [rng.choice(sized.children) for _ in range(samples)]
        api, lib, read = asyncio.run(_aggregate_vs_chronology(server.port, peer, picks))
        results.add(
            f"peer read p99: child's chronology (API) vs eventsourcing aggregate's events, {count:,} events",
            percentile(api, 0.99),
            percentile(lib, 0.99),
            "ms",
            "ratio <= 1",
            check=lambda ratio, _c: ratio <= 1,
            note=f"p50 {percentile(api, 0.5):.2f} vs {percentile(lib, 0.5):.2f} ms; the library read "
            f"{read / max(len(picks), 1):.0f} events an aggregate, the chronology pages 100",
        )
    finally:
        server.stop()
        peer.close()


async def _aggregate_vs_chronology(port: int, peer: Any, picks: list[str]) -> tuple[list[float], list[float], int]:
    conn = Connection("127.0.0.1", port, {"Authorization": f"Bearer {token('registered_manager', 'bench-reader')}"})
    api: list[float] = []
    lib: list[float] = []
    read = 0
    try:
        for k, child in enumerate(picks[:20] + picks):
            t = time.perf_counter()
            status, data = await conn.request("GET", f"/v1/children/{child}/chronology?order=recorded&limit=100")
            elapsed = (time.perf_counter() - t) * 1000.0
            if status != 200:
                raise RuntimeError(f"chronology: {status} {data[:300]!r}")
            t = time.perf_counter()
            events = peer.read_aggregate(f"child-{child}")
            lib_elapsed = (time.perf_counter() - t) * 1000.0
            if k >= 20:  # the first 20 warm both paths
                api.append(elapsed)
                lib.append(lib_elapsed)
                read += events
    finally:
        await conn.close()
    return api, lib, read


def section_as_of(results: Results, sized: Sized, samples: int) -> None:
    """Investigations as of a past instant T (the middle of the large log's recording): the full
    as-of replay (`carelog replay --as-of T` into its own schema) against a child's compliance as
    of T and the monthly KPI report as of T through the API, which need no replay."""
    conn_url = sized.url

    async def middle() -> datetime:
        conn = await asyncpg.connect(conn_url)
        try:
            found: datetime = await conn.fetchval(
                "SELECT recorded_at FROM events WHERE position = (SELECT position / 2 FROM events_head WHERE id)"
            )
            return found
        finally:
            await conn.close()

    instant = asyncio.run(middle())
    full = replay_subprocess(sized.url, "--as-of", instant.isoformat(), "--schema", "bench_asof")
    server = Server(sized.env)
    try:
        server.wait_ready()
        asyncio.run(wait_until_quiet(sized.url))
        measured = asyncio.run(_as_of_reads(server.port, sized.this_year(sized.children, 3), instant, samples))
    finally:
        server.stop()
    for what, label in (("compliance", "a child's compliance (API)"), ("kpis", "the monthly KPI report (API)")):
        latencies = measured[what]
        results.add(
            f"as of a past instant: {label} p99 vs the full as-of replay, {sized.head:,} events",
            percentile(latencies, 0.99),
            full["seconds"],
            "s",
            "ratio <= 0.05",
            check=lambda ratio, _c: ratio <= 0.05,
            note=f"T = {instant.isoformat()} (half the log recorded); p50 {percentile(latencies, 0.5):.3f} s "
            f"over {len(latencies)} requests; full as-of replay {full['seconds']:.1f} s",
        )


async def _as_of_reads(port: int, children: list[str], instant: datetime, samples: int) -> dict[str, list[float]]:
    import random

    rng = random.Random(3)
    conn = Connection("127.0.0.1", port, {"Authorization": f"Bearer {token('registered_manager', 'bench-inquiry')}"})
    at = instant.isoformat().replace("+00:00", "Z")
    month = (instant - timedelta(days=45)).strftime("%Y-%m")
    out: dict[str, list[float]] = {"compliance": [], "kpis": []}
    # The current year's children of the log's first blocks: recorded before T, known as of T.
    known = children[: max(1, len(children) * 2 // 5)]
    paths = [("compliance", f"/v1/children/{rng.choice(known)}/compliance?as_of={at}") for _ in range(samples)]
    paths += [("kpis", f"/v1/reports/kpis?month={month}&as_of={at}") for _ in range(max(3, samples // 10))]
    try:
        for k, (what, path) in enumerate(paths):
            t = time.perf_counter()
            status, data = await conn.request("GET", path)
            elapsed = time.perf_counter() - t
            if status != 200:
                raise RuntimeError(f"{path}: {status} {data[:300]!r}")
            if k > 0:  # the first warms the path
                out[what].append(elapsed)
    finally:
        await conn.close()
    return out


def report_read(results: Results, sizes: list[Sized], figures: dict[str, list[Any]], name: str) -> None:
    """One interactive read: its p50/p99 at each size, and its p99 growth (median per-round ratio)."""
    small, large = sizes
    for s in sizes:
        latencies = [v for f in figures[s.label] for v in f["reads"][name]]
        results.add(
            f"{name} p99 at {s.head:,} events",
            percentile(latencies, 0.99),
            None,
            "ms",
            "info",
            note=f"p50 {percentile(latencies, 0.5):.1f} ms over {len(latencies)} requests",
        )
    per_round = [
        percentile(b["reads"][name], 0.99) / percentile(a["reads"][name], 0.99)
        for a, b in zip(figures[small.label], figures[large.label], strict=True)
    ]
    results.add(
        f"{name} p99 growth (large vs small), median of {len(per_round)} interleaved rounds",
        _median([percentile(f["reads"][name], 0.99) for f in figures[large.label]]),
        _median([percentile(f["reads"][name], 0.99) for f in figures[small.label]]),
        "ms",
        "ratio <= 1.5",
        ratio=_median(per_round),
        check=lambda ratio, _c: ratio <= 1.5,
        note="per-round ratios " + ", ".join(f"{r:.2f}" for r in per_round),
    )


def section_cold_start(results: Results, data_dir: Path) -> None:
    try:
        seconds: float | None = cold_start(data_dir)
        note = ""
    except Exception as exc:
        seconds, note = None, f"{type(exc).__name__}: {str(exc)[:200]}"
    results.add(
        "serve cold start, embedded PG, warm data dir",
        seconds,
        None,
        "s",
        "<= 5 s",
        check=lambda _r, c: c <= 5.0,
        note=note,
    )


def run(args: argparse.Namespace) -> Results:
    from shared.db import create_database, drop_database, migrate

    quick = args.quick
    large = args.events or (8_000 if quick else 1_000_000)
    small = max(1000, large // 10)
    append_seconds = args.seconds or (3.0 if quick else 15.0)
    chrono_samples = 60 if quick else 500
    webhook_samples = 5 if quick else 40
    rounds = 3
    admin_url = args.database_url or os.environ.get("CARELOG_TEST_DATABASE_URL") or DEFAULT_ADMIN_URL
    tag = uuid.uuid4().hex[:10]
    names = {"small": f"carelog_bench_{tag}_s", "large": f"carelog_bench_{tag}_l", "peer": f"carelog_bench_{tag}_p"}
    results = Results(
        sizes={
            "small_events": small,
            "large_events": large,
            "clients": CLIENTS,
            "client_processes": CLIENT_PROCESSES,
            "append_seconds": int(append_seconds),
            "rounds": rounds,
        }
    )
    results.notes.append(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; quick={quick}")
    tmp = Path(tempfile.mkdtemp(prefix="carelog-bench-"))
    section = Section(8)
    sizes: list[Sized] = []
    try:
        for label, target in (("small", small), ("large", large), ("peer", 0)):
            url = asyncio.run(create_database(admin_url, names[label])).replace(
                "postgresql+asyncpg://", "postgresql://"
            )
            migrate(url)
            env = _env(CARELOG_DATABASE_URL=url, CARELOG_DATA_DIR=str(tmp / f"serve-{label}"))
            sizes.append(Sized(label, url, env, target))
        print(f"bench databases {names['small']} and {names['large']}; loading about {small:,} and {large:,} events")
        section("append throughput on an empty log, raw baselines; event -> signed webhook")
        section_append_empty(results, sizes[0].url, sizes[0].env, append_seconds, webhook_samples)
        for s in sizes[:2]:
            section(f"{s.label} size: load about {s.target:,} events, full replay")
            section_load_and_replay(results, s)
        print(f"sizes loaded: {sizes[0].head:,} and {sizes[1].head:,} events", flush=True)
        results.add(
            "replay peak RSS growth (large vs small)",
            sizes[1].replay["peak_rss_mb"],
            sizes[0].replay["peak_rss_mb"],
            "MB",
            "ratio < 1.2",
            check=lambda ratio, _c: ratio < 1.2,
        )
        section(f"chronology and append at {sizes[0].head:,} and {sizes[1].head:,} events, {rounds} interleaved rounds")
        report_rounds(results, sizes[:2], interleaved_rounds(sizes[:2], rounds, append_seconds, chrono_samples))
        section(f"investigations as of a past instant at {sizes[1].head:,} events: no replay vs the full as-of replay")
        section_as_of(results, sizes[1], 20 if quick else 100)
        section("peer: the eventsourcing library's appends beside carelog's store and API, on a fresh database")
        section_peer_appends(results, sizes[2].url, sizes[2].env, append_seconds)
        section(f"peer: reading the log and one aggregate at {sizes[1].head:,} events")
        section_peer_reads(results, sizes[1], chrono_samples)
        section("serve cold start on the embedded PostgreSQL")
        section_cold_start(results, tmp / "embedded")
    finally:
        for name in names.values():
            asyncio.run(drop_database(admin_url, name))
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI size: a few thousand events, under 2 minutes")
    parser.add_argument("--events", type=int, default=None, help="events at the large size (default 1,000,000)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per throughput measurement")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    parser.add_argument("--database-url", default=None, help="PostgreSQL server to create the bench database on")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = run(args)
    results.notes.append(f"total {time.perf_counter() - started:.0f}s")
    print()
    print(results.table())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results.as_json(), indent=2) + "\n")
    print(f"\nwritten to {args.out}")
    return 0
