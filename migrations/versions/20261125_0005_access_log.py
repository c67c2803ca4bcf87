"""The access log: every read of a child's record, append-only like the event log.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from migrations.sql import execute_script

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

APP_ROLE = "carelog_app"


def upgrade() -> None:
    execute_script(
        f"""
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
        CREATE TRIGGER access_log_no_update_or_delete BEFORE UPDATE OR DELETE ON access_log
            FOR EACH ROW EXECUTE FUNCTION events_reject_change();
        CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
            FOR EACH STATEMENT EXECUTE FUNCTION events_reject_change();
        ALTER TABLE access_log ENABLE ALWAYS TRIGGER access_log_no_update_or_delete;
        ALTER TABLE access_log ENABLE ALWAYS TRIGGER access_log_no_truncate;
        -- Default privileges granted more; the access log is read and appended only.
        REVOKE ALL ON access_log FROM {APP_ROLE};
        GRANT SELECT, INSERT ON access_log TO {APP_ROLE};
        GRANT USAGE ON SEQUENCE access_log_id_seq TO {APP_ROLE};
        """
    )


def downgrade() -> None:
    raise RuntimeError("the access log is never dropped by a migration")
