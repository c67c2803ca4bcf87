"""The child_ids index without a pending list: a chronology is read often and must cost the same
however much was appended lately.

With fastupdate (GIN's default) new entries wait in an unsorted pending list until a vacuum or
4 MB of them, and every lookup scans that list: a child's chronology was twice as slow after a busy
hour. Without it each append updates the index at once, a few entries per event.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from migrations.sql import execute_script

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        ALTER INDEX events_child_ids_gin SET (fastupdate = off);
        SELECT gin_clean_pending_list('events_child_ids_gin');
        """
    )


def downgrade() -> None:
    execute_script("ALTER INDEX events_child_ids_gin RESET (fastupdate);")
