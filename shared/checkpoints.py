"""Signed checkpoints: (position, head hash, time) signed with Ed25519, so a copy of the log can
later prove it has not been rewritten up to that point (`carelog verify --checkpoint FILE`).

A checkpoint carries the public key that signed it, for information only: anyone can sign a
rewritten log with a key of their own, so a signature is checked only against the agency's key
(`trusted_public_key`), never against the key inside the checkpoint.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.eventstore import sql
from shared.eventstore.hashing import timestamp_text
from shared.settings import ED25519_PUBLIC_KEY_BYTES, ConfigurationError, Settings


@dataclass(frozen=True)
class Checkpoint:
    position: int
    head_hash: str
    signed_at: str
    public_key: str  # raw Ed25519 public key, base64
    signature: str  # over the canonical JSON of the three fields above, base64

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _signed_bytes(position: int, head_hash: str, signed_at: str) -> bytes:
    return rfc8785.dumps({"position": position, "head_hash": head_hash, "signed_at": signed_at})


def load_key(path: Path) -> Ed25519PrivateKey | None:
    """The signing key in PEM at `path`; None when there is no file."""
    if not path.exists():
        return None
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError as exc:
        raise ConfigurationError(f"{path} is not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"{path} is not an Ed25519 private key")
    return key


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The signing key in PEM at `path`, created (mode 600) on first use."""
    found = load_key(path)
    if found is not None:
        return found
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)
    return key


def public_key_text(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A raw Ed25519 public key in base64, as `carelog checkpoint` prints it."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except ValueError as exc:
        raise ConfigurationError("the checkpoint public key is not base64") from exc
    if len(raw) != ED25519_PUBLIC_KEY_BYTES:
        raise ConfigurationError(f"the checkpoint public key must be {ED25519_PUBLIC_KEY_BYTES} bytes in base64")
    return Ed25519PublicKey.from_public_bytes(raw)


def trusted_public_key(settings: Settings, given: str | None = None) -> str:
    """The agency's public key, from the first of: `given` (--public-key), the setting
    CARELOG_CHECKPOINT_PUBLIC_KEY, the public half of the agency's own signing key file."""
    if given is not None:
        parse_public_key(given)
        return given.strip()
    if settings.checkpoint_public_key is not None:
        return settings.checkpoint_public_key
    key = load_key(settings.checkpoint_key_path)
    if key is None:
        raise ConfigurationError(
            "no trusted checkpoint key: pass --public-key, set CARELOG_CHECKPOINT_PUBLIC_KEY, or point "
            "CARELOG_CHECKPOINT_KEY_FILE at the agency's key"
        )
    return public_key_text(key)


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The agency's signing key. Created on first use only outside production: a production
    process that made its own key would sign checkpoints no one can check it against."""
    path = settings.checkpoint_key_path
    key = load_key(path) if settings.is_production else load_or_create_key(path)
    if key is None:
        raise ConfigurationError(f"no checkpoint signing key at {path} (CARELOG_CHECKPOINT_KEY_FILE)")
    if settings.checkpoint_public_key is not None and public_key_text(key) != settings.checkpoint_public_key:
        raise ConfigurationError(f"the key at {path} is not the one CARELOG_CHECKPOINT_PUBLIC_KEY names")
    return key


def sign(key: Ed25519PrivateKey, position: int, head_hash: str, at: datetime) -> Checkpoint:
    signed_at = timestamp_text(at)
    signature = key.sign(_signed_bytes(position, head_hash, signed_at))
    return Checkpoint(position, head_hash, signed_at, public_key_text(key), base64.b64encode(signature).decode())


def signature_valid(checkpoint: Checkpoint, trusted_public_key: str) -> bool:
    """Signed by the holder of `trusted_public_key` (the key inside the checkpoint is not trusted)."""
    key = parse_public_key(trusted_public_key)
    try:
        key.verify(
            base64.b64decode(checkpoint.signature),
            _signed_bytes(checkpoint.position, checkpoint.head_hash, checkpoint.signed_at),
        )
    except InvalidSignature:
        return False
    return True


async def take_checkpoint(engine: AsyncEngine, key: Ed25519PrivateKey, now: datetime) -> Checkpoint:
    """Sign the current head at `now` (the agency's clock) and store the checkpoint (append-only)."""
    async with engine.begin() as conn:
        driver: Any = (await conn.get_raw_connection()).driver_connection
        head = await driver.fetchrow(sql.HEAD)
        checkpoint = sign(key, int(head["position"]), str(head["hash"]), now)
        await conn.execute(
            text(
                "INSERT INTO log_checkpoints (position, head_hash, signed_at, public_key, signature) "
                "VALUES (:p, :h, :s, :k, :sig)"
            ),
            {
                "p": checkpoint.position,
                "h": checkpoint.head_hash,
                "s": checkpoint.signed_at,
                "k": checkpoint.public_key,
                "sig": checkpoint.signature,
            },
        )
    return checkpoint


async def hash_at(engine: AsyncEngine, position: int) -> str | None:
    if position == 0:
        return "0" * 64
    async with engine.connect() as conn:
        driver: Any = (await conn.get_raw_connection()).driver_connection
        row = await driver.fetchrow(sql.EVENT_AT, position)
    return None if row is None else str(row["hash"])
