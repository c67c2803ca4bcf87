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
