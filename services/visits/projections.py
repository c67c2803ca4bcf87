"""visits: read models built from the log, and the reactor that follows placements.

One reactor, `visits`, owns every `visits_*` table. It applies this service's events, the clocks
it set (`DeadlineSet/Met/Cancelled` with a `visits.*` kind, wherever they are stored) and the
carers service's placement and allegation events; for those it also reacts, appending the visit
clocks into the child's stream with ids derived from the cause (`reaction_id`), so a repeat is a
no-op. `apply` never reads the clock: "overdue" is decided at query time.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.visits import events as ev
from services.visits import rules
from shared.deadlines import (
    DEADLINE_CANCELLED,
    DEADLINE_MET,
    DEADLINE_SET,
    DeadlineCancelled,
    DeadlineSet,
)
from shared.eventstore import Batch, NewEvent, Reactor, RecordedEvent, reaction_id, reaction_metadata

log = logging.getLogger(__name__)

SERVICE = "visits"


def _uuid(value: Any) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _instant(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
    if parsed is not None and parsed.tzinfo is None:
        return None
    return parsed


class VisitsReactor(Reactor):
    name = "visits"
    tables = (
        "visits_children",
        "visits_placements",
        "visits_visits",
        "visits_incidents",
        "visits_complaints",
        "visits_deadlines",
        "visits_plan_versions",
        "visits_plan_shares",
        "visits_risk_assessments",
        "visits_health_checks",
        "visits_lac_reviews",
        "visits_concerns",
    )
    types = frozenset(
        {
            ev.CHILD_REGISTERED,
            ev.VISIT_RECORDED,
            ev.INCIDENT_RECORDED,
            ev.COMPLAINT_RECEIVED,
            ev.COMPLAINT_ACKNOWLEDGED,
            ev.COMPLAINT_RESPONDED,
            ev.COMPLAINT_EXTENDED,
            ev.COMPLAINT_ESCALATED,
            ev.COMPLAINT_CLOSED,
            ev.PLACEMENT_STARTED,
            ev.PLACEMENT_ENDED,
            ev.ALLEGATION_RECEIVED,
            ev.PLAN_RECORDED,
            ev.PLAN_SHARED,
            ev.PLAN_ACKNOWLEDGED,
            ev.RISK_ASSESSMENT_RECORDED,
            ev.HEALTH_CHECK_RECORDED,
            ev.LAC_REVIEW_RECORDED,
            ev.CONCERN_RAISED,
            ev.CONCERN_ACTIONED,
            ev.CONCERN_RESOLVED,
            ev.CONCERN_ESCALATED,
            DEADLINE_SET,
            DEADLINE_MET,
            DEADLINE_CANCELLED,
        }
    )

    def __init__(self, settings: rules.VisitsSettings | None = None) -> None:
        self.settings = settings or rules.VisitsSettings()

    # The placement and allegation events of the carers service, and concerns becoming complaints.
    reacts_to = frozenset({ev.PLACEMENT_STARTED, ev.PLACEMENT_ENDED, ev.ALLEGATION_RECEIVED, ev.CONCERN_ESCALATED})

    # ---- applying ------------------------------------------------------------------------------
    async def apply(self, batch: Batch, event: RecordedEvent) -> None:
        handler = _APPLY.get(event.type)
        if handler is not None:
            handler(batch, event)

    # ---- reacting ------------------------------------------------------------------------------
    async def react(self, conn: AsyncConnection, event: RecordedEvent) -> Sequence[tuple[str, Sequence[NewEvent]]]:
        if event.type == ev.PLACEMENT_STARTED:
            return self._placement_started(event)
        if event.type == ev.PLACEMENT_ENDED:
            return await self._placement_ended(conn, event)
        if event.type == ev.ALLEGATION_RECEIVED:
            return self._allegation_received(event)
        if event.type == ev.CONCERN_ESCALATED and event.data.get("to") == rules.ConcernEscalation.COMPLAINT:
            return await self._concern_became_complaint(conn, event)
        return ()

    async def _concern_became_complaint(
        self, conn: AsyncConnection, cause: RecordedEvent
    ) -> list[tuple[str, list[NewEvent]]]:
        """A concern escalated to a complaint is received as a complaint, with its clocks (2006 regs)."""
        data = cause.data
        complaint_id, child_id = _uuid(data.get("complaint_id")), _uuid(data.get("child_id"))
        concern_id = _uuid(data.get("concern_id"))
        if complaint_id is None or child_id is None:
            return []
        concern = (
            await conn.execute(
                text("SELECT raised_by, summary FROM visits_concerns WHERE concern_id = :c"), {"c": concern_id}
            )
        ).one_or_none()
        raised_by = concern.raised_by if concern is not None else "other"
        made_by = raised_by if raised_by in {m.value for m in rules.MadeBy} else rules.MadeBy.OTHER.value
        household_id = _uuid(data.get("household_id"))
        received = _instant(data.get("escalated_at")) or cause.occurred_at
        row9, lado = rules.complaint_flags(made_by=made_by, serious=False, about_household_id=household_id)
        payload = ev.ComplaintReceived(
            complaint_id=complaint_id,
            child_id=child_id,
            received_at=received,
            made_by=made_by,
            about_household_id=household_id,
            summary=(concern.summary if concern is not None else "") + f" (from a concern: {data.get('reason')})",
            schedule7_row9=row9,
            lado_consultation=lado,
        )
        stream = ev.complaint_stream(complaint_id)
        complaint = NewEvent(
            type=ev.COMPLAINT_RECEIVED,
            data=payload.model_dump(mode="json"),
            occurred_at=received,
            child_ids=(child_id,),
            metadata={
                **reaction_metadata(SERVICE, cause),
                "summary": f"Complaint received from the {made_by} (escalated from a concern)",
            },
            event_id=reaction_id(cause, "complaint"),
        )
        clocks = [
            DeadlineSet(
                deadline_id=reaction_id(cause, "complaint-ack"),
                kind=rules.COMPLAINT_ACK,
                subject=stream,
                child_ids=[child_id],
                household_id=household_id,
                started_at=received,
                due_at=rules.complaint_ack_due(received, self.settings.complaint_ack_working_days),
                description="Acknowledge the complaint",
                source="NCT KPI (local): acknowledged within 48 hours, on working days",
            ),
            DeadlineSet(
                deadline_id=reaction_id(cause, "complaint-stage1"),
                kind=rules.complaint_stage_kind(1),
                subject=stream,
                child_ids=[child_id],
                household_id=household_id,
                started_at=received,
                due_at=rules.complaint_stage_due(received, 1),
                description="Respond to the complaint (stage 1)",
                source=rules.complaint_stage_source(1),
            ),
        ]
        events = [complaint] + [_reaction(cause, f"clock-{c.kind}", c) for c in clocks]
        return [(stream, events)]

    def _placement_started(self, cause: RecordedEvent) -> list[tuple[str, list[NewEvent]]]:
        data = cause.data
        child_id, start = _uuid(data.get("child_id")), _date(data.get("start_date"))
        if child_id is None or start is None:
            log.warning("PlacementStarted %s has no usable child_id/start_date; no visit clock", cause.event_id)
            return []
        terms = rules.PlacementTerms(
            start_date=start,
            long_term=bool(data.get("long_term")),
            connected_person=bool(data.get("connected_person")),
        )
        due = rules.first_visit_due(terms)
        source = rules.STATUTORY["connected_weekly_interval" if terms.connected_person else "first_visit"].source
        deadline = DeadlineSet(
            deadline_id=reaction_id(cause, "first-statutory-visit"),
            kind=rules.STATUTORY_VISIT,
            subject=ev.child_stream(child_id),
            child_ids=[child_id],
            household_id=_uuid(data.get("household_id")),
            started_at=rules.start_of_day(start),
            due_at=rules.end_of_day(due),
            description="First statutory visit after the placement started",
            source=source,
        )
        return [(ev.child_stream(child_id), [_reaction(cause, "first-statutory-visit", deadline)])]

    async def _placement_ended(self, conn: AsyncConnection, cause: RecordedEvent) -> list[tuple[str, list[NewEvent]]]:
        placement_id = _uuid(cause.data.get("placement_id"))
        if placement_id is None:
            return []
        rows = await conn.execute(
            text(
                "SELECT deadline_id, kind, child_id FROM visits_deadlines "
                "WHERE placement_id = :p AND status = 'open' ORDER BY due_at, deadline_id"
            ),
            {"p": placement_id},
        )
        reactions: list[tuple[str, list[NewEvent]]] = []
        for row in rows:
            cancelled = DeadlineCancelled(deadline_id=row.deadline_id, kind=row.kind, reason="placement ended")
            key = f"cancel-{row.deadline_id}"
            new = NewEvent(
                type=DEADLINE_CANCELLED,
                data=cancelled.model_dump(mode="json"),
                occurred_at=cause.occurred_at,
                child_ids=(row.child_id,),
                metadata={
                    **reaction_metadata(SERVICE, cause),
                    "summary": "Clock stopped: statutory visits (the placement ended)",
                },
                event_id=reaction_id(cause, key),
            )
            reactions.append((ev.child_stream(row.child_id), [new]))
        return reactions

    def _allegation_received(self, cause: RecordedEvent) -> list[tuple[str, list[NewEvent]]]:
        data = cause.data
        received = _instant(data.get("received_at")) or cause.occurred_at
        reactions: list[tuple[str, list[NewEvent]]] = []
        child_ids = [c for c in (_uuid(x) for x in data.get("child_ids") or cause.child_ids) if c is not None]
        for child_id in dict.fromkeys(child_ids):
            key = f"follow-up-visit-{child_id}"
            deadline = DeadlineSet(
                deadline_id=reaction_id(cause, key),
                kind=rules.FOLLOW_UP_VISIT,
                subject=ev.child_stream(child_id),
                child_ids=[child_id],
                household_id=_uuid(data.get("household_id")),
                started_at=received,
                due_at=rules.follow_up_visit_due(received, self.settings.follow_up_working_days),
                description="Visit to see the child after an allegation against the household",
                source="Ofsted finding (NCT 2023); local practice: working days after the allegation",
            )
            reactions.append((ev.child_stream(child_id), [_reaction(cause, key, deadline)]))
        return reactions


def _reaction(cause: RecordedEvent, key: str, deadline: DeadlineSet) -> NewEvent:
    return NewEvent(
        type=DEADLINE_SET,
        data=deadline.model_dump(mode="json"),
        occurred_at=deadline.started_at,
        child_ids=tuple(deadline.child_ids),
        metadata={
            **reaction_metadata(SERVICE, cause),
            "summary": f"Clock started: {deadline.description} (due {deadline.due_at:%d %b %Y %H:%M})",
        },
        event_id=reaction_id(cause, key + ":event"),
    )


# ---- apply handlers ------------------------------------------------------------------------------
# Each handler queues its writes on the batch with the keys they touch: the row's own id, and for
# "the current placement of a child" the child (placements and the statutory clocks that read them).
def _child_registered(b: Batch, e: RecordedEvent) -> None:
    d = e.data
    child_id = uuid.UUID(d["child_id"])
    b.write(
        _INSERT_CHILD,
        {
            "c": child_id,
            "n": d["name"],
            "dob": date.fromisoformat(d["date_of_birth"]),
            "ls": d["legal_status"],
            "pa": d["placing_authority"],
            "sw": d.get("social_worker_id"),
            "at": e.occurred_at,
            "e": e.event_id,
            "las": _date(d.get("looked_after_since")),
        },
        ("visits_children", child_id),
    )


_INSERT_CHILD = text(
    "INSERT INTO visits_children (child_id, name, date_of_birth, legal_status, placing_authority, "
    "social_worker_id, registered_at, event_id, looked_after_since) "
    "VALUES (:c, :n, :dob, :ls, :pa, :sw, :at, :e, :las) "
    "ON CONFLICT (child_id) DO NOTHING"
)


def _placement_started(b: Batch, e: RecordedEvent) -> None:
    d = e.data
    placement_id, child_id, start = _uuid(d.get("placement_id")), _uuid(d.get("child_id")), _date(d.get("start_date"))
    if placement_id is None or child_id is None or start is None:
        return
    b.write(
        _INSERT_PLACEMENT,
        {
            "p": placement_id,
            "c": child_id,
            "h": _uuid(d.get("household_id")),
            "s": start,
            "lt": bool(d.get("long_term")),
            "cp": bool(d.get("connected_person")),
            "pa": d.get("placing_authority"),
            "pos": e.position,
        },
        ("visits_placements", placement_id),
        ("visits_placements.child", child_id),
    )


_INSERT_PLACEMENT = text(
    "INSERT INTO visits_placements (placement_id, child_id, household_id, start_date, long_term, "
    "connected_person, placing_authority, started_position) VALUES (:p, :c, :h, :s, :lt, :cp, :pa, :pos) "
    "ON CONFLICT (placement_id) DO NOTHING"
)


def _placement_ended(b: Batch, e: RecordedEvent) -> None:
    d = e.data
    placement_id = _uuid(d.get("placement_id"))
    if placement_id is None:
        return
    child_id = _uuid(d.get("child_id"))
    b.write(
        _END_PLACEMENT,
        {"p": placement_id, "d": _date(d.get("end_date")) or e.occurred_at.date(), "r": d.get("reason")},
        ("visits_placements", placement_id),
        *([("visits_placements.child", child_id)] if child_id else []),
    )


_END_PLACEMENT = text("UPDATE visits_placements SET end_date = :d, end_reason = :r WHERE placement_id = :p")


def _visit_recorded(b: Batch, e: RecordedEvent) -> None:
    d = e.data
    visit_id = d["visit_id"]
    b.write(
        _INSERT_VISIT,
        {
            "v": visit_id,
            "e": e.event_id,
            "c": d["child_id"],
            "at": e.occurred_at,
            "vid": d["visitor_id"],
            "vr": d["visitor_role"],
            "k": d["kind"],
            "cs": bool(d["child_seen"]),
            "sa": bool(d["seen_alone"]),
            "nr": d.get("not_seen_alone_reason"),
            "bs": d.get("bedroom_seen"),
            "hn": bool((d.get("narrative") or "").strip()),
            "hv": bool((d.get("child_views") or "").strip()),
        },
        ("visits_visits", visit_id),
    )


_INSERT_VISIT = text(
    "INSERT INTO visits_visits (visit_id, event_id, child_id, occurred_at, visitor_id, visitor_role, kind, "
    "child_seen, seen_alone, not_seen_alone_reason, bedroom_seen, has_narrative, has_views) VALUES "
    "(:v, :e, :c, :at, :vid, :vr, :k, :cs, :sa, :nr, :bs, :hn, :hv) ON CONFLICT (visit_id) DO NOTHING"
)


def _incident_recorded(b: Batch, e: RecordedEvent) -> None:
    d = e.data
    incident_id = uuid.UUID(d["incident_id"])
    b.write(
        _INSERT_INCIDENT,
        {"i": incident_id, "e": e.event_id, "c": uuid.UUID(d["child_id"]), "k": d["category"], "at": e.occurred_at},
        ("visits_incidents", incident_id),
    )


_INSERT_INCIDENT = text(
    "INSERT INTO visits_incidents (incident_id, event_id, child_id, category, occurred_at) "
    "VALUES (:i, :e, :c, :k, :at) ON CONFLICT (incident_id) DO NOTHING"
)


def _complaint_received(b: Batch, e: RecordedEvent) -> None:
    d = e.data
    complaint_id = uuid.UUID(d["complaint_id"])
    b.write(
        _INSERT_COMPLAINT,
        {
            "id": complaint_id,
            "c": uuid.UUID(d["child_id"]),
            "at": e.occurred_at,
            "mb": d["made_by"],
            "h": _uuid(d.get("about_household_id")),
            "s": d["summary"],
            "se": bool(d.get("serious")),
            "r9": bool(d.get("schedule7_row9")),
            "lado": bool(d.get("lado_consultation")),
        },
        ("visits_complaints", complaint_id),
    )


_INSERT_COMPLAINT = text(
    "INSERT INTO visits_complaints (complaint_id, child_id, received_at, made_by, about_household_id, "
    "summary, serious, schedule7_row9, lado_consultation, stage, status) VALUES "
    "(:id, :c, :at, :mb, :h, :s, :se, :r9, :lado, 1, 'received') ON CONFLICT (complaint_id) DO NOTHING"
)


RowUpdate = Callable[[Batch, RecordedEvent, dict[str, Any]], None]


def _row_update(table: str, id_field: str) -> Callable[[TextClause], RowUpdate]:
    """Makes writers of a statement on the row of `table` that the event's `id_field` names (`:id`)."""

    def update(statement: TextClause) -> RowUpdate:
        def write(b: Batch, e: RecordedEvent, params: dict[str, Any]) -> None:
            row_id = uuid.UUID(e.data[id_field])
            b.write(statement, {"id": row_id, **params}, (table, row_id))

        return write

    return update


