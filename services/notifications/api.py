"""notifications: the HTTP API (thin: maps requests to commands and queries)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field
from sqlalchemy import text
from starlette.responses import JSONResponse

from services.notifications import commands, destinations, projections, rules, workers
from services.notifications.rules import NOTIFICATION_STATUSES, RECIPIENTS
from shared.access import access, children_read
from shared.auth import Principal, Role
from shared.commanding import CommandContext, CommandRoute, command_context
from shared.idempotency import shown_once
from shared.policy import Action, Resource, decide, require_role
from shared.problems import Problem
from shared.service import ServiceSpec
from shared.types import Instant

router = APIRouter(prefix="/v1", tags=["notifications"], route_class=CommandRoute)

# Who may call each route (shared/policy.py decides; shared/access enforces and logs reads).
SubscriptionCreator = Annotated[Principal, access(Resource.SUBSCRIPTION, Action.CREATE)]
SubscriptionReader = Annotated[Principal, access(Resource.SUBSCRIPTION, Action.READ)]
SubscriptionWriter = Annotated[Principal, access(Resource.SUBSCRIPTION, Action.WRITE)]
Ctx = Annotated[CommandContext, Depends(command_context("notifications"))]
NotificationsReader = Annotated[
    Principal, access(Resource.NOTIFICATION, Action.READ, locate="child", param="child_id", source="query")
]
NotificationReader = Annotated[
    Principal, access(Resource.NOTIFICATION, Action.READ, locate="notification", param="notification_id", audited=True)
]
NotificationWriter = Annotated[
    Principal, access(Resource.NOTIFICATION, Action.WRITE, locate="notification", param="notification_id")
]
EscalationReader = Annotated[
    Principal, access(Resource.NOTIFICATION, Action.READ, locate="escalation", param="escalation_id", audited=True)
]

Recipient = Literal[
    "ofsted",
    "placing_authority",
    "lado",
    "police",
    "area_authority",
    "health",
    "internal",
    "secretary_of_state",
]
assert set(Recipient.__args__) == set(RECIPIENTS)  # type: ignore[attr-defined]

READERS = frozenset(Role) - {Role.CARER}
SUBSCRIPTION_READERS = commands.SUBSCRIPTION_MANAGERS


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubscriptionIn(Strict):
    url: AnyHttpUrl
    recipient: Recipient
    event_types: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=50, description="Message types to receive; empty: all. `prefix.*` allowed."
    )
    placing_authority: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="Only messages about children placed by this authority."
    )
    description: Annotated[str, Field(max_length=500)] | None = None


class DisableIn(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=500)] = "disabled by an administrator"


class AcknowledgeIn(Strict):
    acknowledged_by: Annotated[str, Field(min_length=1, max_length=300)] = Field(
        description="Who acknowledged: person and organisation."
    )
    recipient: Recipient | None = None
    action_taken: Annotated[str, Field(min_length=1, max_length=5000)]
    outcome: Annotated[str, Field(min_length=1, max_length=5000)]
    acknowledged_at: Instant | None = None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _subscription_json(row: Any) -> dict[str, Any]:
    return {
        "subscription_id": str(row.subscription_id),
        "url": destinations.without_credentials(row.url),  # one registered before they were refused
        "recipient": row.recipient,
        "event_types": list(row.event_types or []),
        "placing_authority": row.placing_authority,
        "description": row.description,
        "status": row.status,
        "secret_version": row.secret_version,
        "version": row.version,
        "created_at": _iso(row.created_at),
        "created_by": row.created_by,
        "disabled_at": _iso(row.disabled_at),
        "disabled_reason": row.disabled_reason,
    }


async def _subscription_row(request: Request, subscription_id: uuid.UUID) -> Any:
    async with request.app.state.store.reader.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT * FROM notifications_subscriptions WHERE subscription_id = :id"), {"id": subscription_id}
            )
        ).first()
    if row is None:
        raise Problem("not-found", f"There is no subscription {subscription_id}.")
    return row


# ---- subscriptions ---------------------------------------------------------------------------
SECRET_SHOWN_ONCE = (
    "The secret is shown only in the first answer, never in a replay of it. If it was lost, rotate it: "
    "POST /v1/subscriptions/{subscription_id}/rotate-secret."
)


@router.post("/subscriptions", status_code=201)
async def create_subscription(
    body: SubscriptionIn,
    ctx: Ctx,
    request: Request,
    _caller: SubscriptionCreator,
) -> JSONResponse:
    subscription_id, secret = await commands.create_subscription(
        ctx,
        url=str(body.url),
        recipient=body.recipient,
        event_types=body.event_types,
        placing_authority=body.placing_authority,
        description=body.description,
        allowed_networks=rules.parse_networks(request.app.state.settings.webhook_allowed_networks),
    )
    row = await _subscription_row(request, subscription_id)
    return shown_once(
        {**_subscription_json(row), "secret": secret},
        ["secret"],
        SECRET_SHOWN_ONCE.format(subscription_id=subscription_id),
        status_code=201,
        headers={"Location": f"/v1/subscriptions/{subscription_id}"},
    )


@router.get("/subscriptions")
async def list_subscriptions(
    request: Request,
    caller: SubscriptionReader,
    recipient: Recipient | None = None,
    status: Literal["active", "disabled"] | None = None,
) -> dict[str, Any]:
    require_role(caller, SUBSCRIPTION_READERS, "see webhook subscriptions")
    sql = "SELECT * FROM notifications_subscriptions WHERE true"
    params: dict[str, Any] = {}
    if recipient is not None:
        sql += " AND recipient = :r"
        params["r"] = recipient
    if status is not None:
        sql += " AND status = :s"
        params["s"] = status
    sql += " ORDER BY created_at, subscription_id"
    async with request.app.state.store.reader.connect() as conn:
        rows = list(await conn.execute(text(sql), params))
    return {"subscriptions": [_subscription_json(r) for r in rows]}


@router.get("/subscriptions/{subscription_id}")
async def get_subscription(
    subscription_id: uuid.UUID,
    request: Request,
    caller: SubscriptionReader,
) -> dict[str, Any]:
    require_role(caller, SUBSCRIPTION_READERS, "see webhook subscriptions")
    return _subscription_json(await _subscription_row(request, subscription_id))


@router.post("/subscriptions/{subscription_id}/disable")
async def disable_subscription(
    subscription_id: uuid.UUID,
    ctx: Ctx,
    request: Request,
    _caller: SubscriptionWriter,
    body: DisableIn | None = None,
) -> dict[str, Any]:
    await commands.disable_subscription(ctx, subscription_id, (body or DisableIn()).reason)
    return _subscription_json(await _subscription_row(request, subscription_id))


@router.post("/subscriptions/{subscription_id}/rotate-secret")
async def rotate_secret(
    subscription_id: uuid.UUID,
    ctx: Ctx,
    request: Request,
    _caller: SubscriptionWriter,
) -> JSONResponse:
    version, secret = await commands.rotate_secret(ctx, subscription_id)
    row = await _subscription_row(request, subscription_id)
    return shown_once(
        {**_subscription_json(row), "secret": secret, "secret_version": version},
        ["secret"],
        SECRET_SHOWN_ONCE.format(subscription_id=subscription_id),
    )


# ---- notifications ---------------------------------------------------------------------------
def _notification_json(row: Any, now: datetime) -> dict[str, Any]:
    return {
        "notification_id": str(row.notification_id),
        "version": row.stream_version,
        "rule_set": row.rule_set,
        "rule_id": row.rule_id,
        "rule_version": row.rule_version,
        "row": row.row_number,
        "title": row.title,
        "recipients": list(row.recipients),
        "unsubscribed_recipients": list(row.unsubscribed_recipients or []),
        "due_by": _iso(row.due_by),
        "raised_at": _iso(row.raised_at),
        "overdue": row.acknowledged_at is None and now > row.due_by,
        "status": row.status,
        "source_event_id": str(row.source_event_id),
        "source_event_type": row.source_event_type,
        "child_ids": [str(c) for c in row.child_ids],
        "household_id": str(row.household_id) if row.household_id else None,
        "placing_authorities": list(row.placing_authorities or []),
        "acknowledged_at": _iso(row.acknowledged_at),
        "acknowledgements": row.acknowledgements,
        "details": (row.data or {}).get("details", {}),
        "triggers": (row.data or {}).get("triggers", []),
        "rule_source": (row.data or {}).get("rule_source"),
    }


@router.get("/notifications")
async def list_notifications(
    request: Request,
    caller: NotificationsReader,
    child_id: uuid.UUID | None = None,
    status: str | None = Query(default=None, description=f"One of {', '.join(NOTIFICATION_STATUSES)}."),
    recipient: Recipient | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> dict[str, Any]:
    require_role(caller, READERS, "see notifications")
    if status is not None and status not in NOTIFICATION_STATUSES:
        raise Problem("validation", f"status must be one of {', '.join(NOTIFICATION_STATUSES)}.")
    sql = "SELECT * FROM notifications_notifications WHERE true"
    params: dict[str, Any] = {"n": limit}
    if child_id is not None:
        sql += " AND child_ids @> ARRAY[CAST(:c AS uuid)]"
        params["c"] = str(child_id)
    if status is not None:
        sql += " AND status = :s"
        params["s"] = status
    if recipient is not None:
        sql += " AND :r = ANY(recipients)"
        params["r"] = recipient
    sql += " ORDER BY raised_at, notification_id LIMIT :n"
    async with request.app.state.store.reader.connect() as conn:
        rows = list(await conn.execute(text(sql), params))
    now = request.app.state.clock.now()
    await children_read(request, (c for r in rows for c in r.child_ids))
    return {"notifications": [_notification_json(r, now) for r in rows]}


def _attempt_json(row: Any, diagnostics: bool) -> dict[str, Any]:
    attempt = {
        "event_id": str(row.event_id),
        "outbox_id": str(row.outbox_id),
        "webhook_id": row.webhook_id,
        "subscription_id": str(row.subscription_id),
        "recipient": row.recipient,
        "attempt": row.attempt,
        "status": rules.attempt_status(row.outcome),
        "attempted_at": _iso(row.attempted_at),
        "next_attempt_at": _iso(row.next_attempt_at),
    }
    if diagnostics:
        attempt |= {"outcome": row.outcome, "status_code": row.status_code, "error": row.error}
    return attempt


def _delivery_json(row: Any, diagnostics: bool) -> dict[str, Any]:
    delivery = {
        "webhook_id": row.webhook_id,
        "subscription_id": str(row.subscription_id),
        "recipient": row.recipient,
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": _iso(row.next_attempt_at) if row.status == "pending" else None,
    }
    if diagnostics:
        delivery |= {"last_status_code": row.last_status_code, "last_error": row.last_error}
    return delivery


def sees_delivery_diagnostics(caller: Principal) -> bool:
    """Why an attempt failed (the receiver's answer, the connection error) says what listens where:
    shown only to those who may read the raw log, where it is recorded anyway."""
    return decide(caller.role, Resource.LOG, Action.READ).allowed


async def notification_detail(
    request: Request, notification_id: uuid.UUID, *, diagnostics: bool = False
) -> dict[str, Any]:
    async with request.app.state.store.reader.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT * FROM notifications_notifications WHERE notification_id = :id"), {"id": notification_id}
            )
        ).first()
        if row is None:
            raise Problem("not-found", f"There is no notification {notification_id}.")
        attempts = list(
            await conn.execute(
                text("SELECT * FROM notifications_attempts WHERE notification_id = :id ORDER BY position"),
                {"id": notification_id},
            )
        )
        deliveries = list(
            await conn.execute(
                text("SELECT * FROM notifications_outbox WHERE notification_id = :id ORDER BY created_at, outbox_id"),
                {"id": notification_id},
            )
        )
    return {
        **_notification_json(row, request.app.state.clock.now()),
        "deliveries": [_delivery_json(d, diagnostics) for d in deliveries],
        "attempts": [_attempt_json(a, diagnostics) for a in attempts],
    }


@router.get("/notifications/{notification_id}")
async def get_notification(
    notification_id: uuid.UUID,
    request: Request,
    caller: NotificationReader,
) -> JSONResponse:
    require_role(caller, READERS, "see notifications")
    body = await notification_detail(request, notification_id, diagnostics=sees_delivery_diagnostics(caller))
    return JSONResponse(body, headers={"ETag": f'"{body["version"]}"'})


@router.post("/notifications/{notification_id}/acknowledge")
async def acknowledge_notification(
    notification_id: uuid.UUID,
    body: AcknowledgeIn,
    ctx: Ctx,
    request: Request,
    _caller: NotificationWriter,
) -> dict[str, Any]:
    await commands.acknowledge(
        ctx,
        notification_id,
        acknowledged_by=body.acknowledged_by,
        recipient=body.recipient,
        action_taken=body.action_taken,
        outcome=body.outcome,
        acknowledged_at=body.acknowledged_at,
    )
    return await notification_detail(request, notification_id, diagnostics=sees_delivery_diagnostics(ctx.principal))


# ---- escalations -----------------------------------------------------------------------------
def _escalation_json(row: Any) -> dict[str, Any]:
    return {
        "escalation_id": str(row.escalation_id),
        "reason": row.reason,
        "status": row.status,
        "open": row.status == "open",
        "deadline_id": str(row.deadline_id) if row.deadline_id else None,
        "deadline_kind": row.deadline_kind,
        "subject": row.subject,
        "child_ids": [str(c) for c in row.child_ids],
        "household_id": str(row.household_id) if row.household_id else None,
        "due_at": _iso(row.due_at),
        "raised_at": _iso(row.raised_at),
        "escalate_to": row.escalate_to,
        "description": row.description,
        "source": row.source,
        "resolved_at": _iso(row.resolved_at),
        "resolution": row.resolution,
    }


@router.get("/escalations")
async def list_escalations(
    request: Request,
    caller: NotificationsReader,
    open: bool | None = None,
    child_id: uuid.UUID | None = None,
    escalate_to: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> dict[str, Any]:
    require_role(caller, READERS, "see escalations")
    sql = "SELECT * FROM notifications_escalations WHERE true"
    params: dict[str, Any] = {"n": limit}
    if open is not None:
        sql += " AND status = :s"
        params["s"] = "open" if open else "resolved"
    if child_id is not None:
        sql += " AND child_ids @> ARRAY[CAST(:c AS uuid)]"
        params["c"] = str(child_id)
    if escalate_to is not None:
        sql += " AND escalate_to = :to"
        params["to"] = escalate_to
    sql += " ORDER BY raised_at, escalation_id LIMIT :n"
    async with request.app.state.store.reader.connect() as conn:
        rows = list(await conn.execute(text(sql), params))
    await children_read(request, (c for r in rows for c in r.child_ids))
    return {"escalations": [_escalation_json(r) for r in rows]}


@router.get("/escalations/{escalation_id}")
async def get_escalation(
    escalation_id: uuid.UUID,
    request: Request,
    caller: EscalationReader,
) -> dict[str, Any]:
    require_role(caller, READERS, "see escalations")
    async with request.app.state.store.reader.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT * FROM notifications_escalations WHERE escalation_id = :id"), {"id": escalation_id}
            )
        ).first()
        if row is None:
            raise Problem("not-found", f"There is no escalation {escalation_id}.")
        attempts = list(
            await conn.execute(
                text("SELECT * FROM notifications_attempts WHERE escalation_id = :id ORDER BY position"),
                {"id": escalation_id},
            )
        )
    diagnostics = sees_delivery_diagnostics(caller)
    return {**_escalation_json(row), "attempts": [_attempt_json(a, diagnostics) for a in attempts]}


async def metrics_figures(state: Any) -> dict[str, float]:
    """For /metrics: what is waiting to be delivered, for how long, and what is escalated."""
    async with state.store.reader.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM notifications_outbox WHERE status = 'pending') AS depth, "
                    "(SELECT coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0) "
                    " FROM notifications_outbox WHERE status = 'pending') AS oldest, "
                    "(SELECT count(*) FROM notifications_escalations WHERE status = 'open') AS open_escalations"
                )
            )
        ).one()
    return {
        "outbox_depth": float(row.depth),
        "oldest_undelivered_seconds": float(row.oldest),
        "open_escalations": float(row.open_escalations),
    }


SERVICE = ServiceSpec(
    name="notifications",
    router=router,
    projectors=projections.PROJECTORS,
    workers=[workers.dispatcher, workers.clock],
    gauges=metrics_figures,
)
