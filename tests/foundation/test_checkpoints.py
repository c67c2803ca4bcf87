"""Signed checkpoints prove a log was not rewritten, even when the rewrite recomputed every hash."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from services.app import create_app
from shared.auth import Role, mint_token
from shared.checkpoints import Checkpoint, load_key, public_key_text, sign, signature_valid
from shared.clock import ManualClock
from shared.db import as_role, create_engine
from shared.eventstore import EVENT_COLUMNS, EventStore, NewEvent, row_to_event
from shared.eventstore.hashing import event_hash
from tests.conftest import test_settings
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
    agency_key = load_key(tmp_path / "key.pem")  # outside production, made on first use
    assert agency_key is not None and signature_valid(checkpoint, public_key_text(agency_key))


async def _five_events(owner_url: str) -> None:
    engine = create_engine(as_role(owner_url), pool_size=2)
    store = EventStore(engine)
    for i in range(5):
        await store.append(f"child-{uuid.uuid4()}", [NewEvent("t.T", {"i": i}, datetime.now(UTC))])
    await store.stop()
    await engine.dispose()


async def _head_hash(owner_url: str) -> str:
    engine = create_engine(owner_url, pool_size=1)
    async with engine.connect() as conn:
        head = str((await conn.execute(text("SELECT hash FROM events_head"))).scalar_one())
    await engine.dispose()
    return head


async def test_a_checkpoint_is_checked_against_the_agencys_key_never_its_own(
    fresh_database_url: str, tmp_path: Path
) -> None:
    await _five_events(fresh_database_url)
    key_file = tmp_path / "agency-key.pem"
    env = {**os.environ, "CARELOG_DATABASE_URL": fresh_database_url, "CARELOG_CHECKPOINT_KEY_FILE": str(key_file)}
    genuine = tmp_path / "genuine.json"
    signed = await asyncio.to_thread(run_carelog, "checkpoint", "--out", str(genuine), env=env)
    assert signed.returncode == 0, signed.stderr
    agency_public = json.loads(genuine.read_text())["public_key"]
    # Only the public key, as an auditor holding a copy of the log has it.
    auditor = {**env, "CARELOG_CHECKPOINT_KEY_FILE": str(tmp_path / "absent.pem"),
               "CARELOG_CHECKPOINT_PUBLIC_KEY": agency_public}  # fmt: skip
    holds = await asyncio.to_thread(run_carelog, "verify", "--checkpoint", str(genuine), env=auditor)
    assert holds.returncode == 0, holds.stderr

    # Whoever rewrites the log signs the new head with a key of their own and ships it in the file.
    await _rewrite_from(fresh_database_url, 3)
    forger = Ed25519PrivateKey.generate()
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(sign(forger, 5, await _head_hash(fresh_database_url), datetime.now(UTC)).as_json()))
    for trusting in (env, auditor):
        refused = await asyncio.to_thread(run_carelog, "verify", "--checkpoint", str(forged), env=trusting)
        assert refused.returncode == 1, refused.stdout
        assert "not valid for the agency's key" in refused.stderr
    caught = await asyncio.to_thread(run_carelog, "verify", "--checkpoint", str(genuine), env=auditor)
    assert caught.returncode == 1 and "rewritten" in caught.stderr
    # An operator may name a key explicitly; the flag wins over the settings.
    named = await asyncio.to_thread(
        run_carelog, "verify", "--checkpoint", str(forged), "--public-key", agency_public, env=env
    )
    assert named.returncode == 1 and "signature" in named.stderr


async def test_verify_with_no_trusted_key_refuses_in_one_line(fresh_database_url: str, tmp_path: Path) -> None:
    await _five_events(fresh_database_url)
    checkpoint = tmp_path / "checkpoint.json"
    made = sign(Ed25519PrivateKey.generate(), 5, await _head_hash(fresh_database_url), datetime.now(UTC))
    checkpoint.write_text(json.dumps(made.as_json()))
    env = {**os.environ, "CARELOG_DATABASE_URL": fresh_database_url,
           "CARELOG_CHECKPOINT_KEY_FILE": str(tmp_path / "absent.pem")}  # fmt: skip
    env.pop("CARELOG_CHECKPOINT_PUBLIC_KEY", None)
    for extra, says in (((), "no trusted checkpoint key"), (("--public-key", "not-a-key"), "base64")):
        done = await asyncio.to_thread(run_carelog, "verify", "--checkpoint", str(checkpoint), *extra, env=env)
        assert done.returncode == 2, done.stdout
        [line] = done.stderr.strip().splitlines()
        assert line.startswith("carelog: configuration error:") and says in line
    assert not (tmp_path / "absent.pem").exists()  # verifying never makes a key


async def test_production_signs_only_with_the_agencys_configured_key(
    app_url: str,
    clock: ManualClock,
    auth,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    agency = Ed25519PrivateKey.generate()
    production = {
        "env": "production",
        "jwt_secret": "a-production-secret-of-more-than-32-bytes-0123",
        "key_encryption_key": base64.b64encode(b"an-agency-key-encryption-key-32b").decode(),
    }
    missing = tmp_path / "missing.pem"
    other_file = tmp_path / "other.pem"
    other_file.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cases = [
        (test_settings(**production, checkpoint_key_file=missing), "no checkpoint signing key"),
        (
            test_settings(**production, checkpoint_key_file=other_file, checkpoint_public_key=public_key_text(agency)),
            "CARELOG_CHECKPOINT_PUBLIC_KEY",
        ),
    ]
    for settings, says in cases:
        application = create_app(settings, database_url=app_url, clock=clock, run_workers=False)
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://carelog.test") as c:
                token = mint_token(settings, role=Role.ADMIN, subject="admin-keys")
                refused = await c.post("/v1/admin/checkpoints", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 503, refused.text
        assert says in refused.json()["detail"]
    assert not missing.exists()  # production never makes a key of its own
