"""notifications: the HTTP API (thin: maps requests to commands and query functions)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from services.notifications import commands, links, ofsted, projections, rules, workers
from services.notifications.commands import AcknowledgeIn, DisableIn, Recipient, SubscriptionIn
from services.notifications.projections import queries
from services.notifications.projections.queries import (
    EscalationDetail,
    Escalations,
    NotificationDetail,
    Notifications,
    Subscription,
    Subscriptions,
)
from shared.access import access, children_read
from shared.auth import Principal, Role
from shared.commanding import CommandContext, CommandRoute, command_context, run_command
from shared.idempotency import shown_once
from shared.policy import Action, Resource, decide, require_role
from shared.problems import Problem
from shared.responses import CommandResult, result_of
from shared.service import ServiceSpec

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

READERS = frozenset(Role) - {Role.CARER}
SUBSCRIPTION_READERS = commands.SUBSCRIPTION_MANAGERS
SECRET_SHOWN_ONCE = (
    "The secret is shown only in the first answer, never in a replay of it. If it was lost, rotate it: "
    "POST /v1/subscriptions/{subscription_id}/rotate-secret."
)
Row = TypeVar("Row")


class SubscriptionChanged(CommandResult, Subscription):
    """What the command recorded, and the subscription as it now stands."""


class SubscriptionWithSecret(SubscriptionChanged):
    secret: str | None
    secret_note: str | None = None


class Acknowledged(CommandResult, NotificationDetail):
    """What the acknowledgement recorded (and the clock it met), and the notification now."""


async def _read(request: Request, read: Callable[[Any], Awaitable[Row | None]], missing: str) -> Row:
    async with request.app.state.store.acquire() as conn:
        found = await read(conn)
    if found is None:
        raise Problem("not-found", missing)
    return found


async def _subscription(request: Request, subscription_id: uuid.UUID) -> Subscription:
    return await _read(
        request, lambda c: queries.subscription(c, subscription_id), f"There is no subscription {subscription_id}."
    )


def sees_delivery_diagnostics(caller: Principal) -> bool:
    """Why an attempt failed (the receiver's answer, the connection error) says what listens where:
    shown only to those who may read the raw log, where it is recorded anyway."""
    return decide(caller.role, Resource.LOG, Action.READ).allowed


async def _notification(request: Request, notification_id: uuid.UUID, caller: Principal) -> NotificationDetail:
    now, diagnostics = request.app.state.clock.now(), sees_delivery_diagnostics(caller)
    return await _read(
        request,
        lambda c: queries.notification_detail(c, notification_id, now=now, diagnostics=diagnostics),
        f"There is no notification {notification_id}.",
    )


def _allowed_networks(request: Request) -> tuple[rules.Network, ...]:
    return rules.parse_networks(request.app.state.settings.webhook_allowed_networks)


def _secret_shown_once(answer: SubscriptionWithSecret, status_code: int = 200, **headers: str) -> JSONResponse:
    return shown_once(
        answer.model_dump(mode="json", exclude={"secret_note"}),
        ["secret"],
        SECRET_SHOWN_ONCE.format(subscription_id=answer.subscription_id),
        status_code=status_code,
        headers=headers,
    )


# ---- subscriptions ---------------------------------------------------------------------------
@router.post("/subscriptions", status_code=201, response_model=SubscriptionWithSecret)
async def create_subscription(
    body: SubscriptionIn, ctx: Ctx, request: Request, _caller: SubscriptionCreator
) -> JSONResponse:
    email_enabled = request.app.state.settings.smtp_host is not None
    recorded = await commands.create_subscription(ctx, body, _allowed_networks(request), email_enabled)
    subscription = await _subscription(request, recorded.subscription_id)
    answer = SubscriptionWithSecret(**{**dict(subscription), **result_of(recorded.events)}, secret=recorded.secret)
    return _secret_shown_once(answer, 201, Location=f"/v1/subscriptions/{recorded.subscription_id}")


@router.get("/subscriptions")
async def list_subscriptions(
    request: Request,
    caller: SubscriptionReader,
    recipient: Recipient | None = None,
    status: Literal["active", "disabled"] | None = None,
) -> Subscriptions:
    require_role(caller, SUBSCRIPTION_READERS, "see webhook subscriptions")
    async with request.app.state.store.acquire() as conn:
        return await queries.subscriptions(conn, recipient=recipient, status=status)


@router.get("/subscriptions/{subscription_id}")
async def get_subscription(subscription_id: uuid.UUID, request: Request, caller: SubscriptionReader) -> Subscription:
    require_role(caller, SUBSCRIPTION_READERS, "see webhook subscriptions")
    return await _subscription(request, subscription_id)


@router.post("/subscriptions/{subscription_id}/disable")
async def disable_subscription(
    subscription_id: uuid.UUID, ctx: Ctx, request: Request, _caller: SubscriptionWriter, body: DisableIn | None = None
) -> SubscriptionChanged:
    recorded = await commands.disable_subscription(ctx, subscription_id, (body or DisableIn()).reason)
    subscription = await _subscription(request, subscription_id)
    return SubscriptionChanged(**{**dict(subscription), **result_of(recorded.events)})


@router.post("/subscriptions/{subscription_id}/rotate-secret", response_model=SubscriptionWithSecret)
async def rotate_secret(
    subscription_id: uuid.UUID, ctx: Ctx, request: Request, _caller: SubscriptionWriter
) -> JSONResponse:
    recorded = await commands.rotate_secret(ctx, subscription_id)
    subscription = await _subscription(request, subscription_id)
    answer = SubscriptionWithSecret(
        **{**dict(subscription), **result_of(recorded.events), "secret_version": recorded.secret_version},
        secret=recorded.secret,
    )
    return _secret_shown_once(answer)


# ---- notifications ---------------------------------------------------------------------------
@router.get("/notifications")
async def list_notifications(
    request: Request,
    caller: NotificationsReader,
    child_id: uuid.UUID | None = None,
    status: str | None = Query(default=None, description=f"One of {', '.join(rules.NOTIFICATION_STATUSES)}."),
    recipient: Recipient | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> Notifications:
    require_role(caller, READERS, "see notifications")
    if status is not None and status not in rules.NOTIFICATION_STATUSES:
        raise Problem("validation", f"status must be one of {', '.join(rules.NOTIFICATION_STATUSES)}.")
    async with request.app.state.store.acquire() as conn:
        found = await queries.notifications(
            conn, now=request.app.state.clock.now(), child_id=child_id, status=status, recipient=recipient, limit=limit
        )
    await children_read(request, queries.children_of(found.notifications))
    return found


@router.get("/notifications/{notification_id}")
async def get_notification(
    notification_id: uuid.UUID, request: Request, response: Response, caller: NotificationReader
) -> NotificationDetail:
    require_role(caller, READERS, "see notifications")
    detail = await _notification(request, notification_id, caller)
    response.headers["ETag"] = f'"{detail.version}"'
    return detail


@router.post("/notifications/{notification_id}/acknowledge")
async def acknowledge_notification(
    notification_id: uuid.UUID, body: AcknowledgeIn, ctx: Ctx, request: Request, _caller: NotificationWriter
) -> Acknowledged:
    recorded = await commands.acknowledge(ctx, notification_id, body)
    detail = await _notification(request, notification_id, ctx.principal)
    return Acknowledged(**{**dict(detail), **result_of(recorded)})


# ---- Ofsted's online form --------------------------------------------------------------------
@router.get(
    "/notifications/{notification_id}/ofsted-form",
    summary="The notification as the text to paste into Ofsted's online form, field by field",
)
async def ofsted_form(notification_id: uuid.UUID, request: Request, caller: NotificationReader) -> ofsted.OfstedForm:
    require_role(caller, READERS, "see notifications")
    return ofsted.render_form(await ofsted.read_state(request.app.state.store, notification_id), notification_id)


@router.post(
    "/notifications/{notification_id}/ofsted-submission",
    summary="Record Ofsted's submission reference: Ofsted's acknowledgement, which meets the clock",
)
async def ofsted_submission(
    notification_id: uuid.UUID,
    body: ofsted.OfstedSubmissionIn,
    ctx: Ctx,
    request: Request,
    _caller: NotificationWriter,
) -> Acknowledged:
    recorded = await ofsted.record_submission(ctx, notification_id, body)
    detail = await _notification(request, notification_id, ctx.principal)
    return Acknowledged(**{**dict(detail), **result_of(recorded)})


# ---- the recipient's signed link (services/notifications/links.py) ----------------------------
# No bearer token: the link's signature is the credential (a public path in shared/access).
LinkToken = Annotated[
    str, Query(min_length=1, max_length=links.MAX_TOKEN_CHARS, description="The token of the link in the email.")
]


class LinkAcknowledged(CommandResult):
    """What the recipient's acknowledgement recorded, and the clock it met."""

    notification_id: uuid.UUID
    recipient: str


def _link_context(request: Request, claims: links.LinkClaims) -> links.LinkContext:
    state = request.app.state
    request_id = getattr(request.state, "request_id", None) or str(uuid.uuid4())
    return links.LinkContext(
        service=commands.SERVICE,
        principal=links.link_principal(claims),
        clock=state.clock,
        settings=state.settings,
        store=state.store,
        runner=state.runners.get(commands.SERVICE),
        request_id=request_id,
        correlation_id=getattr(request.state, "correlation_id", None) or request_id,
    )


def _claims(request: Request, notification_id: uuid.UUID, recipient: str, token: str) -> links.LinkClaims:
    state = request.app.state
    return links.verified(state.settings, token, notification_id, recipient, state.clock.now())


@router.get(
    links.PATH.removeprefix("/v1"),
    response_class=HTMLResponse,
    summary="The recipient's acknowledgement link: a confirmation page (records nothing)",
)
async def acknowledgement_page(
    notification_id: uuid.UUID, recipient: Recipient, token: LinkToken, request: Request
) -> HTMLResponse:
    claims = _claims(request, notification_id, recipient, token)
    state = await ofsted.read_state(request.app.state.store, notification_id)
    action = f"{request.url.path}?{request.url.query}"
    return HTMLResponse(links.confirmation_page(state, claims, action), headers={"Cache-Control": "no-store"})


@router.post(
    links.PATH.removeprefix("/v1"),
    response_model=LinkAcknowledged,
    summary="Acknowledge as the recipient the link names (the page's form, or JSON); meets their clock alone",
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
    # Read by links.answer_of: a client posts JSON; the confirmation page posts the same fields as a
    # form (application/x-www-form-urlencoded), left out here as no generated client needs it.
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": links.LinkAnswerIn.model_json_schema()}},
        }
    },
)
async def acknowledge_by_link(
    notification_id: uuid.UUID, recipient: Recipient, token: LinkToken, request: Request
) -> Response:
    claims = _claims(request, notification_id, recipient, token)
    answer = links.answer_of(request.headers.get("content-type", ""), await request.body())
    ctx = _link_context(request, claims)
    recorded = await run_command(ctx, lambda: links.acknowledge(ctx, claims, answer))
    if "text/html" in request.headers.get("accept", ""):  # the page's form, in a browser
        state = await ofsted.read_state(request.app.state.store, notification_id)
        return HTMLResponse(links.done_page(state, claims), headers={"Cache-Control": "no-store"})
    answered = LinkAcknowledged(**result_of(recorded), notification_id=notification_id, recipient=recipient)
    return JSONResponse(answered.model_dump(mode="json"))


