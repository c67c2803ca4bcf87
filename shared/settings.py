"""All configuration in one place: environment variables with the CARELOG_ prefix."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

import platformdirs
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEVELOPMENT_JWT_SECRET = "carelog-development-secret-change-me-0123456789"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARELOG_", extra="ignore")

    env: str = "development"
    database_url: str | None = None
    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("carelog")))
    # Per process. Sized for ~16 concurrent requests each briefly holding a connection or two.
    pool_size: int = 20

    # Auth (DESIGN.md §4).
    jwt_secret: str = DEVELOPMENT_JWT_SECRET
    jwt_issuer: str = "carelog"
    jwt_audience: str = "carelog"
    jwt_algorithms: Annotated[list[str], NoDecode] = ["HS256"]
    jwks_url: str | None = None

    # HTTP limits.
    max_body_bytes: int = 1_048_576
    idempotency_lease_seconds: float = 30.0
    login_free_requests_per_minute: int = 600

    # Signed checkpoints of the log head (Ed25519 key in PEM; created on first use).
    checkpoint_key_file: Path | None = None
    checkpoint_interval: float = 3600.0

    # Optional OpenTelemetry tracing (needs the `otel` extra).
    otel_enabled: bool = False

    # The log and its followers.
    projector_poll_interval: float = 2.0
    group_commit_max_batch: int = 256

    # Chronology: an entry recorded this long after it occurred is flagged late (local practice).
    late_entry_hours: float = 24.0

    # Notifications: seconds between delivery attempts, then dead-letter (DESIGN.md §4).
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
    clock_interval: float = 30.0
    dispatcher_interval: float = 1.0

    @field_validator("jwt_algorithms", mode="before")
    @classmethod
    def _split_algorithms(cls, value: object) -> object:
        if isinstance(value, str):
            return [a.strip() for a in value.split(",") if a.strip()]
        return value

    @field_validator("webhook_retry_schedule", mode="before")
    @classmethod
    def _split_schedule(cls, value: object) -> object:
        if isinstance(value, str):
            return [float(s) for s in value.split(",") if s.strip()]
        return value

    @property
    def checkpoint_key_path(self) -> Path:
        return self.checkpoint_key_file or self.data_dir / "checkpoint-key.pem"

    @property
    def is_production(self) -> bool:
        return self.env == "production"


@lru_cache
def get_settings() -> Settings:
    return Settings()