_complaint_update = _row_update("visits_complaints", "complaint_id")


_acknowledge_complaint = _complaint_update(
    text(
        "UPDATE visits_complaints SET acknowledged_at = :at, "
        "status = CASE WHEN status = 'received' THEN 'acknowledged' ELSE status END WHERE complaint_id = :id"
    )
)
_respond_complaint = _complaint_update(
    text(
        "UPDATE visits_complaints SET responded_at = :at, response = :r, response_outcome = :o, status = 'responded', "
        "acknowledged_at = coalesce(acknowledged_at, :at) WHERE complaint_id = :id"
    )
)
_extend_complaint = _complaint_update(
    text("UPDATE visits_complaints SET extended_working_days = :w WHERE complaint_id = :id")
)
_escalate_complaint = _complaint_update(
    text(
        "UPDATE visits_complaints SET stage = :s, status = 'escalated', extended_working_days = NULL "
        "WHERE complaint_id = :id"
    )
)
_close_complaint = _complaint_update(
    text("UPDATE visits_complaints SET status = 'closed', closed_at = :at, outcome = :o WHERE complaint_id = :id")
)


def _complaint_acknowledged(b: Batch, e: RecordedEvent) -> None:
    _acknowledge_complaint(b, e, {"at": e.occurred_at})


