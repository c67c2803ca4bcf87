"""Signed checkpoints prove a log was not rewritten, even when the rewrite recomputed every hash."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import text

from shared.auth import Role
from shared.checkpoints import Checkpoint, signature_valid
from shared.db import as_role, create_engine
from shared.eventstore import EventStore, NewEvent
from shared.eventstore.hashing import event_hash
from shared.eventstore.store import EVENT_COLUMNS, row_to_event
from tests.foundation.test_cli import run_carelog


async def _rewrite_from(owner_url: str, position: int) -> None:
    """What a careful attacker would do: change one event and recompute every later hash."""
    owner = create_engine(owner_url, pool_size=1)
    async with owner.begin() as conn:
        await conn.execute(text("ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete"))
        await conn.execute(text("""UPDATE events SET data = '{"i": 1000}' WHERE position = :p"""), {"p": position})
        rows = await conn.execute(
            text(f"SELECT {EVENT_COLUMNS} FROM events WHERE position >= :p ORDER BY position"), {"p": position}
        )
        events = [row_to_event(r) for r in rows]
        prev = events[0].prev_hash
        for e in events:
            digest = event_hash(
                position=e.position, event_id=e.event_id, stream_id=e.stream_id, stream_version=e.stream_version,
                type=e.type, schema_version=e.schema_version, data=e.data, metadata=e.metadata,
                child_ids=e.child_ids, occurred_at=e.occurred_at, recorded_at=e.recorded_at, prev_hash=prev,
            )  # fmt: skip
            await conn.execute(
                text("UPDATE events SET prev_hash = :ph, hash = :h WHERE position = :p"),
                {"ph": prev, "h": digest, "p": e.position},
            )
            prev = digest
        await conn.execute(text("UPDATE events_head SET hash = :h"), {"h": prev})
        await conn.execute(text("ALTER TABLE events ENABLE ALWAYS TRIGGER events_no_update_or_delete"))
    await owner.dispose()


async def test_checkpoint_detects_a_rewrite_that_recomputed_the_chain(fresh_database_url: str, tmp_path: Path) -> None:
    engine = create_engine(as_role(fresh_database_url), pool_size=2)
    store = EventStore(engine)
    for i in range(5):
        await store.append(f"child-{uuid.uuid4()}", [NewEvent("t.T", {"i": i}, datetime.now(UTC))])
    await store.stop()
    await engine.dispose()
    env = {
        **os.environ,
        "CARELOG_DATABASE_URL": fresh_database_url,
        "CARELOG_CHECKPOINT_KEY_FILE": str(tmp_path / "key.pem"),
    }
    checkpoint_file = tmp_path / "checkpoint.json"
    signed = await asyncio.to_thread(run_carelog, "checkpoint", "--out", str(checkpoint_file), env=env)
    assert signed.returncode == 0, signed.stderr
    assert json.loads(checkpoint_file.read_text())["position"] == 5
    holds = await asyncio.to_thread(run_carelog, "verify", "--checkpoint", str(checkpoint_file), env=env)
    assert holds.returncode == 0, holds.stderr

    await _rewrite_from(fresh_database_url, 3)
    plain = await asyncio.to_thread(run_carelog, "verify", env=env)
    assert plain.returncode == 0  # the chain alone cannot tell...
    caught = await asyncio.to_thread(run_carelog, "verify", "--checkpoint", str(checkpoint_file), env=env)
    assert caught.returncode == 1  # ...the signed checkpoint can
    assert "rewritten" in caught.stderr

    forged = json.loads(checkpoint_file.read_text()) | {"position": 4}
    checkpoint_file.write_text(json.dumps(forged))
    bad_signature = await asyncio.to_thread(run_carelog, "verify", "--checkpoint", str(checkpoint_file), env=env)
    assert bad_signature.returncode == 1 and "signature" in bad_signature.stderr


async def test_verify_and_checkpoint_endpoints(client: httpx.AsyncClient, auth, tmp_path: Path, app) -> None:  # type: ignore[no-untyped-def]
    app.state.settings.checkpoint_key_file = tmp_path / "key.pem"
    verified = await client.get("/v1/admin/verify", headers=auth(Role.INSPECTOR))
    assert verified.status_code == 200 and verified.json()["ok"] is True
    refused = await client.post("/v1/admin/checkpoints", headers=auth(Role.INSPECTOR))
    assert refused.status_code == 403
    signed = await client.post("/v1/admin/checkpoints", headers=auth(Role.ADMIN))
    assert signed.status_code == 201
    checkpoint = Checkpoint(**signed.json())
    assert checkpoint.position >= verified.json()["head_position"]
    assert signature_valid(checkpoint)
