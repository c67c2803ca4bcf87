"""Who a complaint is about: the workers it names, so none of them handles it (issue 18).

Complaints recorded before this named nobody, so their rows keep the empty list.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from migrations.sql import execute_script

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("ALTER TABLE visits_complaints ADD COLUMN about_worker_ids text[] NOT NULL DEFAULT '{}';")


def downgrade() -> None:
    execute_script("ALTER TABLE visits_complaints DROP COLUMN about_worker_ids;")
