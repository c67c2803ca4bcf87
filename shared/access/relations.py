"""How a caller stands to a child or a household, from a small projection of the log: who is
allocated to what (registrations and allocations) and which placements are open. Every request
asks, so it is one indexed read, not a scan of the log; the projection is a function of the log, so
who could see what on any date can be rebuilt."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from shared.auth import Principal, Role
from shared.contracts.access import AllocationEnded, WorkerAllocated
from shared.contracts.carers import HouseholdRegistered, PlacementEnded, PlacementStarted
from shared.contracts.visits import ChildRegistered
from shared.eventstore import Batch, EventStore, Projector, RecordedEvent
from shared.eventstore.projector import handles
from shared.policy import Relation


@dataclass
class Target:
    """The children and households a request is about (found from the id it names)."""

    child_ids: set[uuid.UUID] = field(default_factory=set)
    household_ids: set[uuid.UUID] = field(default_factory=set)
    found: bool = True


@dataclass(frozen=True)
class Known:
    """What the projection holds that matters to one caller and one target."""

    allocated: frozenset[tuple[str, uuid.UUID]]  # (kind, id) the caller is allocated to
    placed: frozenset[tuple[uuid.UUID, uuid.UUID]]  # open (child, household) placements of the target


def relations(principal: Principal, target: Target, known: Known) -> frozenset[Relation]:
    """The caller's relations to the target (pure: shared/policy.py decides what they allow)."""
    mine = _Mine(
        children={i for k, i in known.allocated if k == "child"} | set(principal.child_ids),
        households={i for k, i in known.allocated if k == "household"},
        own_households=set(principal.household_ids),
    )
    found: set[Relation] = set()
    for child_id in target.child_ids:
        found |= _to_child(principal.role, mine, {h for c, h in known.placed if c == child_id}, child_id)
    for household_id in target.household_ids:
        found |= _to_household(principal.role, mine, {c for c, h in known.placed if h == household_id}, household_id)
    return frozenset(found)


@dataclass(frozen=True)
class _Mine:
    children: set[uuid.UUID]  # allocated to the caller (or named in their token)
    households: set[uuid.UUID]  # allocated to the caller
    own_households: set[uuid.UUID]  # a carer's own


def _to_child(role: Role, mine: _Mine, placed_with: set[uuid.UUID], child_id: uuid.UUID) -> set[Relation]:
    found = {Relation.ALLOCATED} if child_id in mine.children else set()
    if placed_with & mine.own_households:
        found.add(Relation.CARES_FOR_CHILD)
    if role == Role.SUPERVISING_SOCIAL_WORKER and placed_with & mine.households:
        found.add(Relation.SUPERVISES_PLACEMENT)
    return found


def _to_household(role: Role, mine: _Mine, placed_here: set[uuid.UUID], household_id: uuid.UUID) -> set[Relation]:
    found = {Relation.OWN_HOUSEHOLD} if household_id in mine.own_households else set()
    if role != Role.CARER and household_id in mine.households:
        found.add(Relation.ALLOCATED)
    if role == Role.CHILD_SOCIAL_WORKER and placed_here & mine.children:
        found.add(Relation.ALLOCATED_CHILD_PLACED)
    return found


_KNOWN = (
    "SELECT kind, object_id, NULL::uuid AS household_id FROM access_allocations WHERE worker_id = $1 "
    "UNION ALL SELECT 'placement', child_id, household_id FROM access_placements "
    "WHERE child_id = ANY($2::uuid[]) OR household_id = ANY($3::uuid[])"
)


async def relations_to(state: Any, principal: Principal, target: Target) -> frozenset[Relation]:
    """The caller's relations to the target as of everything this process knows of the log."""
    runner = state.runners.get("access")
    store: EventStore = state.store
    if runner is not None and store.known_head is not None and (runner.applied or 0) < store.known_head:
        await runner.catch_up(store.known_head)
    async with store.acquire() as conn:
        rows = await conn.fetch(_KNOWN, principal.subject, list(target.child_ids), list(target.household_ids))
    known = Known(
        allocated=frozenset((r["kind"], r["object_id"]) for r in rows if r["kind"] != "placement"),
        placed=frozenset((r["object_id"], r["household_id"]) for r in rows if r["kind"] == "placement"),
    )
    return relations(principal, target, known)


