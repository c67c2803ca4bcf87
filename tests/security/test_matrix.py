"""The authorization matrix: every role x every route x own/other object, through the real API,
against the policy. A route with no rule is refused, and every read of a child's record is logged."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from shared.access import PUBLIC_PATHS, RouteRule, locate
from shared.auth import Role
from shared.clock import ManualClock
from shared.eventstore import NewEvent
from shared.policy import Relation, decide
from tests.conftest import AuthHeaders, settle

Rel = Relation


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of every documented route."""
    return {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if method.upper() in ("GET", "POST", "PUT", "PATCH", "DELETE")
    }


def test_a_router_included_inside_another_is_refused() -> None:
    """Its routes would be invisible to the access check (FastAPI keeps an included router whole)."""
    from fastapi import APIRouter

    from shared.access import undeclared_routes

    outer, inner = APIRouter(prefix="/v1"), APIRouter()
    inner.add_api_route("/x", lambda: None)
    outer.include_router(inner)
    assert undeclared_routes([outer]) == ["a router included inside /v1"]


def test_every_route_has_an_access_rule(app: FastAPI) -> None:
    routes = app_routes(app)
    assert routes, "no routes found"
    missing = {r for r in routes if r not in app.state.route_rules and r[1] not in PUBLIC_PATHS}
    assert missing == set()


@dataclass
class Side:
    child: str
    household: str
    member: str = ""
    hold: str = ""
    complaint: str = ""
    placement: str = ""
    allegation: str = ""
    notification: str = ""
    escalation: str = ""
    report: str = ""  # an allegation reported by a worker with no part in the care


@dataclass
class World:
    own: Side
    other: Side
    subscription: str
    placed: dict[str, str] = field(default_factory=dict)  # child -> household


async def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


async def build_world(client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, clock: ManualClock) -> World:
    rm = auth(Role.REGISTERED_MANAGER, subject="rm-matrix")
    sides = []
    for worker, ssw in (("sw-own", "ssw-own"), ("sw-else", "ssw-else")):
        child = (
            await _ok(
                await client.post(
                    "/v1/children",
                    json={
                        "name": "Matrix Child",
                        "date_of_birth": "2012-03-14",
                        "legal_status": "section_31_care_order",
                        "placing_authority": "Matrix Council",
                        "social_worker_id": worker,
                    },
                    headers=rm,
                )
            )
        )["child_id"]
        household = (
            await _ok(
                await client.post(
                    "/v1/households",
                    json={
                        "local_authority": "E06000062",
                        "name": "Matrix household",
                        "supervising_social_worker_id": ssw,
                    },
                    headers=rm,
                )
            )
        )["household_id"]
        member = (
            await _ok(
                await client.post(
                    f"/v1/households/{household}/members",
                    json={"name": "Carer", "role": "applicant", "date_of_birth": "1980-01-01"},
                    headers=rm,
                )
            )
        )["member_id"]
        placement = str(uuid.uuid4())
        await app.state.store.append(
            f"placement-{placement}",
            [
                NewEvent(
                    type="carers.PlacementStarted",
                    data={
                        "placement_id": placement,
                        "child_id": child,
                        "household_id": household,
                        "start_date": (clock.now() - timedelta(days=3)).date().isoformat(),
                        "long_term": False,
                        "connected_person": False,
                        "placing_authority": "Matrix Council",
                    },
                    occurred_at=clock.now() - timedelta(days=3),
                    child_ids=(uuid.UUID(child),),
                    metadata={"actor_id": "rm-matrix", "actor_role": "registered_manager", "service": "carers"},
                )
            ],
            0,
        )
        complaint = (
            await _ok(
                await client.post(
                    f"/v1/children/{child}/complaints",
                    json={"received_at": clock.now().isoformat(), "made_by": "parent", "summary": "Contact times"},
                    headers=rm,
                )
            )
        )["complaint_id"]
        allegation = await _ok(
            await client.post(
                "/v1/allegations",
                json={
                    "household_id": household,
                    "member_id": member,
                    "child_ids": [child],
                    "received_at": clock.now().isoformat(),
                    "summary": "Matrix allegation",
                },
                headers=rm,
            )
        )
        report = await client.post(
            "/v1/allegations",
            json={"household_id": household, "child_ids": [child], "received_at": clock.now().isoformat(),
                  "summary": "Reported by a stranger"},
            headers=auth(Role.CHILD_SOCIAL_WORKER, subject="sw-stranger"),
        )  # fmt: skip
        assert report.status_code == 202, report.text
        await _ok(
            await client.post(
                f"/v1/children/{child}/incidents",
                json={"category": "overdose", "occurred_at": clock.now().isoformat(), "narrative": "Matrix overdose"},
                headers=rm,
            )
        )
        sides.append(
            Side(
                child=child,
                household=household,
                member=member,
                hold=allegation["hold_id"],
                complaint=complaint,
                placement=placement,
                allegation=allegation["allegation_id"],
                report=report.json()["report_id"],
            )
        )
    await settle(app)
    clock.advance(timedelta(days=10))  # every clock started above is now overdue
    for side in sides:
        for _ in range(100):
            notes = (await client.get("/v1/notifications", params={"child_id": side.child}, headers=rm)).json()
            escalations = (await client.get("/v1/escalations", params={"child_id": side.child}, headers=rm)).json()
            note_items = notes.get("notifications") or notes.get("items") or []
            esc_items = escalations.get("escalations") or escalations.get("items") or []
            if note_items and esc_items:
                side.notification = note_items[0].get("notification_id") or note_items[0]["id"]
                side.escalation = esc_items[0].get("escalation_id") or esc_items[0]["id"]
                break
            await settle(app)
            await asyncio.sleep(0.1)
        assert side.notification and side.escalation, "fixture: no notification or escalation was raised"
    subscription = (
        await _ok(
            await client.post(
                "/v1/subscriptions",
                json={
                    "url": "http://127.0.0.1:9/never",
                    "recipient": "internal",
                    "placing_authority": "Matrix Council",
                },
                headers=auth(Role.ADMIN),
            )
        )
    )["subscription_id"]
    for target in ({"child_id": sides[0].child}, {"household_id": sides[0].household}):
        await _ok(
            await client.post("/v1/allocations", json={"worker_id": "lado-own", "role": "lado", **target}, headers=rm)
        )
    return World(
        own=sides[0],
        other=sides[1],
        subscription=subscription,
        placed={sides[0].child: sides[0].household, sides[1].child: sides[1].household},
    )


