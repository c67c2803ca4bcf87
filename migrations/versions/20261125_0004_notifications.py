"""notifications service read models, rule state, subscription secrets and the webhook outbox.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from alembic import op  # noqa: F401  (execute_script for multi-statement SQL)

from migrations.sql import execute_script

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Tables prefixed notifications_ ; the app role gets DML on them through default privileges (0001).
    execute_script(
        """
        -- What the rules need to know about other services' facts (reactor state).
        CREATE TABLE notifications_children (
            child_id uuid PRIMARY KEY,
            name text,
            placing_authority text
        );
        CREATE TABLE notifications_placements (
            placement_id uuid PRIMARY KEY,
            child_id uuid NOT NULL,
            household_id uuid,
            start_date date,
            end_date date,
            placing_authority text
        );
        CREATE INDEX notifications_placements_child ON notifications_placements (child_id);
        CREATE TABLE notifications_allegations (
            allegation_id uuid PRIMARY KEY,
            household_id uuid,
            child_ids uuid[] NOT NULL DEFAULT '{}'
        );

        -- Every statutory clock in the log, for the generic clock.
        CREATE TABLE notifications_deadlines (
            deadline_id uuid PRIMARY KEY,
            set_event_id uuid NOT NULL,
            kind text NOT NULL,
            subject text NOT NULL,
            child_ids uuid[] NOT NULL DEFAULT '{}',
            household_id uuid,
            started_at timestamptz NOT NULL,
            due_at timestamptz NOT NULL,
            escalate_to text NOT NULL,
            description text NOT NULL,
            source text NOT NULL,
            status text NOT NULL CHECK (status IN ('open', 'met', 'cancelled')),
            closed_at timestamptz,
            escalation_id uuid
        );
        CREATE INDEX notifications_deadlines_open_due ON notifications_deadlines (due_at)
            WHERE status = 'open' AND escalation_id IS NULL;

        -- Notifications raised, with their delivery and acknowledgement state.
        CREATE TABLE notifications_notifications (
            notification_id uuid PRIMARY KEY,
            stream_version integer NOT NULL,
            raised_event_id uuid NOT NULL,
            rule_set text NOT NULL,
            rule_id text NOT NULL,
            rule_version integer NOT NULL,
            row_number integer,
            title text NOT NULL,
            recipients text[] NOT NULL,
            unsubscribed_recipients text[] NOT NULL DEFAULT '{}',
            due_by timestamptz NOT NULL,
            raised_at timestamptz NOT NULL,
            source_event_id uuid NOT NULL,
            source_event_type text NOT NULL,
            child_ids uuid[] NOT NULL DEFAULT '{}',
            household_id uuid,
            placing_authorities text[] NOT NULL DEFAULT '{}',
            data jsonb NOT NULL,
            status text NOT NULL,
            acknowledged_at timestamptz,
            acknowledgements jsonb NOT NULL DEFAULT '[]'
        );
        CREATE INDEX notifications_notifications_child ON notifications_notifications USING gin (child_ids);
        CREATE INDEX notifications_notifications_status ON notifications_notifications (status);

        CREATE TABLE notifications_attempts (
            event_id uuid PRIMARY KEY,
            position bigint NOT NULL,
            outbox_id uuid NOT NULL,
            webhook_id text NOT NULL,
            notification_id uuid,
            escalation_id uuid,
            subscription_id uuid NOT NULL,
            recipient text NOT NULL,
            attempt integer NOT NULL,
            outcome text NOT NULL,
            status_code integer,
            error text,
            attempted_at timestamptz NOT NULL,
            next_attempt_at timestamptz
        );
        CREATE INDEX notifications_attempts_notification ON notifications_attempts (notification_id, position);
        CREATE INDEX notifications_attempts_escalation ON notifications_attempts (escalation_id, position);

        CREATE TABLE notifications_escalations (
            escalation_id uuid PRIMARY KEY,
            raised_event_id uuid NOT NULL,
            reason text NOT NULL,
            deadline_id uuid,
            deadline_kind text,
            subject text,
            child_ids uuid[] NOT NULL DEFAULT '{}',
            household_id uuid,
            due_at timestamptz,
            raised_at timestamptz NOT NULL,
            escalate_to text NOT NULL,
            description text NOT NULL,
            source text,
            status text NOT NULL CHECK (status IN ('open', 'resolved')),
            resolved_at timestamptz,
            resolution text
        );
        CREATE INDEX notifications_escalations_child ON notifications_escalations USING gin (child_ids);
        CREATE INDEX notifications_escalations_deadline ON notifications_escalations (deadline_id);

        -- Webhook receivers (the secret is NOT here: see notifications_subscription_secrets).
        CREATE TABLE notifications_subscriptions (
            subscription_id uuid PRIMARY KEY,
            version integer NOT NULL,
            url text NOT NULL,
            recipient text NOT NULL,
            event_types text[] NOT NULL DEFAULT '{}',
            placing_authority text,
            description text,
            status text NOT NULL CHECK (status IN ('active', 'disabled')),
            secret_version integer NOT NULL,
            created_at timestamptz NOT NULL,
            created_by text,
            disabled_at timestamptz,
            disabled_reason text
        );
        CREATE INDEX notifications_subscriptions_recipient ON notifications_subscriptions (recipient)
            WHERE status = 'active';

        -- Signing secrets: written by the subscription commands inside their append transaction and
        -- owned by no projector, so a rebuild never loses them. Events never carry a secret.
        CREATE TABLE notifications_subscription_secrets (
            subscription_id uuid NOT NULL,
            secret_version integer NOT NULL,
            secret text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (subscription_id, secret_version)
        );

        -- The transactional outbox: one row per (message, subscription), written by the projector in
        -- the transaction of its checkpoint; worked by dispatchers with FOR UPDATE SKIP LOCKED.
        CREATE TABLE notifications_outbox (
            outbox_id uuid PRIMARY KEY,
            webhook_id text NOT NULL UNIQUE,
            subscription_id uuid NOT NULL,
            recipient text NOT NULL,
            message_type text NOT NULL,
            message_stream text NOT NULL,
            source_event_id uuid NOT NULL,
            notification_id uuid,
            escalation_id uuid,
            child_ids uuid[] NOT NULL DEFAULT '{}',
            body jsonb NOT NULL,
            status text NOT NULL CHECK (status IN ('pending', 'delivered', 'dead', 'cancelled')),
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            last_status_code integer,
            last_error text,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX notifications_outbox_due ON notifications_outbox (next_attempt_at) WHERE status = 'pending';
        CREATE INDEX notifications_outbox_notification ON notifications_outbox (notification_id);
        CREATE INDEX notifications_outbox_subscription ON notifications_outbox (subscription_id)
            WHERE status = 'pending';
        """
    )


def downgrade() -> None:
    execute_script(
        """
        DROP TABLE IF EXISTS notifications_outbox, notifications_subscription_secrets,
            notifications_subscriptions, notifications_escalations, notifications_attempts,
            notifications_notifications, notifications_deadlines, notifications_allegations,
            notifications_placements, notifications_children;
        """
    )
