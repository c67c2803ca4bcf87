"""Documents on a child's record: checked by content (not by name or the type the client says),
kept once by SHA-256 in an append-only table, the hash in the log's chain, downloaded as an
attachment and access-logged, listed in the subject-access export; refused with nothing written
when the type does not match or the file is too large."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from shared.auth import Role
from shared.settings import Settings
from tests.builders import child_body, post
from tests.conftest import AuthHeaders, test_settings

LIMIT = 100_000  # the agency's document limit in these tests (CARELOG_MAX_DOCUMENT_BYTES)
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n" + b"0" * 500 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x01" * 200


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.fixture
def settings() -> Settings:
    return test_settings(max_document_bytes=LIMIT)


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    url: str,
    content: bytes,
    content_type: str,
    filename: str,
    kind: str = "medical_report",
) -> httpx.Response:
    return await client.post(
        url,
        content=content,
        params={"kind": kind, "title": "Initial health assessment", "filename": filename},
        headers={**headers, "Content-Type": content_type},
    )


async def _written(owner_engine: Any) -> tuple[int, int]:
    async with owner_engine.connect() as conn:
        documents = (await conn.execute(text("SELECT count(*) FROM documents_content"))).scalar_one()
        events = (
            await conn.execute(text("SELECT count(*) FROM events WHERE stream_id LIKE 'document-%'"))
        ).scalar_one()
    return documents, events


async def test_a_document_is_kept_by_its_hash_downloaded_as_an_attachment_and_access_logged(
    client: httpx.AsyncClient, auth: AuthHeaders, app: FastAPI, owner_engine: Any
) -> None:
    manager = auth(Role.REGISTERED_MANAGER)
    child = (await post(client, manager, "/v1/children", child_body(name="Ada Smith", social_worker_id="sw-a")))[
        "child_id"
    ]
    worker = auth(Role.CHILD_SOCIAL_WORKER, "sw-a")
    sent = await upload(
        client, worker, f"/v1/children/{child}/documents", PDF, "application/pdf", "../../etc/IHA ré.pdf"
    )
    assert sent.status_code == 201, sent.text
    document = sent.json()
    sha = hashlib.sha256(PDF).hexdigest()
    assert document["sha256"] == sha and document["size_bytes"] == len(PDF)
    assert document["filename"] == "IHA ré.pdf" and document["media_type"] == "application/pdf"

    # The hash is in the event, and so in the log's chain; the content is kept once, by that hash.
    first = await app.state.store.first_event(f"document-{document['document_id']}")
    assert first.type == "visits.DocumentAttached" and first.data["sha256"] == sha
    assert uuid.UUID(child) in first.child_ids and first.hash
    again = await upload(client, worker, f"/v1/children/{child}/documents", PDF, "application/pdf", "copy.pdf")
    assert again.status_code == 201 and again.json()["document_id"] != document["document_id"]
    assert await _written(owner_engine) == (1, 2)

    url = f"/v1/children/{child}/documents/{document['document_id']}"
    downloaded = await client.get(url, headers=worker)
    assert downloaded.status_code == 200 and downloaded.content == PDF
    assert downloaded.headers["content-disposition"] == (
        "attachment; filename=\"IHA r_.pdf\"; filename*=UTF-8''IHA%20r%C3%A9.pdf"
    )
    assert downloaded.headers["content-type"] == "application/pdf"
    assert downloaded.headers["x-content-type-options"] == "nosniff"
    async with owner_engine.connect() as conn:
        logged = (
            await conn.execute(text("SELECT actor_id, child_id::text FROM access_log WHERE path = :p"), {"p": url})
        ).all()
    assert logged == [("sw-a", child)]
    # Another worker may neither download it nor attach one; another child's path does not serve it.
    assert (await client.get(url, headers=auth(Role.CHILD_SOCIAL_WORKER, "sw-b"))).status_code == 403
    other = (await post(client, manager, "/v1/children", child_body(name="Ben")))["child_id"]
    assert (
        await client.get(f"/v1/children/{other}/documents/{document['document_id']}", headers=manager)
    ).status_code == 404

    listed = (await client.get(f"/v1/children/{child}/documents", headers=worker)).json()["documents"]
    assert [d["filename"] for d in listed] == ["IHA ré.pdf", "copy.pdf"]
    export = (await client.get(f"/v1/children/{child}/export", headers=manager)).json()
    assert [(d["document_id"], d["sha256"], d["download"]) for d in export["documents"]][0] == (
        document["document_id"],
        sha,
        url,
    )
    assert len(export["documents"]) == 2


async def test_the_type_is_read_from_the_content(client: httpx.AsyncClient, auth: AuthHeaders) -> None:
    manager = auth(Role.REGISTERED_MANAGER)
    child = (await post(client, manager, "/v1/children", child_body()))["child_id"]
    url = f"/v1/children/{child}/documents"
    word = await upload(
        client,
        manager,
        url,
        docx(),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Plan.docx",
        "plan",
    )
    assert word.status_code == 201, word.text
    image = await upload(client, manager, url, PNG, "image/png", "photo.PNG", "other")
    assert image.status_code == 201 and image.json()["media_type"] == "image/png"


@pytest.mark.parametrize(
    ("content", "content_type", "filename", "code"),
    [
        pytest.param(PNG, "application/pdf", "scan.pdf", "document_type_mismatch", id="a PNG sent as a PDF"),
        pytest.param(PDF, "application/pdf", "scan.png", "document_type_mismatch", id="a PDF named as a PNG"),
        pytest.param(
            b"MZ\x90\x00" + b"\x00" * 100, "application/pdf", "run.pdf", "document_type_not_kept", id="a program"
        ),
        pytest.param(b"PK\x03\x04" + b"\x00" * 100, "application/zip", "a.zip", "document_type_not_kept", id="a zip"),
        pytest.param(b"<html><script>", "text/html", "page.html", "document_type_not_kept", id="HTML"),
        pytest.param(b"", "application/pdf", "empty.pdf", "document_empty", id="empty"),
        pytest.param(PDF, "application/pdf", "../..", "document_filename", id="no file name left"),
    ],
)
async def test_a_document_that_is_not_what_it_says_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient,
    auth: AuthHeaders,
    owner_engine: Any,
    content: bytes,
    content_type: str,
    filename: str,
    code: str,
) -> None:
    manager = auth(Role.REGISTERED_MANAGER)
    child = (await post(client, manager, "/v1/children", child_body()))["child_id"]
    refused = await upload(client, manager, f"/v1/children/{child}/documents", content, content_type, filename)
    assert refused.status_code == 422, refused.text
    assert code in [r["code"] for r in refused.json()["reasons"]]
    assert await _written(owner_engine) == (0, 0)


async def test_an_oversized_document_is_refused_before_anything_is_written(
    client: httpx.AsyncClient, auth: AuthHeaders, owner_engine: Any
) -> None:
    manager = auth(Role.REGISTERED_MANAGER)
    child = (await post(client, manager, "/v1/children", child_body()))["child_id"]
    url = f"/v1/children/{child}/documents"
    just_fits = PDF + b"0" * (LIMIT - len(PDF))
    assert (await upload(client, manager, url, just_fits, "application/pdf", "fits.pdf")).status_code == 201
    too_large = await upload(client, manager, url, just_fits + b"0", "application/pdf", "big.pdf")
    assert too_large.status_code == 413
    assert too_large.headers["content-type"] == "application/problem+json"
    assert await _written(owner_engine) == (1, 1)


async def test_verifying_the_log_finds_a_document_changed_behind_its_back(
    client: httpx.AsyncClient, auth: AuthHeaders, app: FastAPI, owner_engine: Any
) -> None:
    manager = auth(Role.REGISTERED_MANAGER)
    child = (await post(client, manager, "/v1/children", child_body()))["child_id"]
    sent = await upload(client, manager, f"/v1/children/{child}/documents", PDF, "application/pdf", "a.pdf")
    assert sent.status_code == 201
    admin = auth(Role.ADMIN)
    assert (await client.get("/v1/admin/verify", headers=admin)).json()["ok"] is True
    async with owner_engine.begin() as conn:  # a superuser rewrites the content, triggers off
        await conn.execute(text("ALTER TABLE documents_content DISABLE TRIGGER documents_content_no_update_or_delete"))
        await conn.execute(text("UPDATE documents_content SET content = overlay(content PLACING 'X' FROM 20)"))
        await conn.execute(
            text("ALTER TABLE documents_content ENABLE ALWAYS TRIGGER documents_content_no_update_or_delete")
        )
    found = (await client.get("/v1/admin/verify", headers=admin)).json()
    assert found["ok"] is False and found["reason"] == "document"
    assert found["first_bad_position"] == sent.json()["position"]


async def test_the_document_table_refuses_changes_as_the_log_does(
    client: httpx.AsyncClient, auth: AuthHeaders, app: FastAPI
) -> None:
    manager = auth(Role.REGISTERED_MANAGER)
    child = (await post(client, manager, "/v1/children", child_body()))["child_id"]
    await upload(client, manager, f"/v1/children/{child}/documents", PDF, "application/pdf", "a.pdf")
    for statement in ("UPDATE documents_content SET media_type = 'x'", "DELETE FROM documents_content"):
        with pytest.raises(Exception, match="(?i)append-only|permission denied|not allowed|refuse"):
            async with app.state.store.acquire() as conn:  # the application's own role
                await conn.execute(statement)