# ---- escalations -----------------------------------------------------------------------------
@router.get("/escalations")
async def list_escalations(
    request: Request,
    caller: NotificationsReader,
    open: bool | None = None,
    child_id: uuid.UUID | None = None,
    escalate_to: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> Escalations:
    require_role(caller, READERS, "see escalations")
    async with request.app.state.store.acquire() as conn:
        found = await queries.escalations(conn, open=open, child_id=child_id, escalate_to=escalate_to, limit=limit)
    await children_read(request, queries.children_of(found.escalations))
    return found


@router.get("/escalations/{escalation_id}")
async def get_escalation(escalation_id: uuid.UUID, request: Request, caller: EscalationReader) -> EscalationDetail:
    require_role(caller, READERS, "see escalations")
    diagnostics = sees_delivery_diagnostics(caller)
    return await _read(
        request,
        lambda c: queries.escalation_detail(c, escalation_id, diagnostics=diagnostics),
        f"There is no escalation {escalation_id}.",
    )


async def metrics_figures(state: Any) -> dict[str, float]:
    """For /metrics: what is waiting to be delivered, for how long, and what is escalated."""
    async with state.store.acquire() as conn:
        return await queries.outbox_figures(conn, state.store.clock.now())


SERVICE = ServiceSpec(
    name="notifications",
    router=router,
    projectors=projections.projectors,
    workers=[workers.dispatcher, workers.clock],
    gauges=metrics_figures,
)
