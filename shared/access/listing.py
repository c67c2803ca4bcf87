"""What a list may show its caller: the same policy as a read by id (shared/policy.py), asked of
every child or household the caller stands in some relation to. Managers and inspectors, who read
everything, see every row; a caseworker only what they could open one by one; a carer only their own
household. The ids come from the same projection the guard reads (access_allocations,
access_placements), so a caseload of any size is two indexed reads, whatever the agency's size."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from shared.access.relations import Known, Target, relations
from shared.auth import Principal
from shared.eventstore import EventStore
from shared.policy import Action, Resource, decide

Kind = Literal["child", "household"]

# The caller's allocations, and every open placement touching a child or household they hold
# (allocated, or named in their token): the only objects a relationship can make readable.
_CANDIDATES = (
    "WITH mine AS (SELECT kind, object_id FROM access_allocations WHERE worker_id = $1 "
    "UNION SELECT 'child', unnest($2::uuid[]) UNION SELECT 'household', unnest($3::uuid[])) "
    "SELECT kind, object_id, NULL::uuid AS household_id FROM access_allocations WHERE worker_id = $1 "
    "UNION ALL SELECT 'placement', p.child_id, p.household_id FROM access_placements p "
    "WHERE p.child_id IN (SELECT object_id FROM mine WHERE kind = 'child') "
    "OR p.household_id IN (SELECT object_id FROM mine WHERE kind = 'household')"
)


def readable_ids(principal: Principal, resource: Resource, kind: Kind, known: Known) -> frozenset[uuid.UUID]:
    """Pure: the children (or households) among those `known` touches that the policy lets the
    caller read, each decided exactly as a read of it by id would be."""
    children = {i for k, i in known.allocated if k == "child"} | {c for c, _ in known.placed}
    households = {i for k, i in known.allocated if k == "household"} | {h for _, h in known.placed}
    children |= set(principal.child_ids)
    households |= set(principal.household_ids)
    candidates = children if kind == "child" else households
    found = set()
    for object_id in candidates:
        target = Target(child_ids={object_id}) if kind == "child" else Target(household_ids={object_id})
        if decide(principal.role, resource, Action.READ, relations(principal, target, known)).allowed:
            found.add(object_id)
    return frozenset(found)


async def readable(state: Any, principal: Principal, resource: Resource, kind: Kind) -> frozenset[uuid.UUID] | None:
    """The ids of the children (or households) the caller may read; None when they may read every
    one (no relationship needed)."""
    if decide(principal.role, resource, Action.READ).allowed:
        return None
    runner = state.runners.get("access")
    store: EventStore = state.store
    if runner is not None and store.known_head is not None and (runner.applied or 0) < store.known_head:
        await runner.catch_up(store.known_head)
    async with store.acquire() as conn:
        rows = await conn.fetch(_CANDIDATES, principal.subject, principal.child_ids, principal.household_ids)
    known = Known(
        allocated=frozenset((r["kind"], r["object_id"]) for r in rows if r["kind"] != "placement"),
        placed=frozenset((r["object_id"], r["household_id"]) for r in rows if r["kind"] == "placement"),
    )
    return readable_ids(principal, resource, kind, known)
