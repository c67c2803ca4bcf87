"""Forged and broken tokens are refused: 0 accepted (docs/architecture.md §4-5, issue 7)."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from pydantic import ValidationError

from services.app import create_app
from shared.clock import ManualClock
from tests.conftest import test_settings

SECRET = "test-secret-for-forgery-tests-0123456789abcdef"
SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = SIGNING_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(SIGNING_KEY.public_key()))
    document = json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}).encode()

    class JWKS(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), JWKS)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()


@pytest.fixture
async def oidc_client(app_url: str, jwks_url: str, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    settings = test_settings(jwt_secret=SECRET, jwt_algorithms=["HS256", "RS256"], jwks_url=jwks_url)
    application: FastAPI = create_app(settings, database_url=app_url, clock=clock)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://carelog.test") as c:
            yield c


def claims(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "sub": "rm-1",
        "role": "registered_manager",
        "iss": "carelog",
        "aud": "carelog",
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=10),
    }
    base.update(overrides)
    return base


def unsigned(payload: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value, default=str).encode()).rstrip(b"=").decode()

    body = {k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in payload.items()}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(body)}."


def edited_role() -> str:
    """A real carer token whose payload was edited to say registered_manager."""
    header, _payload, signature = jwt.encode(claims(role="carer"), SECRET, algorithm="HS256").split(".")
    raised = claims(role="registered_manager")
    body = {k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in raised.items()}
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


FORGERIES = {
    "alg none": lambda: unsigned(claims()),
    "alg None spelled otherwise": lambda: unsigned(claims()).replace("bm9uZQ", "Tm9uZQ"),
    "wrong HS256 secret": lambda: jwt.encode(claims(), "not-the-secret-0123456789abcdefghij", algorithm="HS256"),
    "HS256 signed with the RS public key": lambda: _hs256_with_public_key(),
    "expired": lambda: jwt.encode(claims(exp=datetime.now(UTC) - timedelta(seconds=5)), SECRET, algorithm="HS256"),
    "not yet valid": lambda: jwt.encode(claims(nbf=datetime.now(UTC) + timedelta(hours=1)), SECRET, algorithm="HS256"),
    "wrong audience": lambda: jwt.encode(claims(aud="someone-else"), SECRET, algorithm="HS256"),
    "wrong issuer": lambda: jwt.encode(claims(iss="evil"), SECRET, algorithm="HS256"),
    "no expiry": lambda: jwt.encode({k: v for k, v in claims().items() if k != "exp"}, SECRET, algorithm="HS256"),
    "unknown kid": lambda: jwt.encode(claims(), OTHER_KEY, algorithm="RS256", headers={"kid": "k2"}),
    "known kid, other key": lambda: jwt.encode(claims(), OTHER_KEY, algorithm="RS256", headers={"kid": "k1"}),
    "payload edited to raise the role": edited_role,
    "unknown role": lambda: jwt.encode(claims(role="superuser"), SECRET, algorithm="HS256"),
    "not a JWT at all": lambda: "definitely.not.a-token",
    "empty subject": lambda: jwt.encode(claims(sub=""), SECRET, algorithm="HS256"),
    "blank subject": lambda: jwt.encode(claims(sub="   "), SECRET, algorithm="HS256"),
    "numeric subject": lambda: jwt.encode(claims(sub=7), SECRET, algorithm="HS256"),
    "subject longer than OIDC allows": lambda: jwt.encode(claims(sub="w" * 256), SECRET, algorithm="HS256"),
    "audience shared with another service": lambda: jwt.encode(
        claims(aud=["carelog", "billing"]), SECRET, algorithm="HS256"
    ),
    "signed but over 8 KiB": lambda: jwt.encode(claims(padding="p" * 9000), SECRET, algorithm="HS256"),
}


def _hs256_with_public_key() -> str:
    """The algorithm-confusion attack: HMAC keyed with the provider's public key."""
    import hashlib
    import hmac

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    body = {k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in claims().items()}
    signing_input = f"{part({'alg': 'HS256', 'typ': 'JWT', 'kid': 'k1'})}.{part(body)}"
    signature = hmac.new(PUBLIC_PEM, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


async def test_genuine_tokens_from_both_issuers_are_accepted(oidc_client: httpx.AsyncClient) -> None:
    for token in (
        jwt.encode(claims(), SECRET, algorithm="HS256"),
        jwt.encode(claims(), SIGNING_KEY, algorithm="RS256", headers={"kid": "k1"}),
        # A list naming carelog alone is the same audience (some providers always send a list).
        jwt.encode(claims(aud=["carelog"]), SECRET, algorithm="HS256"),
    ):
        response = await oidc_client.get("/v1/visits/due", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("forgery", list(FORGERIES), ids=list(FORGERIES))
async def test_forged_tokens_are_refused(oidc_client: httpx.AsyncClient, forgery: str) -> None:
    token = FORGERIES[forgery]()
    response = await oidc_client.get("/v1/visits/due", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "WWW-Authenticate" in response.headers
    write = await oidc_client.post(
        "/v1/children",
        json={"name": "X"},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
    )
    assert write.status_code == 401


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="development secret"):
        test_settings(env="production")
