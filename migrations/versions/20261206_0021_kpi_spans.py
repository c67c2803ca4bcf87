"""The KPI report's span snapshots (services/investigations/projections.py): each span of the log's
positions folded into the facts the KPIs read, kept as JSON so a report after a restart reads them
instead of the whole log. Not a projection (no replay rebuilds it): the follower in `carelog serve`
writes a span once the head has passed it, and deletes the spans folded before a RecordDestroyed.
And the log indexed by occurred_at, for the report's late entries.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from migrations.sql import execute_script

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        CREATE TABLE investigations_kpi_spans (
            span integer NOT NULL,  -- how many positions the span covers, up to span_end
            span_end bigint NOT NULL,
            folded_at bigint NOT NULL,  -- the log's head when it was folded
            recorded_to timestamptz,  -- the latest recorded_at of its KPI sources
            fold bytea NOT NULL,  -- FactsFold.to_json(), as JSON
            PRIMARY KEY (span, span_end)
        );
        GRANT SELECT, INSERT, UPDATE, DELETE ON investigations_kpi_spans TO carelog_app;

        -- A report's late entries (occurred in its month, recorded after the close): read by
        -- the month, not by every event recorded since the close.
        CREATE INDEX events_occurred_at ON events (occurred_at);
        """
    )


def downgrade() -> None:
    execute_script("DROP INDEX events_occurred_at; DROP TABLE investigations_kpi_spans;")
