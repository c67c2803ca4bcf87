"""Signed checkpoints of the log head, append-only.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from migrations.sql import append_only, execute_script

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

APP_ROLE = "carelog_app"


def upgrade() -> None:
    execute_script(
        """
        CREATE TABLE log_checkpoints (
            id bigserial PRIMARY KEY,
            position bigint NOT NULL,
            head_hash text NOT NULL,
            signed_at text NOT NULL,
            public_key text NOT NULL,
            signature text NOT NULL
        );
        """
        + append_only("log_checkpoints", APP_ROLE)
    )


def downgrade() -> None:
    raise RuntimeError("checkpoints are never dropped by a migration")
