"""carers: the household's related-events index follows a panel's recommendation and final minutes,
which a fostering panel's stream records about the household.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from alembic import op  # noqa: F401  (execute_script for multi-statement SQL)

from migrations.sql import execute_script

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_OLD_TYPES = (
    "'carers.PlacementStarted', 'carers.PlacementEnded', 'carers.EndingRecorded', 'carers.AllegationReceived', "
    "'carers.AllegationOutcomeRecorded', 'DeadlineSet', 'DeadlineMet', 'DeadlineCancelled'"
)
_NEW_TYPES = (
    "'carers.PlacementStarted', 'carers.PlacementEnded', 'carers.EndingRecorded', 'carers.AllegationReceived', "
    "'carers.AllegationOutcomeRecorded', 'DeadlineSet', 'DeadlineMet', 'DeadlineCancelled', "
    "'carers.PanelRecommended', 'carers.PanelMinutesReceived'"
)


def upgrade() -> None:
    # The partial index must name the same types as the household's read (HOUSEHOLD_RELATED).
    execute_script(
        f"""
        CREATE INDEX carers_events_household_v3 ON events ((data->>'household_id'))
            WHERE type IN ({_NEW_TYPES});
        DROP INDEX IF EXISTS carers_events_household_v2;
        """
    )


def downgrade() -> None:
    execute_script(
        f"""
        CREATE INDEX IF NOT EXISTS carers_events_household_v2 ON events ((data->>'household_id'))
            WHERE type IN ({_OLD_TYPES});
        DROP INDEX IF EXISTS carers_events_household_v3;
        """
    )
