"""Configuration that is unsafe or misspelt stops every command before it starts: one line on
stderr, exit code 2, no traceback. Browser origins are allowed only when configured."""

from __future__ import annotations

import base64
import os
import subprocess

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from services.app import create_app
from shared.clock import ManualClock
from shared.settings import DEVELOPMENT_JWT_SECRET, DEVELOPMENT_KEK, ConfigurationError
from tests.conftest import test_settings
from tests.foundation.test_cli import CARELOG

GOOD_SECRET = "a-production-secret-of-more-than-32-bytes-0123456789"
# A key-encryption key of the agency's own (32 bytes, base64), not the published development one.
GOOD_KEK = base64.b64encode(b"an-agency-key-encryption-key-32b").decode()
# Nothing listens here: a command that got past its configuration check would fail differently.
NO_DATABASE = "postgresql://nobody@127.0.0.1:1/none"


def carelog(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CARELOG_")}
    return subprocess.run(
        [*CARELOG, *args], env={**clean, "CARELOG_DATABASE_URL": NO_DATABASE, **env},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


REFUSED = {
    "production in another case, development secret": (
        {"CARELOG_ENV": "Production"},
        "development secret",
    ),
    "an environment name carelog does not know": ({"CARELOG_ENV": "prod"}, "CARELOG_ENV"),
    "a one-byte secret in production": ({"CARELOG_ENV": "production", "CARELOG_JWT_SECRET": "a"}, "32 bytes"),
    "any origin in production": (
        {
            "CARELOG_ENV": "production",
            "CARELOG_JWT_SECRET": GOOD_SECRET,
            "CARELOG_KEY_ENCRYPTION_KEY": GOOD_KEK,
            "CARELOG_CORS_ORIGINS": "*",
        },
        "CARELOG_CORS_ORIGINS",
    ),
    "the Kubernetes placeholder secret in production": (
        {"CARELOG_ENV": "production", "CARELOG_JWT_SECRET": "CHANGE-ME-at-least-32-random-bytes-base64"},
        "placeholder",
    ),
    "a short metrics token in production": (
        {
            "CARELOG_ENV": "production",
            "CARELOG_JWT_SECRET": GOOD_SECRET,
            "CARELOG_KEY_ENCRYPTION_KEY": GOOD_KEK,
            "CARELOG_METRICS_TOKEN": "prom",
        },
        "CARELOG_METRICS_TOKEN",
    ),
    "no key-encryption key in production": (
        {"CARELOG_ENV": "production", "CARELOG_JWT_SECRET": GOOD_SECRET},
        "CARELOG_KEY_ENCRYPTION_KEY is unset or the published development key",
    ),
    "the published key-encryption key in production": (
        {"CARELOG_ENV": "production", "CARELOG_JWT_SECRET": GOOD_SECRET, "CARELOG_KEY_ENCRYPTION_KEY": DEVELOPMENT_KEK},
        "published development key",
    ),
    "the Kubernetes placeholder key-encryption key": (
        {"CARELOG_KEY_ENCRYPTION_KEY": "CHANGE-ME-32-random-bytes-base64"},
        "CARELOG_KEY_ENCRYPTION_KEY must be 32 bytes",
    ),
    "a trusted proxy that is not an address": ({"CARELOG_TRUSTED_PROXIES": "ingress"}, "CARELOG_TRUSTED_PROXIES"),
    "an algorithm carelog cannot verify": ({"CARELOG_JWT_ALGORITHMS": "HS256,none"}, "CARELOG_JWT_ALGORITHMS"),
    "a number that is not one": ({"CARELOG_POOL_SIZE": "twenty"}, "CARELOG_POOL_SIZE"),
    "a database URL that is not one": ({"CARELOG_DATABASE_URL": "localhost:5432"}, "CARELOG_DATABASE_URL"),
    "a database URL of another kind": ({"CARELOG_DATABASE_URL": "mysql://a@b/c"}, "PostgreSQL"),
    "email without STARTTLS in production": (
        {
            "CARELOG_ENV": "production",
            "CARELOG_JWT_SECRET": GOOD_SECRET,
            "CARELOG_KEY_ENCRYPTION_KEY": GOOD_KEK,
            "CARELOG_SMTP_HOST": "relay.agency.example.org",
            "CARELOG_SMTP_STARTTLS": "false",
        },
        "CARELOG_SMTP_STARTTLS",
    ),
    "email in production with the development link key": (
        {"CARELOG_ENV": "production", "CARELOG_JWT_SECRET": GOOD_SECRET, "CARELOG_SMTP_HOST": "relay.example.org"},
        "CARELOG_ACKNOWLEDGEMENT_LINK_SECRET is the published development secret",
    ),
    "acknowledgement links over plain http in production": (
        {"CARELOG_ENV": "production", "CARELOG_JWT_SECRET": GOOD_SECRET, "CARELOG_PUBLIC_BASE_URL": "http://x.org"},
        "CARELOG_PUBLIC_BASE_URL must be https",
    ),
    "a public base URL with a query": ({"CARELOG_PUBLIC_BASE_URL": "https://x.org/?a=b"}, "CARELOG_PUBLIC_BASE_URL"),
    "a log level carelog does not know": ({"CARELOG_LOG_LEVEL": "loud"}, "CARELOG_LOG_LEVEL"),
    "nothing listening at the database URL": ({"CARELOG_DATABASE_URL": "postgresql://a:hunter2@127.0.0.1:1/x"}, "***"),
    "an embedded data directory that cannot be made": (
        {"CARELOG_DATABASE_URL": "", "CARELOG_DATA_DIR": "/proc/carelog"},
        "/proc/carelog",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED), ids=list(REFUSED))
def test_serve_refuses_unsafe_configuration_in_one_line(case: str) -> None:
    env, named = REFUSED[case]
    done = carelog("serve", "--no-migrate", "--port", "1", **env)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("carelog: configuration error:"), done.stderr
    assert named in lines[0]
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert GOOD_SECRET not in done.stderr and "hunter2" not in done.stderr  # secrets are never echoed
    assert GOOD_KEK not in done.stderr and DEVELOPMENT_KEK not in done.stderr


@pytest.mark.parametrize("command", [("migrate",), ("verify",), ("replay",), ("report", "--month", "2026-01")])
def test_every_command_checks_the_configuration_first(command: tuple[str, ...]) -> None:
    done = carelog(*command, CARELOG_ENV="production", CARELOG_JWT_SECRET="short", CARELOG_KEY_ENCRYPTION_KEY=GOOD_KEK)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "carelog: configuration error: CARELOG_JWT_SECRET must be at least 32 bytes in production"
    ]


def test_a_safe_production_configuration_starts(database_url: str) -> None:
    migrated = carelog("migrate", CARELOG_ENV=" PRODUCTION ", CARELOG_JWT_SECRET=GOOD_SECRET,
                       CARELOG_KEY_ENCRYPTION_KEY=GOOD_KEK, CARELOG_DATABASE_URL=database_url)  # fmt: skip
    assert migrated.returncode == 0, migrated.stderr
    # Normalised to production: the development token minter refuses.
    minted = carelog("token", "--role", "admin", "--subject", "a", CARELOG_ENV="Production",
                     CARELOG_JWT_SECRET=GOOD_SECRET, CARELOG_KEY_ENCRYPTION_KEY=GOOD_KEK)  # fmt: skip
    assert minted.returncode == 2 and "production" in minted.stderr


def test_settings_changed_after_reading_are_checked_again_by_the_app(app_url: str) -> None:
    settings = test_settings()
    settings.env = "production"  # the development secret is still set
    assert settings.jwt_secret == DEVELOPMENT_JWT_SECRET
    with pytest.raises(ConfigurationError, match="development secret"):
        create_app(settings, database_url=app_url)
    with pytest.raises(ValidationError, match="development secret"):
        test_settings(env="production")


async def _preflight(application: FastAPI, origin: str) -> httpx.Response:
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://carelog.test") as client:
            return await client.options(
                "/v1/visits/due",
                headers={"Origin": origin, "Access-Control-Request-Method": "GET",
                         "Access-Control-Request-Headers": "authorization"},
            )  # fmt: skip


async def test_cross_origin_requests_only_from_configured_origins(app_url: str, clock: ManualClock) -> None:
    closed = create_app(test_settings(), database_url=app_url, clock=clock)
    answer = await _preflight(closed, "https://portal.example.org")
    assert "access-control-allow-origin" not in answer.headers

    opened = create_app(
        test_settings(
            env="production",
            jwt_secret=GOOD_SECRET,
            key_encryption_key=GOOD_KEK,
            cors_origins="https://portal.example.org/",
        ),
        database_url=app_url,
        clock=clock,
    )
    allowed = await _preflight(opened, "https://portal.example.org")
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://portal.example.org"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    other = await _preflight(opened, "https://evil.example.net")
    assert other.headers.get("access-control-allow-origin") != "https://evil.example.net"
