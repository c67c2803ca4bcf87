"""The KPI report's span snapshots say which shape of fold they hold (rules.FOLD_FORMAT): a span
kept in another shape, or folded from other sources, is folded again instead of read.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from migrations.sql import execute_script

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The spans kept until now are of the first shape.
    execute_script("ALTER TABLE investigations_kpi_spans ADD COLUMN format integer NOT NULL DEFAULT 1;")


def downgrade() -> None:
    execute_script("ALTER TABLE investigations_kpi_spans DROP COLUMN format;")
