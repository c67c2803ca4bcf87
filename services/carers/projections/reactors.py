"""carers' reactors: the hold every allegation puts on its household, and what carers does when
the child's record (the visits service's) gains a behavioural incident, needs, or a concern
escalated to an allegation. They read the
household and the child's placements from this service's own read models, as of the cause."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.carers.commands import (
    allegation_hold,
    decide_allegation_from_concern,
    decide_bedroom_seen,
    decide_incident_agenda,
    decide_needs_training,
    on_the_agenda,
)
from services.carers.events import (
    AllegationReceived,
    ChildNeedsRecorded,
    ConcernEscalated,
    ConcernEscalation,
    IncidentRecorded,
    VisitRecorded,
    household_stream,
)
from services.carers.projections.households import PlacementRow
from services.carers.rules import HouseholdState
from shared.eventstore import Reactor, RecordedEvent, reaction_metadata, reacts
from shared.eventstore.projector import Reactions
from shared.practice import CarersPractice
from shared.settings import Settings

log = logging.getLogger(__name__)


class AllegationHoldReactor(Reactor):
    """Every allegation puts its household on hold. The command appends the hold itself; this
    repairs a crash between its two appends (same event id, so a repeat is a no-op)."""

    name = "carers.allegation_holds"

    @reacts(AllegationReceived)
    async def _received(self, conn: AsyncConnection, allegation: AllegationReceived, event: RecordedEvent) -> Reactions:
        hold = allegation_hold(event, reaction_metadata("carers", event))
        return [(household_stream(allegation.household_id), [hold])]


class ConcernAllegationReactor(Reactor):
    """A concern about a placed child escalated to an allegation (visits) becomes the allegation,
    recorded as `POST /v1/allegations` records one; its hold follows (AllegationHoldReactor)."""

    name = "carers.concern_allegations"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @reacts(ConcernEscalated)
    async def _escalated(self, conn: AsyncConnection, escalated: ConcernEscalated, event: RecordedEvent) -> Reactions:
        if escalated.to != ConcernEscalation.ALLEGATION or escalated.household_id is None:
            return []
        state = await household_state(conn, escalated.household_id)
        reaction = decide_allegation_from_concern(event, escalated, state, self.settings) if state else None
        if reaction is None:  # visits names only a household the child was placed with: worth a look
            log.warning(
                "concern %s escalated to an allegation about household %s records none: the household or the "
                "child's placement there is not in carers' records",
                escalated.concern_id,
                escalated.household_id,
            )
            return []
        return [reaction]


class _FollowsTheChild(Reactor):
    """A reactor that needs the agency's local practice (from the app's settings)."""

    def __init__(self, practice: CarersPractice) -> None:
        self.practice = practice


class IncidentAgendaReactor(_FollowsTheChild):
    """A behavioural incident in a household (carer assaulted, damage, police called) goes on the
    agenda of the household's next supervision, with its clock."""

    name = "carers.incident_agenda"

    @reacts(IncidentRecorded)
    async def _incident(self, conn: AsyncConnection, incident: IncidentRecorded, event: RecordedEvent) -> Reactions:
        if not on_the_agenda(incident):
            return []
        if incident.household_id is not None:
            households = [incident.household_id]
        else:  # the households the child is placed with
            households = sorted(
                {p.household_id for p in await open_placements_of_child(conn, incident.child_id)}, key=str
            )
        metadata = reaction_metadata("carers", event)
        reactions = []
        for household_id in households:
            state = await household_state(conn, household_id)
            if state is not None:
                reactions.append(decide_incident_agenda(event, incident, state, self.practice, metadata))
        return reactions


class ChildNeedsReactor(_FollowsTheChild):
    """Needs recorded for a placed child start training clocks for the carers who lack the courses
    those needs call for (matching)."""

    name = "carers.child_needs"

    @reacts(ChildNeedsRecorded)
    async def _needs(self, conn: AsyncConnection, needs: ChildNeedsRecorded, event: RecordedEvent) -> Reactions:
        if not needs.needs:
            return []
        metadata = reaction_metadata("carers", event)
        reactions = []
        for placement in await open_placements_of_child(conn, needs.child_id):
            state = await household_state(conn, placement.household_id)
            if state is None:
                continue
            clocks = decide_needs_training(
                event, needs, placement.placement_id, placement.start_date, state, self.practice, metadata
            )
            if clocks:
                reactions.append((household_stream(state.household_id), clocks))
        return reactions


class BedroomSeenReactor(_FollowsTheChild):
    """A visit by the child's social worker (visits) that saw the child's bedroom meets the bedroom
    clock of each placement the child is in (any visitor's sighting counts, issue 18)."""

    name = "carers.bedroom_seen"

    @reacts(VisitRecorded)
    async def _visit(self, conn: AsyncConnection, visit: VisitRecorded, event: RecordedEvent) -> Reactions:
        if not visit.bedroom_seen:
            return []
        metadata = reaction_metadata("carers", event)
        reactions = []
        for placement in await open_placements_of_child(conn, visit.child_id):
            state = await household_state(conn, placement.household_id)
            if state is None:
                continue
            events = decide_bedroom_seen(event, visit, placement.placement_id, state, self.practice, metadata)
            if events:
                reactions.append((household_stream(state.household_id), events))
        return reactions


# Read on the step's driver (asyncpg) connection, inside its transaction: every visit that saw a
# bedroom asks, and through SQLAlchemy the statement cost several times the query.
async def household_state(conn: AsyncConnection, household_id: uuid.UUID) -> HouseholdState | None:
    state = await (await _driver(conn)).fetchval(_HOUSEHOLD_STATE, household_id)
    return HouseholdState.model_validate(state) if state is not None else None


async def open_placements_of_child(conn: AsyncConnection, child_id: uuid.UUID) -> list[PlacementRow]:
    rows = await (await _driver(conn)).fetch(_OPEN_PLACEMENTS, child_id)
    return [PlacementRow.model_validate(r["data"]) for r in rows]


async def _driver(conn: AsyncConnection) -> Any:
    return (await conn.get_raw_connection()).driver_connection


_HOUSEHOLD_STATE = "SELECT state FROM carers_households WHERE household_id = $1"
_OPEN_PLACEMENTS = (
    "SELECT data FROM carers_placements WHERE child_id = $1 AND end_date IS NULL ORDER BY start_date, placement_id"
)
