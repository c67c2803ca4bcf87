"""Crypto-shredding: one data key per subject (child, household, member of staff), stored wrapped
by the key-encryption key of the settings. Destroying a key clears `wrapped` and records when and
under which rule; the row stays so that every read can say so. Not append-only: destruction is
the one change this table exists for.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from migrations.sql import execute_script

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        CREATE TABLE subject_keys (
            subject text PRIMARY KEY,
            wrapped bytea,
            destroyed_on date,
            destroyed_under text,
            CHECK ((wrapped IS NULL) = (destroyed_on IS NOT NULL))
        );
        GRANT SELECT, INSERT, UPDATE ON subject_keys TO carelog_app;
        """
    )


def downgrade() -> None:
    execute_script("DROP TABLE subject_keys;")
