"""Browser sign-in for the HTML pages with the agency's OpenID Connect provider: the authorization
code flow with PKCE (S256), state and nonce checked, the ID token verified against the provider's
published keys (PyJWT's PyJWKClient), its claims mapped to the same Principal a bearer token
carries, then a signed session cookie (shared/auth.py) that only the HTML pages take.

    GET /signin?then=/inspect/kpis   -> 303 to the provider (a short-lived cookie keeps state,
                                        nonce and the PKCE verifier for the way back)
    GET /signin/callback?code&state  -> the code exchanged, the ID token checked -> 303 to `then`
    GET /signout                     -> the session cookie removed
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

import httpx
import jwt
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shared.auth import (
    BROWSER_PAGES,
    MAX_SUBJECT_CHARS,
    SESSION_COOKIE,
    Principal,
    Role,
    SignInRequired,
    mint_session,
)
from shared.problems import Problem
from shared.settings import SIGNIN_CALLBACK_PATH, Settings

router = APIRouter()

# The sign-in in flight: state, nonce and PKCE verifier, signed, sent back only to the callback.
PENDING_COOKIE = "carelog_signin"
PENDING_AUDIENCE = "carelog-signin"
PENDING_MINUTES = 10
# Where a browser lands after signing in when it did not come from a page.
DEFAULT_PAGE = BROWSER_PAGES + "/kpis"
# ID token algorithms carelog verifies (asymmetric only: the client secret never signs a token).
ID_TOKEN_ALGORITHMS = ("RS256", "ES256", "PS256")
SIGNIN_PATHS = frozenset({"/signin", SIGNIN_CALLBACK_PATH, "/signout"})
# The provider's clock and ours differ a little: an ID token issued "in a second" is still good.
ID_TOKEN_LEEWAY_SECONDS = 60
# Browsers keep a cookie of at most 4096 bytes with its name (RFC 6265 §6.1); a longer one would be
# dropped silently and the browser sent round the sign-in again and again.
MAX_SESSION_COOKIE_BYTES = 4000
# A query parameter a browser sends back verbatim: an authorization code, state, error text.
MAX_PARAM_CHARS = 2048
Param = Annotated[str | None, Query(max_length=MAX_PARAM_CHARS)]


@dataclass(frozen=True)
class ProviderMetadata:
    """What carelog needs from the provider's discovery document."""

    issuer: str  # exactly as the provider writes it in its tokens (a trailing slash or not)
    authorization_endpoint: str
    token_endpoint: str
    jwks: jwt.PyJWKClient


