"""Retention, continued: personal dates are sealed (a child's date of birth may read as nothing once
the record is destroyed), the retention projection keeps the dates it derives instead of the date
of birth, staff records have a retention of their own, and the access log may lose rows only
through `access_log_expire`, which the retention run calls.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from migrations.sql import execute_script

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        ALTER TABLE visits_children ALTER COLUMN date_of_birth DROP NOT NULL;

        -- Rebuilt by replay: the derived dates, never the date of birth itself.
        DELETE FROM retention_subjects;
        ALTER TABLE retention_subjects DROP COLUMN date_of_birth;
        ALTER TABLE retention_subjects ADD COLUMN until_75th_birthday date;
        ALTER TABLE retention_subjects ADD COLUMN eighteenth_birthday date;
        ALTER TABLE retention_subjects ADD COLUMN retain_until date;
        UPDATE projector_checkpoints SET position = 0 WHERE name = 'retention';

        CREATE TABLE retention_staff (
            worker_id text PRIMARY KEY,
            last_record_on date NOT NULL,
            destroyed_on date,
            destroyed_rule text,
            retain_until date
        );
        GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON retention_staff TO carelog_app;

        -- The access log stays append-only for everyone, except rows removed by this function
        -- (as its owner): rows recorded before `before` (the agency's policy, never within a year
        -- of the newest read) and rows naming a child whose record was destroyed. The application
        -- role may call it, never DELETE.
        CREATE FUNCTION access_log_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' AND current_setting('carelog.access_log_expiry', true) = 'on' THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION '% is append-only: % is refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$;
        DROP TRIGGER access_log_no_update_or_delete ON access_log;
        CREATE TRIGGER access_log_no_update_or_delete BEFORE UPDATE OR DELETE ON access_log
            FOR EACH ROW EXECUTE FUNCTION access_log_reject_change();
        ALTER TABLE access_log ENABLE ALWAYS TRIGGER access_log_no_update_or_delete;

        CREATE FUNCTION access_log_expire(before timestamptz, OUT past_policy bigint, OUT of_destroyed bigint)
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
            -- Whoever calls it, the newest year of reads stays (the policy is at least a year).
            before := LEAST(before, (SELECT max(at) FROM access_log) - interval '1 year');
            PERFORM set_config('carelog.access_log_expiry', 'on', true);
            DELETE FROM access_log WHERE at < before;
            GET DIAGNOSTICS past_policy = ROW_COUNT;
            DELETE FROM access_log WHERE child_id IN (
                SELECT substr(subject, 7)::uuid FROM subject_keys
                WHERE subject LIKE 'child:%' AND wrapped IS NULL);
            GET DIAGNOSTICS of_destroyed = ROW_COUNT;
            PERFORM set_config('carelog.access_log_expiry', 'off', true);
        END
        $$;
        REVOKE ALL ON FUNCTION access_log_expire(timestamptz) FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION access_log_expire(timestamptz) TO carelog_app;
        """
    )


def downgrade() -> None:
    execute_script(
        """
        DROP FUNCTION access_log_expire(timestamptz);
        DROP TRIGGER access_log_no_update_or_delete ON access_log;
        CREATE TRIGGER access_log_no_update_or_delete BEFORE UPDATE OR DELETE ON access_log
            FOR EACH ROW EXECUTE FUNCTION events_reject_change();
        ALTER TABLE access_log ENABLE ALWAYS TRIGGER access_log_no_update_or_delete;
        DROP FUNCTION access_log_reject_change();
        DROP TABLE retention_staff;
        ALTER TABLE retention_subjects DROP COLUMN until_75th_birthday, DROP COLUMN eighteenth_birthday,
            DROP COLUMN retain_until;
        ALTER TABLE retention_subjects ADD COLUMN date_of_birth date;
        UPDATE projector_checkpoints SET position = 0 WHERE name = 'retention';
        """
    )
