"""carers oversight: caseloads and workers' own supervision; the household index covers endings.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from alembic import op  # noqa: F401  (execute_script for multi-statement SQL)

from migrations.sql import execute_script

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_OLD_TYPES = (
    "'carers.PlacementStarted', 'carers.PlacementEnded', 'carers.AllegationReceived', "
    "'carers.AllegationOutcomeRecorded', 'DeadlineSet', 'DeadlineMet', 'DeadlineCancelled'"
)
_NEW_TYPES = (
    "'carers.PlacementStarted', 'carers.PlacementEnded', 'carers.EndingRecorded', 'carers.AllegationReceived', "
    "'carers.AllegationOutcomeRecorded', 'DeadlineSet', 'DeadlineMet', 'DeadlineCancelled'"
)


def upgrade() -> None:
    # Tables prefixed carers_ ; the app role gets DML on them through default privileges (0001).
    execute_script(
        f"""
        CREATE TABLE carers_caseloads (
            worker_id text NOT NULL,
            kind text NOT NULL CHECK (kind IN ('child', 'household')),
            object_id uuid NOT NULL,
            since timestamptz NOT NULL,
            PRIMARY KEY (worker_id, kind, object_id)
        );

        CREATE TABLE carers_workers (
            worker_id text PRIMARY KEY,
            first_allocated_at timestamptz,
            last_supervised_at timestamptz,
            supervisions integer NOT NULL DEFAULT 0
        );

        -- The household read under the append lock now also follows carers.EndingRecorded: the
        -- partial index must name the same types as the query to be used.
        CREATE INDEX carers_events_household_v2 ON events ((data->>'household_id'))
            WHERE type IN ({_NEW_TYPES});
        DROP INDEX IF EXISTS carers_events_household;
        """
    )


def downgrade() -> None:
    execute_script(
        f"""
        CREATE INDEX IF NOT EXISTS carers_events_household ON events ((data->>'household_id'))
            WHERE type IN ({_OLD_TYPES});
        DROP INDEX IF EXISTS carers_events_household_v2;
        DROP TABLE IF EXISTS carers_workers, carers_caseloads;
        """
    )