def install(app: FastAPI) -> None:
    """A page opened without a session sends the browser to sign in, then back to that page."""

    async def sign_in_first(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        return RedirectResponse("/signin?" + urlencode({"then": exc.then}), status_code=303)

    app.add_exception_handler(SignInRequired, sign_in_first)
    app.state.oidc_provider = None


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    if not settings.signs_in:
        raise Problem("not-found", "Browser sign-in is not configured (CARELOG_OIDC_ISSUER).")
    return settings


async def _provider(request: Request, settings: Settings) -> ProviderMetadata:
    """The provider's endpoints and keys, discovered once (OpenID Connect Discovery 1.0)."""
    known: ProviderMetadata | None = request.app.state.oidc_provider
    if known is not None:
        return known
    issuer = str(settings.oidc_issuer).rstrip("/")
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.get(f"{issuer}/.well-known/openid-configuration")
            answer.raise_for_status()
            document = answer.json()
        # The document must speak for the issuer we trust (Discovery §4.3).
        if str(document["issuer"]).rstrip("/") != issuer:
            raise ValueError("the discovery document names another issuer")
        found = ProviderMetadata(
            issuer=str(document["issuer"]),
            authorization_endpoint=str(document["authorization_endpoint"]),
            token_endpoint=str(document["token_endpoint"]),
            jwks=jwt.PyJWKClient(str(document["jwks_uri"]), cache_keys=True, lifespan=3600, timeout=10),
        )
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        raise Problem("unavailable", "The sign-in provider cannot be reached; try again shortly.") from exc
    request.app.state.oidc_provider = found
    return found


def _pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _cookie_flags(settings: Settings) -> dict[str, Any]:
    # Secure outside development: a development server is plain http on this machine.
    return {"httponly": True, "samesite": "lax", "secure": settings.env != "development"}


def _page_to_return_to(then: str | None) -> str:
    """Only one of our own pages: never another site (an open redirect) nor an API route."""
    if then and then.startswith(BROWSER_PAGES + "/") and "\\" not in then and "//" not in then:
        return then
    return DEFAULT_PAGE


@router.get("/signin", include_in_schema=False)
async def sign_in(request: Request, then: Param = None) -> Response:
    settings = _settings(request)
    provider = await _provider(request, settings)
    now = request.app.state.clock.now()
    pending = {
        "aud": PENDING_AUDIENCE,
        "state": secrets.token_urlsafe(32),
        "nonce": secrets.token_urlsafe(32),
        "verifier": secrets.token_urlsafe(64),  # 86 characters: RFC 7636 asks 43 to 128
        "then": _page_to_return_to(then),
        "exp": int((now + timedelta(minutes=PENDING_MINUTES)).timestamp()),
    }
    query = {
        "response_type": "code",
        "client_id": settings.oidc_client_id,
        "redirect_uri": settings.oidc_redirect_url,
        "scope": settings.oidc_scopes,
        "state": pending["state"],
        "nonce": pending["nonce"],
        "code_challenge": _pkce_challenge(str(pending["verifier"])),
        "code_challenge_method": "S256",
    }
    separator = "&" if "?" in provider.authorization_endpoint else "?"
    response = RedirectResponse(provider.authorization_endpoint + separator + urlencode(query), status_code=303)
    response.set_cookie(
        PENDING_COOKIE,
        jwt.encode(pending, settings.session_key, algorithm="HS256"),
        max_age=PENDING_MINUTES * 60,
        path=SIGNIN_CALLBACK_PATH,
        **_cookie_flags(settings),
    )
    return response


def refused(reason: str) -> Problem:
    return Problem("unauthenticated", f"Sign-in failed: {reason}.")


def _pending(request: Request, settings: Settings, state: str | None) -> dict[str, Any]:
    """The sign-in this browser started: its state must come back unchanged (RFC 6749 §10.12)."""
    try:
        pending: dict[str, Any] = jwt.decode(
            request.cookies.get(PENDING_COOKIE, ""),
            settings.session_key,
            algorithms=["HS256"],
            audience=PENDING_AUDIENCE,
            options={"require": ["exp", "state", "nonce", "verifier", "then"], "verify_exp": False},
        )
    except jwt.PyJWTError as exc:
        raise refused("no sign-in was started in this browser, or it was altered") from exc
    if pending["exp"] <= request.app.state.clock.now().timestamp():
        raise refused("the sign-in took too long; start again")
    if not state or not hmac.compare_digest(str(pending["state"]), state):
        raise refused("the state does not match the sign-in this browser started")
    return pending


async def _id_token(settings: Settings, provider: ProviderMetadata, code: str, verifier: str) -> str:
    """The code exchanged at the token endpoint, with the PKCE verifier and the client's secret."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": str(settings.oidc_redirect_url),
        "code_verifier": verifier,
        "client_id": str(settings.oidc_client_id),
    }
    secret = settings.oidc_client_secret
    auth = httpx.BasicAuth(str(settings.oidc_client_id), secret) if secret else None
    try:
        async with httpx.AsyncClient(timeout=10, auth=auth) as http:
            answer = await http.post(provider.token_endpoint, data=form)
    except httpx.HTTPError as exc:
        raise Problem("unavailable", "The sign-in provider cannot be reached; try again shortly.") from exc
    if answer.status_code != 200:
        raise refused(f"the provider refused the code ({answer.status_code})")
    try:
        return str(answer.json()["id_token"])
    except (ValueError, KeyError, TypeError) as exc:
        raise refused("the provider sent no ID token") from exc


def verify_id_token(settings: Settings, provider: ProviderMetadata, token: str, nonce: str) -> dict[str, Any]:
    """OpenID Connect Core §3.1.3.7: signed by the issuer's key, for this client, unexpired, and
    answering this browser's nonce. Blocking (the keys are fetched over HTTP, then cached)."""
    try:
        key = provider.jwks.get_signing_key_from_jwt(token).key
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=list(ID_TOKEN_ALGORITHMS),
            audience=settings.oidc_client_id,
            issuer=provider.issuer,
            leeway=ID_TOKEN_LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "sub", "iss", "aud", "nonce"]},
        )
    except jwt.PyJWTError as exc:
        raise refused(f"the ID token is not valid ({type(exc).__name__})") from exc
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != settings.oidc_client_id:
        raise refused("the ID token was issued to another client")
    if not hmac.compare_digest(str(claims["nonce"]), nonce):
        raise refused("the ID token does not answer this sign-in (nonce)")
    return claims


