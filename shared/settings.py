"""All configuration in one place: environment variables with the CARELOG_ prefix."""

from __future__ import annotations

import base64
import ipaddress
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import platformdirs
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from shared.logs import LOG_FORMATS, LOG_LEVELS
from shared.practice import CarersPractice, RetentionPractice, VisitsPractice

# Published in this repository: anyone can sign tokens with it, so production refuses it.
DEVELOPMENT_JWT_SECRET = "carelog-development-secret-change-me-0123456789"
# The development key of the acknowledgement links in emails: published, so production refuses it.
DEVELOPMENT_ACKNOWLEDGEMENT_LINK_SECRET = "carelog-development-link-secret-change-me-0123456789"
# The key-encryption key used when none is configured (shared/eventstore/shredding.py): published
# here, so production refuses it; the bytes spell what it is.
DEVELOPMENT_KEK = base64.b64encode(b"carelog-development-kek-0123456!").decode()
# Every example secret in this repository (compose, Kubernetes) says so: never run on one.
PLACEHOLDER_SECRET = "change-me"
# The environments carelog knows; anything else is a typo that must not fall back to development.
ENVIRONMENTS = ("development", "test", "production")
# An HS256 key at least as long as the hash it keys (RFC 7518 §3.2).
MIN_HS256_SECRET_BYTES = 32
# Token algorithms carelog can verify: HS256 with the shared secret, RS256/ES256 with the JWKS.
ALLOWED_JWT_ALGORITHMS = ("HS256", "RS256", "ES256")
# Signs the browser's session cookie outside production when no secret is set: published, so
# production refuses it (shared/auth.py, the session cookie).
DEVELOPMENT_SESSION_SECRET = "carelog-development-session-secret-0123456789"
# Where the provider sends the browser back to (GET /signin/callback, shared/signin.py).
SIGNIN_CALLBACK_PATH = "/signin/callback"
# A raw Ed25519 public key (RFC 8032).
ED25519_PUBLIC_KEY_BYTES = 32
DATABASE_URL_SHAPE = "postgresql://user[:password]@host[:port]/database"
# A browser origin: scheme, host and optional port, nothing after it but a slash.
ORIGIN = re.compile(r"https?://[^/?#\s]+/?")


