"""visits service read models.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from alembic import op  # noqa: F401  (execute_script for multi-statement SQL)

from migrations.sql import execute_script

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Tables prefixed visits_ ; the app role gets DML on them through default privileges (0001).
    execute_script("SELECT 1")


def downgrade() -> None:
    pass