def _complaint_responded(b: Batch, e: RecordedEvent) -> None:
    _respond_complaint(b, e, {"at": e.occurred_at, "r": e.data["response"], "o": e.data.get("outcome")})


def _complaint_extended(b: Batch, e: RecordedEvent) -> None:
    _extend_complaint(b, e, {"w": int(e.data["working_days"])})


def _complaint_escalated(b: Batch, e: RecordedEvent) -> None:
    _escalate_complaint(b, e, {"s": int(e.data["to_stage"])})


def _complaint_closed(b: Batch, e: RecordedEvent) -> None:
    _close_complaint(b, e, {"at": e.occurred_at, "o": e.data["outcome"]})


def _deadline_set(b: Batch, e: RecordedEvent) -> None:
    d = e.data
    kind = str(d.get("kind", ""))
    if not kind.startswith(f"{SERVICE}."):
        return
    child_ids = d.get("child_ids") or [str(c) for c in e.child_ids]
    child_id = _uuid(child_ids[0]) if child_ids else None
    complaint_id = _uuid(e.stream_id.removeprefix("complaint-")) if e.stream_id.startswith("complaint-") else None
    deadline_id = d["deadline_id"]  # uuid text: the driver parses it (and refuses a bad one)
    # A statutory visit clock belongs to the child's current placement, read in the same statement.
    placed_child = child_id if kind == rules.STATUTORY_VISIT else None
    b.write(
        _INSERT_DEADLINE,
        {
            "id": deadline_id,
            "k": kind,
            "sub": d["subject"],
            "st": e.stream_id,
            "c": child_id,
            "cp": complaint_id,
            "pc": placed_child,
            "h": _uuid(d.get("household_id")),
            "sa": datetime.fromisoformat(d["started_at"]),
            "due": datetime.fromisoformat(d["due_at"]),
            "desc": d.get("description", kind),
            "src": d.get("source", ""),
            "esc": d.get("escalate_to", "registered_manager"),
            "e": e.event_id,
        },
        ("visits_deadlines", deadline_id),
        *([("visits_placements.child", placed_child)] if placed_child else []),
    )


