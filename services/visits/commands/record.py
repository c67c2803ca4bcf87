"""The child's record: visits (and the clocks they meet and start), other contacts, incidents (and
the clocks they start), the child's own words, and corrections of earlier entries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pydantic import ConfigDict, Field

from services.visits import rules
from services.visits.commands.common import Body, ShortText, Text, child_of, duty_started, humanise, met
from services.visits.events import (
    ContactKind,
    ContactRecorded,
    EntryAmended,
    IncidentCategory,
    IncidentRecorded,
    NotSeenAloneReason,
    StatementRecorded,
    VisitKind,
    VisitorRole,
    VisitRecorded,
    child_stream,
)
from services.visits.projections import ChildContext
from shared.commanding import CommandContext
from shared.eventstore import NewEvent, RecordedEvent
from shared.recording import Recorder
from shared.refusals import refuse_if
from shared.types import Instant


# ---- visits --------------------------------------------------------------------------------------
class RecordVisit(Body):
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


def visit_summary(body: RecordVisit) -> str:
    if not body.child_seen:
        seen = "child not seen"
    elif body.seen_alone:
        seen = "child seen alone"
    else:
        seen = f"child seen, not alone ({humanise(body.not_seen_alone_reason or 'no reason')})"
    bedroom = "; bedroom seen" if body.bedroom_seen else ""
    who = f"{humanise(body.visitor_role.value)} {body.visitor_id}"
    return f"{body.kind.value.capitalize()} visit by {who}: {seen}{bedroom}"


def decide_visit(rec: Recorder, child: ChildContext, child_id: uuid.UUID, body: RecordVisit) -> list[NewEvent]:
    """The visit, and the clocks it meets (CPPR reg 28 and follow-ups): a statutory clock met is
    followed by the next one of its placement, which belongs to the child's current placement."""
    refuse_if(
        rules.visit_refusals(
            child_seen=body.child_seen,
            seen_alone=body.seen_alone,
            not_seen_alone_reason=body.not_seen_alone_reason,
            narrative=body.narrative,
            child_views=body.child_views,
        )
        + rules.occurrence_refusals("occurred_at", body.occurred_at, rec.now())
    )
    visit = rec.event(
        VisitRecorded(visit_id=rec.new_id(), child_id=child_id, household_id=child.household_id, **body.model_dump()),
        occurred_at=body.occurred_at,
        child_ids=[child_id],
        summary=visit_summary(body),
    )
    events = [visit]
    meets = rules.clocks_a_visit_meets(
        child.open_clocks, occurred_at=body.occurred_at, child_seen=body.child_seen, visitor_role=body.visitor_role
    )
    current = child.placement.placement_id if child.placement is not None else None
    for clock, next_of in meets:
        events.append(met(rec, clock, body.occurred_at, visit, child_id))
        if next_of is not None:
            due = rules.next_statutory_visit(next_of.terms, body.occurred_at)
            events += duty_started(
                rec, child, due, cause=visit, household_id=next_of.household_id, placement_id=current
            )
    return events


async def record_visit(ctx: CommandContext, child_id: uuid.UUID, body: RecordVisit) -> list[RecordedEvent]:
    child, version = await child_of(ctx, child_id)
    events = decide_visit(ctx, child, child_id, body)
    return await ctx.append(child_stream(child_id), events, ctx.expected(version))


# ---- contacts ------------------------------------------------------------------------------------
class RecordContact(Body):
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


def decide_contact(rec: Recorder, child: ChildContext, child_id: uuid.UUID, body: RecordContact) -> list[NewEvent]:
    """The contact; a return home interview meets the clock the child's return started."""
    refuse_if(rules.occurrence_refusals("occurred_at", body.occurred_at, rec.now()))
    contact = rec.event(
        ContactRecorded(contact_id=rec.new_id(), child_id=child_id, **body.model_dump()),
        occurred_at=body.occurred_at,
        child_ids=[child_id],
        summary=f"{humanise(body.kind.value).capitalize()} with {body.with_whom}",
    )
    interviews = rules.clocks_met(child.open_clocks, {rules.RETURN_HOME_INTERVIEW}, body.occurred_at)
    if body.kind != ContactKind.RETURN_HOME_INTERVIEW:
        interviews = []
    return [contact] + [met(rec, clock, body.occurred_at, contact, child_id) for clock in interviews]


async def record_contact(ctx: CommandContext, child_id: uuid.UUID, body: RecordContact) -> list[RecordedEvent]:
    child, version = await child_of(ctx, child_id)
    events = decide_contact(ctx, child, child_id, body)
    return await ctx.append(child_stream(child_id), events, ctx.expected(version))


