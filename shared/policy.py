"""Who may do what. Until relationship-based access lands (issue 7), the rule is by role only:
every endpoint needs a valid token; read-only roles never write."""

from __future__ import annotations

from shared.auth import Principal, Role
from shared.problems import Problem

READ_ONLY_ROLES = frozenset({Role.INSPECTOR, Role.ADMIN})


def require_writer(principal: Principal) -> None:
    if principal.role in READ_ONLY_ROLES:
        raise Problem("forbidden", f"The {principal.role.value} role does not change records.")


def require_role(principal: Principal, allowed: frozenset[Role] | set[Role], action: str) -> None:
    if principal.role not in allowed:
        raise Problem("forbidden", f"The {principal.role.value} role may not {action}.")
