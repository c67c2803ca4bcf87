"""visits read models for issue 12: plans and their sharing, risk assessments, health checks,
looked-after child reviews and concerns; the date a child became looked after.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from migrations.sql import execute_script

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Tables prefixed visits_, owned by the visits reactor; the app role gets DML through default
    # privileges (0001).
    execute_script(
        """
        ALTER TABLE visits_children ADD COLUMN looked_after_since date;

        CREATE TABLE visits_plan_versions (
            plan_id uuid NOT NULL,
            version integer NOT NULL,
            child_id uuid NOT NULL,
            kind text NOT NULL,
            summary text NOT NULL,
            content jsonb NOT NULL,
            review_date date NOT NULL,
            review_deadline_id uuid,
            recorded_at timestamptz NOT NULL,
            event_id uuid NOT NULL,
            PRIMARY KEY (plan_id, version)
        );
        CREATE INDEX visits_plan_versions_child ON visits_plan_versions (child_id, kind, version DESC);

        CREATE TABLE visits_plan_shares (
            share_id uuid PRIMARY KEY,
            plan_id uuid NOT NULL,
            version integer NOT NULL,
            child_id uuid NOT NULL,
            kind text NOT NULL,
            household_id uuid NOT NULL,
            shared_at timestamptz NOT NULL,
            ack_deadline_id uuid,
            acknowledged_at timestamptz,
            acknowledged_by text,
            event_id uuid NOT NULL
        );
        CREATE INDEX visits_plan_shares_child ON visits_plan_shares (child_id, household_id);

        CREATE TABLE visits_risk_assessments (
            assessment_id uuid PRIMARY KEY,
            child_id uuid NOT NULL,
            assessed_at timestamptz NOT NULL,
            assessed_by text NOT NULL,
            hazards jsonb NOT NULL,
            review_date date NOT NULL,
            event_id uuid NOT NULL
        );
        CREATE INDEX visits_risk_assessments_child ON visits_risk_assessments (child_id, assessed_at DESC);

        CREATE TABLE visits_health_checks (
            check_id uuid PRIMARY KEY,
            child_id uuid NOT NULL,
            kind text NOT NULL,
            occurred_at timestamptz NOT NULL,
            by text NOT NULL,
            outcome text NOT NULL,
            event_id uuid NOT NULL
        );
        CREATE INDEX visits_health_checks_child ON visits_health_checks (child_id, occurred_at DESC);

        CREATE TABLE visits_lac_reviews (
            review_id uuid PRIMARY KEY,
            child_id uuid NOT NULL,
            number integer NOT NULL,
            held_at timestamptz NOT NULL,
            child_attended boolean NOT NULL,
            child_views_given boolean NOT NULL,
            event_id uuid NOT NULL
        );
        CREATE INDEX visits_lac_reviews_child ON visits_lac_reviews (child_id, held_at DESC);

        CREATE TABLE visits_concerns (
            concern_id uuid PRIMARY KEY,
            child_id uuid NOT NULL,
            raised_at timestamptz NOT NULL,
            raised_by text NOT NULL,
            summary text NOT NULL,
            household_id uuid,
            response_deadline_id uuid,
            status text NOT NULL CHECK (status IN ('open', 'actioned', 'resolved', 'escalated')),
            actions integer NOT NULL DEFAULT 0,
            last_action text,
            outcome text,
            resolved_at timestamptz,
            escalated_to text,
            escalated_at timestamptz,
            complaint_id uuid
        );
        CREATE INDEX visits_concerns_child ON visits_concerns (child_id, raised_at);
        """
    )


def downgrade() -> None:
    pass
