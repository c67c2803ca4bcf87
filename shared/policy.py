"""Who may do what: one pure function of role, relationship and action (docs/architecture.md).

`decide` never touches the database; `shared/access.py` finds the caller's relationships to the
object from the log and enforces the decision on every route listed in `ROUTES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from shared.auth import Principal, Role
from shared.problems import Problem


class Resource(StrEnum):
    CHILD = "child"  # the child's record: details, visits, incidents, complaints, chronology
    SHARED_PLAN = "shared_plan"  # the parts of a child's record shared with the carers (reg 17)
    HOUSEHOLD = "household"  # a fostering household, its members, checks, placements
    ALLEGATION = "allegation"
    NOTIFICATION = "notification"  # Schedule 7 / LADO notifications and escalations
    SUBSCRIPTION = "subscription"  # webhook receivers
    LOG = "log"  # the raw event log, verification, replay
    ACCESS_LOG = "access_log"
    ALLOCATION = "allocation"
    REPORT = "report"  # agency-wide figures and worklists
    RETENTION = "retention"  # retention dates, legal holds (placed by the registered manager)


class Action(StrEnum):
    READ = "read"
    WRITE = "write"
    CREATE = "create"  # a new object: no relationship exists yet


class Relation(StrEnum):
    """How the caller stands to the object (found in the log by shared/access.py)."""

    ALLOCATED = "allocated"  # the worker (or LADO) is allocated to this child or household
    SUPERVISES_PLACEMENT = "supervises_placement"  # SSW of the household where the child is placed
    ALLOCATED_CHILD_PLACED = "allocated_child_placed"  # the worker's child is placed in this household
    OWN_HOUSEHOLD = "own_household"  # a carer and their own household
    CARES_FOR_CHILD = "cares_for_child"  # a carer and a child placed with them


@dataclass(frozen=True)
class Decision:
    allowed: bool
    status: int = 200  # 403, or 404 where existence itself must not leak
    reason: str = ""


ALLOW = Decision(True)


def deny(reason: str) -> Decision:
    return Decision(False, 403, reason)


def hide(reason: str) -> Decision:
    return Decision(False, 404, reason)


READERS_OF_EVERYTHING = frozenset({Role.MANAGER, Role.REGISTERED_MANAGER, Role.INSPECTOR})
AGENCY_MANAGERS = frozenset({Role.MANAGER, Role.REGISTERED_MANAGER})
CASEWORKERS = frozenset({Role.CHILD_SOCIAL_WORKER, Role.SUPERVISING_SOCIAL_WORKER})

# Who may create a new object of each kind (no relationship exists yet).
CREATORS: dict[Resource, frozenset[Role]] = {
    Resource.CHILD: frozenset({Role.CHILD_SOCIAL_WORKER, *AGENCY_MANAGERS}),
    Resource.HOUSEHOLD: frozenset({Role.SUPERVISING_SOCIAL_WORKER, *AGENCY_MANAGERS}),
    Resource.ALLEGATION: frozenset({*CASEWORKERS, *AGENCY_MANAGERS, Role.LADO}),
    Resource.SUBSCRIPTION: frozenset({Role.ADMIN, Role.REGISTERED_MANAGER}),
    Resource.ALLOCATION: AGENCY_MANAGERS,
    Resource.RETENTION: frozenset({Role.REGISTERED_MANAGER}),  # a legal hold, placed or lifted
}

# Which relationships give a caseworker or LADO access, by resource: (read, write).
RELATIONSHIP_GRANTS: dict[Role, dict[Resource, tuple[frozenset[Relation], frozenset[Relation]]]] = {
    Role.CHILD_SOCIAL_WORKER: {
        Resource.CHILD: (frozenset({Relation.ALLOCATED}), frozenset({Relation.ALLOCATED})),
        Resource.SHARED_PLAN: (frozenset({Relation.ALLOCATED}), frozenset({Relation.ALLOCATED})),
        Resource.HOUSEHOLD: (frozenset({Relation.ALLOCATED_CHILD_PLACED}), frozenset()),
        Resource.ALLEGATION: (frozenset({Relation.ALLOCATED}), frozenset({Relation.ALLOCATED})),
        Resource.NOTIFICATION: (frozenset({Relation.ALLOCATED}), frozenset({Relation.ALLOCATED})),
        Resource.REPORT: (frozenset({Relation.ALLOCATED}), frozenset()),  # their own worklist
    },
    Role.SUPERVISING_SOCIAL_WORKER: {
        Resource.CHILD: (frozenset({Relation.SUPERVISES_PLACEMENT}), frozenset({Relation.SUPERVISES_PLACEMENT})),
        Resource.SHARED_PLAN: (
            frozenset({Relation.SUPERVISES_PLACEMENT}),
            frozenset({Relation.SUPERVISES_PLACEMENT}),
        ),
        Resource.HOUSEHOLD: (frozenset({Relation.ALLOCATED}), frozenset({Relation.ALLOCATED})),
        Resource.ALLEGATION: (
            frozenset({Relation.ALLOCATED, Relation.SUPERVISES_PLACEMENT}),
            frozenset({Relation.ALLOCATED, Relation.SUPERVISES_PLACEMENT}),
        ),
        Resource.NOTIFICATION: (
            frozenset({Relation.ALLOCATED, Relation.SUPERVISES_PLACEMENT}),
            frozenset({Relation.ALLOCATED, Relation.SUPERVISES_PLACEMENT}),
        ),
        Resource.REPORT: (frozenset({Relation.ALLOCATED}), frozenset()),
    },
    Role.LADO: {
        Resource.CHILD: (frozenset({Relation.ALLOCATED}), frozenset()),
        Resource.HOUSEHOLD: (frozenset({Relation.ALLOCATED}), frozenset()),
        Resource.NOTIFICATION: (frozenset({Relation.ALLOCATED}), frozenset({Relation.ALLOCATED})),
    },
}


def decide(role: Role, resource: Resource, action: Action, relations: frozenset[Relation] = frozenset()) -> Decision:
    """May a caller with `role`, standing in `relations` to the object, do `action` on it?"""
    by_role = _ROLE_RULES.get(role)
    if by_role is not None:
        return by_role(resource, action, relations)
    if action == Action.CREATE:
        return _create(role, resource)
    return _by_relationship(role, resource, action, relations)


def _inspector(resource: Resource, action: Action, relations: frozenset[Relation]) -> Decision:
    if action != Action.READ:
        return deny("inspectors read everything and change nothing")
    if resource == Resource.SUBSCRIPTION:
        return deny("webhook receivers are managed by admins")
    return ALLOW


def _admin(resource: Resource, action: Action, relations: frozenset[Relation]) -> Decision:
    if resource in (Resource.SUBSCRIPTION, Resource.LOG):
        return ALLOW
    return deny("admins manage subscriptions, replay and verification, not children's records")


def _manager(role: Role) -> Callable[[Resource, Action, frozenset[Relation]], Decision]:
    def decide_for_manager(resource: Resource, action: Action, relations: frozenset[Relation]) -> Decision:
        if action == Action.CREATE:
            return _create(role, resource)
        if resource == Resource.LOG:
            return deny("the raw log is for admins and inspectors")
        if resource == Resource.SUBSCRIPTION and role != Role.REGISTERED_MANAGER:
            return deny("webhook receivers are managed by admins and the registered manager")
        return ALLOW

    return decide_for_manager


def _carer(resource: Resource, action: Action, relations: frozenset[Relation]) -> Decision:
    # A carer must not learn that other children or households exist: 404, never 403.
    if action == Action.CREATE:
        return _create(Role.CARER, resource)
    if resource == Resource.HOUSEHOLD and action == Action.READ and Relation.OWN_HOUSEHOLD in relations:
        return ALLOW
    if resource == Resource.SHARED_PLAN and Relation.CARES_FOR_CHILD in relations:
        return ALLOW
    return hide("not shared with this carer")


def _create(role: Role, resource: Resource) -> Decision:
    return ALLOW if role in CREATORS.get(resource, frozenset()) else deny(f"{role} may not create a {resource}")


def _by_relationship(role: Role, resource: Resource, action: Action, relations: frozenset[Relation]) -> Decision:
    """Caseworkers and the LADO: what their relationships to the object grant."""
    if role == Role.LADO and resource == Resource.ALLEGATION and action == Action.READ:
        return ALLOW
    grants = RELATIONSHIP_GRANTS.get(role, {}).get(resource)
    if grants is None:
        return deny(f"{role} has no access to {resource} records")
    needed = grants[0] if action == Action.READ else grants[1]
    if relations & needed:
        return ALLOW
    return deny(f"this {resource} is not allocated to you")


_ROLE_RULES: dict[Role, Callable[[Resource, Action, frozenset[Relation]], Decision]] = {
    Role.INSPECTOR: _inspector,
    Role.ADMIN: _admin,
    Role.MANAGER: _manager(Role.MANAGER),
    Role.REGISTERED_MANAGER: _manager(Role.REGISTERED_MANAGER),
    Role.CARER: _carer,
}


def require_writer(principal: Principal) -> None:
    """Defence in depth inside commands: read-only roles never write."""
    if principal.role in (Role.INSPECTOR, Role.ADMIN):
        raise Problem("forbidden", f"The {principal.role.value} role does not change records.")


def require_role(principal: Principal, allowed: frozenset[Role] | set[Role], action: str) -> None:
    if principal.role not in allowed:
        raise Problem("forbidden", f"The {principal.role.value} role may not {action}.")