_INSERT_DEADLINE = text(
    "INSERT INTO visits_deadlines (deadline_id, kind, subject, stream_id, child_id, complaint_id, "
    "placement_id, household_id, started_at, due_at, description, source, escalate_to, set_event_id) "
    "VALUES (:id, :k, :sub, :st, :c, :cp, (SELECT placement_id FROM visits_placements "
    "WHERE child_id = :pc AND end_date IS NULL ORDER BY start_date DESC, started_position DESC LIMIT 1), "
    ":h, :sa, :due, :desc, :src, :esc, :e) ON CONFLICT (deadline_id) DO NOTHING"
)


def _deadline_met(b: Batch, e: RecordedEvent) -> None:
    d = e.data
    if not str(d.get("kind", "")).startswith(f"{SERVICE}."):
        return
    deadline_id = d["deadline_id"]
    b.write(
        _MEET_DEADLINE,
        {
            "id": deadline_id,
            "at": datetime.fromisoformat(d["met_at"]),
            "by": _uuid(d.get("met_by_event_id")),
            "late": bool(d.get("late")),
        },
        ("visits_deadlines", deadline_id),
    )


_MEET_DEADLINE = text(
    "UPDATE visits_deadlines SET status = 'met', met_at = :at, met_by_event_id = :by, late = :late "
    "WHERE deadline_id = :id AND status = 'open'"
)


