"""Access declared where the route is: each route names the resource it touches, the action, and
where the object's id is; `Access` enforces the policy (shared/policy.py) for it, writes the access
log of what it reads and yields the caller.

    ChildReader = Annotated[Principal, access(Resource.CHILD, Action.READ, locate="child",
                                               param="child_id", audited=True)]

    @router.get("/children/{child_id}")
    async def get_child(child_id: uuid.UUID, caller: ChildReader) -> ...

A route that declares no access is refused when the app is built (services/app.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.routing import Route

from shared.access.reads import ReadsOfRecords, record_break_glass
from shared.access.relations import Target, locate, relations_to
from shared.auth import WORKER_ROLES, Principal, current_principal
from shared.observability import REQUEST_ID_SHAPE
from shared.policy import Action, Decision, Relation, Resource, decide
from shared.problems import Problem
from shared.ratelimit import TokenBuckets, too_many
from shared.settings import SIGNIN_CALLBACK_PATH

BREAK_GLASS_HEADER = "x-break-glass-reason"
# A break-glass reason is kept in the access log, the log and the escalation: a paragraph, no more.
MAX_BREAK_GLASS_REASON_CHARS = 2000
# One answer for an object that does not exist and one the caller may not know exists.
NOT_FOUND = "No such record."
ALL_RELATIONS = frozenset(Relation)
PUBLIC_PATHS = frozenset(
    {
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        # The recipient's acknowledgement link in a notification email: no bearer token, the link's
        # signed token is the credential and names the one thing it may do
        # (services/notifications/links.py); refused links count as failed authentications.
        "/v1/acknowledgements/{notification_id}/{recipient}",
    }
    # Browser sign-in (shared/signin.py): before there is anyone to ask the policy about.
    | {"/signin", SIGNIN_CALLBACK_PATH, "/signout"}
)

# Documents the bearer token in /openapi.json (securitySchemes; the Authorize button of /docs).
# The token itself is read and checked by shared/auth.py.
BEARER = HTTPBearer(auto_error=False, description="A carelog JWT (`carelog token` mints one in development).")


@dataclass(frozen=True)
class RouteRule:
    resource: Resource
    action: Action
    locate: str | None = None  # kind of object named by the parameter `param`
    param: str = "id"
    source: Literal["path", "query", "body"] = "path"  # where `param` is (a query one is an optional filter)
    audited: bool = False  # a read of the child's record: written to the access log
    self_param: str | None = None  # a query parameter naming the caller (their own worklist)
    listing: bool = False  # a list: allowed to any role that could read some; rows filtered by readable()


class Access:
    """The dependency that enforces a route's rule and yields the caller."""

    def __init__(self, rule: RouteRule) -> None:
        self.rule = rule

    async def __call__(
        self,
        request: Request,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
        x_break_glass_reason: Annotated[
            str | None,
            Header(
                max_length=MAX_BREAK_GLASS_REASON_CHARS,
                description="Open a record outside your allocation, for reading only: why (logged and reviewed).",
            ),
        ] = None,
        # Read and checked by RequestObservation before any route; declared so clients see them.
        x_request_id: Annotated[
            str | None, Header(pattern=REQUEST_ID_SHAPE.pattern, description="Your id for this request.")
        ] = None,
        x_correlation_id: Annotated[
            str | None, Header(pattern=REQUEST_ID_SHAPE.pattern, description="The id of the work it belongs to.")
        ] = None,
    ) -> AsyncIterator[Principal]:
        reads = await enforce(request, self.rule, (x_break_glass_reason or "").strip())
        try:
            yield reads.principal
        finally:
            await reads.written()


def access(
    resource: Resource,
    action: Action,
    *,
    locate: str | None = None,
    param: str = "id",
    source: Literal["path", "query", "body"] = "path",
    audited: bool = False,
    self_param: str | None = None,
    listing: bool = False,
) -> Any:
    """`Annotated[Principal, access(...)]`: the route's access rule, enforced before it runs. A
    `listing` route is open to every role that could read some such object; it shows only the rows
    `shared.access.readable` allows and logs every child it lists (`children_read`)."""
    rule = RouteRule(resource, action, locate, param, source, audited, self_param, listing)
    # scope="function": the access log is written before the response, not after it.
    return Depends(Access(rule), scope="function")


def child_access(action: Action, param: str = "child_id", *, audited: bool = False) -> Any:
    """The commonest rule: the child's record, the child named in the path."""
    return access(Resource.CHILD, action, locate="child", param=param, audited=audited or action == Action.READ)


def route_rules(routers: Iterable[APIRouter]) -> dict[tuple[str, str], RouteRule]:
    """Every route's declared rule, by (method, path). The routers are included without a prefix of
    their own, so a route's path is the path it is served at."""
    found: dict[tuple[str, str], RouteRule] = {}
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute):
                for rule in _declared(route.dependant):
                    for method in route.methods or ():
                        found[(method, route.path)] = rule
    return found


