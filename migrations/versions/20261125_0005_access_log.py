"""The access log: every read of a child's record, append-only like the event log.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from migrations.sql import append_only, execute_script

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

APP_ROLE = "carelog_app"


def upgrade() -> None:
    execute_script(
        """
        CREATE TABLE access_log (
            id bigserial PRIMARY KEY,
            at timestamptz NOT NULL DEFAULT clock_timestamp(),
            actor_id text NOT NULL,
            actor_role text NOT NULL,
            child_id uuid NOT NULL,
            method text NOT NULL,
            route text NOT NULL,
            path text NOT NULL,
            break_glass boolean NOT NULL DEFAULT false,
            reason text,
            request_id text
        );
        CREATE INDEX access_log_child ON access_log (child_id, id);
        """
        + append_only("access_log", APP_ROLE)
    )


def downgrade() -> None:
    raise RuntimeError("the access log is never dropped by a migration")
