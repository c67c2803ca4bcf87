"""Bearer JWTs (PyJWT) and the principal they carry. The policy of who may see what is in
`shared/policy.py`; here is only who the caller is."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt
from fastapi import Request
from pydantic import BaseModel, Field

from shared.problems import Problem
from shared.settings import ALLOWED_JWT_ALGORITHMS, Settings


class Role(StrEnum):
    CHILD_SOCIAL_WORKER = "child_social_worker"
    SUPERVISING_SOCIAL_WORKER = "supervising_social_worker"
    MANAGER = "manager"
    REGISTERED_MANAGER = "registered_manager"
    CARER = "carer"
    LADO = "lado"
    INSPECTOR = "inspector"
    ADMIN = "admin"


WORKER_ROLES = frozenset(
    {Role.CHILD_SOCIAL_WORKER, Role.SUPERVISING_SOCIAL_WORKER, Role.MANAGER, Role.REGISTERED_MANAGER}
)
MANAGERS = frozenset({Role.MANAGER, Role.REGISTERED_MANAGER})
ALLOWED_ALGORITHMS = frozenset(ALLOWED_JWT_ALGORITHMS)
# A subject names a worker in every event they record: OpenID Connect Core §2 caps it at 255.
MAX_SUBJECT_CHARS = 255
# The browser's session (shared/signin.py): sent only to the HTML pages, and taken only by a GET of
# one. A cookie rides along on any request a page elsewhere makes (CSRF), so it never authorises
# the API or a write; those need a bearer token.
SESSION_COOKIE = "carelog_session"
BROWSER_PAGES = "/inspect"
SESSION_AUDIENCE = "carelog-session"
# Processes' clocks differ a little: a session minted by one is good at once in another.
SESSION_LEEWAY_SECONDS = 60


class Principal(BaseModel):
    subject: str
    role: Role
    household_ids: list[uuid.UUID] = Field(default_factory=list)
    child_ids: list[uuid.UUID] = Field(default_factory=list)

    @property
    def actor(self) -> dict[str, str]:
        return {"actor_id": self.subject, "actor_role": self.role.value}


def mint_token(
    settings: Settings,
    *,
    role: Role | str,
    subject: str,
    household_ids: list[uuid.UUID] | None = None,
    child_ids: list[uuid.UUID] | None = None,
    ttl: timedelta = timedelta(hours=8),
    now: datetime | None = None,
) -> str:
    issued = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": subject,
        "role": Role(role).value,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl,
    }
    if household_ids:
        claims["households"] = [str(h) for h in household_ids]
    if child_ids:
        claims["children"] = [str(c) for c in child_ids]
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


class VerifiedTokens:
    """Tokens whose signature and claims were checked, with the window they are valid in: a mobile
    client sends the same token on every request, and PyJWT costs tens of microseconds each time.
    The window is checked on every use, so an expired token is refused as before."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._known: dict[str, tuple[Principal, float, float]] = {}

    def get(self, token: str) -> Principal | None:
        found = self._known.get(token)
        if found is None:
            return None
        principal, not_before, expires = found
        if not not_before <= time.time() < expires:
            del self._known[token]
            return None
        return principal

    def remember(self, token: str, principal: Principal, not_before: float, expires: float) -> None:
        if len(self._known) >= self.size:
            self._known.clear()
        self._known[token] = (principal, not_before, expires)


