"""Who is allocated to what and which placements are open, as a projection the access policy reads.

Every request asked the log for the caller's relationships by scanning events (registrations,
allocations, placements) several times; these two tables answer it in one indexed read. An
outbox row's first due time was the database's now() rather than the log's: it is written
explicitly from now on, so the column's default goes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from migrations.sql import execute_script

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        CREATE TABLE access_allocations (
            kind text NOT NULL CHECK (kind IN ('child', 'household')),
            object_id uuid NOT NULL,
            worker_id text NOT NULL,
            PRIMARY KEY (kind, object_id, worker_id)
        );
        CREATE INDEX access_allocations_worker ON access_allocations (worker_id);
        CREATE TABLE access_placements (
            placement_id uuid PRIMARY KEY,
            child_id uuid NOT NULL,
            household_id uuid NOT NULL
        );
        CREATE INDEX access_placements_child ON access_placements (child_id);
        CREATE INDEX access_placements_household ON access_placements (household_id);
        GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON access_allocations, access_placements TO carelog_app;
        ALTER TABLE notifications_outbox ALTER COLUMN next_attempt_at DROP DEFAULT;
        """
    )


def downgrade() -> None:
    execute_script(
        """
        DROP TABLE access_allocations, access_placements;
        ALTER TABLE notifications_outbox ALTER COLUMN next_attempt_at SET DEFAULT now();
        """
    )
