"""Run a multi-statement SQL script inside the migration's transaction.

asyncpg prepares every statement and refuses several in one; its simple-query `execute` on the
same connection takes a whole script and stays in alembic's transaction.
"""

from alembic import op
from sqlalchemy.util import await_only


def execute_script(script: str) -> None:
    raw = op.get_bind().connection.dbapi_connection
    assert raw is not None
    await_only(raw.driver_connection.execute(script))  # type: ignore[attr-defined]


def append_only(table: str, app_role: str) -> str:
    """SQL making `table` append-only: triggers refuse UPDATE, DELETE and TRUNCATE for everyone
    (ENABLE ALWAYS), and the application role may only read and insert."""
    return f"""
        CREATE TRIGGER {table}_no_update_or_delete BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION events_reject_change();
        CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION events_reject_change();
        ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_update_or_delete;
        ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_truncate;
        REVOKE ALL ON {table} FROM {app_role};
        GRANT SELECT, INSERT ON {table} TO {app_role};
        GRANT USAGE ON SEQUENCE {table}_id_seq TO {app_role};
    """
