"""A notification's status is a fold of its raise, its messages' attempts and its answers, and an
escalation is resolved at once when its deadline closed first. Applied one event at a time (a live
step each, which reads the notification back) and in one replay batch written set-based (nothing
read back), the rows are the same."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from services.notifications import rules
from services.notifications.projections import NotificationsView
from shared.contracts.base import Event
from shared.contracts.deadlines import DeadlineCancelled, DeadlineMet, DeadlineSet
from shared.contracts.notifications import (
    DeliveryAttempted,
    EscalationRaised,
    NotificationAcknowledged,
    NotificationRaised,
    SubscriptionCreated,
    SubscriptionDisabled,
)
from shared.db import create_engine
from shared.eventstore import EventStore, NewEvent, ProjectorRunner

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
AUTHORITY = "Authority R"
CHILD = uuid.UUID("00000000-0000-4000-8000-00000000c41d")


@pytest.fixture
async def store(app_url: str) -> AsyncIterator[EventStore]:
    engine = create_engine(app_url, pool_size=4)
    found = EventStore(engine)
    yield found
    await found.stop()
    await engine.dispose()


class Log:
    """Appends the notifications service's own events, each at its own instant."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.raised: dict[str, tuple[uuid.UUID, uuid.UUID]] = {}  # name -> (notification id, raise's event id)

    async def append(self, stream: str, payload: Event, at: datetime, event_id: uuid.UUID | None = None) -> None:
        await self.store.append(
            stream,
            [
                NewEvent(
                    type=payload.event_type,
                    data=payload.payload(),
                    occurred_at=at,
                    child_ids=(CHILD,),
                    metadata={"actor_id": "test", "actor_role": "system", "summary": payload.event_type},
                    event_id=event_id or uuid.uuid4(),
                )
            ],
        )

    async def subscribe(self, recipient: str, placing_authority: str | None = None) -> SubscriptionCreated:
        created = SubscriptionCreated(
            subscription_id=uuid.uuid4(),
            url=f"https://{recipient}.example/hook",
            recipient=recipient,
            event_types=["notifications.NotificationRaised"],
            placing_authority=placing_authority,
        )
        await self.append(f"subscription-{created.subscription_id}", created, NOW)
        return created

    async def raise_(self, name: str) -> None:
        notification_id, event_id = uuid.uuid4(), uuid.uuid4()
        raised = NotificationRaised(
            notification_id=notification_id,
            rule_set="schedule7",
            rule_id="schedule7.row3",
            rule_version=1,
            rule_source="test",
            triggers=["serious_illness"],
            row=3,
            title="Serious illness of a child",
            recipients=["ofsted", "placing_authority"],
            due_by=NOW + timedelta(days=1),
            source_event_id=uuid.uuid4(),
            source_event_type="visits.IncidentRecorded",
            source_stream_id=f"child-{CHILD}",
            child_ids=[CHILD],
            placing_authorities=[AUTHORITY],
            details={},
        )
        await self.append(f"notification-{notification_id}", raised, NOW, event_id)
        self.raised[name] = (notification_id, event_id)

    async def attempt(self, name: str, sub: SubscriptionCreated, number: int, outcome: str, hours: int) -> None:
        notification_id, event_id = self.raised[name]
        outbox_id = rules.outbox_id(event_id, sub.subscription_id)
        attempted = DeliveryAttempted(
            outbox_id=outbox_id,
            webhook_id=f"msg_{outbox_id.hex}",
            notification_id=notification_id,
            subscription_id=sub.subscription_id,
            recipient=sub.recipient,
            url=sub.url,
            attempt=number,
            outcome=outcome,  # type: ignore[arg-type]
            status_code=200 if outcome == "delivered" else 503,
            attempted_at=NOW + timedelta(hours=hours),
            duration_ms=5,
        )
        await self.append(f"notification-{notification_id}", attempted, NOW + timedelta(hours=hours))

    async def answer(self, name: str, recipient: str, hours: int) -> None:
        notification_id, _ = self.raised[name]
        answered = NotificationAcknowledged(
            notification_id=notification_id,
            acknowledged_by=f"Duty officer, {recipient}",
            recipient=recipient,
            action_taken="Noted on the child's file.",
            outcome="No further action.",
            acknowledged_at=NOW + timedelta(hours=hours),
            recorded_by="manager-1",
            late=False,
        )
        await self.append(f"notification-{notification_id}", answered, NOW + timedelta(hours=hours))


async def _rows(store: EventStore, projector: NotificationsView) -> dict[str, list[str]]:
    async with store.engine.connect() as conn:
        return {
            table: list((await conn.execute(text(f"SELECT to_jsonb(t)::text FROM {table} t ORDER BY 1"))).scalars())
            for table in projector.tables
        }


async def _statuses(store: EventStore, log: Log) -> dict[str, tuple[Any, ...]]:
    async with store.engine.connect() as conn:
        found = {
            r.notification_id: (r.status, r.acknowledged_at)
            for r in await conn.execute(
                text("SELECT notification_id, status, acknowledged_at FROM notifications_notifications")
            )
        }
    return {name: found[notification_id] for name, (notification_id, _) in log.raised.items()}


