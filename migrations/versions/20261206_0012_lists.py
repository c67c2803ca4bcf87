"""Lists of children and households: name search and keyset pages.

Full-text indexes on the names (the 'simple' configuration: no stemming, no stop words; pg_trgm is
not shipped by the embedded PostgreSQL) and the (name, id) order every page is read in.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from migrations.sql import execute_script

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        CREATE INDEX visits_children_name_search ON visits_children USING gin (to_tsvector('simple', name));
        CREATE INDEX visits_children_by_name ON visits_children (name, child_id);
        CREATE INDEX carers_households_name_search ON carers_households USING gin (to_tsvector('simple', name));
        CREATE INDEX carers_households_by_name ON carers_households (name, household_id);
        CREATE INDEX carers_households_worker ON carers_households ((state->>'supervising_social_worker_id'));
        """
    )


def downgrade() -> None:
    execute_script(
        """
        DROP INDEX visits_children_name_search, visits_children_by_name, carers_households_name_search,
            carers_households_by_name, carers_households_worker;
        """
    )
