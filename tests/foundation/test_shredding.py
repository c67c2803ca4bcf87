"""Crypto-shredding: personal fields are stored sealed under their subject's key, read back open,
and unreadable for good once the key is destroyed, while the hash chain still verifies."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidTag
from fastapi import FastAPI
from sqlalchemy import text

import shared.contracts.visits  # noqa: F401  (registers the contracts)
from shared.auth import Role
from shared.db import create_engine
from shared.eventstore import EventFilter, EventStore, NewEvent, verify_chain
from shared.eventstore.projector import read_pages
from shared.eventstore.shredding import Destroyed, KeyRing, LocalKeyWrapper, _unb64
from tests.conftest import AuthHeaders
from tests.investigations.conftest import child_history

# Values child_history writes into the child's record, each in a field marked personal.
CHILD_VALUES = [
    "Zoë Łucja O'Brien-Nowak",
    "Likes her school; misses her brother.",
    "Seen at home; talked about school and contact.",
    "Mum asked for more contact; her partner Mark is unwell.",
    "I want to see Jamie more.",
    "Took tablets; the carer took her to A&E",
    "Wrong school named.",
    "Kingsthorpe College",
]


async def raw_rows(app: FastAPI) -> str:
    """Every stored payload and metadata of the log, as PostgreSQL holds them."""
    async with app.state.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT data::text || metadata::text FROM events ORDER BY position"))).scalars()
        return "\n".join(rows)


async def verified(app: FastAPI) -> bool:
    return (await verify_chain(app.state.engine)).ok


def plain(response: httpx.Response) -> str:
    """A JSON response as text with no escapes, to search by value."""
    assert response.status_code == 200, response.text
    return json.dumps(response.json(), ensure_ascii=False)


async def test_personal_fields_are_stored_sealed_and_read_open(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders
) -> None:
    manager = auth(subject="rm-1")
    story = await child_history(client, app, manager)
    cid = story["child_id"]
    stored = await raw_rows(app)
    assert [v for v in CHILD_VALUES if v in stored] == []
    assert "enc1." in stored
    # Non-personal facts stay in clear: ids, codes, the instants of clocks.
    assert cid in stored and '"kind": "statutory"' in stored and "child_refused" in stored
    export = plain(await client.get(f"/v1/children/{cid}/export", headers=manager))
    chronology = plain(await client.get(f"/v1/children/{cid}/chronology", headers=manager))
    for body in (export, chronology):
        assert [v for v in CHILD_VALUES if v not in body] == []
        assert "enc1." not in body
    assert await verified(app)


async def test_the_replay_reads_each_event_opened_as_the_store_does_without_its_chronology_line(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders
) -> None:
    await child_history(client, app, auth(subject="rm-1"))
    store = app.state.store
    head, _ = await store.head()
    whole = await store.read(EventFilter(limit=head))
    lean = await store.read(EventFilter(limit=head, summaries=False))
    assert any(e.metadata.get("summary") for e in whole) and not any("summary" in e.metadata for e in lean)
    assert any(v in json.dumps([e.data for e in whole], ensure_ascii=False) for v in CHILD_VALUES)
    for summaries, expected in ((False, lean), (True, whole)):
        # Pages of 7, so the next page is read ahead while one is opened.
        read = [
            e async for page in read_pages(app.state.engine, 0, head, None, page=7, summaries=summaries) for e in page
        ]
        assert read == expected


async def test_a_destroyed_key_leaves_the_marker_and_a_chain_that_verifies(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders
) -> None:
    manager = auth(subject="rm-1")
    story = await child_history(client, app, manager)
    cid, hid = story["child_id"], story["household_id"]
    before = await raw_rows(app)
    assert await verified(app)
    async with app.state.store.acquire() as conn:
        assert await app.state.store.keys.destroy(conn, f"child:{cid}", date(2027, 1, 4), "test rule")
    assert await raw_rows(app) == before  # nothing in the log changed
    assert await verified(app)
    export = plain(await client.get(f"/v1/children/{cid}/export", headers=manager))
    chronology = plain(await client.get(f"/v1/children/{cid}/chronology", headers=manager))
    for body in (export, chronology):
        assert [v for v in CHILD_VALUES if v in body] == []
        assert "[destroyed on 2027-01-04 under test rule]" in body
    # The household's own record is under its own key and still reads.
    inspector = auth(Role.INSPECTOR, subject="inspector-1")
    feed = json.loads(plain(await client.get("/v1/events", params={"limit": 1000}, headers=inspector)))
    household = json.dumps([e for e in feed["events"] if e["stream_id"] == f"household-{hid}"], ensure_ascii=False)
    assert "The Nowak household" in household and "Ewa Nowak" in household and "destroyed on" not in household
    # The raw feed shows the child's fields destroyed too, and nothing of them.
    assert [v for v in CHILD_VALUES if v in json.dumps(feed, ensure_ascii=False)] == []


async def test_the_hash_covers_the_ciphertext(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, owner_engine: Any
) -> None:
    """Changing a sealed field behind the log's back breaks the chain like any other change."""
    manager = auth(subject="rm-1")
    story = await child_history(client, app, manager)
    assert await verified(app)
    async with owner_engine.begin() as conn:
        await conn.execute(text("ALTER TABLE events DISABLE TRIGGER USER"))
        await conn.execute(
            text(
                "UPDATE events SET data = jsonb_set(data, '{narrative}', to_jsonb('enc1.AAAA.BBBB'::text)) "
                "WHERE type = 'visits.VisitRecorded' AND data->>'child_id' = :cid"
            ),
            {"cid": story["child_id"]},
        )
        names = (await conn.execute(text(TRIGGERS))).scalars()
        for name in list(names):
            await conn.execute(text(f"ALTER TABLE events ENABLE ALWAYS TRIGGER {name}"))
    assert not await verified(app)


