"""The area authority (issue 18): the local authority each household lives in, as the notifications
rules know it; the area authority a notification names; the authority an area_authority receiver
speaks for.

Households registered before this have no local authority (NULL): their area authority is unknown,
and a notification about a child placed there keeps the area authority as a recipient.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from migrations.sql import execute_script

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        CREATE TABLE notifications_households (
            household_id uuid PRIMARY KEY,
            local_authority text
        );
        ALTER TABLE notifications_notifications ADD COLUMN area_authority text;
        ALTER TABLE notifications_subscriptions ADD COLUMN local_authority text;
        """
    )


def downgrade() -> None:
    execute_script(
        """
        ALTER TABLE notifications_subscriptions DROP COLUMN local_authority;
        ALTER TABLE notifications_notifications DROP COLUMN area_authority;
        DROP TABLE notifications_households;
        """
    )
