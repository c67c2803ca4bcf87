"""Documents' content, stored once by its SHA-256: append-only like the event log (a trigger refuses
UPDATE, DELETE and TRUNCATE for everyone; the application's role may only read and insert). The
event that attaches a document holds the hash, so the log's chain covers the content.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from migrations.sql import append_only, execute_script

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

APP_ROLE = "carelog_app"


def upgrade() -> None:
    execute_script(
        """
        CREATE TABLE documents_content (
            id bigserial PRIMARY KEY,
            sha256 text NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
            size_bytes bigint NOT NULL CHECK (size_bytes = octet_length(content)),
            media_type text NOT NULL,
            stored_at timestamptz NOT NULL,
            content bytea NOT NULL
        );
        -- Out of line and uncompressed: a download reads it a chunk at a time (substring).
        ALTER TABLE documents_content ALTER COLUMN content SET STORAGE EXTERNAL;
        """
        + append_only("documents_content", APP_ROLE)
    )


def downgrade() -> None:
    raise RuntimeError("documents are never dropped by a migration")