def _deadline_cancelled(b: Batch, e: RecordedEvent) -> None:
    d = e.data
    if not str(d.get("kind", "")).startswith(f"{SERVICE}."):
        return
    deadline_id = d["deadline_id"]
    b.write(_CANCEL_DEADLINE, {"id": deadline_id, "r": d.get("reason")}, ("visits_deadlines", deadline_id))


_CANCEL_DEADLINE = text(
    "UPDATE visits_deadlines SET status = 'cancelled', cancel_reason = :r WHERE deadline_id = :id AND status = 'open'"
)


def _plan_recorded(b: Batch, e: RecordedEvent) -> None:
    d = e.data
    content = {"strategies": d.get("strategies") or [], "medications": d.get("medications") or []}
    plan_id, version = uuid.UUID(d["plan_id"]), int(d["version"])
    b.write(
        _INSERT_PLAN_VERSION,
        {
            "p": plan_id,
            "v": version,
            "c": uuid.UUID(d["child_id"]),
            "k": d["kind"],
            "s": d["summary"],
            "content": json.dumps(content),
            "rd": date.fromisoformat(d["review_date"]),
            "rdl": _uuid(d.get("review_deadline_id")),
            "at": e.occurred_at,
            "e": e.event_id,
        },
        ("visits_plan_versions", plan_id, version),
    )


_INSERT_PLAN_VERSION = text(
    "INSERT INTO visits_plan_versions (plan_id, version, child_id, kind, summary, content, review_date, "
    "review_deadline_id, recorded_at, event_id) VALUES (:p, :v, :c, :k, :s, CAST(:content AS jsonb), :rd, "
    ":rdl, :at, :e) ON CONFLICT (plan_id, version) DO NOTHING"
)


def _plan_shared(b: Batch, e: RecordedEvent) -> None:
    d = e.data
    plan_id = uuid.UUID(d["plan_id"])
    b.write(
        _INSERT_PLAN_SHARE,
        {
            "s": uuid.UUID(d["share_id"]),
            "p": plan_id,
            "v": int(d["version"]),
            "c": uuid.UUID(d["child_id"]),
            "k": d["kind"],
            "h": uuid.UUID(d["household_id"]),
            "at": e.occurred_at,
            "dl": _uuid(d.get("ack_deadline_id")),
            "e": e.event_id,
        },
        ("visits_plan_shares.plan", plan_id),
    )


_INSERT_PLAN_SHARE = text(
    "INSERT INTO visits_plan_shares (share_id, plan_id, version, child_id, kind, household_id, shared_at, "
    "ack_deadline_id, event_id) VALUES (:s, :p, :v, :c, :k, :h, :at, :dl, :e) "
    "ON CONFLICT (share_id) DO NOTHING"
)


