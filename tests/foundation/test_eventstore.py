"""The event log itself, against real PostgreSQL as the application role."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.db import as_role, create_engine
from shared.eventstore import (
    NO_STREAM,
    Batch,
    EventFilter,
    EventStore,
    InvalidEventContent,
    NewEvent,
    Projector,
    ProjectorRunner,
    RecordedEvent,
    WrongExpectedVersion,
    verify_chain,
)


def event(type: str = "test.Happened", **data: Any) -> NewEvent:
    return NewEvent(type=type, data=data or {"n": 1}, occurred_at=datetime.now(UTC))


@pytest.fixture
async def store(app_url: str) -> AsyncIterator[EventStore]:
    engine = create_engine(app_url, pool_size=4)
    s = EventStore(engine)
    yield s
    await s.stop()
    await engine.dispose()


@pytest.fixture
async def fresh_store(fresh_database_url: str) -> AsyncIterator[EventStore]:
    engine = create_engine(as_role(fresh_database_url), pool_size=8)
    s = EventStore(engine)
    yield s
    await s.stop()
    await engine.dispose()


async def test_append_then_read_the_stream_in_version_order(store: EventStore) -> None:
    stream = f"child-{uuid.uuid4()}"
    child = uuid.uuid4()
    first = await store.append(stream, [event(a=1), event(a=2)], NO_STREAM)
    more = await store.append(stream, [event(a=3)], 2)
    assert [e.stream_version for e in first + more] == [1, 2, 3]
    assert first[1].position == first[0].position + 1
    read = await store.read_stream(stream)
    assert [e.data["a"] for e in read] == [1, 2, 3]
    assert [e.hash for e in read] == [e.hash for e in first + more]
    tagged = await store.append(
        f"child-{child}", [NewEvent(type="t.T", data={}, occurred_at=datetime.now(UTC), child_ids=(child,))]
    )
    by_child = await store.read(EventFilter(child_id=child))
    assert [e.event_id for e in by_child] == [tagged[0].event_id]


async def test_resending_an_event_id_appends_nothing_and_returns_the_original(store: EventStore) -> None:
    stream = f"child-{uuid.uuid4()}"
    original = event(a=1)
    first = await store.append(stream, [original], NO_STREAM)
    again = await store.append(stream, [original], NO_STREAM)
    assert again == first
    assert len(await store.read_stream(stream)) == 1
    # Concurrent re-sends of one id inside one batch: still one event.
    twice = await asyncio.gather(*(store.append(stream, [e]) for e in [event(b=1)] * 1))
    same = twice[0][0]
    copies = await asyncio.gather(
        *(
            store.append(stream, [NewEvent(type="t.X", data={}, occurred_at=same.occurred_at, event_id=same.event_id)])
            for _ in range(5)
        )
    )
    assert {c[0].position for c in copies} == {same.position}
    assert len(await store.read_stream(stream)) == 2


async def test_wrong_expected_version_is_refused_and_writes_nothing(store: EventStore) -> None:
    stream = f"household-{uuid.uuid4()}"
    await store.append(stream, [event()], NO_STREAM)
    with pytest.raises(WrongExpectedVersion) as refused:
        await store.append(stream, [event()], NO_STREAM)
    assert refused.value.current == 1
    assert len(await store.read_stream(stream)) == 1


async def test_twenty_writers_at_one_expected_version_have_exactly_one_winner(store: EventStore) -> None:
    stream = f"child-{uuid.uuid4()}"
    await store.append(stream, [event()], NO_STREAM)
    outcomes = await asyncio.gather(
        *(store.append(stream, [event(writer=i)], 1) for i in range(20)), return_exceptions=True
    )
    winners = [o for o in outcomes if isinstance(o, list)]
    losers = [o for o in outcomes if isinstance(o, WrongExpectedVersion)]
    assert len(winners) == 1 and len(losers) == 19
    assert (await store.stream_version(stream)) == 2


async def test_invariant_check_runs_under_the_lock_and_refuses_alone(store: EventStore) -> None:
    stream = f"placement-{uuid.uuid4()}"

    class Refused(Exception):
        pass

    async def refuse(conn: Any) -> None:
        raise Refused("household on hold")

    async def allow(conn: Any) -> None:
        assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1

    ok, refused = await asyncio.gather(
        store.append(stream, [event()], NO_STREAM, check=allow),
        store.append(f"placement-{uuid.uuid4()}", [event()], NO_STREAM, check=refuse),
        return_exceptions=True,
    )
    assert isinstance(ok, list) and isinstance(refused, Refused)


async def test_text_that_jsonb_cannot_hold_is_refused(store: EventStore) -> None:
    with pytest.raises(InvalidEventContent):
        await store.append(f"child-{uuid.uuid4()}", [event(narrative="nul\x00byte")])


async def test_sixteen_writers_gap_free_positions_and_an_in_order_follower(fresh_store: EventStore) -> None:
    writers, per_writer = 16, 500
    total = writers * per_writer
    seen: list[int] = []

    async def follow() -> None:
        after = 0
        while len(seen) < total:
            page = await fresh_store.read(EventFilter(after=after, limit=1000))
            for e in page:
                seen.append(e.position)
            if page:
                after = page[-1].position
            else:
                await asyncio.sleep(0.01)

    async def write(w: int) -> list[int]:
        stream = f"child-{uuid.uuid4()}"
        positions = []
        for i in range(per_writer):
            recorded = await fresh_store.append(stream, [event(writer=w, i=i)], i)
            positions.append(recorded[0].position)
        return positions

    follower = asyncio.create_task(follow())
    acknowledged = await asyncio.gather(*(write(w) for w in range(writers)))
    await asyncio.wait_for(follower, timeout=60)
    all_acked = sorted(p for ps in acknowledged for p in ps)
    assert all_acked == list(range(1, total + 1))  # acknowledged = stored, no gaps, no duplicates
    assert seen == list(range(1, total + 1))  # the follower saw each once, in order
    result = await verify_chain(fresh_store.engine)
    assert result.ok and result.checked == total
    async with fresh_store.engine.connect() as conn:
        decreasing = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM (SELECT recorded_at < lag(recorded_at) OVER (ORDER BY position) AS d "
                    "FROM events) x WHERE d"
                )
            )
        ).scalar_one()
    assert decreasing == 0


@pytest.mark.parametrize("statement", ["UPDATE events SET type = 'x'", "DELETE FROM events", "TRUNCATE events"])
async def test_the_log_cannot_be_changed_by_the_app_role_or_the_owner(
    app_url: str, database_url: str, store: EventStore, statement: str
) -> None:
    await store.append(f"child-{uuid.uuid4()}", [event()])
    for url in (app_url, database_url):
        engine = create_engine(url, pool_size=1)
        try:
            with pytest.raises(DBAPIError) as refused:
                async with engine.begin() as conn:
                    await conn.execute(text(statement))
            message = str(refused.value)
            assert "permission denied" in message or "append-only" in message
        finally:
            await engine.dispose()


async def test_verify_names_the_first_tampered_position(fresh_database_url: str, fresh_store: EventStore) -> None:
    for i in range(5):
        await fresh_store.append(f"child-{uuid.uuid4()}", [event(i=i)])
    assert (await verify_chain(fresh_store.engine)).ok
    owner = create_engine(fresh_database_url, pool_size=1)
    try:
        async with owner.begin() as conn:
            await conn.execute(text("ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete"))
            await conn.execute(text("""UPDATE events SET data = '{"i": 99}' WHERE position = 3"""))
            await conn.execute(text("ALTER TABLE events ENABLE ALWAYS TRIGGER events_no_update_or_delete"))
    finally:
        await owner.dispose()
    result = await verify_chain(fresh_store.engine)
    assert not result.ok and result.first_bad_position == 3


async def test_verify_checks_the_log_up_to_the_head_it_read_while_appends_go_on(fresh_store: EventStore) -> None:
    """A live log grows during a verify: what lands after the head was read is for the next one."""
    for i in range(20):
        await fresh_store.append(f"child-{uuid.uuid4()}", [event(i=i)])
    stop = asyncio.Event()

    async def keep_appending() -> None:
        while not stop.is_set():
            await fresh_store.append(f"child-{uuid.uuid4()}", [event()])

    writer = asyncio.create_task(keep_appending())
    try:
        results = [await verify_chain(fresh_store.engine, chunk=1) for _ in range(3)]
    finally:
        stop.set()
        await writer
    assert all(r.ok for r in results), results
    assert results[-1].head_position > results[0].head_position  # the log did grow meanwhile
    assert all(r.checked == r.head_position for r in results)


class StreamCounts(Projector):
    name: ClassVar[str] = "test_stream_counts"
    tables: ClassVar[tuple[str, ...]] = ("test_stream_counts",)

    async def apply(self, batch: Batch, event: RecordedEvent) -> None:
        batch.write(_COUNT, {"s": event.stream_id, "t": event.type}, ("test_stream_counts", event.stream_id))


_COUNT = text(
    "INSERT INTO test_stream_counts (stream_id, events, last_type) VALUES (:s, 1, :t) "
    "ON CONFLICT (stream_id) DO UPDATE SET events = test_stream_counts.events + 1, last_type = :t"
)


async def _rows(engine: Any) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(text("SELECT * FROM test_stream_counts ORDER BY stream_id"))]


async def test_rebuilding_a_projection_from_zero_gives_identical_rows(
    fresh_database_url: str, fresh_store: EventStore
) -> None:
    owner = create_engine(fresh_database_url, pool_size=1)
    async with owner.begin() as conn:
        await conn.execute(
            text("CREATE TABLE test_stream_counts (stream_id text PRIMARY KEY, events int, last_type text)")
        )
    await owner.dispose()
    runner = ProjectorRunner(fresh_store.engine, [StreamCounts()], batch_size=7)
    streams = [f"child-{uuid.uuid4()}" for _ in range(6)]
    for i in range(40):
        await fresh_store.append(streams[i % 6], [event(f"test.T{i % 3}")])
        if i % 9 == 0:
            await runner.catch_up()
    await runner.catch_up()
    live = await _rows(fresh_store.engine)
    assert sum(r[1] for r in live) == 40
    await runner.replay(runner.by_name("test_stream_counts"))
    assert await _rows(fresh_store.engine) == live


class TypeCounts(Projector):
    """A second projector, for a second runner on the same store."""

    name: ClassVar[str] = "test_type_counts"
    tables: ClassVar[tuple[str, ...]] = ("test_type_counts",)

    async def apply(self, batch: Batch, event: RecordedEvent) -> None:
        batch.write(_COUNT_TYPE, {"t": event.type}, ("test_type_counts", event.type))


_COUNT_TYPE = text(
    "INSERT INTO test_type_counts (type, events) VALUES (:t, 1) "
    "ON CONFLICT (type) DO UPDATE SET events = test_type_counts.events + 1"
)


async def test_two_runners_apply_a_batch_inside_its_own_transaction(
    fresh_database_url: str, fresh_store: EventStore
) -> None:
    owner = create_engine(fresh_database_url, pool_size=1)
    async with owner.begin() as conn:
        await conn.execute(
            text("CREATE TABLE test_stream_counts (stream_id text PRIMARY KEY, events int, last_type text)")
        )
        await conn.execute(text("CREATE TABLE test_type_counts (type text PRIMARY KEY, events int)"))
    await owner.dispose()
    streams = StreamCounts()
    types = TypeCounts()
    runners = [ProjectorRunner(fresh_store.engine, [streams]), ProjectorRunner(fresh_store.engine, [types])]
    for runner in runners:
        await runner.catch_up()  # loaded and at the head: ready to be applied inline
        fresh_store.project_inline(runner)
    stream = f"child-{uuid.uuid4()}"
    recorded = await asyncio.gather(*(fresh_store.append(stream, [event(f"test.T{i % 2}")]) for i in range(12)))
    head = max(r[-1].position for r in recorded)
    # No step ran: both read models and both checkpoint rows moved with the events themselves.
    assert [runner.applied for runner in runners] == [head, head]
    async with fresh_store.engine.connect() as conn:
        counts = (await conn.execute(text("SELECT events FROM test_stream_counts"))).scalars().all()
        by_type = dict((await conn.execute(text("SELECT type, events FROM test_type_counts"))).all())
        checkpoints = dict((await conn.execute(text("SELECT name, position FROM projector_checkpoints"))).all())
    assert counts == [12] and by_type == {"test.T0": 6, "test.T1": 6}
    assert checkpoints == {"test_stream_counts": head, "test_type_counts": head}


async def test_a_follower_is_woken_by_notify_from_another_process(
    fresh_database_url: str, fresh_store: EventStore
) -> None:
    owner = create_engine(fresh_database_url, pool_size=1)
    async with owner.begin() as conn:
        await conn.execute(
            text("CREATE TABLE test_stream_counts (stream_id text PRIMARY KEY, events int, last_type text)")
        )
    await owner.dispose()
    other_engine = create_engine(as_role(fresh_database_url), pool_size=2)
    runner = ProjectorRunner(other_engine, [StreamCounts()], poll_interval=60)  # polling would be far too slow
    await runner.start()
    try:
        await asyncio.sleep(0.5)  # LISTEN established
        await fresh_store.append(f"child-{uuid.uuid4()}", [event()])
        for _ in range(50):
            if await _rows(other_engine):
                break
            await asyncio.sleep(0.1)
        assert len(await _rows(other_engine)) == 1
    finally:
        await runner.stop()
        await other_engine.dispose()


async def test_a_check_that_fails_in_sql_fails_alone_in_its_batch(store: EventStore) -> None:
    async def broken(conn: Any) -> None:
        await conn.execute(text("SELECT 1/0"))

    good_streams = [f"child-{uuid.uuid4()}" for _ in range(5)]
    outcomes = await asyncio.gather(
        *(store.append(s, [event()], NO_STREAM) for s in good_streams[:2]),
        store.append(f"placement-{uuid.uuid4()}", [event()], NO_STREAM, check=broken),
        *(store.append(s, [event()], NO_STREAM) for s in good_streams[2:]),
        return_exceptions=True,
    )
    assert sum(isinstance(o, list) for o in outcomes) == 5
    assert isinstance(outcomes[2], DBAPIError)


@pytest.mark.parametrize("table", ["access_log", "log_checkpoints"])
@pytest.mark.parametrize("statement", ["UPDATE {t} SET id = id", "DELETE FROM {t}", "TRUNCATE {t}"])
async def test_the_access_log_and_checkpoints_are_append_only_too(
    app_url: str, database_url: str, table: str, statement: str
) -> None:
    rows = {
        "access_log": "INSERT INTO access_log (actor_id, actor_role, child_id, method, route, path) "
        "VALUES ('t', 'inspector', gen_random_uuid(), 'GET', '/r', '/p')",
        "log_checkpoints": "INSERT INTO log_checkpoints (position, head_hash, signed_at, public_key, signature) "
        "VALUES (0, 'h', 't', 'k', 's')",
    }
    owner = create_engine(database_url, pool_size=1)
    async with owner.begin() as conn:  # a row to refuse changing (row triggers need one)
        await conn.execute(text(rows[table]))
    await owner.dispose()
    for url in (app_url, database_url):
        engine = create_engine(url, pool_size=1)
        try:
            with pytest.raises(DBAPIError) as refused:
                async with engine.begin() as conn:
                    await conn.execute(text(statement.format(t=table)))
            assert "permission denied" in str(refused.value) or "append-only" in str(refused.value)
        finally:
            await engine.dispose()


async def test_two_stores_appending_in_turn_keep_one_chain(fresh_database_url: str) -> None:
    """Each store believes the head is where its last batch left it: after the other's appends it
    must find out, write nothing on that belief, and append after the other's events."""
    engines = [create_engine(as_role(fresh_database_url), pool_size=2) for _ in range(2)]
    stores = [EventStore(engine) for engine in engines]
    try:
        shared_stream, own = f"child-{uuid.uuid4()}", [f"child-{uuid.uuid4()}" for _ in stores]
        version, positions = 0, []
        for turn in range(6):
            store = stores[turn % 2]
            for stream, expected in ((shared_stream, version), (own[turn % 2], turn // 2)):
                recorded = await store.append(stream, [event(turn=turn)], expected)
                positions.append(recorded[0].position)
            version += 1
            with pytest.raises(WrongExpectedVersion):  # the other's append to it counts
                await stores[(turn + 1) % 2].append(shared_stream, [event()], version - 1)
        assert positions == list(range(1, 13))
        assert [e.stream_version for e in await stores[0].read_stream(shared_stream)] == list(range(1, 7))
        result = await verify_chain(engines[0])
        assert result.ok and result.checked == 12
    finally:
        for store, engine in zip(stores, engines, strict=True):
            await store.stop()
            await engine.dispose()
