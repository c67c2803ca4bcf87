"""Allocations are commands like any other: their event ids come from the Idempotency-Key, so a
client retrying after a crash that lost the stored answer finds its allocation, not a second one."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from shared.auth import Role
from shared.eventstore import EventFilter
from tests.builders import post, register_child
from tests.conftest import AuthHeaders


async def test_a_retried_allocation_after_a_crash_is_recorded_once(
    client: Any, auth: AuthHeaders, app: FastAPI, owner_engine: Any
) -> None:
    child = await register_child(app)
    manager = {**auth(Role.REGISTERED_MANAGER), "Idempotency-Key": "allocate-ada-1"}
    body = {"worker_id": "sw-ada", "role": "child_social_worker", "child_id": str(child)}
    first = await post(client, manager, "/v1/allocations", body)
    async with owner_engine.begin() as conn:  # the crash: the stored answer is gone, the event is not
        await conn.execute(text("DELETE FROM idempotency_keys"))
    again = await post(client, manager, "/v1/allocations", body)
    assert again["event_id"] == first["event_id"] and again["position"] == first["position"]
    stream = await app.state.store.read(EventFilter(stream_id=f"allocation-{child}", limit=100))
    assert [e.type for e in stream] == ["access.WorkerAllocated"]

    other_key = {**manager, "Idempotency-Key": "allocate-ada-2"}  # a new request is a new event
    ended = await post(client, other_key, "/v1/allocations/end", body)
    assert ended["event_id"] != first["event_id"]
    stream = await app.state.store.read(EventFilter(stream_id=f"allocation-{child}", limit=100))
    assert [e.type for e in stream] == ["access.WorkerAllocated", "access.AllocationEnded"]