def unauthenticated(reason: str) -> Problem:
    return Problem(
        "unauthenticated",
        f"The bearer token is not valid: {reason}.",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def _audience_is_ours(claimed: object, audience: str) -> bool:
    """Only tokens issued for carelog alone: a token meant for several services could be replayed
    by any of them, so `aud` is our audience or a list of it alone."""
    return claimed == audience or claimed == [audience]


def decode_token(
    token: str, settings: Settings, jwk_client: Any | None = None, tokens: VerifiedTokens | None = None
) -> Principal:
    if len(token.encode()) > settings.max_bearer_token_bytes:
        raise unauthenticated(f"larger than {settings.max_bearer_token_bytes} bytes")
    algorithms = [a for a in settings.jwt_algorithms if a in ALLOWED_ALGORITHMS]
    try:
        header = jwt.get_unverified_header(token)
        algorithm = header.get("alg")
        if algorithm not in algorithms:
            raise jwt.InvalidAlgorithmError(f"algorithm {algorithm!r} is not allowed")
        if algorithm == "HS256":
            key: Any = settings.jwt_secret
        elif jwk_client is not None:
            key = jwk_client.get_signing_key_from_jwt(token).key
        else:
            raise jwt.InvalidKeyError("no key for this algorithm")
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "sub", "iss", "aud"]},
        )
        if not _audience_is_ours(claims["aud"], settings.jwt_audience):
            raise jwt.InvalidAudienceError("the token is not for carelog alone")
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject.strip() or len(subject) > MAX_SUBJECT_CHARS:
            raise jwt.InvalidTokenError(f"sub must name the caller in 1 to {MAX_SUBJECT_CHARS} characters")
        principal = Principal(
            subject=subject,
            role=Role(str(claims.get("role"))),
            household_ids=[uuid.UUID(h) for h in claims.get("households", [])],
            child_ids=[uuid.UUID(c) for c in claims.get("children", [])],
        )
        if tokens is not None:
            tokens.remember(token, principal, float(claims.get("nbf", 0)), float(claims["exp"]))
        return principal
    except (jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
        raise unauthenticated(type(exc).__name__) from exc


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the caller, from `Authorization: Bearer <jwt>`, or on an HTML page from
    the browser's session cookie; 401 otherwise (a browser without a session is sent to sign in).

    Decoded once per request (the idempotency middleware, the access policy and the endpoint all ask)."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    authorization = request.headers.get("authorization", "")
    state = request.app.state
    if not authorization and state.settings.signs_in and browser_page(request.method, request.url.path):
        principal = session_principal(request.cookies.get(SESSION_COOKIE), state.settings, state.clock.now())
        if principal is None:
            raise SignInRequired(request.url.path, request.url.query)
    else:
        principal = await authenticate(authorization, state)
    request.state.principal = principal
    return principal


def browser_page(method: str, path: str) -> bool:
    """A page a person opens in a browser: the only requests a session cookie is good for."""
    return method in ("GET", "HEAD") and path.startswith(BROWSER_PAGES + "/")


class SignInRequired(Exception):
    """A browser opened a page without a (valid) session: it is sent to sign in, then back here."""

    def __init__(self, path: str, query: str) -> None:
        super().__init__(path)
        self.then = f"{path}?{query}" if query else path


def mint_session(settings: Settings, principal: Principal, now: datetime) -> str:
    """The session cookie's value: the principal, signed with the session secret, good for
    `session_hours` by the agency's clock. Its audience is not a bearer token's."""
    claims: dict[str, Any] = {
        "aud": SESSION_AUDIENCE,
        "sub": principal.subject,
        "role": principal.role.value,
        "children": [str(c) for c in principal.child_ids],
        "households": [str(h) for h in principal.household_ids],
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=settings.session_hours)).timestamp()),
    }
    return jwt.encode(claims, settings.session_key, algorithm="HS256")


def session_principal(cookie: str | None, settings: Settings, now: datetime) -> Principal | None:
    """The principal a session cookie carries; None when there is none, or it is forged or expired."""
    if not cookie or len(cookie.encode()) > settings.max_bearer_token_bytes:
        return None
    try:
        claims = jwt.decode(
            cookie,
            settings.session_key,
            algorithms=["HS256"],
            audience=SESSION_AUDIENCE,
            # Expiry by the agency's clock (below), like every other instant carelog keeps.
            options={"require": ["exp", "iat", "sub"], "verify_exp": False, "verify_iat": False},
        )
        if not claims["iat"] - SESSION_LEEWAY_SECONDS <= now.timestamp() < claims["exp"]:
            return None
        return Principal(
            subject=claims["sub"],
            role=Role(claims["role"]),
            child_ids=[uuid.UUID(c) for c in claims["children"]],
            household_ids=[uuid.UUID(h) for h in claims["households"]],
        )
    except (jwt.PyJWTError, ValueError, KeyError, TypeError):
        return None


async def authenticate(authorization: str, state: Any) -> Principal:
    """The caller named by an Authorization header's value, with the app's keys (`state`: the
    app's state); a 401 problem when it is missing, malformed, forged or expired."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Problem(
            "unauthenticated",
            "Send a bearer token in the Authorization header.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = token.strip()
    settings = state.settings
    if len(token.encode()) > settings.max_bearer_token_bytes:  # before any parsing or caching
        raise unauthenticated(f"larger than {settings.max_bearer_token_bytes} bytes")
    tokens: VerifiedTokens | None = getattr(state, "verified_tokens", None)
    principal = tokens.get(token) if tokens is not None else None
    if principal is None:
        jwk_client = getattr(state, "jwk_client", None)
        if jwk_client is not None and _algorithm(token) != "HS256":
            # PyJWKClient fetches the provider's keys over blocking HTTP (then caches them): off the loop.
            principal = await asyncio.to_thread(decode_token, token, settings, jwk_client, tokens)
        else:
            principal = decode_token(token, settings, jwk_client, tokens)
    return principal


def _algorithm(token: str) -> str | None:
    try:
        return str(jwt.get_unverified_header(token.strip()).get("alg"))
    except jwt.PyJWTError:
        return None


def jwk_client_for(settings: Settings) -> Any | None:
    """The OIDC provider's JWKS client, when one is configured."""
    if not settings.jwks_url:
        return None
    return jwt.PyJWKClient(settings.jwks_url, cache_keys=True, lifespan=3600, timeout=10)