def _uuid_set(values: Iterable[Any]) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    for item in values:
        if item is None:
            continue
        try:
            found.add(uuid.UUID(str(item)))
        except ValueError:
            continue
    return found


async def locate(store: EventStore, kind: str, object_id: uuid.UUID) -> Target:
    """The children and households the object named by a request is about; `found` False when the
    log holds no such object."""
    if kind == "child":
        return Target(child_ids={object_id}, found=await store.stream_exists(f"child-{object_id}"))
    if kind == "household":
        return Target(household_ids={object_id}, found=await store.stream_exists(f"household-{object_id}"))
    first = await store.first_event(f"{kind}-{object_id}")
    if first is None:
        return Target(found=False)
    data = first.data
    named = data.get("child_ids")
    children: list[Any] = named if isinstance(named, list) else []
    return Target(
        child_ids=set(first.child_ids) | _uuid_set([data.get("child_id"), *children]),
        household_ids=_uuid_set([data.get("household_id"), data.get("about_household_id")]),
    )


# ---- the projection ----------------------------------------------------------------------------
_ALLOCATE = text(
    "INSERT INTO access_allocations (kind, object_id, worker_id) VALUES (:k, :o, :w) ON CONFLICT DO NOTHING"
)
_DEALLOCATE = text("DELETE FROM access_allocations WHERE kind = :k AND object_id = :o AND worker_id = :w")
_PLACE = text(
    "INSERT INTO access_placements (placement_id, child_id, household_id) VALUES (:p, :c, :h) ON CONFLICT DO NOTHING"
)
_UNPLACE = text("DELETE FROM access_placements WHERE placement_id = :p")


class AccessRelations(Projector):
    """Who is allocated to which child and household; which placements are open."""

    name = "access.relations"
    tables = ("access_allocations", "access_placements")

    def _allocate(self, batch: Batch, statement: Any, kind: str, object_id: uuid.UUID, worker: str) -> None:
        batch.write(statement, {"k": kind, "o": object_id, "w": worker}, ("access_allocations", kind, object_id))

    @handles(ChildRegistered)
    async def _child(self, batch: Batch, child: ChildRegistered, event: RecordedEvent) -> None:
        if child.social_worker_id:
            self._allocate(batch, _ALLOCATE, "child", child.child_id, child.social_worker_id)

    @handles(HouseholdRegistered)
    async def _household(self, batch: Batch, household: HouseholdRegistered, event: RecordedEvent) -> None:
        if household.supervising_social_worker_id:
            self._allocate(
                batch, _ALLOCATE, "household", household.household_id, household.supervising_social_worker_id
            )

    @handles(WorkerAllocated, AllocationEnded)
    async def _allocation(
        self, batch: Batch, allocation: WorkerAllocated | AllocationEnded, event: RecordedEvent
    ) -> None:
        kind, object_id = (
            ("child", allocation.child_id) if allocation.child_id else ("household", allocation.household_id)
        )
        if object_id is not None:
            statement = _ALLOCATE if isinstance(allocation, WorkerAllocated) else _DEALLOCATE
            self._allocate(batch, statement, kind, object_id, allocation.worker_id)

    @handles(PlacementStarted)
    async def _placed(self, batch: Batch, placement: PlacementStarted, event: RecordedEvent) -> None:
        batch.write(
            _PLACE,
            {"p": placement.placement_id, "c": placement.child_id, "h": placement.household_id},
            ("access_placements", placement.placement_id),
        )

    @handles(PlacementEnded)
    async def _ended(self, batch: Batch, ended: PlacementEnded, event: RecordedEvent) -> None:
        batch.write(_UNPLACE, {"p": ended.placement_id}, ("access_placements", ended.placement_id))
