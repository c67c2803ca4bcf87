"""Browser sign-in, in process: what the session cookie opens and what it never does, the checks
on the provider's answer, and the production guard. The whole flow with a real provider and a real
browser is tests/security/test_browser_signin.py."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from shared.auth import SESSION_COOKIE, Principal, Role, mint_session, session_principal
from shared.clock import ManualClock
from shared.problems import Problem
from shared.settings import Settings
from shared.signin import (
    PENDING_COOKIE,
    ProviderMetadata,
    _page_to_return_to,
    principal_from_claims,
    session_for,
    verify_id_token,
)
from tests.conftest import AuthHeaders, test_settings
from tests.foundation.test_configuration import GOOD_KEK

ISSUER = "https://id.agency.example"
SIGNIN: dict[str, Any] = {
    "oidc_issuer": ISSUER,
    "oidc_client_id": "carelog",
    "oidc_client_secret": "client-secret",
    "oidc_redirect_url": "https://carelog.agency.example/signin/callback",
    "session_secret": "a-session-secret-of-at-least-32-bytes!!",
}
PROVIDER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def settings() -> Settings:
    return test_settings(env="test", **SIGNIN)


def session(settings: Settings, clock: ManualClock, role: Role = Role.INSPECTOR, **claims: Any) -> dict[str, str]:
    principal = Principal(subject="hmi-ada", role=role, **claims)
    return {"Cookie": f"{SESSION_COOKIE}={mint_session(settings, principal, clock.now())}"}


async def test_the_session_cookie_opens_the_pages_and_nothing_else(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, settings: Settings, clock: ManualClock
) -> None:
    manager = auth(Role.REGISTERED_MANAGER, subject="rm-1")
    body = {"name": "Ava", "date_of_birth": "2014-02-01", "legal_status": "s20", "placing_authority": "X",
            "social_worker_id": "sw-1"}  # fmt: skip
    child = (await client.post("/v1/children", json=body, headers=manager)).json()["child_id"]
    page = f"/inspect/children/{child}"

    # No session: to sign-in, and back to this page afterwards; an API route still answers 401.
    answer = await client.get(page, params={"as_of": "2026-11-25T12:00:00Z"})
    assert answer.status_code == 303
    then = parse_qs(urlsplit(answer.headers["location"]).query)["then"]
    assert answer.headers["location"].startswith("/signin?") and then == [f"{page}?as_of=2026-11-25T12%3A00%3A00Z"]
    assert (await client.get("/v1/children")).status_code == 401

    inspector = session(settings, clock)
    shown = await client.get(page, headers=inspector)
    assert shown.status_code == 200 and "<h1>Ava</h1>" in shown.text
    log = (await client.get(f"/v1/children/{child}/access-log", headers=manager)).json()["entries"]
    assert [(e["actor_id"], e["actor_role"], e["route"]) for e in log] == [
        ("hmi-ada", "inspector", "/inspect/children/{child_id}")
    ]
    assert (await client.get("/inspect/kpis", headers=inspector)).status_code == 200
    # The same policy as a bearer token: a carer's session does not open a child's page.
    assert (await client.get(page, headers=session(settings, clock, Role.CARER))).status_code == 404

    # Never the API, never a write: a cookie rides along on requests other sites make (CSRF).
    assert (await client.get(f"/v1/children/{child}", headers=inspector)).status_code == 401
    writer = session(settings, clock, Role.REGISTERED_MANAGER)
    assert (await client.post("/v1/children", json=body, headers=writer)).status_code == 401
    # A bearer token wins over a cookie, and keeps working beside sign-in.
    worker = auth(Role.CHILD_SOCIAL_WORKER)
    assert (await client.get("/inspect/kpis", headers={**inspector, **worker})).status_code == 403
    assert (await client.get(page, headers=auth(Role.INSPECTOR))).status_code == 200

    # Forged, or past its hours by the agency's clock: signed in again.
    forged = mint_session(test_settings(**{**SIGNIN, "session_secret": "x" * 40}), Principal(
        subject="hmi-ada", role=Role.INSPECTOR), clock.now())  # fmt: skip
    assert (await client.get(page, headers={"Cookie": f"{SESSION_COOKIE}={forged}"})).status_code == 303
    clock.advance(timedelta(hours=settings.session_hours, seconds=1))
    assert (await client.get(page, headers=inspector)).status_code == 303

    # Without a provider configured there is no sign-in: the pages take bearer tokens only.
    app.state.settings = test_settings(env="test")
    assert (await client.get("/signin")).status_code == 404
    assert (await client.get(page, headers=session(settings, clock))).status_code == 401


async def test_sign_in_sends_the_browser_to_the_provider_with_pkce_state_and_nonce(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, clock: ManualClock
) -> None:
    app.state.oidc_provider = ProviderMetadata(ISSUER, f"{ISSUER}/auth", f"{ISSUER}/token", jwks=None)  # type: ignore[arg-type]
    answer = await client.get("/signin", params={"then": "https://elsewhere.example/"})
    assert answer.status_code == 303
    to = urlsplit(answer.headers["location"])
    query = {k: v[0] for k, v in parse_qs(to.query).items()}
    pending = jwt.decode(answer.cookies[PENDING_COOKIE], settings.session_key, algorithms=["HS256"],
                         audience="carelog-signin", options={"verify_exp": False})  # fmt: skip
    assert pending["exp"] == clock.now().timestamp() + 600  # ten minutes by the agency's clock
    challenge = base64.urlsafe_b64encode(hashlib.sha256(pending["verifier"].encode()).digest()).rstrip(b"=").decode()
    assert f"{to.scheme}://{to.netloc}{to.path}" == f"{ISSUER}/auth"
    assert query == {
        "response_type": "code",
        "client_id": "carelog",
        "redirect_uri": SIGNIN["oidc_redirect_url"],
        "scope": "openid",
        "state": pending["state"],
        "nonce": pending["nonce"],
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    assert pending["then"] == "/inspect/kpis"  # never another site
    cookie = answer.headers["set-cookie"].lower()
    assert all(flag in cookie for flag in ("httponly", "secure", "samesite=lax", "path=/signin/callback"))

    # The way back is refused unless this browser started it, with this state, from this issuer.
    callback = "/signin/callback"
    assert (await client.get(callback, params={"code": "c", "state": pending["state"]})).status_code == 401
    client.cookies.set(PENDING_COOKIE, answer.cookies[PENDING_COOKIE])
    assert (await client.get(callback, params={"code": "c", "state": "another"})).status_code == 401
    other = {"code": "c", "state": pending["state"], "iss": "https://id.elsewhere.example"}
    assert (await client.get(callback, params=other)).status_code == 401
    refused = await client.get(callback, params={"error": "access_denied", "state": pending["state"]})
    assert refused.status_code == 401 and "access_denied" in refused.json()["detail"]

    signed_out = await client.get("/signout")
    assert signed_out.status_code == 200 and f'{SESSION_COOKIE}=""' in signed_out.headers["set-cookie"]


@pytest.mark.parametrize(
    ("then", "lands_on"),
    [
        ("/inspect/children/1?as_of=2026-01-01", "/inspect/children/1?as_of=2026-01-01"),
        ("https://elsewhere.example/inspect/", "/inspect/kpis"),
        ("//elsewhere.example/inspect/", "/inspect/kpis"),
        ("/inspect//elsewhere.example", "/inspect/kpis"),
        ("/inspect/\\elsewhere.example", "/inspect/kpis"),
        ("/v1/children", "/inspect/kpis"),
        (None, "/inspect/kpis"),
    ],
    ids=["a page", "another site", "scheme-relative", "double slash", "backslash", "the api", "none"],
)
def test_after_sign_in_only_our_own_pages(then: str | None, lands_on: str) -> None:
    assert _page_to_return_to(then) == lands_on


def id_token(key: Any = PROVIDER_KEY, algorithm: str = "RS256", **overrides: Any) -> str:
    claims = {"iss": ISSUER, "aud": "carelog", "sub": "hmi-ada", "nonce": "n-1", "iat": 1, "exp": 2**33,
              "role": "inspector", **overrides}  # fmt: skip
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm=algorithm)


KEYS: Any = SimpleNamespace(get_signing_key_from_jwt=lambda token: SimpleNamespace(key=PROVIDER_KEY.public_key()))
PROVIDER = ProviderMetadata(ISSUER, f"{ISSUER}/auth", f"{ISSUER}/token", jwks=KEYS)


@pytest.mark.parametrize(
    "token",
    [
        id_token(key=OTHER_KEY),
        id_token(nonce="n-2"),
        id_token(nonce=None),
        id_token(aud="another-client"),
        id_token(aud=["carelog", "another-client"]),
        id_token(iss="https://id.elsewhere.example"),
        id_token(exp=100),
        id_token(key="client-secret-" * 3, algorithm="HS256"),
    ],
    ids=[
        "another key",
        "another nonce",
        "no nonce",
        "another client",
        "shared, no azp",
        "another issuer",
        "expired",
        "HS256 with the client secret",
    ],  # fmt: skip
)
def test_an_id_token_that_does_not_answer_this_sign_in_is_refused(token: str) -> None:
    with pytest.raises(Problem) as refused:
        verify_id_token(Settings(**SIGNIN), PROVIDER, token, "n-1")
    assert refused.value.status == 401 and str(refused.value.detail).startswith("Sign-in failed")


def test_the_claims_map_to_the_principal_a_bearer_token_carries() -> None:
    settings = Settings(**SIGNIN, oidc_role_claim="carelog_role", oidc_children_claim="kids")
    child = uuid.uuid4()
    claims = verify_id_token(settings, PROVIDER, id_token(carelog_role="inspector", kids=[str(child)]), "n-1")
    assert principal_from_claims(settings, claims) == Principal(subject="hmi-ada", role=Role.INSPECTOR,
                                                                child_ids=[child])  # fmt: skip
    with pytest.raises(Problem):
        principal_from_claims(settings, {"sub": "x", "carelog_role": "superuser"})


def test_a_session_a_browser_would_drop_is_refused_at_sign_in(settings: Settings, clock: ManualClock) -> None:
    """Past 4 KB a browser drops the cookie without a word and the person goes round sign-in forever."""
    many = Principal(subject="sw-1", role=Role.CHILD_SOCIAL_WORKER, child_ids=[uuid.uuid4() for _ in range(80)])
    with pytest.raises(Problem) as refused:
        session_for(settings, many, clock.now())
    assert "too many children" in str(refused.value.detail)
    few = many.model_copy(update={"child_ids": many.child_ids[:20]})
    assert session_principal(session_for(settings, few, clock.now()), settings, clock.now()) == few


@pytest.mark.parametrize(
    ("overrides", "fault"),
    [
        ({}, None),
        ({"oidc_issuer": "http://id.agency.example"}, "CARELOG_OIDC_ISSUER must be an https:// URL"),
        ({"session_secret": None}, "CARELOG_SESSION_SECRET must be set in production"),
        ({"session_secret": "too-short"}, "CARELOG_SESSION_SECRET must be at least 32 bytes"),
        ({"oidc_client_id": None}, "CARELOG_OIDC_CLIENT_ID must be set"),
        ({"oidc_redirect_url": "https://carelog.agency.example/"}, "must end with /signin/callback"),
    ],
    ids=["complete", "issuer over http", "no cookie secret", "short cookie secret", "no client", "wrong callback"],
)
def test_production_signs_in_only_over_https_with_a_secret_of_its_own(
    overrides: dict[str, Any], fault: str | None
) -> None:
    values = {
        **Settings().model_dump(),
        **SIGNIN,
        "jwt_secret": "j" * 40,
        "key_encryption_key": GOOD_KEK,  # production's own (the published one is refused)
        **overrides,
        "env": "production",
    }
    production = Settings.model_construct(**values)  # built unchecked, then asked what is unsafe
    faults = production.faults()
    assert (faults == []) if fault is None else any(fault in f for f in faults), faults
