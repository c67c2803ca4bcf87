"""Documents attached to a record: checked by their content, stored once by their SHA-256, and
served as downloads. The content lives behind `DocumentStore` (store.py): PostgreSQL here, an
S3-compatible bucket for an agency that outgrows it; the log holds only the hash."""

from shared.documents.checks import (
    EXTENSIONS,
    MEDIA_TYPES,
    Checked,
    Upload,
    check_upload,
    content_disposition,
    sanitise_filename,
    sniff,
)
from shared.documents.http import (
    DOWNLOAD_RESPONSES,
    UPLOAD_OPENAPI,
    DocumentResult,
    Filename,
    Kind,
    Title,
    attached_to,
    download,
    read_upload,
)
from shared.documents.store import DocumentStore, PostgresDocumentStore, StoredContent, document_store

__all__ = [
    "DOWNLOAD_RESPONSES",
    "UPLOAD_OPENAPI",
    "DocumentResult",
    "Filename",
    "Kind",
    "Title",
    "attached_to",
    "download",
    "read_upload",
    "EXTENSIONS",
    "MEDIA_TYPES",
    "DocumentStore",
    "PostgresDocumentStore",
    "StoredContent",
    "Checked",
    "Upload",
    "check_upload",
    "content_disposition",
    "document_store",
    "sanitise_filename",
    "sniff",
]