def _plan_acknowledged(b: Batch, e: RecordedEvent) -> None:
    d = e.data
    plan_id = uuid.UUID(d["plan_id"])
    # Acknowledging a version acknowledges receipt of every earlier version shared with the household.
    b.write(
        _ACKNOWLEDGE_PLAN_SHARES,
        {
            "p": plan_id,
            "v": int(d["version"]),
            "h": _uuid(d.get("household_id")),
            "at": e.occurred_at,
            "by": d["acknowledged_by"],
        },
        ("visits_plan_shares.plan", plan_id),
    )


_ACKNOWLEDGE_PLAN_SHARES = text(
    "UPDATE visits_plan_shares SET acknowledged_at = :at, acknowledged_by = :by WHERE plan_id = :p "
    "AND version <= :v AND acknowledged_at IS NULL AND (CAST(:h AS uuid) IS NULL OR household_id = :h)"
)


def _risk_assessment_recorded(b: Batch, e: RecordedEvent) -> None:
    d = e.data
    assessment_id = uuid.UUID(d["assessment_id"])
    b.write(
        _INSERT_RISK_ASSESSMENT,
        {
            "a": assessment_id,
            "c": uuid.UUID(d["child_id"]),
            "at": e.occurred_at,
            "by": d["assessed_by"],
            "h": json.dumps(d.get("hazards") or []),
            "rd": date.fromisoformat(d["review_date"]),
            "e": e.event_id,
        },
        ("visits_risk_assessments", assessment_id),
    )


_INSERT_RISK_ASSESSMENT = text(
    "INSERT INTO visits_risk_assessments (assessment_id, child_id, assessed_at, assessed_by, hazards, "
    "review_date, event_id) VALUES (:a, :c, :at, :by, CAST(:h AS jsonb), :rd, :e) "
    "ON CONFLICT (assessment_id) DO NOTHING"
)


def _health_check_recorded(b: Batch, e: RecordedEvent) -> None:
    d = e.data
    check_id = uuid.UUID(d["check_id"])
    b.write(
        _INSERT_HEALTH_CHECK,
        {
            "i": check_id,
            "c": uuid.UUID(d["child_id"]),
            "k": d["kind"],
            "at": e.occurred_at,
            "by": d["by"],
            "o": d["outcome"],
            "e": e.event_id,
        },
        ("visits_health_checks", check_id),
    )


_INSERT_HEALTH_CHECK = text(
    "INSERT INTO visits_health_checks (check_id, child_id, kind, occurred_at, by, outcome, event_id) "
    "VALUES (:i, :c, :k, :at, :by, :o, :e) ON CONFLICT (check_id) DO NOTHING"
)


def _lac_review_recorded(b: Batch, e: RecordedEvent) -> None:
    d = e.data
    review_id = uuid.UUID(d["review_id"])
    b.write(
        _INSERT_LAC_REVIEW,
        {
            "r": review_id,
            "c": uuid.UUID(d["child_id"]),
            "n": int(d["number"]),
            "at": e.occurred_at,
            "ca": bool(d["child_attended"]),
            "cv": bool(d["child_views_given"]),
            "e": e.event_id,
        },
        ("visits_lac_reviews", review_id),
    )


_INSERT_LAC_REVIEW = text(
    "INSERT INTO visits_lac_reviews (review_id, child_id, number, held_at, child_attended, "
    "child_views_given, event_id) VALUES (:r, :c, :n, :at, :ca, :cv, :e) ON CONFLICT (review_id) DO NOTHING"
)


def _concern_raised(b: Batch, e: RecordedEvent) -> None:
    d = e.data
    concern_id = uuid.UUID(d["concern_id"])
    b.write(
        _INSERT_CONCERN,
        {
            "i": concern_id,
            "c": uuid.UUID(d["child_id"]),
            "at": e.occurred_at,
            "by": d["raised_by"],
            "s": d["summary"],
            "h": _uuid(d.get("household_id")),
            "dl": _uuid(d.get("response_deadline_id")),
        },
        ("visits_concerns", concern_id),
    )


_INSERT_CONCERN = text(
    "INSERT INTO visits_concerns (concern_id, child_id, raised_at, raised_by, summary, household_id, "
    "response_deadline_id, status) VALUES (:i, :c, :at, :by, :s, :h, :dl, 'open') "
    "ON CONFLICT (concern_id) DO NOTHING"
)


_concern_update = _row_update("visits_concerns", "concern_id")


_action_concern = _concern_update(
    text(
        "UPDATE visits_concerns SET actions = actions + 1, last_action = :a, "
        "status = CASE WHEN status = 'open' THEN 'actioned' ELSE status END WHERE concern_id = :id"
    )
)
_resolve_concern = _concern_update(
    text("UPDATE visits_concerns SET status = 'resolved', outcome = :o, resolved_at = :at WHERE concern_id = :id")
)
_escalate_concern = _concern_update(
    text(
        "UPDATE visits_concerns SET status = 'escalated', escalated_to = :to, escalated_at = :at, "
        "complaint_id = :cp WHERE concern_id = :id"
    )
)