def principal_from_claims(settings: Settings, claims: dict[str, Any]) -> Principal:
    """The same principal a bearer token with these claims would carry (claim names in Settings)."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip() or len(subject) > MAX_SUBJECT_CHARS:
        raise refused(f"sub must name the person in 1 to {MAX_SUBJECT_CHARS} characters")
    try:
        return Principal(
            subject=subject,
            role=Role(str(claims.get(settings.oidc_role_claim))),
            child_ids=[uuid.UUID(str(c)) for c in claims.get(settings.oidc_children_claim) or []],
            household_ids=[uuid.UUID(str(h)) for h in claims.get(settings.oidc_households_claim) or []],
        )
    except (ValueError, TypeError) as exc:
        raise refused(f"the provider gave no carelog role ({settings.oidc_role_claim}) or a malformed id") from exc


def session_for(settings: Settings, principal: Principal, now: datetime) -> str:
    """The session cookie's value, refused when a browser would not keep it."""
    session = mint_session(settings, principal, now)
    if len(SESSION_COOKIE) + len(session) > MAX_SESSION_COOKIE_BYTES:
        raise refused("the provider names too many children or households for a browser session")
    return session


@router.get(SIGNIN_CALLBACK_PATH, include_in_schema=False)
async def signed_in(
    request: Request,
    code: Param = None,
    state: Param = None,
    error: Param = None,
    error_description: Param = None,
    iss: Param = None,
    session_state: Param = None,  # OpenID Connect Session Management: not used
) -> Response:
    settings = _settings(request)
    pending = _pending(request, settings, state)
    # RFC 9207: a provider that names itself must be ours (a mix-up attack names another).
    if iss is not None and iss.rstrip("/") != str(settings.oidc_issuer).rstrip("/"):
        raise refused("the answer came from another issuer")
    if error is not None:
        raise refused(f"the provider answered {error}" + (f": {error_description}" if error_description else ""))
    if not code:
        raise refused("the provider sent no code")
    provider = await _provider(request, settings)
    token = await _id_token(settings, provider, code, str(pending["verifier"]))
    claims = await asyncio.to_thread(verify_id_token, settings, provider, token, str(pending["nonce"]))
    principal = principal_from_claims(settings, claims)
    response = RedirectResponse(str(pending["then"]), status_code=303)
    session = session_for(settings, principal, request.app.state.clock.now())
    flags = _cookie_flags(settings)
    lifetime = int(settings.session_hours * 3600)
    response.set_cookie(SESSION_COOKIE, session, max_age=lifetime, path=BROWSER_PAGES, **flags)
    response.delete_cookie(PENDING_COOKIE, path=SIGNIN_CALLBACK_PATH, **flags)
    return response


SIGNED_OUT = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signed out - carelog</title></head>'
    '<body><h1>You are signed out of carelog</h1><p>{detail}</p><p><a href="/signin">Sign in again</a></p>'
    "</body></html>"
)


@router.get("/signout", include_in_schema=False)
async def sign_out(request: Request) -> Response:
    """The session cookie removed. The provider's own session is the agency's to end."""
    settings: Settings = request.app.state.settings
    detail = "Close the browser on a shared computer: your sign-in with the agency may still be open."
    response = HTMLResponse(SIGNED_OUT.format(detail=html.escape(detail)))
    response.delete_cookie(SESSION_COOKIE, path=BROWSER_PAGES, **_cookie_flags(settings))
    return response