async def test_answers_and_attempts_in_one_replay_batch_give_the_rows_of_one_event_at_a_time(
    store: EventStore,
) -> None:
    log = Log(store)
    ofsted, authority = await log.subscribe("ofsted"), await log.subscribe("placing_authority", AUTHORITY)
    for name in ("answered", "delivered", "pending", "cancelled", "partly"):
        await log.raise_(name)
    await log.attempt("answered", ofsted, 1, "failed", 1)
    await log.attempt("answered", ofsted, 2, "delivered", 2)
    await log.answer("answered", "ofsted", 3)
    await log.attempt("answered", authority, 1, "dead_lettered", 4)
    await log.answer("answered", "placing_authority", 6)
    await log.answer("answered", "ofsted", 5)  # answered again: acknowledged since the last to answer
    await log.attempt("delivered", ofsted, 1, "delivered", 1)
    await log.attempt("delivered", authority, 1, "failed", 1)
    await log.attempt("delivered", authority, 2, "delivered", 2)
    await log.attempt("delivered", authority, 1, "failed", 2)  # behind the row: moves nothing
    await log.attempt("pending", ofsted, 1, "failed", 1)
    await log.attempt("pending", ofsted, 2, "failed", 2)
    await log.attempt("pending", ofsted, 1, "delivered", 3)  # behind the row: moves nothing
    await log.attempt("pending", authority, 1, "delivered", 1)
    await log.attempt("cancelled", ofsted, 1, "delivered", 2)
    await log.attempt("partly", ofsted, 1, "dead_lettered", 2)
    await log.answer("partly", "ofsted", 3)
    disabled = SubscriptionDisabled(subscription_id=authority.subscription_id, reason="no longer used")
    await log.append(f"subscription-{authority.subscription_id}", disabled, NOW + timedelta(hours=7))
    await log.attempt("cancelled", authority, 1, "dead_lettered", 8)  # cancelled: moves nothing
    await log.attempt("partly", authority, 1, "delivered", 8)

    projector = NotificationsView()
    runner = ProjectorRunner(store.engine, [projector], batch_size=1)
    await runner.catch_up()
    live = await _rows(store, projector)
    assert await _statuses(store, log) == {
        "answered": ("acknowledged", NOW + timedelta(hours=6)),
        "delivered": ("delivered", None),
        "pending": ("pending", None),
        "cancelled": ("delivered", None),
        "partly": ("partly_acknowledged", None),
    }

    await runner.replay(projector, set_based_from=1)
    assert await _rows(store, projector) == live


async def test_an_escalation_of_a_deadline_already_closed_is_resolved_at_once_in_either_way(store: EventStore) -> None:
    log = Log(store)
    deadlines = {name: uuid.uuid4() for name in ("met first", "cancelled later", "still open")}
    for name, deadline_id in deadlines.items():
        clock = DeadlineSet(
            deadline_id=deadline_id,
            kind="test.clock",
            subject=f"child-{CHILD}",
            child_ids=[CHILD],
            started_at=NOW,
            due_at=NOW + timedelta(hours=1),
            description=f"Test clock: {name}",
            source="test",
        )
        await log.append(f"child-{CHILD}", clock, NOW)
    met = DeadlineMet(deadline_id=deadlines["met first"], kind="test.clock", met_at=NOW + timedelta(hours=2))
    await log.append(f"child-{CHILD}", met, NOW + timedelta(hours=2))
    escalations = {}
    for name, deadline_id in deadlines.items():
        escalations[name] = uuid.uuid4()
        raised = EscalationRaised(
            escalation_id=escalations[name],
            reason="deadline_missed",
            deadline_id=deadline_id,
            deadline_kind="test.clock",
            subject=f"child-{CHILD}",
            child_ids=[CHILD],
            due_at=NOW + timedelta(hours=1),
            raised_at=NOW + timedelta(hours=3),
            escalate_to="registered_manager",
            description=f"Escalated: {name}",
        )
        await log.append(f"escalation-{escalations[name]}", raised, NOW + timedelta(hours=3))
    cancelled = DeadlineCancelled(deadline_id=deadlines["cancelled later"], kind="test.clock", reason="moved")
    await log.append(f"child-{CHILD}", cancelled, NOW + timedelta(hours=4))

    projector = NotificationsView()
    runner = ProjectorRunner(store.engine, [projector], batch_size=1)
    await runner.catch_up()
    live = await _rows(store, projector)
    async with store.engine.connect() as conn:
        found = {
            r.escalation_id: (r.status, r.resolution)
            for r in await conn.execute(text("SELECT escalation_id, status, resolution FROM notifications_escalations"))
        }
    assert {name: found[e] for name, e in escalations.items()} == {
        "met first": ("resolved", "deadline met"),
        "cancelled later": ("resolved", "deadline cancelled: moved"),
        "still open": ("open", None),
    }

    await runner.replay(projector, set_based_from=1)
    assert await _rows(store, projector) == live
