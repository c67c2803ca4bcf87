"""The access policy as a table a registered manager could read: role, relationship, action -> answer."""

from __future__ import annotations

import pytest

from shared.auth import Role
from shared.policy import Action, Relation, Resource, decide

R, A, Rel = Resource, Action, Relation
NONE: frozenset[Relation] = frozenset()

# (case, role, resource, action, relations, expected status: 200 allowed, 403, 404)
CASES = [
    ("inspector reads a child's record", Role.INSPECTOR, R.CHILD, A.READ, NONE, 200),
    ("inspector reads the raw log", Role.INSPECTOR, R.LOG, A.READ, NONE, 200),
    ("inspector changes nothing", Role.INSPECTOR, R.CHILD, A.WRITE, NONE, 403),
    ("inspector creates nothing", Role.INSPECTOR, R.CHILD, A.CREATE, NONE, 403),
    ("inspector does not manage webhooks", Role.INSPECTOR, R.SUBSCRIPTION, A.READ, NONE, 403),
    ("admin manages subscriptions", Role.ADMIN, R.SUBSCRIPTION, A.WRITE, NONE, 200),
    ("admin reads and verifies the log", Role.ADMIN, R.LOG, A.READ, NONE, 200),
    ("admin signs checkpoints", Role.ADMIN, R.LOG, A.WRITE, NONE, 200),
    ("admin does not read children's records", Role.ADMIN, R.CHILD, A.READ, NONE, 403),
    ("admin does not read households", Role.ADMIN, R.HOUSEHOLD, A.READ, NONE, 403),
    ("manager reads any child", Role.MANAGER, R.CHILD, A.READ, NONE, 200),
    ("manager writes any household", Role.MANAGER, R.HOUSEHOLD, A.WRITE, NONE, 200),
    ("manager reads the access log", Role.MANAGER, R.ACCESS_LOG, A.READ, NONE, 200),
    ("manager allocates workers", Role.MANAGER, R.ALLOCATION, A.CREATE, NONE, 200),
    ("manager does not read the raw log", Role.MANAGER, R.LOG, A.READ, NONE, 403),
    ("manager does not manage webhooks", Role.MANAGER, R.SUBSCRIPTION, A.WRITE, NONE, 403),
    ("registered manager manages webhooks", Role.REGISTERED_MANAGER, R.SUBSCRIPTION, A.CREATE, NONE, 200),
    (
        "child's social worker reads an allocated child",
        Role.CHILD_SOCIAL_WORKER,
        R.CHILD,
        A.READ,
        frozenset({Rel.ALLOCATED}),
        200,
    ),
    (
        "child's social worker records for an allocated child",
        Role.CHILD_SOCIAL_WORKER,
        R.CHILD,
        A.WRITE,
        frozenset({Rel.ALLOCATED}),
        200,
    ),
    ("child's social worker and another child", Role.CHILD_SOCIAL_WORKER, R.CHILD, A.READ, NONE, 403),
    (
        "child's social worker reads the household of their child",
        Role.CHILD_SOCIAL_WORKER,
        R.HOUSEHOLD,
        A.READ,
        frozenset({Rel.ALLOCATED_CHILD_PLACED}),
        200,
    ),
    (
        "child's social worker does not change that household",
        Role.CHILD_SOCIAL_WORKER,
        R.HOUSEHOLD,
        A.WRITE,
        frozenset({Rel.ALLOCATED_CHILD_PLACED}),
        403,
    ),
    ("child's social worker registers a child", Role.CHILD_SOCIAL_WORKER, R.CHILD, A.CREATE, NONE, 200),
    ("child's social worker does not register households", Role.CHILD_SOCIAL_WORKER, R.HOUSEHOLD, A.CREATE, NONE, 403),
    (
        "child's social worker reads their own worklist",
        Role.CHILD_SOCIAL_WORKER,
        R.REPORT,
        A.READ,
        frozenset({Rel.ALLOCATED}),
        200,
    ),
    ("child's social worker and the agency view", Role.CHILD_SOCIAL_WORKER, R.REPORT, A.READ, NONE, 403),
    (
        "child's social worker and the access log",
        Role.CHILD_SOCIAL_WORKER,
        R.ACCESS_LOG,
        A.READ,
        frozenset({Rel.ALLOCATED}),
        403,
    ),
    (
        "SSW writes a supervised household",
        Role.SUPERVISING_SOCIAL_WORKER,
        R.HOUSEHOLD,
        A.WRITE,
        frozenset({Rel.ALLOCATED}),
        200,
    ),
    ("SSW and another household", Role.SUPERVISING_SOCIAL_WORKER, R.HOUSEHOLD, A.READ, NONE, 403),
    (
        "SSW records for a child placed with their household",
        Role.SUPERVISING_SOCIAL_WORKER,
        R.CHILD,
        A.WRITE,
        frozenset({Rel.SUPERVISES_PLACEMENT}),
        200,
    ),
    ("SSW and a child placed elsewhere", Role.SUPERVISING_SOCIAL_WORKER, R.CHILD, A.READ, NONE, 403),
    ("carer reads their own household", Role.CARER, R.HOUSEHOLD, A.READ, frozenset({Rel.OWN_HOUSEHOLD}), 200),
    (
        "carer does not change their household's record",
        Role.CARER,
        R.HOUSEHOLD,
        A.WRITE,
        frozenset({Rel.OWN_HOUSEHOLD}),
        404,
    ),
    ("carer and another household: existence hidden", Role.CARER, R.HOUSEHOLD, A.READ, NONE, 404),
    (
        "carer reads the plans shared for their child",
        Role.CARER,
        R.SHARED_PLAN,
        A.READ,
        frozenset({Rel.CARES_FOR_CHILD}),
        200,
    ),
    (
        "carer acknowledges receiving a plan for their child (reg 17)",
        Role.CARER,
        R.SHARED_PLAN,
        A.WRITE,
        frozenset({Rel.CARES_FOR_CHILD}),
        200,
    ),
    ("carer and another child's plans: existence hidden", Role.CARER, R.SHARED_PLAN, A.WRITE, NONE, 404),
    ("carer and the rest of their child's record", Role.CARER, R.CHILD, A.READ, frozenset({Rel.CARES_FOR_CHILD}), 404),
    ("carer and another child: existence hidden", Role.CARER, R.CHILD, A.READ, NONE, 404),
    ("carer and notifications", Role.CARER, R.NOTIFICATION, A.READ, NONE, 404),
    ("LADO reads any allegation", Role.LADO, R.ALLEGATION, A.READ, NONE, 200),
    ("LADO reports an allegation", Role.LADO, R.ALLEGATION, A.CREATE, NONE, 200),
    ("LADO reads an allocated child", Role.LADO, R.CHILD, A.READ, frozenset({Rel.ALLOCATED}), 200),
    ("LADO does not write a child's record", Role.LADO, R.CHILD, A.WRITE, frozenset({Rel.ALLOCATED}), 403),
    ("LADO and an unallocated child", Role.LADO, R.CHILD, A.READ, NONE, 403),
]


@pytest.mark.parametrize(
    ("role", "resource", "action", "relations", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_policy(role: Role, resource: Resource, action: Action, relations: frozenset[Relation], expected: int) -> None:
    decision = decide(role, resource, action, relations)
    assert (200 if decision.allowed else decision.status) == expected, decision.reason
