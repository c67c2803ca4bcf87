"""What a document must be to be kept: one of the types a case record holds (PDF, images, Office
files), as its content shows (its first bytes and, for a ZIP-based Office file, the parts inside),
never as its name or the client says; a name that is a plain file name; no larger than the agency's
limit (`CARELOG_MAX_DOCUMENT_BYTES`, 25 MB by default; the body limit refuses more before it is read)."""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from urllib.parse import quote

from shared.refusals import Reason, refuse_if

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"
TIFF = "image/tiff"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
OLE = "application/x-ole-storage"  # Word 97-2003, Excel 97-2003, PowerPoint 97-2003
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"

# Each type kept, with the file name endings that may carry it.
EXTENSIONS: dict[str, frozenset[str]] = {
    PDF: frozenset({".pdf"}),
    PNG: frozenset({".png"}),
    JPEG: frozenset({".jpg", ".jpeg"}),
    GIF: frozenset({".gif"}),
    WEBP: frozenset({".webp"}),
    TIFF: frozenset({".tif", ".tiff"}),
    DOCX: frozenset({".docx"}),
    XLSX: frozenset({".xlsx"}),
    PPTX: frozenset({".pptx"}),
    OLE: frozenset({".doc", ".xls", ".ppt"}),
    ODT: frozenset({".odt"}),
    ODS: frozenset({".ods"}),
}
MEDIA_TYPES = frozenset(EXTENSIONS)
# What a client may say the old binary Office formats are (all one container format by content).
_OLE_DECLARED = frozenset({"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint", OLE})
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", OLE),
)
_OOXML_PARTS = (("word/", DOCX), ("xl/", XLSX), ("ppt/", PPTX))
_ODF = {ODT.encode(): ODT, ODS.encode(): ODS}
MAX_FILENAME_CHARS = 200


def _zip_type(content: bytes) -> str | None:
    """An Office Open XML or OpenDocument file by the parts it holds; any other ZIP is None."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                return _ODF.get(archive.read("mimetype").strip())
            if "[Content_Types].xml" in names:
                return next((t for prefix, t in _OOXML_PARTS if any(n.startswith(prefix) for n in names)), None)
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    return None


def sniff(content: bytes) -> str | None:
    """The document's type as its content shows it; None for anything carelog does not keep."""
    for magic, media_type in _MAGIC:
        if content.startswith(magic):
            return media_type
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return WEBP
    if content.startswith(b"PK\x03\x04"):
        return _zip_type(content)
    return None


_UNSAFE = re.compile(r"[^\w .()+,-]", re.UNICODE)


def sanitise_filename(raw: str) -> str:
    """A plain file name: the last part of any path, normalised (NFC), no control characters,
    separators or quotes, no leading dots, at most MAX_FILENAME_CHARS; empty if nothing is left."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name).strip().lstrip(".").strip()
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        keep = ext if dot and len(ext) <= 10 else ""
        name = (stem if keep else name)[: MAX_FILENAME_CHARS - len(keep) - 1].rstrip() + (f".{keep}" if keep else "")
    return name


def _extension(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:].lower() if dot > 0 else ""


@dataclass(frozen=True)
class Upload:
    """What a client sent: the bytes, the type it said they are and the name it gave."""

    content: bytes
    declared_type: str
    filename: str


@dataclass(frozen=True)
class Checked:
    media_type: str
    filename: str
    size_bytes: int
    sha256: str


def _declared_matches(declared: str, actual: str) -> bool:
    declared = declared.split(";", 1)[0].strip().lower()
    return declared in _OLE_DECLARED if actual == OLE else declared == actual


def check_upload(upload: Upload, max_bytes: int) -> Checked:
    """The document as it will be kept, or one 422 listing every reason it is not acceptable."""
    actual = sniff(upload.content)
    filename = sanitise_filename(upload.filename)
    reasons: list[Reason] = []
    if not upload.content:
        reasons.append(Reason("document_empty", "The document has no content."))
    elif len(upload.content) > max_bytes:
        reasons.append(Reason("document_too_large", f"A document is at most {max_bytes} bytes."))
    if upload.content and actual is None:
        reasons.append(
            Reason(
                "document_type_not_kept",
                "The content is not a PDF, an image (PNG, JPEG, GIF, WebP, TIFF) or an Office file.",
            )
        )
    elif actual is not None and not _declared_matches(upload.declared_type, actual):
        reasons.append(
            Reason(
                "document_type_mismatch", f"Sent as {upload.declared_type or 'no type'}, but the content is {actual}."
            )
        )
    if not filename:
        reasons.append(Reason("document_filename", "Give the document a file name."))
    elif actual is not None and _extension(filename) not in EXTENSIONS[actual]:
        reasons.append(Reason("document_type_mismatch", f"The name {filename!r} does not end as a {actual} file does."))
    refuse_if(reasons)
    assert actual is not None
    return Checked(actual, filename, len(upload.content), hashlib.sha256(upload.content).hexdigest())


def content_disposition(filename: str) -> str:
    """`attachment`, never inline: a browser saves the file and runs nothing in carelog's origin.
    An ASCII fallback name and the exact name in RFC 8187 encoding (RFC 6266)."""
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
