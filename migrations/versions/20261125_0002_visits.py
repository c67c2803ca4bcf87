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
    execute_script(
        """
        CREATE TABLE visits_children (
            child_id uuid PRIMARY KEY,
            name text NOT NULL,
            date_of_birth date NOT NULL,
            legal_status text NOT NULL,
            placing_authority text NOT NULL,
            social_worker_id text,
            registered_at timestamptz NOT NULL,
            event_id uuid NOT NULL
        );
        CREATE INDEX visits_children_worker ON visits_children (social_worker_id);

        CREATE TABLE visits_placements (
            placement_id uuid PRIMARY KEY,
            child_id uuid NOT NULL,
            household_id uuid,
            start_date date NOT NULL,
            long_term boolean NOT NULL DEFAULT false,
            connected_person boolean NOT NULL DEFAULT false,
            placing_authority text,
            end_date date,
            end_reason text,
            started_position bigint NOT NULL
        );
        CREATE INDEX visits_placements_child ON visits_placements (child_id);

        CREATE TABLE visits_visits (
            visit_id uuid PRIMARY KEY,
            event_id uuid NOT NULL,
            child_id uuid NOT NULL,
            occurred_at timestamptz NOT NULL,
            visitor_id text NOT NULL,
            visitor_role text NOT NULL,
            kind text NOT NULL,
            child_seen boolean NOT NULL,
            seen_alone boolean NOT NULL,
            not_seen_alone_reason text,
            bedroom_seen boolean,
            has_narrative boolean NOT NULL,
            has_views boolean NOT NULL
        );
        CREATE INDEX visits_visits_child ON visits_visits (child_id, occurred_at DESC);

        CREATE TABLE visits_incidents (
            incident_id uuid PRIMARY KEY,
            event_id uuid NOT NULL,
            child_id uuid NOT NULL,
            category text NOT NULL,
            occurred_at timestamptz NOT NULL
        );
        CREATE INDEX visits_incidents_child ON visits_incidents (child_id, occurred_at);

        CREATE TABLE visits_complaints (
            complaint_id uuid PRIMARY KEY,
            child_id uuid NOT NULL,
            received_at timestamptz NOT NULL,
            made_by text NOT NULL,
            about_household_id uuid,
            summary text NOT NULL,
            serious boolean NOT NULL,
            schedule7_row9 boolean NOT NULL,
            lado_consultation boolean NOT NULL,
            stage integer NOT NULL DEFAULT 1,
            status text NOT NULL CHECK (status IN ('received', 'acknowledged', 'responded', 'escalated', 'closed')),
            acknowledged_at timestamptz,
            responded_at timestamptz,
            response text,
            response_outcome text,
            extended_working_days integer,
            closed_at timestamptz,
            outcome text
        );
        CREATE INDEX visits_complaints_child ON visits_complaints (child_id);

        -- The clocks this service set (kind visits.*), wherever they live.
        CREATE TABLE visits_deadlines (
            deadline_id uuid PRIMARY KEY,
            kind text NOT NULL,
            subject text NOT NULL,
            stream_id text NOT NULL,
            child_id uuid,
            complaint_id uuid,
            placement_id uuid,
            household_id uuid,
            started_at timestamptz NOT NULL,
            due_at timestamptz NOT NULL,
            description text NOT NULL,
            source text NOT NULL,
            escalate_to text NOT NULL,
            set_event_id uuid NOT NULL,
            status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'met', 'cancelled')),
            met_at timestamptz,
            met_by_event_id uuid,
            late boolean,
            cancel_reason text
        );
        CREATE INDEX visits_deadlines_child_open ON visits_deadlines (child_id) WHERE status = 'open';
        CREATE INDEX visits_deadlines_due_open ON visits_deadlines (due_at) WHERE status = 'open';
        CREATE INDEX visits_deadlines_complaint ON visits_deadlines (complaint_id);
        CREATE INDEX visits_deadlines_placement ON visits_deadlines (placement_id) WHERE status = 'open';
        """
    )


def downgrade() -> None:
    pass
