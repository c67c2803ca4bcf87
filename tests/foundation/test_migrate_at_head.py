"""A server's start asks the database for its revision and runs alembic only when it is behind."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from alembic import command
from alembic.script import ScriptDirectory

from shared import db


@pytest.fixture
def upgrades(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The revisions alembic was asked to upgrade to (none is run)."""
    asked: list[str] = []
    monkeypatch.setattr(command, "upgrade", lambda _config, revision: asked.append(revision))
    return asked


async def _set_revision(url: str, revision: str) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("UPDATE alembic_version SET version_num = $1", revision)
    finally:
        await conn.close()


def _previous(revision: str) -> str:
    script: Any = ScriptDirectory.from_config(db.alembic_config("postgresql://unused/unused"))
    down = script.get_revision(revision).down_revision
    assert isinstance(down, str)
    return down


async def test_a_database_at_head_is_not_migrated_again(fresh_database_url: str, upgrades: list[str]) -> None:
    await asyncio.to_thread(db.migrate, fresh_database_url, unless_at_head=True)
    assert upgrades == []
    await asyncio.to_thread(db.migrate, fresh_database_url)  # asked plainly, alembic runs as ever
    assert upgrades == ["head"]


async def test_a_database_behind_the_code_is_migrated(fresh_database_url: str, upgrades: list[str]) -> None:
    head = db.head_revision()
    assert head is not None
    await _set_revision(fresh_database_url, _previous(head))
    await asyncio.to_thread(db.migrate, fresh_database_url, unless_at_head=True)
    assert upgrades == ["head"]


async def test_an_empty_database_is_migrated(pg_admin_url: str, upgrades: list[str]) -> None:
    name = "carelog_test_unmigrated"
    url = await db.create_database(pg_admin_url, name)
    try:
        await asyncio.to_thread(db.migrate, url, unless_at_head=True)
        assert upgrades == ["head"]
    finally:
        await db.drop_database(pg_admin_url, name)
