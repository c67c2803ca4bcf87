"""Reading the carers read models into typed rows, on a driver connection of the store's pool
(`store.acquire()`), and the allegation reports, which are read from their streams."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import asyncpg
from pydantic import BaseModel

from services.carers.events import AllegationReportClosed, report_stream
from services.carers.projections.households import PlacementRow
from services.carers.rules import (
    AgendaItem,
    AllegationState,
    AmendmentState,
    ComplianceItem,
    ConcernState,
    HoldState,
    HouseholdState,
    HouseholdStatus,
    IncompleteEnding,
    MemberState,
    Terms,
    age_on,
    compliance,
    dbs_status,
    fold_report,
    is_adult,
)
from services.carers.rules.household import Determination, TemporaryApproval
from services.carers.rules.journey import JourneyStage
from shared.contracts.carers import TrainingRecorded
from shared.eventstore import EventStore
from shared.practice import CarersPractice


async def household(conn: asyncpg.Connection, household_id: uuid.UUID) -> HouseholdState | None:
    state = await conn.fetchval("SELECT state FROM carers_households WHERE household_id = $1", household_id)
    return HouseholdState.model_validate(state) if state is not None else None


async def placements_of(conn: asyncpg.Connection, household_id: uuid.UUID) -> list[PlacementRow]:
    rows = await conn.fetch(
        "SELECT data FROM carers_placements WHERE household_id = $1 ORDER BY start_date, placement_id", household_id
    )
    return [PlacementRow.model_validate(r["data"]) for r in rows]


async def placement(conn: asyncpg.Connection, placement_id: uuid.UUID) -> PlacementRow | None:
    data = await conn.fetchval("SELECT data FROM carers_placements WHERE placement_id = $1", placement_id)
    return PlacementRow.model_validate(data) if data is not None else None


async def allegation(conn: asyncpg.Connection, allegation_id: uuid.UUID) -> AllegationState | None:
    state = await conn.fetchval("SELECT state FROM carers_allegations WHERE allegation_id = $1", allegation_id)
    return AllegationState.model_validate(state) if state is not None else None


# ---- a household -------------------------------------------------------------------------------
class MemberView(MemberState):
    age: int | None  # None: the date of birth was destroyed with the record
    adult: bool
    dbs: str  # clear | missing | concerns | expired
    dbs_expires_on: date | None


class HouseholdView(BaseModel):
    """A household: members with their checks, approval and terms, holds, placements, and what is
    open in its supervision."""

    household_id: uuid.UUID
    name: str
    local_authority: str | None
    connected_person: bool
    supervising_social_worker_id: str | None
    status: HouseholdStatus
    approved_at: datetime | None
    terms: Terms | None
    members: list[MemberView]
    holds: list[HoldState]
    on_hold: bool
    current_placements: list[PlacementRow]
    past_placements: list[PlacementRow]
    open_concerns: list[ConcernState]
    supervision_agenda: list[AgendaItem]
    incomplete_endings: list[IncompleteEnding]
    trainings: list[TrainingRecorded]
    amendments: list[AmendmentState]
    reviews: int
    last_supervision_at: datetime | None
    last_review_at: datetime | None
    journey_stage: JourneyStage | None = None
    agreement_signed_on: date | None = None
    resignation_takes_effect_at: datetime | None = None
    temporary_approval: TemporaryApproval | None = None
    determination: Determination | None = None
    version: int


def member_view(member: MemberState, today: date) -> MemberView:
    dbs, expiry = dbs_status(member, today)
    return MemberView(
        **member.model_dump(),
        age=age_on(member.date_of_birth, today) if member.date_of_birth is not None else None,
        adult=is_adult(member, today),
        dbs=dbs,
        dbs_expires_on=expiry,
    )


def household_view(state: HouseholdState, placements: list[PlacementRow], today: date) -> HouseholdView:
    return HouseholdView(
        household_id=state.household_id,
        name=state.name,
        local_authority=state.local_authority,
        connected_person=state.connected_person,
        supervising_social_worker_id=state.supervising_social_worker_id,
        status=state.status,
        approved_at=state.approved_at,
        terms=state.terms,
        members=[member_view(m, today) for m in state.members.values()],
        holds=list(state.holds.values()),
        on_hold=bool(state.open_holds),
        current_placements=[p for p in placements if not p.ended],
        past_placements=[p for p in placements if p.ended],
        open_concerns=[c for c in state.concerns.values() if c.addressed_at is None],
        supervision_agenda=[a for a in state.agenda.values() if a.discussed_at is None],
        incomplete_endings=list(state.incomplete_endings.values()),
        amendments=list(state.amendments),
        trainings=state.trainings,
        reviews=state.reviews,
        last_supervision_at=state.last_supervision_at,
        last_review_at=state.last_review_at,
        journey_stage=state.journey.stage,
        agreement_signed_on=state.agreement_signed_on,
        resignation_takes_effect_at=state.resignation_takes_effect_at,
        temporary_approval=state.temporary_approval,
        determination=state.determination,
        version=state.version,
    )


# ---- the agency's view --------------------------------------------------------------------------
class OverdueHousehold(BaseModel):
    household_id: uuid.UUID
    name: str
    status: HouseholdStatus
    on_hold: bool
    overdue_count: int
    overdue: list[ComplianceItem]


async def overdue_households(
    conn: asyncpg.Connection, now: datetime, practice: CarersPractice
) -> list[OverdueHousehold]:
    """Every household with anything overdue at `now` (the agency's view)."""
    found = []
    for row in await conn.fetch("SELECT state FROM carers_households ORDER BY name, household_id"):
        report = compliance(HouseholdState.model_validate(row["state"]), now, practice)
        if report.overdue_count:
            found.append(
                OverdueHousehold(
                    household_id=report.household_id,
                    name=report.name,
                    status=report.status,
                    on_hold=report.on_hold,
                    overdue_count=report.overdue_count,
                    overdue=report.overdue,
                )
            )
    return found


# ---- allegation reports (read from their streams) ------------------------------------------------
class AllegationReportView(BaseModel):
    """An allegation reported for triage, as the reporter gave it, and the triage once made."""

    report_id: uuid.UUID
    household_id: uuid.UUID
    member_id: uuid.UUID | None
    child_ids: list[uuid.UUID]
    received_at: datetime
    summary: str
    source: str | None
    reported_by: str
    reporter_role: str
    triage: AllegationReportClosed | None
    version: int


async def allegation_report(store: EventStore, report_id: uuid.UUID) -> AllegationReportView | None:
    found = fold_report(await store.read_stream(report_stream(report_id)))
    if found is None:
        return None
    return AllegationReportView(**found.report.model_dump(), triage=found.triage, version=found.version)
