"""The child's record knows when their care ended, so a record made after it (a health check, a
review, a plan) starts no further duty of looking after them; filled in from the log for the
children whose care has already ended.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from migrations.sql import execute_script

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        ALTER TABLE visits_children ADD COLUMN care_ended_on date;
        UPDATE visits_children c SET care_ended_on = ended.ended_on
        FROM (
            SELECT (data->>'child_id')::uuid AS child_id, max((data->>'ended_on')::date) AS ended_on
            FROM events WHERE type = 'visits.CareEnded' GROUP BY 1
        ) ended
        WHERE c.child_id = ended.child_id;
        """
    )


def downgrade() -> None:
    execute_script("ALTER TABLE visits_children DROP COLUMN care_ended_on;")
