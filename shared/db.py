"""Database access: async SQLAlchemy 2 on asyncpg, alembic migrations, the embedded server."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

log = logging.getLogger(__name__)

APP_ROLE = "carelog_app"
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def async_url(url: str) -> str:
    """Accept plain postgresql:// URLs and run them on asyncpg."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def create_engine(url: str, *, pool_size: int = 10, **kwargs: Any) -> AsyncEngine:
    # No pre-ping: it costs a round trip per checkout. A connection found dead fails its
    # statement, and SQLAlchemy then invalidates the whole pool, so the next request reconnects.
    # jsonb is decoded by orjson, not the standard library's json (several times faster).
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        json_deserializer=orjson.loads,
        **kwargs,
    )


async def create_pool(url: str, size: int) -> asyncpg.Pool:
    """A pool of plain driver connections beside the engine's, for the hot read paths. jsonb
    decodes to Python values with orjson, as through the engine."""

    async def init(conn: asyncpg.Connection) -> None:
        await conn.set_type_codec("jsonb", schema="pg_catalog", encoder=str, decoder=orjson.loads, format="text")

    async def reset(conn: asyncpg.Connection) -> None:
        # Instead of asyncpg's RESET ALL round trip on every release: these connections keep no
        # session state (no LISTEN, no advisory locks, no SET), so only an open transaction matters.
        if conn.is_in_transaction():
            await conn.execute("ROLLBACK")

    dsn = make_url(async_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)
    return await asyncpg.create_pool(dsn, min_size=1, max_size=size, init=init, reset=reset)


def reader(engine: AsyncEngine) -> AsyncEngine:
    """The same pool in autocommit: a read is one round trip, with no BEGIN and no ROLLBACK."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    return config


def migrate(url: str, revision: str = "head", *, unless_at_head: bool = False) -> None:
    """Run alembic upgrade (blocking: call from a thread inside an event loop). `unless_at_head`:
    first ask the database (one query) and leave alembic out when it is at the head already, as
    a server's restart nearly always finds it."""
    if unless_at_head and revision == "head" and _at_head(url):
        return
    command.upgrade(alembic_config(url), revision)


def _at_head(url: str) -> bool:
    """Whether the database records exactly the head revision (one query; False if unsure)."""
    try:
        return asyncio.run(_recorded_revisions(url)) == {head_revision()}
    except Exception:  # no table yet, several heads, ...: alembic's upgrade decides
        return False


async def _recorded_revisions(url: str) -> set[str]:
    dsn = make_url(async_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SELECT to_regclass('alembic_version') IS NULL"):
            return set()
        return {row[0] for row in await conn.fetch("SELECT version_num FROM alembic_version")}
    finally:
        await conn.close()


async def migrate_async(url: str, revision: str = "head") -> None:
    await asyncio.to_thread(migrate, url, revision)


def head_revision() -> str | None:
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused/unused"))
    return script.get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


async def is_ready(engine: AsyncEngine) -> tuple[bool, str]:
    """Database reachable and migrations at head."""
    try:
        async with asyncio.timeout(3):
            revision = await current_revision(engine)
    except Exception as exc:  # unreachable, or any driver error
        return False, f"database unreachable: {type(exc).__name__}"
    expected = head_revision()
    if revision != expected and (revision is None or revision in known_revisions()):
        # Behind the code. (A revision this code does not know is newer: a rolling upgrade whose
        # migration ran first; migrations are expand-then-contract, so old code keeps serving.)
        return False, f"migrations at {revision}, expected {expected}"
    return True, "ok"


def known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused/unused"))
    return {rev.revision for rev in script.walk_revisions()}


async def create_database(admin_url: str, name: str) -> str:
    """Create database `name` on the server of `admin_url`; return its URL."""
    engine = create_async_engine(async_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            exists = (await conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})).first()
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()
    return make_url(async_url(admin_url)).set(database=name).render_as_string(hide_password=False)


async def drop_database(admin_url: str, name: str) -> None:
    engine = create_async_engine(async_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


def as_role(url: str, role: str = APP_ROLE) -> str:
    """The same database, connecting as the application role (trust or peer auth)."""
    return make_url(async_url(url)).set(username=role, password=None).render_as_string(hide_password=False)
