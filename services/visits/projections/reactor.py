"""The one projector of visits, `visits`: it owns every `visits_*` table (one checkpoint, one
rebuild); its `@handles` methods come from a class per part of the record (ChildrenView in
children.py, ClocksView in clocks.py, ...), so each module holds its rows and their reads.

It also reacts: to the carers service's placements (the statutory visit clocks) and allegations (a
visit to each child), and to a concern escalated to a complaint (the complaint itself). Each
reaction is decided by a pure function of its cause (`decide_*`, which the bench generator calls
too); its ids come from the cause (`reaction_id`), so a repeat is a no-op."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.visits import rules
from services.visits.events import (
    ComplaintReceived,
    ConcernEscalated,
    ConcernEscalation,
    MadeBy,
    child_stream,
    complaint_stream,
)
from services.visits.projections.children import ChildrenView, placement_of, placements_of_child
from services.visits.projections.clocks import ClocksView, PlacementClock, open_clocks_of_placement
from services.visits.projections.complaints import ComplaintsView
from services.visits.projections.concerns import Concern, ConcernsView, concern
from services.visits.projections.health import HealthView
from services.visits.projections.plans import PlansView
from services.visits.rules import Due, Placement
from shared.contracts.base import Event
from shared.contracts.carers import AllegationReceived, PlacementEnded, PlacementStarted
from shared.contracts.deadlines import DeadlineCancelled
from shared.eventstore import NewEvent, Projector, Reactor, RecordedEvent, reaction_id, reaction_metadata, reacts
from shared.practice import VisitsPractice
from shared.settings import Settings

SERVICE = "visits"
Reactions = list[tuple[str, list[NewEvent]]]


# ---- the reactions, decided ----------------------------------------------------------------------
def _reaction(
    cause: RecordedEvent,
    key: str,
    payload: Event,
    occurred_at: datetime,
    child_ids: Sequence[uuid.UUID],
    summary: str,
) -> NewEvent:
    return NewEvent(
        type=payload.event_type,
        data=payload.payload(),
        occurred_at=occurred_at,
        child_ids=tuple(child_ids),
        metadata={**reaction_metadata(SERVICE, cause), "summary": summary},
        event_id=reaction_id(cause, key),
        schema_version=payload.schema_version,
    )


def _clock(
    cause: RecordedEvent,
    key: str,
    due: Due,
    subject: str,
    child_id: uuid.UUID,
    household_id: uuid.UUID | None,
    placement_id: uuid.UUID | None = None,
    event_key: str | None = None,
) -> NewEvent:
    """The clock `due`, its id derived from the cause and `key`, its event's from `event_key`
    (default: the key's)."""
    deadline_id = reaction_id(cause, key)
    deadline = due.deadline(
        deadline_id, subject=subject, child_id=child_id, household_id=household_id, placement_id=placement_id
    )
    summary = f"Clock started: {due.description} (due {due.due_at:%d %b %Y %H:%M})"
    return _reaction(cause, event_key or f"{key}:event", deadline, due.started_at, [child_id], summary)


def decide_first_visit_clock(
    cause: RecordedEvent, started: PlacementStarted, current: Placement | None, care_ended_on: date | None
) -> Reactions:
    """A placement starts the first statutory visit clock, which belongs to the child's current
    placement (this one, unless another that started later is still open); none for a placement
    recorded after the care it was part of ended."""
    if not rules.looked_after(care_ended_on, [started.start_date]):
        return []
    terms = rules.PlacementTerms(started.start_date, started.long_term, started.connected_person)
    due = rules.first_statutory_visit(terms)
    stream = child_stream(started.child_id)
    belongs_to = current.placement_id if current is not None else started.placement_id
    return [
        (
            stream,
            [_clock(cause, "first-statutory-visit", due, stream, started.child_id, started.household_id, belongs_to)],
        )
    ]


def decide_clocks_stopped(cause: RecordedEvent, clocks: Sequence[PlacementClock]) -> Reactions:
    """A placement that ends stops the clocks that belong to it."""
    return [
        (
            child_stream(clock.child_id),
            [
                _reaction(
                    cause,
                    f"cancel-{clock.deadline_id}",
                    DeadlineCancelled(deadline_id=clock.deadline_id, kind=clock.kind, reason="placement ended"),
                    cause.occurred_at,
                    [clock.child_id],
                    "Clock stopped: statutory visits (the placement ended)",
                )
            ],
        )
        for clock in clocks
    ]


def decide_allegation_visits(
    cause: RecordedEvent,
    allegation: AllegationReceived,
    practice: VisitsPractice,
    no_longer_looked_after: Collection[uuid.UUID] = (),
) -> Reactions:
    """An allegation against a household: a social worker sees each child it names (Ofsted 2023)
    who is still looked after; the duty to visit a child ended with their care."""
    due = rules.allegation_follow_up(allegation.received_at, practice)
    reactions: Reactions = []
    named = dict.fromkeys(allegation.child_ids or cause.child_ids)
    for child_id in (c for c in named if c not in no_longer_looked_after):
        stream = child_stream(child_id)
        clock = _clock(cause, f"follow-up-visit-{child_id}", due, stream, child_id, allegation.household_id)
        reactions.append((stream, [clock]))
    return reactions


def decide_complaint_from_concern(
    cause: RecordedEvent, escalated: ConcernEscalated, concern: Concern | None, practice: VisitsPractice
) -> Reactions:
    """A concern escalated to a complaint is received as a complaint, with its clocks (2006 regs)."""
    if escalated.to != ConcernEscalation.COMPLAINT or escalated.complaint_id is None:
        return []
    raised_by = concern.raised_by if concern is not None else MadeBy.OTHER
    made_by = MadeBy(raised_by) if raised_by in {m.value for m in MadeBy} else MadeBy.OTHER
    household_id, received = escalated.household_id, escalated.escalated_at
    row9, lado = rules.complaint_flags(made_by=made_by, serious=False, about_household_id=household_id)
    received_event = ComplaintReceived(
        complaint_id=escalated.complaint_id,
        child_id=escalated.child_id,
        received_at=received,
        made_by=made_by,
        about_household_id=household_id,
        summary=(concern.summary if concern is not None else "") + f" (from a concern: {escalated.reason})",
        schedule7_row9=row9,
        lado_consultation=lado,
    )
    stream, child_id = complaint_stream(escalated.complaint_id), escalated.child_id
    summary = f"Complaint received from the {made_by.value} (escalated from a concern)"
    events = [_reaction(cause, "complaint", received_event, received, [child_id], summary)]
    keys = ("complaint-ack", "complaint-stage1")
    for due, key in zip(rules.complaint_clocks(received, practice), keys, strict=True):
        events.append(_clock(cause, key, due, stream, child_id, household_id, event_key=f"clock-{due.kind}:event"))
    return [(stream, events)]


# ---- the projector -------------------------------------------------------------------------------
class VisitsReactor(ChildrenView, ClocksView, ComplaintsView, PlansView, HealthView, ConcernsView, Reactor):
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
    replay_cost = 6  # seconds alone at 100k bench events (Projector.replay_cost)

    def __init__(self, practice: VisitsPractice) -> None:
        self.practice = practice  # the agency's local practice, from the app's settings

    @reacts(PlacementStarted)
    async def _first_visit_clock(
        self, conn: AsyncConnection, started: PlacementStarted, event: RecordedEvent
    ) -> Reactions:
        driver = await _driver(conn)
        placements = [placement_of(r) for r in await driver.fetch(_PLACEMENTS_OF_CHILD, started.child_id)]
        care_ended_on = await driver.fetchval(_CARE_ENDED_ON, started.child_id)
        return decide_first_visit_clock(event, started, rules.current_placement(placements), care_ended_on)

    @reacts(PlacementEnded)
    async def _stop_placement_clocks(
        self, conn: AsyncConnection, ended: PlacementEnded, event: RecordedEvent
    ) -> Reactions:
        clocks = await open_clocks_of_placement(await _driver(conn), ended.placement_id)
        return decide_clocks_stopped(event, clocks)

    @reacts(AllegationReceived)
    async def _visit_after_allegation(
        self, conn: AsyncConnection, allegation: AllegationReceived, event: RecordedEvent
    ) -> Reactions:
        named = list(allegation.child_ids or event.child_ids)
        rows = await (await _driver(conn)).fetch(_CARE_OF_CHILDREN, named)
        left = {r["child_id"] for r in rows if not rules.looked_after(r["care_ended_on"], r["starts"] or ())}
        return decide_allegation_visits(event, allegation, self.practice, left)

    @reacts(ConcernEscalated)
    async def _complaint_from_concern(
        self, conn: AsyncConnection, escalated: ConcernEscalated, event: RecordedEvent
    ) -> Reactions:
        if escalated.to != ConcernEscalation.COMPLAINT:
            return []
        found = await concern(await _driver(conn), escalated.concern_id)
        return decide_complaint_from_concern(event, escalated, found, self.practice)


_PLACEMENTS_OF_CHILD = placements_of_child("$1")
_CARE_ENDED_ON = "SELECT care_ended_on FROM visits_children WHERE child_id = $1"
_CARE_OF_CHILDREN = (
    "SELECT c.child_id, c.care_ended_on, (SELECT array_agg(p.start_date) FROM visits_placements p "
    "WHERE p.child_id = c.child_id) AS starts FROM visits_children c "
    "WHERE c.child_id = ANY($1::uuid[]) AND c.care_ended_on IS NOT NULL"
)


async def _driver(conn: AsyncConnection) -> Any:
    """The step's driver (asyncpg) connection: the same session, inside the step's transaction."""
    return (await conn.get_raw_connection()).driver_connection


def projectors(settings: Settings) -> list[Projector]:
    return [VisitsReactor(settings.visits)]
