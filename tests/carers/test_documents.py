"""Documents on a household's record and on an allegation: the same checks and store as a child's
(tests/visits/test_documents.py); an allegation's document is served only with the allegation's
access, access-logged for its children, and listed in their subject-access exports."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from shared.auth import Role
from tests.carers.helpers import SSW, household, place, register_child
from tests.conftest import AuthHeaders, settle

PDF = b"%PDF-1.4\nForm F assessment\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x10" * 64


async def _upload(
    client: httpx.AsyncClient, headers: dict[str, str], url: str, content: bytes, kind: str, name: str
) -> httpx.Response:
    media = "application/pdf" if content.startswith(b"%PDF") else "image/jpeg"
    return await client.post(
        url,
        content=content,
        params={"kind": kind, "title": name, "filename": name},
        headers={**headers, "Content-Type": media},
    )


async def test_a_households_documents_are_kept_and_downloaded_by_those_who_read_it(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders
) -> None:
    rm = auth(Role.REGISTERED_MANAGER)
    hid = (await household(client, rm))["household_id"]
    ssw = auth(Role.SUPERVISING_SOCIAL_WORKER, subject=SSW)
    sent = await _upload(client, ssw, f"/v1/households/{hid}/documents", PDF, "form_f", "Form F.pdf")
    assert sent.status_code == 201, sent.text
    document = sent.json()
    assert document["household_id"] == hid and document["sha256"] == hashlib.sha256(PDF).hexdigest()
    url = f"/v1/households/{hid}/documents/{document['document_id']}"
    got = await client.get(url, headers=ssw)
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-disposition"].startswith('attachment; filename="Form F.pdf"')
    assert (await client.get(url, headers=auth(Role.SUPERVISING_SOCIAL_WORKER, "ssw-other"))).status_code == 403
    unknown = await _upload(
        client, rm, "/v1/households/00000000-0000-0000-0000-000000000001/documents", PDF, "form_f", "F.pdf"
    )
    assert unknown.status_code == 404
    mismatch = await _upload(client, rm, f"/v1/households/{hid}/documents", JPEG, "form_f", "Form F.pdf")
    assert mismatch.status_code == 422 and mismatch.json()["reasons"][0]["code"] == "document_type_mismatch"


async def test_an_allegations_document_names_its_children_and_is_access_logged_for_them(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, owner_engine: Any
) -> None:
    rm = auth(Role.REGISTERED_MANAGER)
    hid = (await household(client, rm))["household_id"]
    child = await register_child(app)
    assert (await place(client, rm, hid, child, "2026-11-20")).status_code == 201
    await settle(app)
    allegation = await client.post(
        "/v1/allegations",
        json={
            "household_id": hid,
            "child_ids": [child],
            "received_at": "2026-11-25T09:00:00Z",
            "summary": "A parent at school says the carer shouted at and pushed the child.",
        },
        headers=rm,
    )
    assert allegation.status_code == 201, allegation.text
    aid = allegation.json()["allegation_id"]
    sent = await _upload(client, rm, f"/v1/allegations/{aid}/documents", JPEG, "other", "bruise photo.jpg")
    assert sent.status_code == 201, sent.text
    document = sent.json()
    assert document["allegation_id"] == aid and document["media_type"] == "image/jpeg"

    url = f"/v1/allegations/{aid}/documents/{document['document_id']}"
    got = await client.get(url, headers=rm)
    assert got.status_code == 200 and got.content == JPEG
    # Not through the household: the allegation's access (and its access log) governs it.
    household_url = f"/v1/households/{hid}/documents/{document['document_id']}"
    assert (await client.get(household_url, headers=rm)).status_code == 404
    async with owner_engine.connect() as conn:
        logged = (
            (await conn.execute(text("SELECT child_id::text FROM access_log WHERE path = :p"), {"p": url}))
            .scalars()
            .all()
        )
    assert logged == [child]
    export = (await client.get(f"/v1/children/{child}/export", headers=rm)).json()
    assert [d["download"] for d in export["documents"]] == [url]