class ConfigurationError(ValueError):
    """A setting is missing, malformed or unsafe for the environment: the process must not start."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARELOG_", extra="ignore")

    # development, test or production (any case); production refuses development secrets.
    env: str = "development"
    database_url: str | None = None
    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("carelog")))
    # Logging (shared/logs.py): debug, info, warning or error; auto (JSON lines, human-readable on a
    # terminal), json or console.
    log_level: str = "info"
    log_format: str = "auto"
    # Per process. Sized for ~16 concurrent requests each briefly holding a connection or two.
    pool_size: int = 20

    # Auth (docs/architecture.md).
    jwt_secret: str = DEVELOPMENT_JWT_SECRET
    jwt_issuer: str = "carelog"
    jwt_audience: str = "carelog"
    jwt_algorithms: Annotated[list[str], NoDecode] = ["HS256"]
    jwks_url: str | None = None
    # A bearer token longer than this is refused (401) before it is parsed.
    max_bearer_token_bytes: int = 8192
    # Browser origins allowed to call the API (CORS), comma-separated; empty: no CORS headers at all.
    cors_origins: Annotated[list[str], NoDecode] = []

    # Browser sign-in for the HTML pages (/inspect/...) with the agency's OpenID Connect provider
    # (shared/signin.py); unset issuer: no sign-in, the pages take bearer tokens only.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    # This service's callback as the provider knows it: https://<host>/signin/callback.
    oidc_redirect_url: str | None = None
    # Scopes asked for, space-separated: openid, and whichever scope puts the claims below in the ID token.
    oidc_scopes: str = "openid"
    # The ID token's claims that carry carelog's role, children and households (as in a bearer token).
    oidc_role_claim: str = "role"
    oidc_children_claim: str = "children"
    oidc_households_claim: str = "households"
    # Signs the session cookie (HMAC, at least 32 bytes in production); unset: a development secret.
    session_secret: str | None = None
    # A session cookie is good for this long after sign-in; then the browser signs in again.
    session_hours: float = Field(default=8.0, gt=0, le=24)

    # HTTP limits.
    max_body_bytes: int = 1_048_576
    # A document uploaded to a record (POST .../documents), local: 25 MB (26,214,400 bytes) by default.
    max_document_bytes: int = Field(default=26_214_400, ge=1, le=1_073_741_824)
    # Every request header's name and value together, and any one header (431 past either).
    max_request_header_bytes: int = 16_384
    max_header_bytes: int = 8_192
    idempotency_lease_seconds: float = 30.0
    login_free_requests_per_minute: int = Field(default=600, ge=1)
    # Failed authentications (401) a client address may have a minute before it gets 429 (local).
    failed_authentications_per_minute: int = Field(default=30, ge=1)
    # Writes (POST) one principal may make a minute (local); 0: no limit, for bulk loaders.
    writes_per_minute: int = Field(default=600, ge=0)
    # Proxies (addresses or CIDRs) whose X-Forwarded-For names the client; empty: trust none.
    trusted_proxies: Annotated[list[str], NoDecode] = []
    # When set, /metrics answers only `Authorization: Bearer <this>`; unset, an admin or inspector JWT.
    metrics_token: str | None = None

    # Signed checkpoints of the log head (Ed25519 key in PEM; created on first use outside production).
    checkpoint_key_file: Path | None = None
    # The agency's Ed25519 public key (base64, as `carelog checkpoint` prints it): checkpoints are
    # verified against it; unset, against the public half of the key file.
    checkpoint_public_key: str | None = None
    checkpoint_interval: float = 3600.0

    # Crypto-shredding (docs/architecture.md section 1): the key-encryption key that wraps every
    # subject's data key, 32 bytes in base64, from this variable or a file holding it (the file
    # wins); unset, a published development key. Back it up apart from the database (deploy/README.md).
    key_encryption_key: str | None = None
    key_encryption_key_file: Path | None = None

    # Local practice of each service (shared/practice.py; CARELOG_VISITS_*, CARELOG_CARERS_*).
    visits: VisitsPractice = Field(default_factory=lambda: VisitsPractice())
    carers: CarersPractice = Field(default_factory=lambda: CarersPractice())
    retention: RetentionPractice = Field(default_factory=lambda: RetentionPractice())
    # Days after a month's end during which late entries still count in its official KPIs (local).
    kpi_close_days: float = Field(default=5.0, ge=0, le=60)

    # Optional OpenTelemetry tracing (needs the `otel` extra).
    otel_enabled: bool = False

    # The log and its followers.
    projector_poll_interval: float = 2.0
    group_commit_max_batch: int = 256

    # Chronology: an entry recorded this long after it occurred is flagged late (local practice).
    late_entry_hours: float = 24.0

    # Notifications: seconds between delivery attempts, then dead-letter (docs/architecture.md).
    webhook_retry_schedule: Annotated[list[float], NoDecode] = [
        0,
        5,
        300,
        1800,
        7200,
        18000,
        36000,
    ]
    webhook_timeout_seconds: float = 15.0
    # Networks (CIDRs) webhooks may reach although they are loopback, private, link-local or
    # reserved, e.g. a receiver on the agency's own network; empty: public addresses only (SSRF).
    webhook_allowed_networks: Annotated[list[str], NoDecode] = []
    # Email delivery (subscriptions to `mailto:` addresses) through the agency's relay; unset: none.
    smtp_host: str | None = None
    # 587: submission with STARTTLS (RFC 6409, RFC 3207).
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "carelog@localhost"
    # STARTTLS is required (a relay that does not offer it is a failed attempt); off only outside production.
    smtp_starttls: bool = True
    # Certificate authorities the relay's certificate is checked against; unset: the system's.
    smtp_ca_file: Path | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    # The acknowledgement link in each notification email (services/notifications/links.py): signed
    # with this key (HS256, not the API's token key), valid this many days from sending, and pointing
    # at this public base URL (https in production); unset base URL: emails carry no link.
    acknowledgement_link_secret: str = DEVELOPMENT_ACKNOWLEDGEMENT_LINK_SECRET
    acknowledgement_link_days: float = Field(default=14.0, gt=0, le=90)
    public_base_url: str | None = None
    clock_interval: float = 30.0
    dispatcher_interval: float = 1.0
    # At shut-down, how long workers may take to finish the step they are in (a webhook in flight
    # waits its timeout twice: resolving the host, then the request) before they are cancelled.
    shutdown_grace_seconds: float = Field(default=35.0, ge=0, le=300)

    @field_validator("env", mode="before")
    @classmethod
    def _known_environment(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        normalised = value.strip().lower()
        if normalised not in ENVIRONMENTS:
            raise ValueError(f"must be one of {', '.join(ENVIRONMENTS)}, not {value!r}")
        return normalised

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _logging_word(cls, value: object, info: ValidationInfo) -> object:
        allowed = LOG_LEVELS if info.field_name == "log_level" else LOG_FORMATS
        if not isinstance(value, str):
            return value
        normalised = value.strip().lower()
        if normalised not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}, not {value!r}")
        return normalised

    @field_validator("database_url")
    @classmethod
    def _postgresql_url(cls, value: str | None) -> str | None:
        """A URL carelog can connect to; the value itself is never echoed (it may hold a password)."""
        if value is None or not value.strip():
            return None
        try:
            url = make_url(value.strip())
        except ArgumentError:
            raise ValueError(f"is not a URL; expected {DATABASE_URL_SHAPE}") from None
        if url.get_backend_name() not in ("postgresql", "postgres") or not url.database:
            raise ValueError(f"is not a PostgreSQL URL naming a database; expected {DATABASE_URL_SHAPE}")
        return value.strip()

    @field_validator("jwt_algorithms", "cors_origins", "trusted_proxies", "webhook_allowed_networks", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        """A list in one environment variable: comma-separated."""
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("jwt_algorithms")
    @classmethod
    def _known_algorithms(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one algorithm")
        unknown = [a for a in value if a not in ALLOWED_JWT_ALGORITHMS]
        if unknown:
            raise ValueError(f"{', '.join(unknown)} not supported; use {', '.join(ALLOWED_JWT_ALGORITHMS)}")
        return value

    @field_validator("trusted_proxies", "webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        """Addresses or CIDRs, written out as networks (10.0.0.1 is 10.0.0.1/32)."""
        return [str(ipaddress.ip_network(n, strict=False)) for n in value]

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not re.fullmatch(r"https?://[^/?#\s]+(/[^?#\s]*)?", value.strip()):
            raise ValueError("must be an http(s) URL with no query, e.g. https://carelog.agency.example")
        return value.strip().rstrip("/")

    @field_validator(
        "metrics_token",
        "smtp_host",
        "smtp_username",
        "smtp_password",
        "oidc_issuer",
        "oidc_client_id",
        "oidc_client_secret",
        "oidc_redirect_url",
        "session_secret",
        mode="before",
    )
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("checkpoint_public_key")
    @classmethod
    def _public_key(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            raw = base64.b64decode(value.strip(), validate=True)
        except ValueError as exc:
            raise ValueError("not base64") from exc
        if len(raw) != ED25519_PUBLIC_KEY_BYTES:
            raise ValueError(f"an Ed25519 public key is {ED25519_PUBLIC_KEY_BYTES} bytes in base64")
        return value.strip()

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], no path)")
        return [o.rstrip("/") for o in value]

    @field_validator("webhook_retry_schedule", mode="before")
    @classmethod
    def _split_schedule(cls, value: object) -> object:
        if isinstance(value, str):
            return [float(s) for s in value.split(",") if s.strip()]
        return value

    @property
    def checkpoint_key_path(self) -> Path:
        return self.checkpoint_key_file or self.data_dir / "checkpoint-key.pem"

    @model_validator(mode="after")
    def _safe(self) -> Settings:
        faults = self.faults()
        if faults:
            raise ValueError("; ".join(faults))
        return self

    def faults(self) -> list[str]:
        """What makes these settings unsafe to run with (empty: none). Checked when the settings are
        read and again by the app, in case they were changed after."""
        found: list[str] = []
        if any(a != "HS256" for a in self.jwt_algorithms) and not self.jwks_url:
            found.append("CARELOG_JWT_ALGORITHMS names RS256/ES256 but CARELOG_JWKS_URL is not set")
        found += self._signin_faults()
        found += self._key_faults()
        if not self.is_production:
            return found
        found += self._secret_faults()
        if "*" in self.cors_origins:
            found.append("CARELOG_CORS_ORIGINS may not be * in production; name the origins")
        if self.smtp_host and not self.smtp_starttls:
            found.append("CARELOG_SMTP_STARTTLS may not be off in production: referrals go by secure email only")
        if self.public_base_url is not None and not self.public_base_url.startswith("https://"):
            found.append("CARELOG_PUBLIC_BASE_URL must be https in production: it carries acknowledgement links")
        return found

    def _secret_faults(self) -> list[str]:
        """Production's secrets: its own, and as long as the hash they key (HMAC-SHA256)."""
        secrets = {"CARELOG_JWT_SECRET": self.jwt_secret} if "HS256" in self.jwt_algorithms else {}
        if self.metrics_token is not None:
            secrets["CARELOG_METRICS_TOKEN"] = self.metrics_token
        if self.signs_in:
            secrets["CARELOG_SESSION_SECRET"] = self.session_key
        if self.smtp_host:  # the acknowledgement link is in emails only
            secrets["CARELOG_ACKNOWLEDGEMENT_LINK_SECRET"] = self.acknowledgement_link_secret
        found = []
        for name, secret in secrets.items():
            if secret in (DEVELOPMENT_JWT_SECRET, DEVELOPMENT_ACKNOWLEDGEMENT_LINK_SECRET):
                found.append(f"{name} is the published development secret; set a secret of your own")
            elif secret == DEVELOPMENT_SESSION_SECRET:
                found.append(f"{name} must be set in production: a secret of your own, at least 32 bytes")
            elif PLACEHOLDER_SECRET in secret.lower():
                found.append(f"{name} is a placeholder from this repository ({PLACEHOLDER_SECRET}); replace it")
            elif len(secret.encode()) < MIN_HS256_SECRET_BYTES:
                found.append(f"{name} must be at least {MIN_HS256_SECRET_BYTES} bytes in production")
        return found

    def _signin_faults(self) -> list[str]:
        """Browser sign-in needs the whole client registration; in production, TLS to the provider
        and back (the session cookie is Secure, the ID token's keys come from the issuer)."""
        if not self.signs_in:
            return []
        found = [
            f"CARELOG_{name.upper()} must be set with CARELOG_OIDC_ISSUER"
            for name in ("oidc_client_id", "oidc_redirect_url")
            if getattr(self, name) is None
        ]
        redirect = self.oidc_redirect_url or ""
        if redirect and not redirect.split("?")[0].endswith(SIGNIN_CALLBACK_PATH):
            found.append(f"CARELOG_OIDC_REDIRECT_URL must end with {SIGNIN_CALLBACK_PATH}")
        if self.is_production:
            for name in ("oidc_issuer", "oidc_redirect_url"):
                if not str(getattr(self, name) or "").startswith("https://"):
                    found.append(f"CARELOG_{name.upper()} must be an https:// URL in production")
        return found

    @property
    def signs_in(self) -> bool:
        """Browsers sign in with the agency's OpenID Connect provider."""
        return self.oidc_issuer is not None

    @property
    def session_key(self) -> str:
        return self.session_secret or DEVELOPMENT_SESSION_SECRET

    def _key_faults(self) -> list[str]:
        """The key-encryption key: 32 bytes of base64 anywhere, and never the published one in production."""
        if self.key_encryption_key is not None and not _is_key_of_32_bytes(self.key_encryption_key):
            return ["CARELOG_KEY_ENCRYPTION_KEY must be 32 bytes in base64 (openssl rand -base64 32)"]
        if self.is_production and self._development_kek():
            return [
                "CARELOG_KEY_ENCRYPTION_KEY is unset or the published development key; "
                "set a key of your own (or CARELOG_KEY_ENCRYPTION_KEY_FILE)"
            ]
        return []

    def _development_kek(self) -> bool:
        """Whether personal data would be sealed under the published key (a file that cannot be
        read is left to the start, which names it)."""
        if self.key_encryption_key_file is not None:
            try:
                return self.key_encryption_key_file.read_text().strip() == DEVELOPMENT_KEK
            except OSError:
                return False
        return (self.key_encryption_key or DEVELOPMENT_KEK).strip() == DEVELOPMENT_KEK

    @property
    def is_production(self) -> bool:
        return self.env == "production"


def _is_key_of_32_bytes(text: str) -> bool:
    try:
        return len(base64.b64decode(text.strip(), validate=True)) == 32
    except ValueError:
        return False


def describe(error: ValidationError) -> str:
    """A validation error of the settings as one line, naming the variables; the values pydantic
    saw are left out, since one may be a secret."""
    parts = []
    for item in error.errors():
        message = str(item["msg"]).removeprefix("Value error, ")
        field = str(item["loc"][0]) if item["loc"] else ""
        parts.append(f"CARELOG_{field.upper()}: {message}" if field else message)
    return " ".join("; ".join(parts).split())


@lru_cache
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError(describe(exc)) from None
