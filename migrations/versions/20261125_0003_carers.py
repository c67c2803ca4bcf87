"""carers service read models.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from alembic import op  # noqa: F401  (execute_script for multi-statement SQL)

from migrations.sql import execute_script

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Tables prefixed carers_ ; the app role gets DML on them through default privileges (0001).
    execute_script(
        """
        CREATE TABLE carers_households (
            household_id uuid PRIMARY KEY,
            name text NOT NULL,
            status text NOT NULL,
            version integer NOT NULL,
            state jsonb NOT NULL,
            position bigint NOT NULL
        );
        CREATE INDEX carers_households_status ON carers_households (status);

        CREATE TABLE carers_placements (
            placement_id uuid PRIMARY KEY,
            household_id uuid NOT NULL,
            child_id uuid NOT NULL,
            start_date date NOT NULL,
            end_date date,
            data jsonb NOT NULL
        );
        CREATE INDEX carers_placements_household ON carers_placements (household_id);
        CREATE INDEX carers_placements_child ON carers_placements (child_id);

        CREATE TABLE carers_allegations (
            allegation_id uuid PRIMARY KEY,
            household_id uuid NOT NULL,
            state jsonb NOT NULL,
            events jsonb NOT NULL
        );
        CREATE INDEX carers_allegations_household ON carers_allegations (household_id);

        -- The placement check reads a household's placements, allegations and their clocks from
        -- the log under the append lock; this keeps that read an index scan.
        CREATE INDEX carers_events_household ON events ((data->>'household_id'))
            WHERE type IN ('carers.PlacementStarted', 'carers.PlacementEnded', 'carers.AllegationReceived',
                           'carers.AllegationOutcomeRecorded', 'DeadlineSet', 'DeadlineMet', 'DeadlineCancelled');
        """
    )


def downgrade() -> None:
    execute_script(
        """
        DROP INDEX IF EXISTS carers_events_household;
        DROP TABLE IF EXISTS carers_allegations, carers_placements, carers_households;
        """
    )
