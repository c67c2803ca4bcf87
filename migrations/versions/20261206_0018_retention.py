"""Retention: the facts each record's retention date turns on, and the legal holds on records
(projections of the log, rebuilt by `carelog replay retention`).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from migrations.sql import execute_script

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        CREATE TABLE retention_subjects (
            kind text NOT NULL CHECK (kind IN ('child', 'household')),
            subject_id uuid NOT NULL,
            date_of_birth date,
            died_on date,
            approved boolean NOT NULL DEFAULT false,
            approval_ended_on date,
            refused_on date,
            last_allegation_on date,
            destroyed_on date,
            destroyed_rule text,
            PRIMARY KEY (kind, subject_id)
        );
        CREATE TABLE retention_holds (
            hold_id uuid PRIMARY KEY,
            kind text NOT NULL,
            subject_id uuid NOT NULL,
            grounds text NOT NULL,
            placed_at timestamptz NOT NULL,
            lifted_at timestamptz
        );
        CREATE INDEX retention_holds_subject ON retention_holds (kind, subject_id);
        GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON retention_subjects, retention_holds TO carelog_app;
        """
    )


def downgrade() -> None:
    execute_script("DROP TABLE retention_subjects, retention_holds;")
