"""Signed checkpoints: (position, head hash, time) signed with Ed25519, so a copy of the log can
later prove it has not been rewritten up to that point (`carelog verify --checkpoint FILE`)."""

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

from shared.eventstore.hashing import timestamp_text


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


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The signing key in PEM at `path`, created (mode 600) on first use."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return key
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


def sign(key: Ed25519PrivateKey, position: int, head_hash: str, at: datetime) -> Checkpoint:
    signed_at = timestamp_text(at)
    signature = key.sign(_signed_bytes(position, head_hash, signed_at))
    return Checkpoint(position, head_hash, signed_at, public_key_text(key), base64.b64encode(signature).decode())


def signature_valid(checkpoint: Checkpoint, trusted_public_key: str | None = None) -> bool:
    public = trusted_public_key or checkpoint.public_key
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public))
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
        head = (await conn.execute(text("SELECT position, hash FROM events_head"))).one()
        checkpoint = sign(key, int(head.position), str(head.hash), now)
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
        value = (await conn.execute(text("SELECT hash FROM events WHERE position = :p"), {"p": position})).scalar()
    return None if value is None else str(value)
