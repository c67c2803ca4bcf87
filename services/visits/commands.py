"""visits: commands. Each validates, reads what it needs, and appends its events with the clocks
they start or stop in the same append (nothing is written when a command is refused)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from services.visits import events as ev
from services.visits import projections as pj
from services.visits import rules
from services.visits.rules import (
    ContactKind,
    IncidentCategory,
    MadeBy,
    NotSeenAloneReason,
    VisitKind,
    VisitorRole,
)
from shared.commanding import CommandContext
from shared.deadlines import DeadlineCancelled, DeadlineMet, DeadlineSet
from shared.eventstore import NO_STREAM, NewEvent, RecordedEvent
from shared.policy import require_writer
from shared.problems import Problem
from shared.types import Day, Instant

SETTINGS = rules.VisitsSettings()

Text = Field(min_length=1, max_length=20_000)
ShortText = Field(min_length=1, max_length=200)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# ---- request bodies ------------------------------------------------------------------------------
class RegisterChild(_Body):
    name: str = ShortText
    date_of_birth: Day
    legal_status: str = Field(min_length=1, max_length=100, examples=["section_31_care_order"])
    placing_authority: str = ShortText
    social_worker_id: str | None = Field(default=None, max_length=200)
    looked_after_since: Day | None = Field(
        default=None, description="The day the child became looked after (default: the day of registration)."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Amira K",
                    "date_of_birth": "2012-03-14",
                    "legal_status": "section_31_care_order",
                    "placing_authority": "West Northamptonshire Council",
                    "social_worker_id": "sw-104",
                }
            ]
        }
    )


class RecordVisit(_Body):
    occurred_at: Instant
    visitor_id: str = ShortText
    visitor_role: VisitorRole
    kind: VisitKind = VisitKind.STATUTORY
    child_seen: bool
    seen_alone: bool
    not_seen_alone_reason: NotSeenAloneReason | None = None
    bedroom_seen: bool | None = None
    child_views: str | None = Field(default=None, max_length=20_000)
    narrative: str | None = Field(default=None, max_length=20_000)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_at": "2026-11-24T15:30:00Z",
                    "visitor_id": "sw-104",
                    "visitor_role": "child_social_worker",
                    "kind": "statutory",
                    "child_seen": True,
                    "seen_alone": True,
                    "bedroom_seen": True,
                    "child_views": "Says she likes her new school and wants to see her brother more.",
                    "narrative": "Spoke with Amira alone in her bedroom for 40 minutes about school and contact.",
                }
            ]
        }
    )


class RecordContact(_Body):
    occurred_at: Instant
    kind: ContactKind
    with_whom: str = ShortText
    summary: str = Text
    worker_id: str | None = Field(default=None, max_length=200)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_at": "2026-11-24T10:00:00Z",
                    "kind": "return_home_interview",
                    "with_whom": "the child, by an independent worker",
                    "summary": "Talked about where she went and who with; no exploitation indicators.",
                }
            ]
        }
    )


class RecordIncident(_Body):
    category: IncidentCategory
    occurred_at: Instant
    narrative: str = Text
    needed_hospital_treatment: bool = False
    police_called: bool = False
    household_id: uuid.UUID | None = None
    action_taken: str | None = Field(default=None, max_length=20_000)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "category": "overdose",
                    "occurred_at": "2026-11-24T22:10:00Z",
                    "narrative": "Took about 12 paracetamol; carer called 111 and took her to A&E.",
                    "needed_hospital_treatment": True,
                }
            ]
        }
    )


class ReceiveComplaint(_Body):
    received_at: Instant
    made_by: MadeBy
    about_household_id: uuid.UUID | None = None
    summary: str = Text
    serious: bool = False

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "received_at": "2026-11-24T09:00:00Z",
                    "made_by": "child",
                    "about_household_id": "0b6f0a4e-3f55-4d8c-9d2f-3c1b7a9e5a10",
                    "summary": "Does not feel safe with the other children in the house.",
                    "serious": True,
                }
            ]
        }
    )


class AcknowledgeComplaint(_Body):
    acknowledged_at: Instant | None = None
    how: str | None = Field(default=None, max_length=200, examples=["letter to the child"])


class RespondComplaint(_Body):
    responded_at: Instant | None = None
    response: str = Text
    outcome: str = Field(min_length=1, max_length=100, examples=["upheld", "partly_upheld", "not_upheld"])


class ExtendComplaint(_Body):
    working_days: int = Field(ge=1, le=65, examples=[20])
    reason: str = Text


class EscalateComplaint(_Body):
    requested_at: Instant | None = None
    reason: str = Text


class CloseComplaint(_Body):
    closed_at: Instant | None = None
    outcome: str = Field(min_length=1, max_length=100, examples=["resolved"])
    learning: str | None = Field(default=None, max_length=20_000)


class RecordStatement(_Body):
    occurred_at: Instant
    words: str = Text
    how: str = Field(default="spoken", max_length=100, examples=["spoken", "written", "drawing", "message"])
    about_event_id: uuid.UUID | None = None


class AmendEntry(_Body):
    amends_event_id: uuid.UUID
    reason: str = Text
    correction: str = Text


# ---- helpers -------------------------------------------------------------------------------------
def _refuse(reasons: list[str]) -> None:
    if reasons:
        raise Problem(
            "business-rule", reasons[0] if len(reasons) == 1 else "The record breaks recording rules.", reasons=reasons
        )


def _not_future(ctx: CommandContext, instant: datetime, field: str) -> list[str]:
    refusal = rules.future_refusal(instant, ctx.now(), field)
    return [refusal] if refusal else []


async def _begin(ctx: CommandContext) -> None:
    require_writer(ctx.principal)
    if ctx.runner is not None:
        # Read what the log holds now, including placements appended by other services.
        await ctx.runner.catch_up()


async def _child(ctx: CommandContext, child_id: uuid.UUID) -> Any:
    async with ctx.store.reader.connect() as conn:
        child = await pj.get_child(conn, child_id)
    if child is None:
        raise Problem("not-found", f"No child {child_id}.")
    return child


async def _complaint(ctx: CommandContext, complaint_id: uuid.UUID) -> Any:
    async with ctx.store.reader.connect() as conn:
        complaint = await pj.get_complaint(conn, complaint_id)
    if complaint is None:
        raise Problem("not-found", f"No complaint {complaint_id}.")
    return complaint


def _met(ctx: CommandContext, deadline: Any, at: datetime, by: NewEvent, child_ids: list[uuid.UUID]) -> NewEvent:
    return ctx.deadline_met(
        DeadlineMet(
            deadline_id=deadline.deadline_id,
            kind=deadline.kind,
            met_at=at,
            met_by_event_id=by.event_id,
            late=at > deadline.due_at,
        ),
        child_ids=child_ids,
        causation_id=by.event_id,
    )


def _cancelled(ctx: CommandContext, deadline: Any, reason: str, child_ids: list[uuid.UUID]) -> NewEvent:
    return ctx.deadline_cancelled(
        DeadlineCancelled(deadline_id=deadline.deadline_id, kind=deadline.kind, reason=reason), child_ids=child_ids
    )


def _humanise(value: str) -> str:
    return value.replace("_", " ")


# ---- children ------------------------------------------------------------------------------------
async def register_child(ctx: CommandContext, body: RegisterChild) -> list[RecordedEvent]:
    """Registers the child and starts the clocks of becoming looked after: the initial health
    assessment (28 days), the first looked-after child review (20 working days) and the dental check."""
    require_writer(ctx.principal)
    today = rules.local_date(ctx.now())
    if body.date_of_birth > today:
        _refuse(["date_of_birth is in the future."])
    looked_after_since = body.looked_after_since or today
    reasons = []
    if looked_after_since > today:
        reasons.append("looked_after_since is in the future.")
    if looked_after_since < body.date_of_birth:
        reasons.append("looked_after_since is before the child's date of birth.")
    _refuse(reasons)
    child_id = ctx.new_id()
    payload = ev.ChildRegistered(child_id=child_id, **{**body.model_dump(), "looked_after_since": looked_after_since})
    event = ctx.event(
        ev.CHILD_REGISTERED,
        payload,
        child_ids=[child_id],
        summary=f"{body.name} registered ({_humanise(body.legal_status)}, placed by {body.placing_authority})",
    )
    stream = ev.child_stream(child_id)
    started = rules.start_of_day(looked_after_since)
    clocks = [
        (
            rules.INITIAL_HEALTH_ASSESSMENT,
            rules.initial_health_assessment_due(looked_after_since),
            "Initial health assessment after becoming looked after",
            rules.STATUTORY["initial_health_assessment"].source,
        ),
        (
            rules.LAC_REVIEW,
            rules.first_lac_review_due(looked_after_since),
            "First looked-after child review",
            rules.STATUTORY["first_review"].source,
        ),
        (
            rules.DENTAL_CHECK,
            rules.add_months(looked_after_since, SETTINGS.dental_check_months),
            "Dental check",
            f"Local practice: a dental check every {SETTINGS.dental_check_months} months",
        ),
    ]
    events = [event] + [
        ctx.deadline_set(
            DeadlineSet(
                deadline_id=ctx.new_id(),
                kind=kind,
                subject=stream,
                child_ids=[child_id],
                started_at=started,
                due_at=rules.end_of_day(due),
                description=description,
                source=source,
            ),
            causation_id=event.event_id,
        )
        for kind, due, description, source in clocks
    ]
    return await ctx.append(stream, events, expected_version=NO_STREAM)


# ---- visits --------------------------------------------------------------------------------------
def visit_summary(body: RecordVisit) -> str:
    if not body.child_seen:
        seen = "child not seen"
    elif body.seen_alone:
        seen = "child seen alone"
    else:
        seen = f"child seen, not alone ({_humanise(body.not_seen_alone_reason or 'no reason')})"
    bedroom = "; bedroom seen" if body.bedroom_seen else ""
    who = f"{_humanise(body.visitor_role.value)} {body.visitor_id}"
    return f"{body.kind.value.capitalize()} visit by {who}: {seen}{bedroom}"


async def record_visit(ctx: CommandContext, child_id: uuid.UUID, body: RecordVisit) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    reasons = rules.visit_refusals(
        child_seen=body.child_seen,
        seen_alone=body.seen_alone,
        not_seen_alone_reason=body.not_seen_alone_reason,
        narrative=body.narrative,
        child_views=body.child_views,
    ) + _not_future(ctx, body.occurred_at, "occurred_at")
    require_writer(ctx.principal)
    context = await ctx.read_current(lambda conn: pj.visit_context(conn, child_id))
    if not context.version:
        raise Problem("not-found", f"No child {child_id}.")
    _refuse(reasons)
    stream = ev.child_stream(child_id)
    expected = ctx.expected(context.version)
    visit_id = ctx.new_id()
    placement = context.placement
    payload = ev.VisitRecorded(
        visit_id=visit_id,
        child_id=child_id,
        household_id=placement.household_id if placement is not None else None,
        **body.model_dump(mode="json"),
    )
    visit = ctx.event(
        ev.VISIT_RECORDED, payload, occurred_at=body.occurred_at, child_ids=[child_id], summary=visit_summary(body)
    )
    events = [visit]
    chained: set[uuid.UUID] = set()
    for deadline in context.open_clocks:
        if deadline.started_at > body.occurred_at or not body.child_seen:
            continue
        if deadline.kind == rules.STATUTORY_VISIT and body.visitor_role == VisitorRole.CHILD_SOCIAL_WORKER:
            events.append(_met(ctx, deadline, body.occurred_at, visit, [child_id]))
            terms = deadline.placement
            if terms is not None and terms.end_date is None and terms.placement_id not in chained:
                chained.add(terms.placement_id)
                events.append(_next_statutory_clock(ctx, child_id, terms, body.occurred_at, visit))
        elif deadline.kind == rules.FOLLOW_UP_VISIT:
            events.append(_met(ctx, deadline, body.occurred_at, visit, [child_id]))
    return await ctx.append(stream, events, expected_version=expected)


def _next_statutory_clock(
    ctx: CommandContext, child_id: uuid.UUID, placement: Any, visited_at: datetime, visit: NewEvent
) -> NewEvent:
    terms = rules.PlacementTerms(
        start_date=placement.start_date, long_term=placement.long_term, connected_person=placement.connected_person
    )
    visit_day = rules.local_date(visited_at)
    key = rules.statutory_interval_key(terms, visit_day)
    due = rules.next_statutory_visit_due(terms, visit_day)
    return ctx.deadline_set(
        DeadlineSet(
            deadline_id=ctx.new_id(),
            kind=rules.STATUTORY_VISIT,
            subject=ev.child_stream(child_id),
            child_ids=[child_id],
            household_id=placement.household_id,
            started_at=visited_at,
            due_at=rules.end_of_day(due),
            description="Next statutory visit",
            source=rules.STATUTORY[key].source,
        ),
        causation_id=visit.event_id,
    )


# ---- contacts, incidents, statements, amendments -------------------------------------------------
async def record_contact(ctx: CommandContext, child_id: uuid.UUID, body: RecordContact) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    reasons = _not_future(ctx, body.occurred_at, "occurred_at")
    await _begin(ctx)
    await _child(ctx, child_id)
    _refuse(reasons)
    stream = ev.child_stream(child_id)
    expected = ctx.expected(await ctx.store.stream_version(stream))
    payload = ev.ContactRecorded(contact_id=ctx.new_id(), child_id=child_id, **body.model_dump(mode="json"))
    contact = ctx.event(
        ev.CONTACT_RECORDED,
        payload,
        occurred_at=body.occurred_at,
        child_ids=[child_id],
        summary=f"{_humanise(body.kind.value).capitalize()} with {body.with_whom}",
    )
    events = [contact]
    if body.kind == ContactKind.RETURN_HOME_INTERVIEW:
        async with ctx.store.reader.connect() as conn:
            deadlines = await pj.open_child_deadlines(conn, child_id)
        for deadline in deadlines:
            if deadline.kind == rules.RETURN_HOME_INTERVIEW and deadline.started_at <= body.occurred_at:
                events.append(_met(ctx, deadline, body.occurred_at, contact, [child_id]))
    return await ctx.append(stream, events, expected_version=expected)


async def record_incident(ctx: CommandContext, child_id: uuid.UUID, body: RecordIncident) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    reasons = _not_future(ctx, body.occurred_at, "occurred_at")
    await _begin(ctx)
    await _child(ctx, child_id)
    _refuse(reasons)
    stream = ev.child_stream(child_id)
    expected = ctx.expected(await ctx.store.stream_version(stream))
    async with ctx.store.reader.connect() as conn:
        placement = await pj.current_placement(conn, child_id)
    household_id = placement.household_id if placement is not None else None
    if body.household_id is not None and body.household_id != household_id:
        # Another household's id would put this child on that household's supervision agenda.
        _refuse(["household_id must be the household the child is placed with (leave it out to use it)."])
    events = incident_events(ctx, child_id, body, household_id)
    return await ctx.append(stream, events, expected_version=expected)


def incident_events(
    ctx: CommandContext, child_id: uuid.UUID, body: RecordIncident, household_id: uuid.UUID | None
) -> list[NewEvent]:
    """The incident, in the household where the child was placed, and the clocks it starts: a
    follow-up visit, a review of the risk assessment, a return home interview once found."""
    stream = ev.child_stream(child_id)
    payload = ev.IncidentRecorded(
        incident_id=ctx.new_id(),
        child_id=child_id,
        **{**body.model_dump(mode="json"), "household_id": household_id},
    )
    extras = [
        s
        for s, on in (("hospital treatment", body.needed_hospital_treatment), ("police called", body.police_called))
        if on
    ]
    incident = ctx.event(
        ev.INCIDENT_RECORDED,
        payload,
        occurred_at=body.occurred_at,
        child_ids=[child_id],
        summary=f"Incident: {_humanise(body.category.value)}" + (f" ({', '.join(extras)})" if extras else ""),
    )
    events = [incident]
    if rules.needs_follow_up_visit(
        body.category, police_called=body.police_called, needed_hospital_treatment=body.needed_hospital_treatment
    ):
        events.append(
            ctx.deadline_set(
                DeadlineSet(
                    deadline_id=ctx.new_id(),
                    kind=rules.FOLLOW_UP_VISIT,
                    subject=stream,
                    child_ids=[child_id],
                    household_id=household_id,
                    started_at=body.occurred_at,
                    due_at=rules.follow_up_visit_due(body.occurred_at, SETTINGS.follow_up_working_days),
                    description=f"Visit to see the child after the {_humanise(body.category.value)}",
                    source="Ofsted finding (NCT 2023); local practice: working days after the incident",
                ),
                causation_id=incident.event_id,
            )
        )
    if rules.needs_risk_review(body.category, police_called=body.police_called):
        events.append(
            ctx.deadline_set(
                DeadlineSet(
                    deadline_id=ctx.new_id(),
                    kind=rules.RISK_REVIEW_AFTER_INCIDENT,
                    subject=stream,
                    child_ids=[child_id],
                    household_id=household_id,
                    started_at=body.occurred_at,
                    due_at=rules.risk_review_due(body.occurred_at, SETTINGS.risk_review_after_incident_working_days),
                    description=f"Review the risk assessment after the {_humanise(body.category.value)}",
                    source="Ofsted finding (NCT 2023); local practice: working days after a serious incident",
                ),
                causation_id=incident.event_id,
            )
        )
    if rules.needs_return_home_interview(body.category):
        events.append(
            ctx.deadline_set(
                DeadlineSet(
                    deadline_id=ctx.new_id(),
                    kind=rules.RETURN_HOME_INTERVIEW,
                    subject=stream,
                    child_ids=[child_id],
                    household_id=household_id,
                    started_at=body.occurred_at,
                    due_at=rules.return_home_interview_due(body.occurred_at),
                    description="Return home interview after the child was found",
                    source=rules.STATUTORY["return_home_interview"].source,
                ),
                causation_id=incident.event_id,
            )
        )
    return events


async def record_statement(ctx: CommandContext, child_id: uuid.UUID, body: RecordStatement) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    reasons = _not_future(ctx, body.occurred_at, "occurred_at")
    await _begin(ctx)
    await _child(ctx, child_id)
    _refuse(reasons)
    stream = ev.child_stream(child_id)
    expected = ctx.expected(await ctx.store.stream_version(stream))
    payload = ev.StatementRecorded(statement_id=ctx.new_id(), child_id=child_id, **body.model_dump(mode="json"))
    words = body.words if len(body.words) <= 80 else body.words[:77] + "..."
    event = ctx.event(
        ev.STATEMENT_RECORDED,
        payload,
        occurred_at=body.occurred_at,
        child_ids=[child_id],
        summary=f"In the child's own words ({body.how}): \u201c{words}\u201d",
    )
    return await ctx.append(stream, [event], expected_version=expected)


async def amend_entry(ctx: CommandContext, child_id: uuid.UUID, body: AmendEntry) -> list[RecordedEvent]:
    await _begin(ctx)
    await _child(ctx, child_id)
    async with ctx.store.reader.connect() as conn:
        target = (
            await conn.execute(
                text("SELECT type, child_ids FROM events WHERE event_id = :e"), {"e": body.amends_event_id}
            )
        ).one_or_none()
    if target is None or child_id not in (target.child_ids or []):
        raise Problem(
            "business-rule",
            f"{body.amends_event_id} is not an entry in this child's record.",
            reasons=[f"{body.amends_event_id} is not an entry in this child's record."],
        )
    stream = ev.child_stream(child_id)
    expected = ctx.expected(await ctx.store.stream_version(stream))
    payload = ev.EntryAmended(
        amendment_id=ctx.new_id(),
        child_id=child_id,
        amends_event_id=body.amends_event_id,
        amends_type=target.type,
        reason=body.reason,
        correction=body.correction,
    )
    event = ctx.event(
        ev.ENTRY_AMENDED,
        payload,
        child_ids=[child_id],
        causation_id=body.amends_event_id,
        summary=f"Correction to an earlier entry ({target.type}): {body.reason}",
    )
    return await ctx.append(stream, [event], expected_version=expected)


# ---- complaints ----------------------------------------------------------------------------------
async def receive_complaint(ctx: CommandContext, child_id: uuid.UUID, body: ReceiveComplaint) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    reasons = _not_future(ctx, body.received_at, "received_at")
    await _begin(ctx)
    await _child(ctx, child_id)
    if body.about_household_id is not None:
        async with ctx.store.reader.connect() as conn:
            if body.about_household_id not in await pj.households_of_child(conn, child_id):
                reasons.append("about_household_id must be a household the child is or was placed with.")
    _refuse(reasons)
    stream, events = complaint_received(ctx, child_id, body)
    return await ctx.append(stream, events, expected_version=NO_STREAM)


def complaint_received(ctx: CommandContext, child_id: uuid.UUID, body: ReceiveComplaint) -> tuple[str, list[NewEvent]]:
    """A new complaint's stream and its first events: the complaint, its acknowledgement and
    stage 1 clocks, and a follow-up visit clock when the child made it."""
    complaint_id = ctx.new_id()
    stream = ev.complaint_stream(complaint_id)
    row9, lado = rules.complaint_flags(
        made_by=body.made_by, serious=body.serious, about_household_id=body.about_household_id
    )
    payload = ev.ComplaintReceived(
        complaint_id=complaint_id,
        child_id=child_id,
        schedule7_row9=row9,
        lado_consultation=lado,
        **body.model_dump(mode="json"),
    )
    flags = [s for s, on in (("serious", body.serious), ("Schedule 7 row 9", row9), ("LADO consultation", lado)) if on]
    received = ctx.event(
        ev.COMPLAINT_RECEIVED,
        payload,
        occurred_at=body.received_at,
        child_ids=[child_id],
        summary=f"Complaint received from the {body.made_by.value}"
        + (" about their carers" if body.about_household_id else "")
        + (f" ({', '.join(flags)})" if flags else ""),
    )
    events = [
        received,
        ctx.deadline_set(
            DeadlineSet(
                deadline_id=ctx.new_id(),
                kind=rules.COMPLAINT_ACK,
                subject=stream,
                child_ids=[child_id],
                household_id=body.about_household_id,
                started_at=body.received_at,
                due_at=rules.complaint_ack_due(body.received_at, SETTINGS.complaint_ack_working_days),
                description="Acknowledge the complaint",
                source="NCT KPI (local): acknowledged within 48 hours, on working days",
            ),
            causation_id=received.event_id,
        ),
        ctx.deadline_set(
            DeadlineSet(
                deadline_id=ctx.new_id(),
                kind=rules.complaint_stage_kind(1),
                subject=stream,
                child_ids=[child_id],
                household_id=body.about_household_id,
                started_at=body.received_at,
                due_at=rules.complaint_stage_due(body.received_at, 1),
                description="Respond to the complaint (stage 1)",
                source=rules.complaint_stage_source(1),
            ),
            causation_id=received.event_id,
        ),
    ]
    if body.made_by == MadeBy.CHILD:
        events.append(
            ctx.deadline_set(
                DeadlineSet(
                    deadline_id=ctx.new_id(),
                    kind=rules.FOLLOW_UP_VISIT,
                    subject=ev.child_stream(child_id),
                    child_ids=[child_id],
                    household_id=body.about_household_id,
                    started_at=body.received_at,
                    due_at=rules.follow_up_visit_due(body.received_at, SETTINGS.follow_up_working_days),
                    description="Visit to see the child about their complaint",
                    source="Ofsted finding (NCT 2023); local practice: working days after the complaint",
                ),
                causation_id=received.event_id,
            )
        )
    return stream, events


async def _complaint_step(ctx: CommandContext, complaint_id: uuid.UUID) -> tuple[Any, list[Any], int]:
    await _begin(ctx)
    complaint = await _complaint(ctx, complaint_id)
    async with ctx.store.reader.connect() as conn:
        clocks = await pj.complaint_deadlines(conn, complaint_id, open_only=True)
    expected = ctx.expected(await ctx.store.stream_version(ev.complaint_stream(complaint_id)))
    return complaint, clocks, expected


def _when(ctx: CommandContext, value: datetime | None, field: str, not_before: datetime) -> datetime:
    at = value or ctx.now()
    reasons = _not_future(ctx, at, field)
    if at < not_before:
        reasons.append(f"{field} is before the complaint was received.")
    _refuse(reasons)
    return at


async def acknowledge_complaint(
    ctx: CommandContext, complaint_id: uuid.UUID, body: AcknowledgeComplaint
) -> list[RecordedEvent]:
    complaint, clocks, expected = await _complaint_step(ctx, complaint_id)
    if complaint.acknowledged_at is not None or complaint.status == "closed":
        raise Problem("state-conflict", "The complaint has already been acknowledged.")
    at = _when(ctx, body.acknowledged_at, "acknowledged_at", complaint.received_at)
    events = complaint_acknowledged(ctx, complaint, clocks, at, body.how)
    return await ctx.append(ev.complaint_stream(complaint_id), events, expected_version=expected)


def complaint_acknowledged(
    ctx: CommandContext, complaint: Any, clocks: list[Any], at: datetime, how: str | None
) -> list[NewEvent]:
    """The acknowledgement of `complaint` (its row, with `clocks` its open deadlines), meeting the
    acknowledgement clock."""
    child_ids = [complaint.child_id]
    event = ctx.event(
        ev.COMPLAINT_ACKNOWLEDGED,
        ev.ComplaintAcknowledged(
            complaint_id=complaint.complaint_id, child_id=complaint.child_id, acknowledged_at=at, how=how
        ),
        occurred_at=at,
        child_ids=child_ids,
        summary="Complaint acknowledged" + (f" ({how})" if how else ""),
    )
    return [event] + [_met(ctx, c, at, event, child_ids) for c in clocks if c.kind == rules.COMPLAINT_ACK]


async def respond_complaint(
    ctx: CommandContext, complaint_id: uuid.UUID, body: RespondComplaint
) -> list[RecordedEvent]:
    complaint, clocks, expected = await _complaint_step(ctx, complaint_id)
    if complaint.status in ("responded", "closed"):
        raise Problem("state-conflict", f"Stage {complaint.stage} already has a response; escalate or close it.")
    at = _when(ctx, body.responded_at, "responded_at", complaint.received_at)
    events = complaint_responded(ctx, complaint, clocks, at, body.response, body.outcome)
    return await ctx.append(ev.complaint_stream(complaint_id), events, expected_version=expected)


def complaint_responded(
    ctx: CommandContext, complaint: Any, clocks: list[Any], at: datetime, response: str, outcome: str
) -> list[NewEvent]:
    """The response at the complaint's stage, late when after the stage clock; it meets that clock
    and the acknowledgement clock if nobody acknowledged the complaint first."""
    child_ids = [complaint.child_id]
    stage_kind = rules.complaint_stage_kind(complaint.stage)
    stage_clock = next((c for c in clocks if c.kind == stage_kind), None)
    late = stage_clock is not None and at > stage_clock.due_at
    event = ctx.event(
        ev.COMPLAINT_RESPONDED,
        ev.ComplaintResponded(
            complaint_id=complaint.complaint_id,
            child_id=complaint.child_id,
            stage=complaint.stage,
            responded_at=at,
            response=response,
            outcome=outcome,
            late=late,
        ),
        occurred_at=at,
        child_ids=child_ids,
        summary=f"Complaint stage {complaint.stage} response: {_humanise(outcome)}"
        + (" (out of timescale)" if late else ""),
    )
    return [event] + [_met(ctx, c, at, event, child_ids) for c in clocks if c.kind in (stage_kind, rules.COMPLAINT_ACK)]


async def extend_complaint(ctx: CommandContext, complaint_id: uuid.UUID, body: ExtendComplaint) -> list[RecordedEvent]:
    complaint, clocks, expected = await _complaint_step(ctx, complaint_id)
    stage_kind = rules.complaint_stage_kind(complaint.stage)
    stage_clock = next((c for c in clocks if c.kind == stage_kind), None)
    if complaint.stage == 3 or stage_clock is None:
        raise Problem("state-conflict", f"Stage {complaint.stage} has no open response timescale to extend.")
    try:
        due = rules.complaint_stage_due(stage_clock.started_at, complaint.stage, extended_to=body.working_days)
    except ValueError as exc:
        _refuse([str(exc)])
        raise
    child_ids = [complaint.child_id]
    stream = ev.complaint_stream(complaint_id)
    event = ctx.event(
        ev.COMPLAINT_EXTENDED,
        ev.ComplaintTimescaleExtended(
            complaint_id=complaint_id,
            child_id=complaint.child_id,
            stage=complaint.stage,
            working_days=body.working_days,
            reason=body.reason,
        ),
        child_ids=child_ids,
        summary=f"Complaint stage {complaint.stage} timescale extended to {body.working_days} working days: "
        f"{body.reason}",
    )
    events = [
        event,
        _cancelled(ctx, stage_clock, "timescale extended", child_ids),
        ctx.deadline_set(
            DeadlineSet(
                deadline_id=ctx.new_id(),
                kind=stage_kind,
                subject=stream,
                child_ids=child_ids,
                household_id=complaint.about_household_id,
                started_at=stage_clock.started_at,
                due_at=due,
                description=f"Respond to the complaint (stage {complaint.stage}, extended)",
                source=rules.complaint_stage_source(complaint.stage, extended=True),
            ),
            causation_id=event.event_id,
        ),
    ]
    return await ctx.append(stream, events, expected_version=expected)


async def escalate_complaint(
    ctx: CommandContext, complaint_id: uuid.UUID, body: EscalateComplaint
) -> list[RecordedEvent]:
    complaint, clocks, expected = await _complaint_step(ctx, complaint_id)
    if complaint.status == "closed":
        raise Problem("state-conflict", "The complaint is closed.")
    if complaint.stage >= 3:
        raise Problem("state-conflict", "The complaint is already at stage 3 (review panel).")
    at = _when(ctx, body.requested_at, "requested_at", complaint.received_at)
    stage_kind = rules.complaint_stage_kind(complaint.stage)
    stage_clock = next((c for c in clocks if c.kind == stage_kind), None)
    overdue = stage_clock is not None and rules.is_overdue(stage_clock.due_at, ctx.now())
    if complaint.status != "responded" and not overdue:
        raise Problem(
            "state-conflict",
            f"Stage {complaint.stage} can be escalated once it has a response, or when its timescale has passed.",
        )
    to_stage = complaint.stage + 1
    child_ids = [complaint.child_id]
    stream = ev.complaint_stream(complaint_id)
    event = ctx.event(
        ev.COMPLAINT_ESCALATED,
        ev.ComplaintEscalated(
            complaint_id=complaint_id,
            child_id=complaint.child_id,
            from_stage=complaint.stage,
            to_stage=to_stage,
            requested_at=at,
            reason=body.reason,
        ),
        occurred_at=at,
        child_ids=child_ids,
        summary=f"Complaint escalated to stage {to_stage}"
        + (" (review panel)" if to_stage == 3 else "")
        + f": {body.reason}",
    )
    events = [event] + [_cancelled(ctx, c, "escalated", child_ids) for c in clocks if c.kind == stage_kind]
    events.append(
        ctx.deadline_set(
            DeadlineSet(
                deadline_id=ctx.new_id(),
                kind=rules.complaint_stage_kind(to_stage),
                subject=stream,
                child_ids=child_ids,
                household_id=complaint.about_household_id,
                started_at=at,
                due_at=rules.complaint_stage_due(at, to_stage),
                description="Hold the stage 3 review panel" if to_stage == 3 else "Respond to the complaint (stage 2)",
                source=rules.complaint_stage_source(to_stage),
            ),
            causation_id=event.event_id,
        )
    )
    return await ctx.append(stream, events, expected_version=expected)


async def close_complaint(ctx: CommandContext, complaint_id: uuid.UUID, body: CloseComplaint) -> list[RecordedEvent]:
    complaint, clocks, expected = await _complaint_step(ctx, complaint_id)
    if complaint.status == "closed":
        raise Problem("state-conflict", "The complaint is already closed.")
    if complaint.status != "responded":
        _refuse([f"A complaint cannot be closed without a recorded response (stage {complaint.stage} has none)."])
    at = _when(ctx, body.closed_at, "closed_at", complaint.received_at)
    events = complaint_closed(ctx, complaint, clocks, at, body.outcome, body.learning)
    return await ctx.append(ev.complaint_stream(complaint_id), events, expected_version=expected)


def complaint_closed(
    ctx: CommandContext, complaint: Any, clocks: list[Any], at: datetime, outcome: str, learning: str | None
) -> list[NewEvent]:
    """The complaint closed at its stage; any clock still open is cancelled."""
    child_ids = [complaint.child_id]
    event = ctx.event(
        ev.COMPLAINT_CLOSED,
        ev.ComplaintClosed(
            complaint_id=complaint.complaint_id,
            child_id=complaint.child_id,
            closed_at=at,
            stage=complaint.stage,
            outcome=outcome,
            learning=learning,
        ),
        occurred_at=at,
        child_ids=child_ids,
        summary=f"Complaint closed at stage {complaint.stage}: {_humanise(outcome)}",
    )
    return [event] + [_cancelled(ctx, c, "complaint closed", child_ids) for c in clocks]


# ---- plans (care, safe care, health), shared with the carers (reg 17) ------------------------------
_PLAN_NAMESPACE = uuid.UUID("0f3e9a52-6c1d-4b7e-8f20-2d9b5c4a7e11")


def plan_id_for(child_id: uuid.UUID, kind: str) -> uuid.UUID:
    """One plan of each kind per child; its versions are the PlanRecorded events."""
    return uuid.uuid5(_PLAN_NAMESPACE, f"{child_id}|{kind}")


class MedicationBody(_Body):
    name: str = ShortText
    dose: str = ShortText
    given_by: str = ShortText
    watch_for: str = Text
    when: str | None = Field(default=None, max_length=200)


class RecordPlan(_Body):
    kind: rules.PlanKind
    summary: str = Text
    strategies: list[str] = Field(default_factory=list, max_length=100)
    medications: list[MedicationBody] = Field(default_factory=list, max_length=100)
    review_date: Day

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "health",
                    "summary": "Epilepsy: rescue medication and how carers and Amira manage it together.",
                    "strategies": ["Amira keeps a seizure diary with her carer"],
                    "medications": [
                        {
                            "name": "Buccal midazolam",
                            "dose": "10 mg",
                            "given_by": "trained foster carer",
                            "watch_for": "seizure over 5 minutes; breathing",
                            "when": "seizure lasting 5 minutes",
                        }
                    ],
                    "review_date": "2027-02-25",
                }
            ]
        }
    )


class SharePlan(_Body):
    shared_at: Instant | None = None
    how: str | None = Field(default=None, max_length=200, examples=["given in person at the placement"])
    version: int | None = Field(default=None, ge=1, description="Default: the current version")


class AcknowledgePlan(_Body):
    version: int = Field(ge=1)
    acknowledged_at: Instant | None = None


async def _child_expected(ctx: CommandContext, child_id: uuid.UUID) -> int:
    return ctx.expected(await ctx.store.stream_version(ev.child_stream(child_id)))


async def record_plan(ctx: CommandContext, child_id: uuid.UUID, body: RecordPlan) -> list[RecordedEvent]:
    await _begin(ctx)
    await _child(ctx, child_id)
    today = rules.local_date(ctx.now())
    _refuse(
        rules.review_date_refusals(body.review_date, today)
        + rules.medication_refusals(body.kind, [m.model_dump() for m in body.medications])
    )
    stream = ev.child_stream(child_id)
    expected = await _child_expected(ctx, child_id)
    plan_id = plan_id_for(child_id, body.kind)
    async with ctx.store.reader.connect() as conn:
        current = await pj.current_plan(conn, plan_id)
        previous_review = await pj.get_deadline(conn, current.review_deadline_id) if current is not None else None
    version = (current.version if current is not None else 0) + 1
    review_deadline_id = ctx.new_id()
    payload = ev.PlanRecorded(
        plan_id=plan_id,
        child_id=child_id,
        version=version,
        review_deadline_id=review_deadline_id,
        **body.model_dump(mode="json"),
    )
    label = f"{_humanise(body.kind.value)} plan"
    recorded = ctx.event(
        ev.PLAN_RECORDED,
        payload,
        child_ids=[child_id],
        summary=f"{label.capitalize()} version {version} recorded (review by {body.review_date:%d %b %Y})",
    )
    events = [recorded]
    if previous_review is not None and previous_review.status == "open":
        events.append(_met(ctx, previous_review, ctx.now(), recorded, [child_id]))
    events.append(
        ctx.deadline_set(
            DeadlineSet(
                deadline_id=review_deadline_id,
                kind=rules.PLAN_REVIEW,
                subject=stream,
                child_ids=[child_id],
                started_at=ctx.now(),
                due_at=rules.end_of_day(body.review_date),
                description=f"Review the {label}",
                source="CPPR 2010 reg 5-7 (care and health plans kept under review); review date set in the plan",
            ),
            causation_id=recorded.event_id,
        )
    )
    return await ctx.append(stream, events, expected_version=expected)


async def share_plan(
    ctx: CommandContext, child_id: uuid.UUID, plan_id: uuid.UUID, body: SharePlan
) -> list[RecordedEvent]:
    await _begin(ctx)
    await _child(ctx, child_id)
    async with ctx.store.reader.connect() as conn:
        current = await pj.current_plan(conn, plan_id)
        placement = await pj.current_placement(conn, child_id)
    if current is None or current.child_id != child_id:
        raise Problem("not-found", f"No plan {plan_id} for this child.")
    at = body.shared_at or ctx.now()
    reasons = _not_future(ctx, at, "shared_at")
    if placement is None or placement.household_id is None:
        reasons.append("The child is not placed with a household: there is no carer to share the plan with.")
    version = body.version or current.version
    if version > current.version:
        reasons.append(f"The plan has no version {version} (current: {current.version}).")
    _refuse(reasons)
    stream = ev.child_stream(child_id)
    expected = await _child_expected(ctx, child_id)
    ack_deadline_id = ctx.new_id()
    payload = ev.PlanShared(
        share_id=ctx.new_id(),
        plan_id=plan_id,
        child_id=child_id,
        kind=current.kind,
        version=version,
        household_id=placement.household_id,
        shared_at=at,
        how=body.how,
        ack_deadline_id=ack_deadline_id,
    )
    label = f"{_humanise(current.kind)} plan"
    shared = ctx.event(
        ev.PLAN_SHARED,
        payload,
        occurred_at=at,
        child_ids=[child_id],
        summary=f"{label.capitalize()} version {version} shared with the carers"
        + (f" ({body.how})" if body.how else ""),
    )
    clock = ctx.deadline_set(
        DeadlineSet(
            deadline_id=ack_deadline_id,
            kind=rules.PLAN_ACKNOWLEDGEMENT,
            subject=stream,
            child_ids=[child_id],
            household_id=placement.household_id,
            started_at=at,
            due_at=rules.plan_ack_due(at, SETTINGS.plan_ack_working_days),
            description=f"Carers acknowledge receipt of the {label} (version {version})",
            source="Fostering Services (England) Regs 2011 reg 17(3): carers hold the most recent care plan; "
            f"local practice: acknowledged within {SETTINGS.plan_ack_working_days} working days",
        ),
        causation_id=shared.event_id,
    )
    return await ctx.append(stream, [shared, clock], expected_version=expected)


async def acknowledge_plan(
    ctx: CommandContext, child_id: uuid.UUID, plan_id: uuid.UUID, body: AcknowledgePlan
) -> list[RecordedEvent]:
    """The carer confirms they hold a version of the plan; meets the clocks of it and earlier versions."""
    await _begin(ctx)
    await _child(ctx, child_id)
    if ctx.principal.role.value != "carer":
        _refuse(["Only the carers the plan was shared with acknowledge receiving it."])
    own = set(ctx.principal.household_ids)
    async with ctx.store.reader.connect() as conn:
        shares = [s for s in await pj.plan_shares(conn, child_id) if s.plan_id == plan_id and s.household_id in own]
        deadlines = {d.deadline_id: d for d in await pj.open_child_deadlines(conn, child_id)}
    share = next((s for s in shares if s.version == body.version), None)
    if share is None:
        raise Problem("not-found", f"Version {body.version} of this plan was not shared with your household.")
    at = body.acknowledged_at or ctx.now()
    reasons = _not_future(ctx, at, "acknowledged_at")
    if at < share.shared_at:
        reasons.append("acknowledged_at is before the plan was shared.")
    if share.acknowledged_at is not None:
        raise Problem("state-conflict", f"Version {body.version} was already acknowledged.")
    _refuse(reasons)
    stream = ev.child_stream(child_id)
    expected = await _child_expected(ctx, child_id)
    payload = ev.PlanAcknowledged(
        plan_id=plan_id,
        child_id=child_id,
        kind=share.kind,
        version=body.version,
        household_id=share.household_id,
        acknowledged_by=ctx.principal.subject,
        acknowledged_at=at,
    )
    ack = ctx.event(
        ev.PLAN_ACKNOWLEDGED,
        payload,
        occurred_at=at,
        child_ids=[child_id],
        summary=f"Carers acknowledged receiving the {_humanise(share.kind)} plan (version {body.version})",
    )
    events = [ack]
    for s in shares:
        deadline = deadlines.get(s.ack_deadline_id)
        if s.version <= body.version and s.acknowledged_at is None and deadline is not None:
            events.append(_met(ctx, deadline, at, ack, [child_id]))
    return await ctx.append(stream, events, expected_version=expected)


# ---- risk assessments ----------------------------------------------------------------------------
class HazardBody(_Body):
    hazard: str = Text
    measures: list[str] = Field(min_length=1, max_length=50)


class RecordRiskAssessment(_Body):
    assessed_at: Instant | None = None
    assessed_by: str = ShortText
    hazards: list[HazardBody] = Field(min_length=1, max_length=100)
    review_date: Day
    summary: str | None = Field(default=None, max_length=20_000)
    prompted_by_event_id: uuid.UUID | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "assessed_by": "sw-104",
                    "hazards": [
                        {
                            "hazard": "Substance misuse: paraphernalia brought into the home",
                            "measures": ["Carer may search bag and bedroom with Amira present; recorded each time"],
                        }
                    ],
                    "review_date": "2027-01-25",
                }
            ]
        }
    )


async def record_risk_assessment(
    ctx: CommandContext, child_id: uuid.UUID, body: RecordRiskAssessment
) -> list[RecordedEvent]:
    await _begin(ctx)
    await _child(ctx, child_id)
    at = body.assessed_at or ctx.now()
    _refuse(_not_future(ctx, at, "assessed_at") + rules.review_date_refusals(body.review_date, rules.local_date(at)))
    stream = ev.child_stream(child_id)
    expected = await _child_expected(ctx, child_id)
    async with ctx.store.reader.connect() as conn:
        open_clocks = [d for d in await pj.open_child_deadlines(conn, child_id) if d.kind in rules.RISK_KINDS]
    payload = ev.RiskAssessmentRecorded(
        assessment_id=ctx.new_id(),
        child_id=child_id,
        **{**body.model_dump(mode="json"), "assessed_at": at.isoformat()},
    )
    assessment = ctx.event(
        ev.RISK_ASSESSMENT_RECORDED,
        payload,
        occurred_at=at,
        child_ids=[child_id],
        summary=f"Risk assessment by {body.assessed_by}: {len(body.hazards)} hazard(s), "
        f"review by {body.review_date:%d %b %Y}",
    )
    events = [assessment] + [_met(ctx, d, at, assessment, [child_id]) for d in open_clocks if d.started_at <= at]
    events.append(
        ctx.deadline_set(
            DeadlineSet(
                deadline_id=ctx.new_id(),
                kind=rules.RISK_ASSESSMENT_REVIEW,
                subject=stream,
                child_ids=[child_id],
                started_at=at,
                due_at=rules.end_of_day(body.review_date),
                description="Review the child's risk assessment",
                source="Ofsted finding (NCT 2023): risk assessments regularly reviewed; review date in the assessment",
            ),
            causation_id=assessment.event_id,
        )
    )
    return await ctx.append(stream, events, expected_version=expected)


# ---- health checks -------------------------------------------------------------------------------
class RecordHealthCheck(_Body):
    kind: rules.HealthCheckKind
    occurred_at: Instant
    by: str = ShortText
    outcome: str = Text
    actions: str | None = Field(default=None, max_length=20_000)


_HEALTH_CLOCKS_MET = {
    rules.HealthCheckKind.INITIAL_HEALTH_ASSESSMENT: {rules.INITIAL_HEALTH_ASSESSMENT, rules.HEALTH_ASSESSMENT},
    rules.HealthCheckKind.REVIEW_HEALTH_ASSESSMENT: {rules.INITIAL_HEALTH_ASSESSMENT, rules.HEALTH_ASSESSMENT},
    rules.HealthCheckKind.DENTAL_CHECK: {rules.DENTAL_CHECK},
}


async def record_health_check(ctx: CommandContext, child_id: uuid.UUID, body: RecordHealthCheck) -> list[RecordedEvent]:
    await _begin(ctx)
    child = await _child(ctx, child_id)
    _refuse(_not_future(ctx, body.occurred_at, "occurred_at"))
    stream = ev.child_stream(child_id)
    expected = await _child_expected(ctx, child_id)
    met_kinds = _HEALTH_CLOCKS_MET[body.kind]
    async with ctx.store.reader.connect() as conn:
        open_clocks = [d for d in await pj.open_child_deadlines(conn, child_id) if d.kind in met_kinds]
    payload = ev.HealthCheckRecorded(check_id=ctx.new_id(), child_id=child_id, **body.model_dump(mode="json"))
    check = ctx.event(
        ev.HEALTH_CHECK_RECORDED,
        payload,
        occurred_at=body.occurred_at,
        child_ids=[child_id],
        summary=f"{_humanise(body.kind.value).capitalize()} by {body.by}",
    )
    events = [check] + [
        _met(ctx, d, body.occurred_at, check, [child_id]) for d in open_clocks if d.started_at <= body.occurred_at
    ]
    day = rules.local_date(body.occurred_at)
    if body.kind == rules.HealthCheckKind.DENTAL_CHECK:
        kind, due = rules.DENTAL_CHECK, rules.add_months(day, SETTINGS.dental_check_months)
        description, source = (
            "Dental check",
            f"Local practice: a dental check every {SETTINGS.dental_check_months} months",
        )
    else:
        kind, due = rules.HEALTH_ASSESSMENT, rules.next_health_assessment_due(child.date_of_birth, day)
        description = "Review health assessment"
        source = rules.STATUTORY[rules.health_review_key(child.date_of_birth, day)].source
    events.append(
        ctx.deadline_set(
            DeadlineSet(
                deadline_id=ctx.new_id(),
                kind=kind,
                subject=stream,
                child_ids=[child_id],
                started_at=body.occurred_at,
                due_at=rules.end_of_day(due),
                description=description,
                source=source,
            ),
            causation_id=check.event_id,
        )
    )
    return await ctx.append(stream, events, expected_version=expected)


# ---- looked-after child reviews (CPPR reg 33) ----------------------------------------------------
class RecordLacReview(_Body):
    held_at: Instant
    chaired_by: str = ShortText
    child_attended: bool
    child_views_given: bool
    how_views_given: str | None = Field(default=None, max_length=2000, examples=["spoke to the IRO before"])
    decisions: str = Text


async def record_lac_review(ctx: CommandContext, child_id: uuid.UUID, body: RecordLacReview) -> list[RecordedEvent]:
    await _begin(ctx)
    await _child(ctx, child_id)
    reasons = _not_future(ctx, body.held_at, "held_at")
    if body.child_views_given and not (body.how_views_given or "").strip():
        reasons.append("Say how the child gave their views (attended, met the chair, wrote, advocate...).")
    _refuse(reasons)
    stream = ev.child_stream(child_id)
    expected = await _child_expected(ctx, child_id)
    async with ctx.store.reader.connect() as conn:
        held = (
            await conn.execute(text("SELECT count(*) FROM visits_lac_reviews WHERE child_id = :c"), {"c": child_id})
        ).scalar_one()
        open_clocks = [d for d in await pj.open_child_deadlines(conn, child_id) if d.kind == rules.LAC_REVIEW]
    number = int(held) + 1
    payload = ev.LookedAfterReviewRecorded(
        review_id=ctx.new_id(), child_id=child_id, number=number, **body.model_dump(mode="json")
    )
    participation = (
        "child attended"
        if body.child_attended
        else ("child's views given" if body.child_views_given else "child neither attended nor gave views")
    )
    review = ctx.event(
        ev.LAC_REVIEW_RECORDED,
        payload,
        occurred_at=body.held_at,
        child_ids=[child_id],
        summary=f"Looked-after child review {number} chaired by {body.chaired_by} ({participation})",
    )
    events = [review] + [
        _met(ctx, d, body.held_at, review, [child_id]) for d in open_clocks if d.started_at <= body.held_at
    ]
    key = rules.lac_review_key(number)
    events.append(
        ctx.deadline_set(
            DeadlineSet(
                deadline_id=ctx.new_id(),
                kind=rules.LAC_REVIEW,
                subject=stream,
                child_ids=[child_id],
                started_at=body.held_at,
                due_at=rules.end_of_day(rules.next_lac_review_due(rules.local_date(body.held_at), number)),
                description=f"Looked-after child review {number + 1}",
                source=rules.STATUTORY[key].source,
            ),
            causation_id=review.event_id,
        )
    )
    return await ctx.append(stream, events, expected_version=expected)


# ---- concerns that are not formal complaints ------------------------------------------------------
class RaiseConcern(_Body):
    raised_at: Instant
    raised_by: rules.ConcernRaisedBy
    summary: str = Text
    childs_words: str | None = Field(default=None, max_length=20_000)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "raised_at": "2026-11-24T16:00:00Z",
                    "raised_by": "child",
                    "summary": "Told her teacher she does not feel safe with the older boy in the house.",
                    "childs_words": "I don't feel safe there.",
                }
            ]
        }
    )


class ConcernAction(_Body):
    actioned_at: Instant | None = None
    action: str = Text


class ConcernOutcome(_Body):
    resolved_at: Instant | None = None
    outcome: str = Text
    child_told: bool = False


class EscalateConcern(_Body):
    escalated_at: Instant | None = None
    to: rules.ConcernEscalation
    reason: str = Text


async def raise_concern(ctx: CommandContext, child_id: uuid.UUID, body: RaiseConcern) -> list[RecordedEvent]:
    await _begin(ctx)
    await _child(ctx, child_id)
    _refuse(_not_future(ctx, body.raised_at, "raised_at"))
    stream = ev.child_stream(child_id)
    expected = await _child_expected(ctx, child_id)
    async with ctx.store.reader.connect() as conn:
        placement = await pj.current_placement(conn, child_id)
    household_id = placement.household_id if placement is not None else None
    deadline_id = ctx.new_id()
    payload = ev.ConcernRaised(
        concern_id=ctx.new_id(),
        child_id=child_id,
        household_id=household_id,
        response_deadline_id=deadline_id,
        **body.model_dump(mode="json"),
    )
    concern = ctx.event(
        ev.CONCERN_RAISED,
        payload,
        occurred_at=body.raised_at,
        child_ids=[child_id],
        summary=f"Concern raised by the {body.raised_by.value}: {body.summary[:120]}",
    )
    clock = ctx.deadline_set(
        DeadlineSet(
            deadline_id=deadline_id,
            kind=rules.CONCERN_RESPONSE,
            subject=stream,
            child_ids=[child_id],
            household_id=household_id,
            started_at=body.raised_at,
            due_at=rules.concern_response_due(body.raised_at, SETTINGS.concern_response_working_days),
            description="Act on the concern and record its outcome",
            source="Fostering Services (England) Regs 2011 reg 18; Ofsted finding (NCT 2023); local practice: "
            f"{SETTINGS.concern_response_working_days} working days",
        ),
        causation_id=concern.event_id,
    )
    return await ctx.append(stream, [concern, clock], expected_version=expected)


async def _concern_step(ctx: CommandContext, child_id: uuid.UUID, concern_id: uuid.UUID) -> tuple[Any, Any, int]:
    await _begin(ctx)
    await _child(ctx, child_id)
    async with ctx.store.reader.connect() as conn:
        concern = await pj.get_concern(conn, concern_id)
        deadline = await pj.get_deadline(conn, concern.response_deadline_id) if concern is not None else None
    if concern is None or concern.child_id != child_id:
        raise Problem("not-found", f"No concern {concern_id} for this child.")
    expected = await _child_expected(ctx, child_id)
    return concern, (deadline if deadline is not None and deadline.status == "open" else None), expected


def _concern_when(ctx: CommandContext, value: datetime | None, field: str, concern: Any) -> datetime:
    at = value or ctx.now()
    reasons = _not_future(ctx, at, field)
    if at < concern.raised_at:
        reasons.append(f"{field} is before the concern was raised.")
    _refuse(reasons)
    return at


async def action_concern(
    ctx: CommandContext, child_id: uuid.UUID, concern_id: uuid.UUID, body: ConcernAction
) -> list[RecordedEvent]:
    concern, _, expected = await _concern_step(ctx, child_id, concern_id)
    if concern.status in ("resolved", "escalated"):
        raise Problem("state-conflict", f"The concern is already {concern.status}.")
    at = _concern_when(ctx, body.actioned_at, "actioned_at", concern)
    event = ctx.event(
        ev.CONCERN_ACTIONED,
        ev.ConcernActioned(concern_id=concern_id, child_id=child_id, actioned_at=at, action=body.action),
        occurred_at=at,
        child_ids=[child_id],
        summary=f"Action on a concern: {body.action[:120]}",
    )
    return await ctx.append(ev.child_stream(child_id), [event], expected_version=expected)


async def resolve_concern(
    ctx: CommandContext, child_id: uuid.UUID, concern_id: uuid.UUID, body: ConcernOutcome
) -> list[RecordedEvent]:
    concern, deadline, expected = await _concern_step(ctx, child_id, concern_id)
    if concern.status in ("resolved", "escalated"):
        raise Problem("state-conflict", f"The concern is already {concern.status}.")
    _refuse(rules.concern_outcome_refusals(actions=concern.actions, status=concern.status))
    at = _concern_when(ctx, body.resolved_at, "resolved_at", concern)
    event = ctx.event(
        ev.CONCERN_RESOLVED,
        ev.ConcernResolved(
            concern_id=concern_id, child_id=child_id, resolved_at=at, outcome=body.outcome, child_told=body.child_told
        ),
        occurred_at=at,
        child_ids=[child_id],
        summary=f"Concern outcome: {body.outcome[:120]}" + (" (child told)" if body.child_told else ""),
    )
    events = [event] + ([_met(ctx, deadline, at, event, [child_id])] if deadline is not None else [])
    return await ctx.append(ev.child_stream(child_id), events, expected_version=expected)


async def escalate_concern(
    ctx: CommandContext, child_id: uuid.UUID, concern_id: uuid.UUID, body: EscalateConcern
) -> list[RecordedEvent]:
    """The decision to treat the concern as a complaint, an allegation or a child protection enquiry.

    A complaint is then received by this service (a reaction to this event, with its own clocks); an
    allegation is for the carers team, who follow the log; a child protection enquiry is recorded
    here and followed by its `child_protection_enquiry_started` incident."""
    concern, deadline, expected = await _concern_step(ctx, child_id, concern_id)
    if concern.status in ("resolved", "escalated"):
        raise Problem("state-conflict", f"The concern is already {concern.status}.")
    at = _concern_when(ctx, body.escalated_at, "escalated_at", concern)
    complaint_id = ctx.new_id() if body.to == rules.ConcernEscalation.COMPLAINT else None
    event = ctx.event(
        ev.CONCERN_ESCALATED,
        ev.ConcernEscalated(
            concern_id=concern_id,
            child_id=child_id,
            escalated_at=at,
            to=body.to.value,
            reason=body.reason,
            household_id=concern.household_id,
            complaint_id=complaint_id,
        ),
        occurred_at=at,
        child_ids=[child_id],
        summary=f"Concern escalated to {_humanise(body.to.value)}: {body.reason[:120]}",
    )
    events = [event] + ([_met(ctx, deadline, at, event, [child_id])] if deadline is not None else [])
    return await ctx.append(ev.child_stream(child_id), events, expected_version=expected)