TRIGGERS = "SELECT tgname FROM pg_trigger WHERE tgrelid = 'events'::regclass AND NOT tgisinternal"


def _event(**data: Any) -> NewEvent:
    return NewEvent(type="visits.VisitRecorded", data=data, occurred_at=datetime(2026, 11, 1, tzinfo=UTC))


def test_a_sealed_field_names_its_subject_and_opens_only_under_its_own_key() -> None:
    ring = KeyRing()
    child, other = uuid.uuid4(), uuid.uuid4()
    ring._remember(  # two subjects' keys, as loaded from subject_keys
        [
            {
                "subject": f"child:{c}",
                "wrapped": ring.wrapper.wrap(bytes(32 * [i + 1])),
                "destroyed_on": None,
                "destroyed_under": None,
            }
            for i, c in enumerate((child, other))
        ]
    )
    sealed = ring.seal(f"child-{child}", _event(child_id=str(child), narrative="Seen at home.", visitor_id="sw-1"))
    assert sealed.data["visitor_id"] == "sw-1" and sealed.data["child_id"] == str(child)
    token = sealed.data["narrative"]
    assert token.startswith("enc1.") and "Seen" not in token
    assert _unb64(token.split(".")[1]).decode() == f"child:{child}"
    assert ring.open_value(token) == "Seen at home."
    # The same ciphertext presented as another subject's does not open (the subject is bound in).
    moved = (
        "enc1." + base64.urlsafe_b64encode(f"child:{other}".encode()).rstrip(b"=").decode() + "." + token.split(".")[2]
    )
    with pytest.raises(InvalidTag):
        ring.open_value(moved)


def test_data_keys_unwrap_only_with_their_key_encryption_key() -> None:
    wrapped = LocalKeyWrapper(b"k" * 32).wrap(b"d" * 32)
    assert LocalKeyWrapper(b"k" * 32).unwrap(wrapped) == b"d" * 32
    ring = KeyRing(LocalKeyWrapper(b"x" * 32))
    ring._remember([{"subject": "child:1", "wrapped": wrapped, "destroyed_on": None, "destroyed_under": None}])
    with pytest.raises(RuntimeError, match="does not unwrap"):  # unwrapped at its first use
        ring.state("child:1")


async def test_two_processes_creating_a_subjects_key_at_once_agree_on_one(app_url: str) -> None:
    """Each process keeps its own key ring; what one seals the other opens, however they raced."""
    engine = create_engine(app_url, pool_size=2)
    store = EventStore(engine, pool_size=2)
    subjects = [f"child:{uuid.uuid4()}" for _ in range(40)]
    first, second = KeyRing(), KeyRing()
    try:
        async with store.acquire() as one, store.acquire() as other:
            await asyncio.gather(first.ensure(one, subjects), second.ensure(other, list(reversed(subjects))))
    finally:
        await store.stop()
        await engine.dispose()
    for subject in subjects:
        child = subject.removeprefix("child:")
        sealed = first.seal(f"child-{child}", _event(child_id=child, narrative=f"about {child}"))
        assert second.open_value(sealed.data["narrative"]) == f"about {child}"


async def test_a_key_destroyed_by_another_process_is_dropped_at_once(app_url: str) -> None:
    """The process holding a key hears of its destruction (NOTIFY), before any projection runs."""
    engine = create_engine(app_url, pool_size=3)
    store = EventStore(engine, pool_size=2)
    subject = f"child:{uuid.uuid4()}"
    try:
        async with store.acquire() as conn:
            await store.keys.ensure(conn, [subject])
        store.on_change(lambda: None)  # a server's followers: its one LISTEN connection
        await asyncio.sleep(0.5)
        elsewhere = KeyRing()
        async with store.acquire() as conn:
            assert await elsewhere.destroy(conn, subject, date(2087, 5, 20), "child-75th-birthday")
        for _ in range(50):
            if isinstance(store.keys.state(subject), Destroyed):
                break
            await asyncio.sleep(0.1)
        assert store.keys.state(subject) == Destroyed(date(2087, 5, 20), "child-75th-birthday")
    finally:
        await store.stop()
        await engine.dispose()
