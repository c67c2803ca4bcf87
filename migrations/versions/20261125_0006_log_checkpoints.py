"""Signed checkpoints of the log head, append-only.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from migrations.sql import execute_script

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

APP_ROLE = "carelog_app"


def upgrade() -> None:
    execute_script(
        f"""
        CREATE TABLE log_checkpoints (
            id bigserial PRIMARY KEY,
            position bigint NOT NULL,
            head_hash text NOT NULL,
            signed_at text NOT NULL,
            public_key text NOT NULL,
            signature text NOT NULL
        );
        CREATE TRIGGER log_checkpoints_no_update_or_delete BEFORE UPDATE OR DELETE ON log_checkpoints
            FOR EACH ROW EXECUTE FUNCTION events_reject_change();
        CREATE TRIGGER log_checkpoints_no_truncate BEFORE TRUNCATE ON log_checkpoints
            FOR EACH STATEMENT EXECUTE FUNCTION events_reject_change();
        ALTER TABLE log_checkpoints ENABLE ALWAYS TRIGGER log_checkpoints_no_update_or_delete;
        ALTER TABLE log_checkpoints ENABLE ALWAYS TRIGGER log_checkpoints_no_truncate;
        REVOKE ALL ON log_checkpoints FROM {APP_ROLE};
        GRANT SELECT, INSERT ON log_checkpoints TO {APP_ROLE};
        GRANT USAGE ON SEQUENCE log_checkpoints_id_seq TO {APP_ROLE};
        """
    )


def downgrade() -> None:
    raise RuntimeError("checkpoints are never dropped by a migration")
