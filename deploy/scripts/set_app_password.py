"""Set the password of the application role after `carelog migrate` (the migration job runs this).

The migrations create the role `carelog_app` (LOGIN, no password: SELECT/INSERT on the log and DML on
the read models). On a server that authenticates with passwords an operator must give it one:

    ALTER ROLE carelog_app PASSWORD '...';

This script does exactly that from the environment, so the migration job can do it on every
deploy (and a password rotation is "change the Secret, re-run the job, roll the services"):

    CARELOG_DATABASE_URL   the owner's URL (the one the migrations ran with)
    CARELOG_APP_PASSWORD   the password the services use in their CARELOG_DATABASE_URL;
                           when empty or unset, nothing is done
    CARELOG_APP_ROLE       the role, default carelog_app

The password is sent as a SCRAM-SHA-256 verifier computed here, never in clear text, so it does
not appear in the server's statement log. Standard library plus asyncpg (a carelog dependency).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import re
import secrets
import sys

SCRAM_ITERATIONS = 4096
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def scram_sha256_verifier(password: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
    """PostgreSQL's stored form of a SCRAM-SHA-256 password (RFC 5802 / RFC 7677)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def plain_url(url: str) -> str:
    """asyncpg takes postgresql:// URLs; carelog also accepts postgresql+asyncpg:// ones."""
    return re.sub(r"^postgres(?:ql)?(?:\+\w+)?://", "postgresql://", url)


async def set_password(url: str, role: str, password: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(plain_url(url))
    try:
        # Utility statements take no bind parameters: let the server quote the literal.
        statement = await conn.fetchval(
            "SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text)", role, scram_sha256_verifier(password)
        )
        await conn.execute(statement)
    finally:
        await conn.close()


def main() -> int:
    password = os.environ.get("CARELOG_APP_PASSWORD", "")
    role = os.environ.get("CARELOG_APP_ROLE", "carelog_app")
    url = os.environ.get("CARELOG_DATABASE_URL", "")
    if not password:
        print("CARELOG_APP_PASSWORD not set: application role password left unchanged", file=sys.stderr)
        return 0
    if not url:
        print("CARELOG_DATABASE_URL (the owner's URL) is required", file=sys.stderr)
        return 2
    if not ROLE_NAME.match(role):
        print(f"refusing role name {role!r}", file=sys.stderr)
        return 2
    asyncio.run(set_password(url, role, password))
    print(f"password of role {role} set", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