SUBJECTS = {
    Role.CHILD_SOCIAL_WORKER: "sw-own",
    Role.SUPERVISING_SOCIAL_WORKER: "ssw-own",
    Role.CARER: "carer-own",
    Role.LADO: "lado-own",
    Role.MANAGER: "m-1",
    Role.REGISTERED_MANAGER: "rm-1",
    Role.INSPECTOR: "ofsted-1",
    Role.ADMIN: "admin-1",
}


def expected_relations(role: Role, world: World, children: set[str], households: set[str]) -> frozenset[Relation]:
    """The reference model: who is allocated to what in the world built above."""
    own_child, own_household = world.own.child, world.own.household
    placed_with_own = {c for c, h in world.placed.items() if h == own_household}
    found: set[Relation] = set()
    if role == Role.CHILD_SOCIAL_WORKER:
        if own_child in children:
            found.add(Rel.ALLOCATED)
        if own_household in households:
            found.add(Rel.ALLOCATED_CHILD_PLACED)
    elif role == Role.SUPERVISING_SOCIAL_WORKER:
        if own_household in households:
            found.add(Rel.ALLOCATED)
        if children & placed_with_own:
            found.add(Rel.SUPERVISES_PLACEMENT)
    elif role == Role.CARER:
        if own_household in households:
            found.add(Rel.OWN_HOUSEHOLD)
        if children & placed_with_own:
            found.add(Rel.CARES_FOR_CHILD)
    elif role == Role.LADO:
        if own_child in children or own_household in households:
            found.add(Rel.ALLOCATED)
    return frozenset(found)


def fill(path: str, side: Side, world: World) -> str:
    values = {
        "child_id": side.child,
        "id": side.child,
        "household_id": side.household,
        "member_id": side.member,
        "hold_id": side.hold,
        "complaint_id": side.complaint,
        "placement_id": side.placement,
        "allegation_id": side.allegation,
        "report_id": side.report,
        "notification_id": side.notification,
        "escalation_id": side.escalation,
        "plan_id": side.child,  # issue 12 (visits): any id; the policy answers before the plan is looked up
        "concern_id": side.child,
        "document_id": side.child,  # any id: the policy answers before the document is looked up
        "panel_id": side.child,  # any id: a panel is the agency's own record, decided by role
        "kind": "child",
        "subject_id": side.child,
        "subscription_id": world.subscription,
        "stream_id": f"child-{side.child}",
        "worker_id": "sw-own" if side is world.own else "sw-else",
    }
    return path.format(**values)


async def target_of(app: FastAPI, rule: RouteRule, side: Side) -> tuple[set[str], set[str]]:
    kind = rule.locate
    if kind is None:
        return set(), set()
    if kind == "child":
        return {side.child}, set()
    if kind == "household":
        return set(), {side.household}
    if kind == "complaint":
        return {side.child}, set()
    if kind in ("placement", "allegation", "allegation-report"):
        return {side.child}, {side.household}
    object_id = uuid.UUID(side.notification if kind == "notification" else side.escalation)
    target = await locate(app.state.store, kind, object_id)
    return {str(c) for c in target.child_ids}, {str(h) for h in target.household_ids}