def _concern_actioned(b: Batch, e: RecordedEvent) -> None:
    _action_concern(b, e, {"a": e.data["action"]})


def _concern_resolved(b: Batch, e: RecordedEvent) -> None:
    _resolve_concern(b, e, {"o": e.data["outcome"], "at": e.occurred_at})


def _concern_escalated(b: Batch, e: RecordedEvent) -> None:
    _escalate_concern(b, e, {"to": e.data["to"], "at": e.occurred_at, "cp": _uuid(e.data.get("complaint_id"))})


_APPLY: dict[str, Callable[[Batch, RecordedEvent], None]] = {
    ev.PLAN_RECORDED: _plan_recorded,
    ev.PLAN_SHARED: _plan_shared,
    ev.PLAN_ACKNOWLEDGED: _plan_acknowledged,
    ev.RISK_ASSESSMENT_RECORDED: _risk_assessment_recorded,
    ev.HEALTH_CHECK_RECORDED: _health_check_recorded,
    ev.LAC_REVIEW_RECORDED: _lac_review_recorded,
    ev.CONCERN_RAISED: _concern_raised,
    ev.CONCERN_ACTIONED: _concern_actioned,
    ev.CONCERN_RESOLVED: _concern_resolved,
    ev.CONCERN_ESCALATED: _concern_escalated,
    ev.CHILD_REGISTERED: _child_registered,
    ev.VISIT_RECORDED: _visit_recorded,
    ev.INCIDENT_RECORDED: _incident_recorded,
    ev.COMPLAINT_RECEIVED: _complaint_received,
    ev.COMPLAINT_ACKNOWLEDGED: _complaint_acknowledged,
    ev.COMPLAINT_RESPONDED: _complaint_responded,
    ev.COMPLAINT_EXTENDED: _complaint_extended,
    ev.COMPLAINT_ESCALATED: _complaint_escalated,
    ev.COMPLAINT_CLOSED: _complaint_closed,
    ev.PLACEMENT_STARTED: _placement_started,
    ev.PLACEMENT_ENDED: _placement_ended,
    DEADLINE_SET: _deadline_set,
    DEADLINE_MET: _deadline_met,
    DEADLINE_CANCELLED: _deadline_cancelled,
}

PROJECTORS = [VisitsReactor()]


# ---- queries over this service's tables (used by commands and the API) ---------------------------
@dataclass(frozen=True)
class PlacementTerms:
    placement_id: uuid.UUID
    household_id: uuid.UUID | None
    start_date: date
    long_term: bool
    connected_person: bool
    end_date: date | None


@dataclass(frozen=True)
class OpenClock:
    deadline_id: uuid.UUID
    kind: str
    started_at: datetime
    due_at: datetime
    placement: PlacementTerms | None


@dataclass(frozen=True)
class VisitContext:
    """What recording a visit needs, read in one statement: the log's head, the child's stream
    version (0: no such child), the current placement, and the child's open clocks with the
    placement each belongs to."""

    head: int
    version: int
    placement: PlacementTerms | None
    open_clocks: list[OpenClock]


async def visit_context(conn: Any, child_id: uuid.UUID) -> VisitContext:
    """On a driver (asyncpg) connection: recording visits is the busiest write there is."""
    row = await conn.fetchrow(_VISIT_CONTEXT, child_id, ev.child_stream(child_id))
    return VisitContext(
        head=row["head"],
        version=row["version"] or 0,
        placement=_terms(*(row[c] for c in _PLACEMENT_FIELDS)),
        open_clocks=[OpenClock(c[0], c[1], c[2], c[3], _terms(*c[4:])) for c in row["clocks"] or ()],
    )


def _terms(
    placement_id: uuid.UUID | None,
    household_id: uuid.UUID | None,
    start_date: date,
    long_term: bool,
    connected_person: bool,
    end_date: date | None,
) -> PlacementTerms | None:
    if placement_id is None:
        return None
    return PlacementTerms(placement_id, household_id, start_date, long_term, connected_person, end_date)


_PLACEMENT_FIELDS = ("placement_id", "household_id", "start_date", "long_term", "connected_person", "end_date")
_VISIT_CONTEXT = (
    "SELECT (SELECT position FROM events_head WHERE id) AS head, "
    "(SELECT stream_version FROM events WHERE stream_id = $2 ORDER BY stream_version DESC LIMIT 1) AS version, "
    + ", ".join(f"p.{c}" for c in _PLACEMENT_FIELDS)
    + ", (SELECT array_agg((d.deadline_id, d.kind, d.started_at, d.due_at, "
    + ", ".join(f"dp.{c}" for c in _PLACEMENT_FIELDS)
    + ") ORDER BY d.due_at, d.deadline_id) FROM visits_deadlines d "
    "LEFT JOIN visits_placements dp ON dp.placement_id = d.placement_id "
    "WHERE d.child_id = $1 AND d.status = 'open') AS clocks "
    "FROM (SELECT 1) AS one LEFT JOIN LATERAL (SELECT * FROM visits_placements "
    "WHERE child_id = $1 AND end_date IS NULL ORDER BY start_date DESC, started_position DESC LIMIT 1) p ON true"
)


