"""The append-only event log, its head, projector checkpoints, idempotency keys, the app role.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from migrations.sql import execute_script

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APP_ROLE = "carelog_app"


def upgrade() -> None:
    execute_script(
        """
        CREATE TABLE events_head (
            id boolean PRIMARY KEY DEFAULT true CHECK (id),
            position bigint NOT NULL,
            hash text NOT NULL,
            recorded_at timestamptz
        );
        INSERT INTO events_head (id, position, hash) VALUES (true, 0, repeat('0', 64));

        CREATE TABLE events (
            position bigint PRIMARY KEY CHECK (position > 0),
            event_id uuid NOT NULL,
            stream_id text NOT NULL,
            stream_version integer NOT NULL CHECK (stream_version > 0),
            type text NOT NULL,
            schema_version integer NOT NULL DEFAULT 1,
            data jsonb NOT NULL,
            metadata jsonb NOT NULL,
            child_ids uuid[] NOT NULL DEFAULT '{}',
            occurred_at timestamptz NOT NULL,
            recorded_at timestamptz NOT NULL,
            prev_hash text NOT NULL,
            hash text NOT NULL,
            CONSTRAINT events_event_id_key UNIQUE (event_id),
            CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
        );
        CREATE INDEX events_child_ids_gin ON events USING gin (child_ids);
        CREATE INDEX events_type_position ON events (type, position);
        CREATE INDEX events_recorded_at ON events (recorded_at);

        CREATE FUNCTION events_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % is refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$;
        CREATE TRIGGER events_no_update_or_delete BEFORE UPDATE OR DELETE ON events
            FOR EACH ROW EXECUTE FUNCTION events_reject_change();
        CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
            FOR EACH STATEMENT EXECUTE FUNCTION events_reject_change();
        -- ALWAYS: the triggers fire even under session_replication_role = replica.
        ALTER TABLE events ENABLE ALWAYS TRIGGER events_no_update_or_delete;
        ALTER TABLE events ENABLE ALWAYS TRIGGER events_no_truncate;

        CREATE TABLE projector_checkpoints (
            name text PRIMARY KEY,
            position bigint NOT NULL
        );

        CREATE TABLE idempotency_keys (
            scope text NOT NULL,
            key text NOT NULL,
            request_hash text NOT NULL,
            state text NOT NULL CHECK (state IN ('in_flight', 'done')),
            status integer,
            headers jsonb,
            body bytea,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (scope, key)
        );
        """
    )
    execute_script(
        f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} LOGIN;
            END IF;
        END $$;
        DO $$ BEGIN
            EXECUTE format('GRANT CONNECT ON DATABASE %I TO {APP_ROLE}', current_database());
            EXECUTE format('GRANT USAGE ON SCHEMA %I TO {APP_ROLE}', current_schema());
            EXECUTE format(
                'ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE '
                'ON TABLES TO {APP_ROLE}', current_schema());
            EXECUTE format(
                'ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}',
                current_schema());
        END $$;
        -- The log: read and append, nothing else.
        GRANT SELECT, INSERT ON events TO {APP_ROLE};
        GRANT SELECT, UPDATE ON events_head TO {APP_ROLE};
        GRANT SELECT, INSERT, UPDATE ON projector_checkpoints TO {APP_ROLE};
        GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO {APP_ROLE};
        GRANT SELECT ON alembic_version TO {APP_ROLE};
        """
    )


def downgrade() -> None:
    raise RuntimeError("the event log is never dropped by a migration")