async def test_authorization_matrix(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, clock: ManualClock, tmp_path: Path
) -> None:
    app.state.settings.checkpoint_key_file = tmp_path / "key.pem"
    world = await build_world(client, app, auth, clock)
    rules: dict[tuple[str, str], RouteRule] = app.state.route_rules
    routes = sorted(app_routes(app) & set(rules))
    wrong: list[str] = []
    seen: list[int] = []
    cells = 0
    for role, subject in SUBJECTS.items():
        headers = auth(
            role, subject=subject, households=[uuid.UUID(world.own.household)] if role == Role.CARER else None
        )
        for method, template in routes:
            rule = rules[(method, template)]
            for variant, side in (("own", world.own), ("other", world.other)):
                children, households = await target_of(app, rule, side)
                params: dict[str, str] = {}
                body: dict[str, Any] = {}
                if rule.source == "query":
                    params[rule.param] = side.child
                if rule.source == "body":
                    body[rule.param] = side.child
                if rule.self_param:
                    params[rule.self_param] = subject if variant == "own" else "somebody-else"
                relations = expected_relations(role, world, children, households)
                if rule.self_param and variant == "own":
                    relations = relations | {Rel.ALLOCATED}
                if rule.listing:  # a list is open to whoever could read some; its rows are filtered
                    relations = frozenset(Relation)
                decision = decide(role, rule.resource, rule.action, relations)
                url = fill(template, side, world)
                response = await client.request(method, url, params=params, json=body if method == "POST" else None,
                                                headers=headers)  # fmt: skip
                cells += 1
                status = response.status_code
                seen.append(status)
                hidden = status == 404 and response.json().get("detail") == "No such record."
                if decision.allowed:
                    ok = status not in (401, 403) and not hidden
                else:
                    ok = status == decision.status
                if not ok:
                    wrong.append(f"{role} {method} {template} [{variant}] -> {status}, policy {decision}")
    assert cells >= 8 * 2 * 50
    assert {200, 403, 404, 422} <= set(seen)  # the matrix really reaches allowed and refused cells
    assert wrong == [], "\n".join(wrong)


async def test_each_read_of_a_chronology_writes_exactly_one_access_log_entry(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders
) -> None:
    rm = auth(Role.REGISTERED_MANAGER, subject="rm-log")
    child = (
        await _ok(
            await client.post(
                "/v1/children",
                json={"name": "Logged", "date_of_birth": "2013-01-01", "legal_status": "s20", "placing_authority": "X",
                      "social_worker_id": "sw-log"},
                headers=rm,
            )
        )
    )["child_id"]  # fmt: skip
    worker = auth(Role.CHILD_SOCIAL_WORKER, subject="sw-log")
    for _ in range(3):
        assert (await client.get(f"/v1/children/{child}/chronology", headers=worker)).status_code == 200
    refused = await client.get(f"/v1/children/{child}/chronology", headers=auth(Role.CHILD_SOCIAL_WORKER))
    assert refused.status_code == 403  # a refused read is not a read
    log = await client.get(f"/v1/children/{child}/access-log", headers=auth(Role.INSPECTOR))
    entries = [e for e in log.json()["entries"] if e["route"] == "/v1/children/{child_id}/chronology"]
    assert [(e["actor_id"], e["break_glass"]) for e in entries] == [("sw-log", False)] * 3
    assert (await client.get(f"/v1/children/{child}/access-log", headers=worker)).status_code == 403
    async with app.state.engine.connect() as conn:
        count = (
            await conn.execute(text("SELECT count(*) FROM access_log WHERE child_id = :c"), {"c": child})
        ).scalar_one()
    assert count == 3


async def test_break_glass_is_allowed_recorded_and_escalated(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, clock: ManualClock
) -> None:
    rm = auth(Role.REGISTERED_MANAGER, subject="rm-bg")
    child = (
        await _ok(
            await client.post(
                "/v1/children",
                json={"name": "Urgent", "date_of_birth": "2011-05-01", "legal_status": "s31", "placing_authority": "X",
                      "social_worker_id": "sw-away"},
                headers=rm,
            )
        )
    )["child_id"]  # fmt: skip
    duty = auth(Role.CHILD_SOCIAL_WORKER, subject="duty-sw")
    assert (await client.get(f"/v1/children/{child}", headers=duty)).status_code == 403
    opened = await client.get(
        f"/v1/children/{child}", headers={**duty, "X-Break-Glass-Reason": "Police at the door out of hours"}
    )
    assert opened.status_code == 200
    log = (await client.get(f"/v1/children/{child}/access-log", headers=rm)).json()["entries"]
    assert [(e["actor_id"], e["break_glass"], e["reason"]) for e in log] == [
        ("duty-sw", True, "Police at the door out of hours")
    ]
    clock.advance(timedelta(seconds=1))  # the review is due at once
    for _ in range(50):
        await settle(app)
        open_escalations = (
            await client.get("/v1/escalations", params={"child_id": child, "open": "true"}, headers=rm)
        ).json()
        items = open_escalations.get("escalations") or open_escalations.get("items") or []
        if items:
            break
        await asyncio.sleep(0.1)
    assert len(items) == 1
    assert items[0].get("escalate_to", items[0].get("to")) in ("registered_manager", None)
    carer = auth(Role.CARER, households=[uuid.uuid4()])
    refused = await client.get(f"/v1/children/{child}", headers={**carer, "X-Break-Glass-Reason": "let me in"})
    assert refused.status_code == 404  # break-glass is for workers, never for carers