async def get_child(conn: AsyncConnection, child_id: uuid.UUID) -> Any:
    return (
        await conn.execute(text("SELECT * FROM visits_children WHERE child_id = :c"), {"c": child_id})
    ).one_or_none()


async def get_complaint(conn: AsyncConnection, complaint_id: uuid.UUID) -> Any:
    return (
        await conn.execute(text("SELECT * FROM visits_complaints WHERE complaint_id = :c"), {"c": complaint_id})
    ).one_or_none()


async def get_placement(conn: AsyncConnection, placement_id: uuid.UUID | None) -> Any:
    if placement_id is None:
        return None
    return (
        await conn.execute(text("SELECT * FROM visits_placements WHERE placement_id = :p"), {"p": placement_id})
    ).one_or_none()


async def current_placement(conn: AsyncConnection, child_id: uuid.UUID) -> Any:
    return (
        await conn.execute(
            text(
                "SELECT * FROM visits_placements WHERE child_id = :c AND end_date IS NULL "
                "ORDER BY start_date DESC, started_position DESC LIMIT 1"
            ),
            {"c": child_id},
        )
    ).one_or_none()


async def households_of_child(conn: AsyncConnection, child_id: uuid.UUID) -> set[uuid.UUID]:
    """Every household the child has been placed with."""
    rows = await conn.execute(
        text("SELECT DISTINCT household_id FROM visits_placements WHERE child_id = :c AND household_id IS NOT NULL"),
        {"c": child_id},
    )
    return {r.household_id for r in rows}


async def open_child_deadlines(conn: AsyncConnection, child_id: uuid.UUID) -> list[Any]:
    rows = await conn.execute(
        text("SELECT * FROM visits_deadlines WHERE child_id = :c AND status = 'open' ORDER BY due_at, deadline_id"),
        {"c": child_id},
    )
    return list(rows)


async def complaint_deadlines(conn: AsyncConnection, complaint_id: uuid.UUID, *, open_only: bool = False) -> list[Any]:
    sql = "SELECT * FROM visits_deadlines WHERE complaint_id = :c AND kind = ANY(:kinds)"
    if open_only:
        sql += " AND status = 'open'"
    rows = await conn.execute(
        text(sql + " ORDER BY started_at, due_at"), {"c": complaint_id, "kinds": sorted(rules.COMPLAINT_KINDS)}
    )
    return list(rows)


async def child_deadlines(conn: AsyncConnection, child_id: uuid.UUID, kinds: frozenset[str] | set[str]) -> list[Any]:
    rows = await conn.execute(
        text(
            "SELECT * FROM visits_deadlines WHERE child_id = :c AND kind = ANY(:k) AND complaint_id IS NULL "
            "ORDER BY started_at, due_at, deadline_id"
        ),
        {"c": child_id, "k": sorted(kinds)},
    )
    return list(rows)


async def get_deadline(conn: AsyncConnection, deadline_id: uuid.UUID | None) -> Any:
    if deadline_id is None:
        return None
    return (
        await conn.execute(text("SELECT * FROM visits_deadlines WHERE deadline_id = :d"), {"d": deadline_id})
    ).one_or_none()


async def plan_versions(conn: AsyncConnection, child_id: uuid.UUID) -> list[Any]:
    rows = await conn.execute(
        text("SELECT * FROM visits_plan_versions WHERE child_id = :c ORDER BY kind, version"), {"c": child_id}
    )
    return list(rows)


async def current_plan(conn: AsyncConnection, plan_id: uuid.UUID) -> Any:
    return (
        await conn.execute(
            text("SELECT * FROM visits_plan_versions WHERE plan_id = :p ORDER BY version DESC LIMIT 1"), {"p": plan_id}
        )
    ).one_or_none()


async def plan_shares(conn: AsyncConnection, child_id: uuid.UUID, household_id: uuid.UUID | None = None) -> list[Any]:
    sql = "SELECT * FROM visits_plan_shares WHERE child_id = :c"
    params: dict[str, Any] = {"c": child_id}
    if household_id is not None:
        sql += " AND household_id = :h"
        params["h"] = household_id
    return list(await conn.execute(text(sql + " ORDER BY shared_at, version"), params))


async def get_concern(conn: AsyncConnection, concern_id: uuid.UUID) -> Any:
    return (
        await conn.execute(text("SELECT * FROM visits_concerns WHERE concern_id = :c"), {"c": concern_id})
    ).one_or_none()
