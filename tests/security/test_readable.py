"""What a list may show (shared/access/listing.readable_ids): the policy asked of every object the
caller's allocations and open placements touch, exactly as a read by id would be."""

from __future__ import annotations

import uuid

import pytest

from shared.access import readable_ids
from shared.access.relations import Known
from shared.auth import Principal, Role
from shared.policy import Resource

C1, C2, C3 = (uuid.UUID(int=i) for i in (1, 2, 3))
H1, H2 = (uuid.UUID(int=i) for i in (11, 12))
# sw-1 holds C1 (placed in H1); ssw-1 supervises H1; C2 is placed in H2; C3 in no placement.
KNOWN = {
    "sw-1": Known(allocated=frozenset({("child", C1)}), placed=frozenset({(C1, H1)})),
    "ssw-1": Known(allocated=frozenset({("household", H1)}), placed=frozenset({(C1, H1)})),
    "lado-1": Known(allocated=frozenset({("child", C3)}), placed=frozenset()),
    "carer-1": Known(allocated=frozenset(), placed=frozenset({(C2, H2)})),
}


@pytest.mark.parametrize(
    ("role", "subject", "resource", "kind", "expected"),
    [
        pytest.param(Role.CHILD_SOCIAL_WORKER, "sw-1", Resource.CHILD, "child", {C1}, id="a CSW: their child"),
        pytest.param(
            Role.CHILD_SOCIAL_WORKER, "sw-1", Resource.HOUSEHOLD, "household", {H1}, id="a CSW: where their child lives"
        ),
        pytest.param(
            Role.SUPERVISING_SOCIAL_WORKER,
            "ssw-1",
            Resource.CHILD,
            "child",
            {C1},
            id="an SSW: children placed with them",
        ),
        pytest.param(
            Role.SUPERVISING_SOCIAL_WORKER, "ssw-1", Resource.HOUSEHOLD, "household", {H1}, id="an SSW: their household"
        ),
        pytest.param(Role.LADO, "lado-1", Resource.CHILD, "child", {C3}, id="the LADO: allocated children"),
        pytest.param(Role.CARER, "carer-1", Resource.HOUSEHOLD, "household", {H2}, id="a carer: their own household"),
        pytest.param(Role.CARER, "carer-1", Resource.CHILD, "child", set(), id="a carer: no child's record"),
    ],
)
def test_a_list_shows_what_a_read_by_id_would(
    role: Role, subject: str, resource: Resource, kind: str, expected: set[uuid.UUID]
) -> None:
    principal = Principal(subject=subject, role=role, household_ids=[H2] if role == Role.CARER else [])
    assert readable_ids(principal, resource, kind, KNOWN[subject]) == expected  # type: ignore[arg-type]
