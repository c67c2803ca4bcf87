"""Find whether a clock was closed by its id, not by reading every closing event.

The clock's escalation checks, inside the locked append, that no DeadlineMet or DeadlineCancelled
names the deadline. Without an index that read every such event: a second per escalation at a
million events, with every other append waiting on the head lock meanwhile.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from migrations.sql import execute_script

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        CREATE INDEX events_deadline_closed ON events ((data->>'deadline_id'))
            WHERE type IN ('DeadlineMet', 'DeadlineCancelled');
        """
    )


def downgrade() -> None:
    execute_script("DROP INDEX events_deadline_closed;")