# ---- incidents -----------------------------------------------------------------------------------
class RecordIncident(Body):
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


def decide_incident(rec: Recorder, child: ChildContext, child_id: uuid.UUID, body: RecordIncident) -> list[NewEvent]:
    """The incident, in the household the child is placed with, and the clocks it starts: a
    follow-up visit, a review of the risk assessment, a return home interview once found."""
    household_id = child.household_id
    refuse_if(
        rules.occurrence_refusals("occurred_at", body.occurred_at, rec.now())
        + rules.household_refusals(body.household_id, household_id)
    )
    flags = (("hospital treatment", body.needed_hospital_treatment), ("police called", body.police_called))
    extras = [name for name, on in flags if on]
    incident = rec.event(
        IncidentRecorded(
            incident_id=rec.new_id(), child_id=child_id, **{**body.model_dump(), "household_id": household_id}
        ),
        occurred_at=body.occurred_at,
        child_ids=[child_id],
        summary=f"Incident: {humanise(body.category.value)}" + (f" ({', '.join(extras)})" if extras else ""),
    )
    clocks = rules.incident_clocks(
        body.category,
        body.occurred_at,
        police_called=body.police_called,
        needed_hospital_treatment=body.needed_hospital_treatment,
        practice=rec.settings.visits,
    )
    return [incident] + [
        clock for due in clocks for clock in duty_started(rec, child, due, cause=incident, household_id=household_id)
    ]


async def record_incident(ctx: CommandContext, child_id: uuid.UUID, body: RecordIncident) -> list[RecordedEvent]:
    child, version = await child_of(ctx, child_id)
    events = decide_incident(ctx, child, child_id, body)
    return await ctx.append(child_stream(child_id), events, ctx.expected(version))


# ---- the child's own words -----------------------------------------------------------------------
class RecordStatement(Body):
    occurred_at: Instant
    words: str = Text
    how: str = Field(default="spoken", max_length=100, examples=["spoken", "written", "drawing", "message"])
    about_event_id: uuid.UUID | None = None


def decide_statement(rec: Recorder, child_id: uuid.UUID, body: RecordStatement) -> list[NewEvent]:
    refuse_if(rules.occurrence_refusals("occurred_at", body.occurred_at, rec.now()))
    words = body.words if len(body.words) <= 80 else body.words[:77] + "..."
    return [
        rec.event(
            StatementRecorded(statement_id=rec.new_id(), child_id=child_id, **body.model_dump()),
            occurred_at=body.occurred_at,
            child_ids=[child_id],
            summary=f"In the child's own words ({body.how}): \u201c{words}\u201d",
        )
    ]


async def record_statement(ctx: CommandContext, child_id: uuid.UUID, body: RecordStatement) -> list[RecordedEvent]:
    _, version = await child_of(ctx, child_id)
    return await ctx.append(child_stream(child_id), decide_statement(ctx, child_id, body), ctx.expected(version))


# ---- corrections ---------------------------------------------------------------------------------
class AmendEntry(Body):
    amends_event_id: uuid.UUID
    reason: str = Text
    correction: str = Text


@dataclass(frozen=True)
class Entry:
    """An entry of the log a correction names: its type and the children it is about."""

    event_id: uuid.UUID
    type: str
    child_ids: tuple[uuid.UUID, ...]


def decide_amendment(rec: Recorder, child_id: uuid.UUID, entry: Entry | None, body: AmendEntry) -> list[NewEvent]:
    """A correction beside an entry of the child's record (the entry itself is never changed)."""
    refuse_if(rules.amendment_refusals(body.amends_event_id, entry.child_ids if entry else None, child_id))
    assert entry is not None  # refused above
    return [
        rec.event(
            EntryAmended(
                amendment_id=rec.new_id(),
                child_id=child_id,
                amends_event_id=entry.event_id,
                amends_type=entry.type,
                reason=body.reason,
                correction=body.correction,
            ),
            child_ids=[child_id],
            causation_id=entry.event_id,
            summary=f"Correction to an earlier entry ({entry.type}): {body.reason}",
        )
    ]


async def amend_entry(ctx: CommandContext, child_id: uuid.UUID, body: AmendEntry) -> list[RecordedEvent]:
    _, version = await child_of(ctx, child_id)
    stored = await ctx.store.event_by_id(body.amends_event_id)
    entry = Entry(stored.event_id, stored.type, stored.child_ids) if stored is not None else None
    events = decide_amendment(ctx, child_id, entry, body)
    return await ctx.append(child_stream(child_id), events, ctx.expected(version))
