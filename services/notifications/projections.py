"""notifications: the rules reactor (other services' facts -> NotificationRaised) and the read
models, including the webhook outbox, which is written in the transaction of the checkpoint.

Both are pure functions of the log: no wall clock in `apply` (the outbox's first attempt is due at
once; retries are scheduled by the dispatcher and carried in DeliveryAttempted).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifications import events as ev
from services.notifications import rules
from services.notifications.rulebook import default_rule_sets
from shared.deadlines import DEADLINE_CANCELLED, DEADLINE_MET, DEADLINE_SET, DeadlineSet
from shared.eventstore import Batch, NewEvent, Projector, Reactor, RecordedEvent, reaction_id, reaction_metadata

SERVICE = "notifications"
OUTBOX_CHANNEL = "carelog_notifications_outbox"

# Other services' events this service follows (names only: services never import each other).
CHILD_REGISTERED = "visits.ChildRegistered"
INCIDENT_RECORDED = "visits.IncidentRecorded"
COMPLAINT_RECEIVED = "visits.ComplaintReceived"
PLACEMENT_STARTED = "carers.PlacementStarted"
PLACEMENT_ENDED = "carers.PlacementEnded"
ALLEGATION_RECEIVED = "carers.AllegationReceived"
ALLEGATION_OUTCOME_RECORDED = "carers.AllegationOutcomeRecorded"

NOTIFIABLE_TYPES = frozenset({INCIDENT_RECORDED, COMPLAINT_RECEIVED, ALLEGATION_RECEIVED, ALLEGATION_OUTCOME_RECORDED})


def _uuid(value: Any) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _id(value: Any) -> str | None:
    """A uuid as text, for parameters and batch keys: the driver parses it (and refuses a bad one),
    which spares building a UUID for every deadline of a replay."""
    if value in (None, ""):
        return None
    return str(value)


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _ts(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def acknowledgement_deadline_id(notification_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(notification_id, "acknowledgement")


class NotificationRules(Reactor):
    """Follows children, placements and allegations; raises a notification per rule row matched."""

    name = "notifications_rules"
    tables = ("notifications_children", "notifications_placements", "notifications_allegations")
    types = frozenset(
        {
            CHILD_REGISTERED,
            INCIDENT_RECORDED,
            COMPLAINT_RECEIVED,
            PLACEMENT_STARTED,
            PLACEMENT_ENDED,
            ALLEGATION_RECEIVED,
            ALLEGATION_OUTCOME_RECORDED,
        }
    )

    reacts_to = NOTIFIABLE_TYPES

    def __init__(self, rule_sets: Sequence[rules.RuleSet] | None = None) -> None:
        self._rule_sets = tuple(rule_sets) if rule_sets is not None else None

    @property
    def rule_sets(self) -> Sequence[rules.RuleSet]:
        return self._rule_sets if self._rule_sets is not None else default_rule_sets()

    async def apply(self, batch: Batch, event: RecordedEvent) -> None:
        d = event.data
        if event.type == CHILD_REGISTERED:
            child_id = _uuid(d["child_id"])
            batch.write(
                _UPSERT_CHILD,
                {"c": child_id, "n": d.get("name"), "p": d.get("placing_authority")},
                ("notifications_children", child_id),
            )
        elif event.type == PLACEMENT_STARTED:
            placement_id = _uuid(d["placement_id"])
            batch.write(
                _UPSERT_PLACEMENT,
                {
                    "id": placement_id,
                    "c": _uuid(d["child_id"]),
                    "h": _uuid(d.get("household_id")),
                    "s": _date(d.get("start_date")) or event.occurred_at.date(),
                    "p": d.get("placing_authority"),
                },
                ("notifications_placements", placement_id),
            )
        elif event.type == PLACEMENT_ENDED:
            placement_id = _uuid(d["placement_id"])
            batch.write(
                _END_PLACEMENT,
                {
                    "id": placement_id,
                    "c": _uuid(d["child_id"]),
                    "h": _uuid(d.get("household_id")),
                    "e": _date(d.get("end_date")) or event.occurred_at.date(),
                },
                ("notifications_placements", placement_id),
            )
        elif event.type == ALLEGATION_RECEIVED:
            allegation_id = _uuid(d["allegation_id"])
            batch.write(
                _UPSERT_ALLEGATION,
                {
                    "id": allegation_id,
                    "h": _uuid(d.get("household_id")),
                    "c": [str(c) for c in d.get("child_ids") or []],
                },
                ("notifications_allegations", allegation_id),
            )

    # ---- reacting ----------------------------------------------------------------------------
    async def react(self, conn: AsyncConnection, event: RecordedEvent) -> Sequence[tuple[str, Sequence[NewEvent]]]:
        if event.type not in NOTIFIABLE_TYPES:
            return ()
        at = self._event_time(event)
        found = rules.matches(self.rule_sets, event.type, event.data, at)
        if not found:
            return ()
        child_ids, household_id = await self._subjects(conn, event)
        placements = {c: await self._placements(conn, c) for c in child_ids}
        on = rules.local_date(at)
        placed = [
            c for c in child_ids if rules.is_placed([(p["start_date"], p["end_date"]) for p in placements[c]], on)
        ]
        if household_id is None:
            for c in placed:
                for p in placements[c]:
                    if rules.is_placed([(p["start_date"], p["end_date"])], on) and p["household_id"]:
                        household_id = p["household_id"]
        children = {c: await self._child(conn, c) for c in child_ids}
        authorities: list[str] = []
        for c in child_ids:
            current = [p for p in placements[c] if rules.is_placed([(p["start_date"], p["end_date"])], on)]
            names = [p["placing_authority"] for p in current if p["placing_authority"]]
            if not names and children[c] and children[c]["placing_authority"]:
                names = [children[c]["placing_authority"]]
            authorities.extend(n for n in names if n not in authorities)

        reactions: list[tuple[str, Sequence[NewEvent]]] = []
        for match in found:
            if match.row.placed_child_only and not placed:
                continue
            concerned = placed if match.row.placed_child_only else child_ids
            reactions.append(
                self._raise(event, match, at, concerned, household_id, authorities, children),
            )
        return reactions

    @staticmethod
    def _event_time(event: RecordedEvent) -> datetime:
        d = event.data
        for key in ("occurred_at", "received_at", "decided_at"):
            value = _ts(d.get(key))
            if value is not None and value.tzinfo is not None:
                return value
        return event.occurred_at

    async def _subjects(self, conn: AsyncConnection, event: RecordedEvent) -> tuple[list[uuid.UUID], uuid.UUID | None]:
        d = event.data
        household_id = _uuid(d.get("household_id") or d.get("about_household_id"))
        if event.type == ALLEGATION_RECEIVED:
            ids = [_uuid(c) for c in d.get("child_ids") or []]
        elif event.type == ALLEGATION_OUTCOME_RECORDED:
            row = (
                await conn.execute(
                    text("SELECT household_id, child_ids FROM notifications_allegations WHERE allegation_id = :a"),
                    {"a": _uuid(d["allegation_id"])},
                )
            ).first()
            ids = list(row.child_ids) if row else list(event.child_ids)
            household_id = household_id or (row.household_id if row else None)
        elif d.get("child_id"):
            ids = [_uuid(d["child_id"])]
        else:
            ids = list(event.child_ids)
        return [c for c in dict.fromkeys(ids) if c is not None], household_id

    @staticmethod
    async def _placements(conn: AsyncConnection, child_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = await conn.execute(
            text(
                "SELECT household_id, start_date, end_date, placing_authority FROM notifications_placements "
                "WHERE child_id = :c ORDER BY start_date NULLS FIRST"
            ),
            {"c": child_id},
        )
        return [dict(r._mapping) for r in rows]

    @staticmethod
    async def _child(conn: AsyncConnection, child_id: uuid.UUID) -> dict[str, Any] | None:
        row = (
            await conn.execute(
                text("SELECT name, placing_authority FROM notifications_children WHERE child_id = :c"), {"c": child_id}
            )
        ).first()
        return dict(row._mapping) if row else None

    def _raise(
        self,
        cause: RecordedEvent,
        match: rules.Match,
        at: datetime,
        child_ids: Sequence[uuid.UUID],
        household_id: uuid.UUID | None,
        authorities: Sequence[str],
        children: dict[uuid.UUID, dict[str, Any] | None],
    ) -> tuple[str, Sequence[NewEvent]]:
        nid = rules.notification_id(cause.event_id, match.rule_id)
        due = rules.due_by(at, match.row)
        details = dict(cause.data)
        details["children"] = [
            {"child_id": str(c), "name": (children.get(c) or {}).get("name")} for c in child_ids if c in children
        ]
        raised = ev.NotificationRaised(
            notification_id=nid,
            rule_set=match.rule_set.name,
            rule_id=match.rule_id,
            rule_version=match.rule_set.version,
            rule_source=match.rule_set.source,
            triggers=list(match.trigger_ids),
            row=match.row_number,
            title=match.row.title,
            recipients=list(match.row.recipients),
            due_by=due,
            source_event_id=cause.event_id,
            source_event_type=cause.type,
            source_stream_id=cause.stream_id,
            child_ids=list(child_ids),
            household_id=household_id,
            placing_authorities=list(authorities),
            details=details,
        )
        label = f"Schedule 7 row {match.row_number}" if match.row_number is not None else "LADO"
        who = ", ".join(r.replace("_", " ") for r in match.row.recipients)
        summary = f"{label} notification raised ({match.row.title}): notify {who} by {due:%d %b %Y %H:%M}"
        deadline = DeadlineSet(
            deadline_id=acknowledgement_deadline_id(nid),
            kind=ev.ACKNOWLEDGEMENT_DEADLINE_KIND,
            subject=f"notification-{nid}",
            child_ids=list(child_ids),
            household_id=household_id,
            started_at=at,
            due_at=due,
            escalate_to="registered_manager",
            description=f"{label} notification acknowledged by {who}",
            source="Fostering Services (England) Regulations 2011 reg 36; NMS 29",
        )
        base = reaction_metadata(SERVICE, cause)
        occurred = max(cause.occurred_at, cause.recorded_at)
        events = [
            NewEvent(
                type=ev.NOTIFICATION_RAISED,
                data=raised.model_dump(mode="json"),
                occurred_at=occurred,
                child_ids=tuple(child_ids),
                metadata={**base, "summary": summary},
                event_id=reaction_id(cause, f"notification:{match.rule_id}"),
            ),
            NewEvent(
                type=DEADLINE_SET,
                data=deadline.model_dump(mode="json"),
                occurred_at=occurred,
                child_ids=tuple(child_ids),
                metadata={
                    **base,
                    "summary": f"Clock started: {deadline.description} (due {due:%d %b %Y %H:%M})",
                },
                event_id=reaction_id(cause, f"notification:{match.rule_id}:deadline"),
            ),
        ]
        return f"notification-{nid}", events


_UPSERT_CHILD = text(
    "INSERT INTO notifications_children (child_id, name, placing_authority) VALUES (:c, :n, :p) "
    "ON CONFLICT (child_id) DO UPDATE SET name = EXCLUDED.name, placing_authority = EXCLUDED.placing_authority"
)
_UPSERT_PLACEMENT = text(
    "INSERT INTO notifications_placements (placement_id, child_id, household_id, start_date, placing_authority) "
    "VALUES (:id, :c, :h, :s, :p) ON CONFLICT (placement_id) DO UPDATE SET "
    "child_id = EXCLUDED.child_id, household_id = EXCLUDED.household_id, "
    "start_date = EXCLUDED.start_date, placing_authority = EXCLUDED.placing_authority"
)
_END_PLACEMENT = text(
    "INSERT INTO notifications_placements (placement_id, child_id, household_id, end_date) "
    "VALUES (:id, :c, :h, :e) ON CONFLICT (placement_id) DO UPDATE SET end_date = EXCLUDED.end_date"
)
_UPSERT_ALLEGATION = text(
    "INSERT INTO notifications_allegations (allegation_id, household_id, child_ids) "
    "VALUES (:id, :h, CAST(:c AS uuid[])) ON CONFLICT (allegation_id) DO UPDATE SET "
    "household_id = EXCLUDED.household_id, child_ids = EXCLUDED.child_ids"
)


class NotificationsView(Projector):
    """Notifications, deliveries, escalations, subscriptions, deadlines and the outbox."""

    # The dispatcher appends DeliveryAttempted while it holds the outbox row locked: never in the
    # append's own transaction (see Projector.inline).
    inline = False

    name = "notifications_view"
    tables = (
        "notifications_deadlines",
        "notifications_notifications",
        "notifications_attempts",
        "notifications_escalations",
        "notifications_subscriptions",
        "notifications_outbox",
    )
    types = frozenset(
        {
            DEADLINE_SET,
            DEADLINE_MET,
            DEADLINE_CANCELLED,
            ev.NOTIFICATION_RAISED,
            ev.NOTIFICATION_ACKNOWLEDGED,
            ev.DELIVERY_ATTEMPTED,
            ev.ESCALATION_RAISED,
            ev.SUBSCRIPTION_CREATED,
            ev.SUBSCRIPTION_DISABLED,
            ev.SUBSCRIPTION_SECRET_ROTATED,
        }
    )

    async def apply(self, batch: Batch, event: RecordedEvent) -> None:
        handler = getattr(self, "_on_" + event.type.rsplit(".", 1)[-1], None)
        if handler is not None:
            await handler(batch, event)

    # ---- deadlines ---------------------------------------------------------------------------
    async def _on_DeadlineSet(self, batch: Batch, event: RecordedEvent) -> None:  # noqa: N802
        d = event.data
        deadline_id = _id(d["deadline_id"])
        batch.write(
            _UPSERT_DEADLINE,
            {
                "id": deadline_id,
                "e": event.event_id,
                "k": d.get("kind", ""),
                "s": d.get("subject", event.stream_id),
                "c": [str(c) for c in d.get("child_ids") or event.child_ids],
                "h": _uuid(d.get("household_id")),
                "st": _ts(d.get("started_at")) or event.occurred_at,
                "due": _ts(d["due_at"]),
                "to": d.get("escalate_to") or "registered_manager",
                "desc": d.get("description") or d.get("kind", ""),
                "src": d.get("source") or "",
            },
            ("notifications_deadlines", deadline_id),
        )

    def _close_deadline(self, batch: Batch, event: RecordedEvent, status: str, resolution: str) -> None:
        d = event.data
        deadline_id = _id(d.get("deadline_id"))
        closed_at = _ts(d.get("met_at")) or event.occurred_at
        batch.write(
            _CLOSE_DEADLINE,
            {"st": status, "at": closed_at, "id": deadline_id},
            ("notifications_deadlines", deadline_id),
        )
        batch.write(
            _RESOLVE_ESCALATIONS,
            {"at": closed_at, "r": resolution, "id": deadline_id},
            ("notifications_escalations.deadline", deadline_id),
        )

    async def _on_DeadlineMet(self, batch: Batch, event: RecordedEvent) -> None:  # noqa: N802
        self._close_deadline(batch, event, "met", "deadline met")

    async def _on_DeadlineCancelled(self, batch: Batch, event: RecordedEvent) -> None:  # noqa: N802
        reason = event.data.get("reason") or ""
        self._close_deadline(batch, event, "cancelled", f"deadline cancelled: {reason}".strip(": "))

    # ---- notifications -----------------------------------------------------------------------
    async def _on_NotificationRaised(self, batch: Batch, event: RecordedEvent) -> None:  # noqa: N802
        d = event.data
        nid = _uuid(d["notification_id"])
        recipients = list(d.get("recipients") or [])
        authorities = list(d.get("placing_authorities") or [])
        subscribed, queued = await self._enqueue(
            batch, event, recipients=recipients, authorities=authorities, notification_id=nid, escalation_id=None
        )
        # A new notification: nothing acknowledged yet, and only the messages just queued.
        status = rules.notification_status(acknowledged=False, outbox_statuses=["pending"] * queued)
        batch.write(
            _INSERT_NOTIFICATION,
            {
                "id": nid,
                "v": event.stream_version,
                "e": event.event_id,
                "rs": d.get("rule_set"),
                "rid": d.get("rule_id"),
                "rv": int(d.get("rule_version") or 0),
                "row": d.get("row"),
                "title": d.get("title") or "",
                "rec": recipients,
                "unsub": [r for r in recipients if r not in subscribed],
                "due": _ts(d["due_by"]),
                "at": event.recorded_at,
                "src": _uuid(d.get("source_event_id")),
                "srctype": d.get("source_event_type") or "",
                "c": [str(c) for c in event.child_ids],
                "h": _uuid(d.get("household_id")),
                "pa": authorities,
                "data": orjson.dumps(d).decode(),
                "status": status,
            },
            ("notifications_notifications", nid),
        )

    async def _on_NotificationAcknowledged(self, batch: Batch, event: RecordedEvent) -> None:  # noqa: N802
        d = event.data
        nid = _uuid(d["notification_id"])
        entry = {**d, "event_id": str(event.event_id)}
        batch.write(
            _ACKNOWLEDGE_NOTIFICATION,
            {
                "v": event.stream_version,
                "at": _ts(d.get("acknowledged_at")) or event.occurred_at,
                "entry": orjson.dumps([entry]).decode(),
                "id": nid,
                # Acknowledged outranks every delivery state: nothing to read to know it.
                "s": rules.notification_status(acknowledged=True, outbox_statuses=()),
            },
            ("notifications_notifications", nid),
        )

    async def _refresh_status(self, batch: Batch, notification_id: uuid.UUID | None) -> None:
        if notification_id is None:
            return
        row = await batch.first(
            _NOTIFICATION_ACKNOWLEDGED,
            {"id": notification_id},
            ("notifications_notifications", notification_id),
            ("notifications_outbox.notification", notification_id),
        )
        if row is None:
            return
        statuses = [r.status for r in await batch.fetch(_OUTBOX_STATUSES, {"id": notification_id})]
        status = rules.notification_status(acknowledged=row.acknowledged_at is not None, outbox_statuses=statuses)
        batch.write(
            _NOTIFICATION_STATUS, {"s": status, "id": notification_id}, ("notifications_notifications", notification_id)
        )

    # ---- the outbox --------------------------------------------------------------------------
    async def _enqueue(
        self,
        batch: Batch,
        event: RecordedEvent,
        *,
        recipients: Sequence[str],
        authorities: Sequence[str],
        notification_id: uuid.UUID | None,
        escalation_id: uuid.UUID | None,
    ) -> tuple[set[str], int]:
        """Outbox rows for every active subscription that wants this message: the recipients
        reached, and how many messages were queued."""
        subs = [s for s in await self._active_subscriptions(batch) if s.recipient in recipients]
        body = {
            "type": event.type,
            "timestamp": event.recorded_at.isoformat(),
            "data": {
                **event.data,
                "event_id": str(event.event_id),
                "stream_id": event.stream_id,
                "position": event.position,
                "child_ids": [str(c) for c in event.child_ids],
                "occurred_at": event.occurred_at.isoformat(),
            },
        }
        reached: set[str] = set()
        queued = 0
        for sub in subs:
            if not rules.subscription_matches(
                recipient=sub.recipient,
                event_types=list(sub.event_types or []),
                placing_authority=sub.placing_authority,
                message_type=event.type,
                message_recipients=recipients,
                message_placing_authorities=authorities,
            ):
                continue
            reached.add(sub.recipient)
            oid = rules.outbox_id(event.event_id, sub.subscription_id)
            batch.write(
                _INSERT_OUTBOX,
                {
                    "id": oid,
                    "wid": f"msg_{oid.hex}",
                    "sub": sub.subscription_id,
                    "rec": sub.recipient,
                    "type": event.type,
                    "stream": event.stream_id,
                    "src": event.event_id,
                    "nid": notification_id,
                    "eid": escalation_id,
                    "c": [str(c) for c in event.child_ids],
                    "body": orjson.dumps(body).decode(),
                    # From the log, not the wall clock, so a rebuild gives the same row.
                    "at": event.recorded_at,
                },
                ("notifications_outbox", oid),
                ("notifications_outbox.notification", notification_id),
                ("notifications_outbox.subscription", sub.subscription_id),
            )
            queued += 1
        if queued:
            # Delivered to listening dispatchers when this transaction commits.
            batch.notify(OUTBOX_CHANNEL)
        return reached, queued

    @staticmethod
    async def _active_subscriptions(batch: Batch) -> Sequence[Any]:
        """Every active subscription, read once a flush (kept until a subscription changes)."""
        subs = batch.kept(_SUBSCRIPTIONS)
        if subs is None:
            subs = await batch.fetch(_ACTIVE_SUBSCRIPTIONS, {}, _SUBSCRIPTIONS)
            batch.keep(_SUBSCRIPTIONS, subs)
        return subs  # type: ignore[no-any-return]

    async def _on_DeliveryAttempted(self, batch: Batch, event: RecordedEvent) -> None:  # noqa: N802
        d = event.data
        outbox_id = _uuid(d["outbox_id"])
        attempt = int(d["attempt"])
        status = {"delivered": "delivered", "failed": "pending", "dead_lettered": "dead", "gone": "cancelled"}[
            d["outcome"]
        ]
        notification_id = _uuid(d.get("notification_id"))
        batch.write(
            _INSERT_ATTEMPT,
            {
                "e": event.event_id,
                "p": event.position,
                "o": outbox_id,
                "w": d["webhook_id"],
                "n": notification_id,
                "esc": _uuid(d.get("escalation_id")),
                "s": _uuid(d["subscription_id"]),
                "r": d.get("recipient") or "",
                "a": attempt,
                "out": d["outcome"],
                "code": d.get("status_code"),
                "err": d.get("error"),
                "at": _ts(d["attempted_at"]),
                "next": _ts(d.get("next_attempt_at")),
            },
            ("notifications_attempts", event.event_id),
        )
        # The dispatcher already moved the row when it recorded the attempt; this makes the outbox a
        # function of the log (a rebuild does not re-send what was delivered or dead-lettered).
        batch.write(
            _ATTEMPTED,
            {
                "a": attempt,
                "st": status,
                "next": _ts(d.get("next_attempt_at")),
                "code": d.get("status_code"),
                "err": d.get("error"),
                "at": _ts(d["attempted_at"]),
                "o": outbox_id,
            },
            ("notifications_outbox", outbox_id),
            ("notifications_outbox.notification", notification_id),
            ("notifications_outbox.subscription", _uuid(d["subscription_id"])),
        )
        await self._refresh_status(batch, notification_id)

    # ---- escalations -------------------------------------------------------------------------
    async def _on_EscalationRaised(self, batch: Batch, event: RecordedEvent) -> None:  # noqa: N802
        d = event.data
        eid = _uuid(d["escalation_id"])
        deadline_id = _id(d.get("deadline_id"))  # text, as the deadline's own writes key it
        closed = None
        if deadline_id is not None:
            closed = await batch.first(_DEADLINE_STATUS, {"id": deadline_id}, ("notifications_deadlines", deadline_id))
            batch.write(_ESCALATE_DEADLINE, {"e": eid, "id": deadline_id}, ("notifications_deadlines", deadline_id))
        resolved = closed is not None and closed.status != "open"
        batch.write(
            _INSERT_ESCALATION,
            {
                "id": eid,
                "e": event.event_id,
                "reason": d.get("reason") or "deadline_missed",
                "dl": deadline_id,
                "kind": d.get("deadline_kind"),
                "subj": d.get("subject"),
                "c": [str(c) for c in event.child_ids],
                "h": _uuid(d.get("household_id")),
                "due": _ts(d.get("due_at")),
                "at": _ts(d.get("raised_at")) or event.occurred_at,
                "to": d.get("escalate_to") or "registered_manager",
                "desc": d.get("description") or "",
                "src": d.get("source"),
                "st": "resolved" if resolved else "open",
                "rat": closed.closed_at if resolved and closed else None,
                "res": f"deadline {closed.status}" if resolved and closed else None,
            },
            ("notifications_escalations", eid),
            ("notifications_escalations.deadline", deadline_id),
        )
        # Escalations go to the agency's own receivers (`internal`); a dead-lettered delivery of a
        # dead-letter escalation is not escalated again (see workers.py).
        await self._enqueue(
            batch, event, recipients=["internal"], authorities=[], notification_id=None, escalation_id=eid
        )

    # ---- subscriptions -----------------------------------------------------------------------
    async def _on_SubscriptionCreated(self, batch: Batch, event: RecordedEvent) -> None:  # noqa: N802
        d = event.data
        batch.write(
            _INSERT_SUBSCRIPTION,
            {
                "id": _uuid(d["subscription_id"]),
                "v": event.stream_version,
                "url": d["url"],
                "r": d["recipient"],
                "types": list(d.get("event_types") or []),
                "pa": d.get("placing_authority"),
                "desc": d.get("description"),
                "sv": int(d.get("secret_version") or 1),
                "at": event.occurred_at,
                "by": event.metadata.get("actor_id"),
            },
            _SUBSCRIPTIONS,
        )

    async def _on_SubscriptionDisabled(self, batch: Batch, event: RecordedEvent) -> None:  # noqa: N802
        d = event.data
        sid = _uuid(d["subscription_id"])
        batch.write(
            _DISABLE_SUBSCRIPTION,
            {"v": event.stream_version, "at": event.occurred_at, "r": d.get("reason"), "id": sid},
            _SUBSCRIPTIONS,
        )
        cancelled = await batch.execute(
            _CANCEL_SUBSCRIPTION_OUTBOX, {"id": sid, "r": f"subscription disabled: {d.get('reason')}"}
        )
        for nid in {r.notification_id for r in cancelled if r.notification_id is not None}:
            await self._refresh_status(batch, nid)

    async def _on_SubscriptionSecretRotated(self, batch: Batch, event: RecordedEvent) -> None:  # noqa: N802
        d = event.data
        batch.write(
            _ROTATE_SUBSCRIPTION_SECRET,
            {"v": event.stream_version, "sv": int(d["secret_version"]), "id": _uuid(d["subscription_id"])},
            _SUBSCRIPTIONS,
        )


# Subscriptions are read as a set (every active one for some recipients): their writes share one key.
_SUBSCRIPTIONS = ("notifications_subscriptions",)

_UPSERT_DEADLINE = text(
    "INSERT INTO notifications_deadlines (deadline_id, set_event_id, kind, subject, child_ids, "
    "household_id, started_at, due_at, escalate_to, description, source, status) "
    "VALUES (:id, :e, :k, :s, CAST(:c AS uuid[]), :h, :st, :due, :to, :desc, :src, 'open') "
    "ON CONFLICT (deadline_id) DO UPDATE SET set_event_id = EXCLUDED.set_event_id, "
    "due_at = EXCLUDED.due_at, escalate_to = EXCLUDED.escalate_to, "
    "description = EXCLUDED.description, child_ids = EXCLUDED.child_ids"
)
_CLOSE_DEADLINE = text(
    "UPDATE notifications_deadlines SET status = :st, closed_at = :at WHERE deadline_id = :id AND status = 'open'"
)
_RESOLVE_ESCALATIONS = text(
    "UPDATE notifications_escalations SET status = 'resolved', resolved_at = :at, resolution = :r "
    "WHERE deadline_id = :id AND status = 'open'"
)
_INSERT_NOTIFICATION = text(
    "INSERT INTO notifications_notifications (notification_id, stream_version, raised_event_id, "
    "rule_set, rule_id, rule_version, row_number, title, recipients, unsubscribed_recipients, due_by, "
    "raised_at, source_event_id, source_event_type, child_ids, household_id, placing_authorities, "
    "data, status) VALUES (:id, :v, :e, :rs, :rid, :rv, :row, :title, :rec, :unsub, :due, :at, :src, "
    ":srctype, CAST(:c AS uuid[]), :h, :pa, CAST(:data AS jsonb), :status) "
    "ON CONFLICT (notification_id) DO NOTHING"
)
_ACKNOWLEDGE_NOTIFICATION = text(
    "UPDATE notifications_notifications SET stream_version = :v, acknowledged_at = coalesce(acknowledged_at, :at), "
    "acknowledgements = acknowledgements || CAST(:entry AS jsonb), status = :s WHERE notification_id = :id"
)
_NOTIFICATION_ACKNOWLEDGED = text("SELECT acknowledged_at FROM notifications_notifications WHERE notification_id = :id")
_OUTBOX_STATUSES = text("SELECT status FROM notifications_outbox WHERE notification_id = :id")
_NOTIFICATION_STATUS = text("UPDATE notifications_notifications SET status = :s WHERE notification_id = :id")
_ACTIVE_SUBSCRIPTIONS = text(
    "SELECT subscription_id, recipient, event_types, placing_authority FROM notifications_subscriptions "
    "WHERE status = 'active' ORDER BY created_at, subscription_id"
)
_INSERT_OUTBOX = text(
    "INSERT INTO notifications_outbox (outbox_id, webhook_id, subscription_id, recipient, "
    "message_type, message_stream, source_event_id, notification_id, escalation_id, child_ids, "
    "body, status, created_at, updated_at, next_attempt_at) VALUES (:id, :wid, :sub, :rec, :type, :stream, :src, "
    ":nid, :eid, CAST(:c AS uuid[]), CAST(:body AS jsonb), 'pending', :at, :at, :at) ON CONFLICT (outbox_id) DO NOTHING"
)
_INSERT_ATTEMPT = text(
    "INSERT INTO notifications_attempts (event_id, position, outbox_id, webhook_id, notification_id, "
    "escalation_id, subscription_id, recipient, attempt, outcome, status_code, error, attempted_at, "
    "next_attempt_at) VALUES (:e, :p, :o, :w, :n, :esc, :s, :r, :a, :out, :code, :err, :at, :next) "
    "ON CONFLICT (event_id) DO NOTHING"
)
_ATTEMPTED = text(
    "UPDATE notifications_outbox SET attempts = :a, status = :st, "
    "next_attempt_at = coalesce(:next, next_attempt_at), last_status_code = :code, last_error = :err, "
    "updated_at = :at WHERE outbox_id = :o AND attempts < :a AND status = 'pending'"
)
_DEADLINE_STATUS = text("SELECT status, closed_at FROM notifications_deadlines WHERE deadline_id = :id")
_ESCALATE_DEADLINE = text("UPDATE notifications_deadlines SET escalation_id = :e WHERE deadline_id = :id")
_INSERT_ESCALATION = text(
    "INSERT INTO notifications_escalations (escalation_id, raised_event_id, reason, deadline_id, "
    "deadline_kind, subject, child_ids, household_id, due_at, raised_at, escalate_to, description, "
    "source, status, resolved_at, resolution) VALUES (:id, :e, :reason, :dl, :kind, :subj, "
    "CAST(:c AS uuid[]), :h, :due, :at, :to, :desc, :src, :st, :rat, :res) "
    "ON CONFLICT (escalation_id) DO NOTHING"
)
_INSERT_SUBSCRIPTION = text(
    "INSERT INTO notifications_subscriptions (subscription_id, version, url, recipient, event_types, "
    "placing_authority, description, status, secret_version, created_at, created_by) VALUES "
    "(:id, :v, :url, :r, :types, :pa, :desc, 'active', :sv, :at, :by) ON CONFLICT (subscription_id) DO NOTHING"
)
_DISABLE_SUBSCRIPTION = text(
    "UPDATE notifications_subscriptions SET status = 'disabled', version = :v, disabled_at = :at, "
    "disabled_reason = :r WHERE subscription_id = :id"
)
_CANCEL_SUBSCRIPTION_OUTBOX = text(
    "UPDATE notifications_outbox SET status = 'cancelled', last_error = :r "
    "WHERE subscription_id = :id AND status = 'pending' RETURNING notification_id"
)
_ROTATE_SUBSCRIPTION_SECRET = text(
    "UPDATE notifications_subscriptions SET version = :v, secret_version = :sv WHERE subscription_id = :id"
)


PROJECTORS: list[Projector] = [NotificationRules(), NotificationsView()]
