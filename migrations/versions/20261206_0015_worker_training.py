"""Staff training (issue 18): each worker's latest safeguarding and supervision training, with its
expiry, for the caseload view (the carers.caseloads projection).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from migrations.sql import execute_script

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        CREATE TABLE carers_worker_training (
            worker_id text NOT NULL,
            course text NOT NULL,
            completed_on date NOT NULL,
            expires_on date NOT NULL,
            PRIMARY KEY (worker_id, course)
        );
        GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON carers_worker_training TO carelog_app;
        """
    )


def downgrade() -> None:
    execute_script("DROP TABLE carers_worker_training;")
