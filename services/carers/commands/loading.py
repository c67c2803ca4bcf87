"""What the shells read before they decide, all through the store: the household (its stream and
the events about it elsewhere), a record's stream, the child's registration and needs, the child's
open placements; and the household's append. Shells call them as `loading.<name>`, so a test can
stand in for one."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from services.carers.events import (
    HOUSEHOLD_RELATED,
    ChildNeedsRecorded,
    ChildRegistered,
    PlacementEnded,
    PlacementStarted,
    child_stream,
    household_stream,
)
from services.carers.rules import HouseholdState, fold_household
from shared.commanding import CommandContext
from shared.contracts.base import load, load_as
from shared.eventstore import EventFilter, EventStore, NewEvent, RecordedEvent
from shared.problems import Problem

T = TypeVar("T")
# A child's placements, however many: one read, not a page.
_EVERY_PLACEMENT = 100_000


async def read_household(
    store: EventStore, household_id: uuid.UUID, conn: AsyncConnection | None = None
) -> HouseholdState | None:
    """The household now (on `conn`: inside an append, under the log's lock)."""
    events = await store.read_stream_and_related(
        household_stream(household_id),
        types=[c.event_type for c in HOUSEHOLD_RELATED],
        key="household_id",
        value=str(household_id),
        conn=conn,
    )
    return fold_household(events)


async def load_household(ctx: CommandContext, household_id: uuid.UUID) -> HouseholdState:
    state = await read_household(ctx.store, household_id)
    if state is None:
        raise Problem("not-found", f"No household {household_id}.")
    return state


async def load_record(
    ctx: CommandContext, stream_id: str, fold: Callable[[list[RecordedEvent]], T | None], missing: str
) -> T:
    """A record folded from its own stream (a placement, an allegation...), or 404 with `missing`."""
    found = fold(await ctx.store.read_stream(stream_id))
    if found is None:
        raise Problem("not-found", missing)
    return found


async def child_registration(store: EventStore, child_id: uuid.UUID) -> ChildRegistered | None:
    """The child as the visits service registered them (the event that opened the record)."""
    first = await store.first_event(child_stream(child_id))
    return load_as(ChildRegistered, first) if first is not None and first.type == ChildRegistered.event_type else None


async def child_names(store: EventStore, child_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The names the children were registered under (to name a child in a refusal)."""
    names = {}
    for child_id in child_ids:
        registered = await child_registration(store, child_id)
        if registered is not None:
            names[child_id] = registered.name
    return names


async def recorded_needs(store: EventStore, child_id: uuid.UUID) -> list[str]:
    """The child's current needs as the child's record holds them (the latest list recorded)."""
    last = await store.last_event(child_stream(child_id), [ChildNeedsRecorded.event_type])
    return [need.value for need in load_as(ChildNeedsRecorded, last).needs] if last is not None else []


async def open_placements_of_child(
    store: EventStore, child_id: uuid.UUID, conn: AsyncConnection | None = None
) -> list[PlacementStarted]:
    """The child's placements not yet ended, wherever they are."""
    types = [PlacementStarted.event_type, PlacementEnded.event_type]
    events = await store.read(EventFilter(child_id=child_id, types=types, limit=_EVERY_PLACEMENT), conn)
    current: dict[uuid.UUID, PlacementStarted] = {}
    for event in events:
        payload = load(event)
        if isinstance(payload, PlacementStarted):
            current[payload.placement_id] = payload
        elif isinstance(payload, PlacementEnded):
            current.pop(payload.placement_id, None)
    return list(current.values())


async def append_to_household(
    ctx: CommandContext, state: HouseholdState, events: list[NewEvent]
) -> list[RecordedEvent]:
    """The household's events, at the version the command read (If-Match when the caller sent it)."""
    return await ctx.append(household_stream(state.household_id), events, expected_version=ctx.expected(state.version))
