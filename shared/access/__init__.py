"""Who may do what, declared at each route and enforced there; who read what (the access log);
who works with whom (relations, from a projection of the log). The pure policy is shared/policy.py."""

from shared.access.api import router
from shared.access.guard import (
    BREAK_GLASS_HEADER,
    NOT_FOUND,
    PUBLIC_PATHS,
    Access,
    RouteRule,
    access,
    child_access,
    route_rules,
    undeclared_routes,
)
from shared.access.listing import readable, readable_ids
from shared.access.reads import ReadsOfRecords, children_read
from shared.access.relations import AccessRelations, Target, locate, relations, relations_to
from shared.access.sync import sync  # the offline clients' feed (GET /v1/sync), on the same router
from shared.service import ServiceSpec

# Part of every process whatever services it runs: each route is enforced where it is served.
ACCESS = ServiceSpec(name="access", router=router, projectors=lambda settings: [AccessRelations()])

__all__ = [
    "ACCESS",
    "BREAK_GLASS_HEADER",
    "NOT_FOUND",
    "PUBLIC_PATHS",
    "Access",
    "AccessRelations",
    "ReadsOfRecords",
    "RouteRule",
    "Target",
    "access",
    "child_access",
    "children_read",
    "locate",
    "readable",
    "readable_ids",
    "relations",
    "relations_to",
    "sync",
    "route_rules",
    "undeclared_routes",
]
