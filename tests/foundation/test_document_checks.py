"""What a document is, read from its content; what its name becomes (shared/documents/checks.py)."""

from __future__ import annotations

import io
import zipfile

import pytest

from shared.documents import sanitise_filename, sniff
from shared.documents.checks import DOCX, ODT, OLE, PDF, PNG, PPTX, WEBP, XLSX


def _zip(*parts: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in parts:
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(b"%PDF-1.7\n...", PDF, id="PDF"),
        pytest.param(b"\x89PNG\r\n\x1a\n....", PNG, id="PNG"),
        pytest.param(b"RIFF\x00\x00\x00\x00WEBPVP8 ", WEBP, id="WebP"),
        pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 8, OLE, id="Word 97-2003"),
        pytest.param(_zip(("[Content_Types].xml", b"<T/>"), ("word/document.xml", b"<d/>")), DOCX, id="Word"),
        pytest.param(_zip(("[Content_Types].xml", b"<T/>"), ("xl/workbook.xml", b"<w/>")), XLSX, id="Excel"),
        pytest.param(_zip(("[Content_Types].xml", b"<T/>"), ("ppt/presentation.xml", b"<p/>")), PPTX, id="PowerPoint"),
        pytest.param(_zip(("mimetype", ODT.encode()), ("content.xml", b"<c/>")), ODT, id="OpenDocument text"),
        pytest.param(_zip(("payload.exe", b"MZ")), None, id="any other ZIP"),
        pytest.param(_zip(("[Content_Types].xml", b"<T/>")), None, id="an Office container with no document"),
        pytest.param(b"PK\x03\x04broken", None, id="a broken ZIP"),
        pytest.param(b"MZ\x90\x00", None, id="a Windows program"),
        pytest.param(b"<svg onload=alert(1)>", None, id="SVG (script)"),
        pytest.param(b"", None, id="nothing"),
    ],
)
def test_the_type_is_what_the_content_is(content: bytes, expected: str | None) -> None:
    assert sniff(content) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("Form F.pdf", "Form F.pdf", id="a plain name stays"),
        pytest.param("../../etc/passwd.pdf", "passwd.pdf", id="a path keeps its last part"),
        pytest.param("C:\\Users\\sw\\minutes.docx", "minutes.docx", id="a Windows path too"),
        pytest.param(".hidden.pdf", "hidden.pdf", id="no leading dot"),
        pytest.param('a"b;c\r\n.pdf', "a_b_c.pdf", id="quotes, separators and controls go"),
        pytest.param("réunion.pdf", "réunion.pdf", id="letters of any language stay"),
        pytest.param("x" * 300 + ".pdf", "x" * 196 + ".pdf", id="at most 200 characters, the ending kept"),
        pytest.param("../..", "", id="nothing left"),
    ],
)
def test_a_file_name_is_a_plain_file_name(raw: str, expected: str) -> None:
    assert sanitise_filename(raw) == expected