def undeclared_routes(routers: Iterable[APIRouter]) -> list[str]:
    """Routes that declare no access (and are not public): each would be open to anyone."""
    rules = route_rules(routers)
    # A router included inside another is opaque here: its routes would go unchecked and unlisted.
    nested = [
        f"a router included inside {router.prefix or '/'}"
        for router in routers
        for route in router.routes
        if not isinstance(route, APIRoute | Route)
    ]
    return nested + sorted(
        f"{method} {route.path}"
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute) and route.path not in PUBLIC_PATHS
        for method in route.methods or ()
        if (method, route.path) not in rules
    )


def _declared(dependant: Any) -> Iterator[RouteRule]:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, Access):
            yield dependency.call.rule
        yield from _declared(dependency)


# ---- enforcement -----------------------------------------------------------------------------
async def enforce(request: Request, rule: RouteRule, break_glass_reason: str) -> ReadsOfRecords:
    """Refuses what the policy refuses; for an allowed request, its access log (the child named by
    an audited route already noted)."""
    principal = await current_principal(request)
    if request.method == "POST":
        _limit_writes(request, principal)
    object_id = await _object_id(request, rule)
    if object_id is None and rule.locate is not None and rule.source == "path":
        # A malformed id: the route's own validation answers 422, and nothing is read.
        return ReadsOfRecords(request, principal, None)
    target, relations = await _standing(request, principal, rule, object_id)
    decision = _decision(principal, rule, target, relations, object_id)
    if not decision.allowed and break_glass_reason and _may_break_glass(principal, rule, target):
        await record_break_glass(request, principal, target.child_ids, target.household_ids, break_glass_reason)
        decision = Decision(True)
    if not decision.allowed:
        raise Problem("not-found", NOT_FOUND) if decision.status == 404 else Problem("forbidden", decision.reason)
    reads = request.state.reads = ReadsOfRecords(request, principal, break_glass_reason or None)
    if rule.audited:
        reads.note(target.child_ids)
    return reads


async def _standing(
    request: Request, principal: Principal, rule: RouteRule, object_id: uuid.UUID | None
) -> tuple[Target, frozenset[Relation]]:
    """What the request names, and how the caller stands to it (only asked when it matters: managers
    and inspectors need no relationship)."""
    target = Target()
    relations: frozenset[Relation] = frozenset()
    if object_id is not None:
        target = await locate(request.app.state.store, str(rule.locate), object_id)
        needs_relations = decide(principal.role, rule.resource, rule.action) != decide(
            principal.role, rule.resource, rule.action, ALL_RELATIONS
        )
        if target.found and needs_relations:
            relations = await relations_to(request.app.state, principal, target)
    if rule.self_param is not None and request.query_params.get(rule.self_param) == principal.subject:
        relations = relations | {Relation.ALLOCATED}
    return target, relations


def _decision(
    principal: Principal,
    rule: RouteRule,
    target: Target,
    relations: frozenset[Relation],
    object_id: uuid.UUID | None,
) -> Decision:
    # A role that could not do this even with every relationship is refused before existence is
    # revealed; otherwise an object that does not exist is not found, in the same words as one the
    # caller may not see (a carer must not tell the two apart).
    decision = decide(principal.role, rule.resource, rule.action, ALL_RELATIONS)
    if rule.listing:
        return decision
    if decision.allowed and object_id is not None and not target.found and rule.source == "path":
        raise Problem("not-found", NOT_FOUND)
    if decision.allowed:
        decision = decide(principal.role, rule.resource, rule.action, relations)
    return decision


def _limit_writes(request: Request, principal: Principal) -> None:
    """Writes per principal (CARELOG_WRITES_PER_MINUTE): one runaway client or stolen token cannot
    flood the log. Replays of an Idempotency-Key are answered before this and cost nothing."""
    limits: TokenBuckets | None = getattr(request.app.state, "write_limits", None)
    if limits is None:
        return
    wait = limits.take(principal.subject)
    if wait:
        raise too_many(wait, "Too many writes from this caller; try again later.")


async def _object_id(request: Request, rule: RouteRule) -> uuid.UUID | None:
    """The id of the object the request names, if any and well-formed."""
    if rule.locate is None:
        return None
    raw: Any
    if rule.source == "path":
        raw = request.path_params.get(rule.param)
    elif rule.source == "query":
        raw = request.query_params.get(rule.param)
    else:
        try:
            body = await request.json()
        except ValueError:
            return None
        raw = body.get(rule.param) if isinstance(body, dict) else None
    try:
        return uuid.UUID(str(raw)) if raw is not None else None
    except ValueError:
        return None


def _may_break_glass(principal: Principal, rule: RouteRule, target: Target) -> bool:
    """Break-glass opens a record for reading only: every write outside an allocation is refused."""
    return (
        principal.role in WORKER_ROLES
        and rule.action == Action.READ
        and rule.resource in (Resource.CHILD, Resource.SHARED_PLAN, Resource.HOUSEHOLD)
        and target.found
        and bool(target.child_ids or target.household_ids)
    )
