"""The household read models: `carers_households` keeps each household's folded state (the fold the
commands and the placement check use), `carers_placements` and `carers_allegations` one row per
placement and allegation. Overdue is never stored: queries derive it from due dates and a clock."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any, get_args

from pydantic import BaseModel
from sqlalchemy import text

from services.carers.events import (
    AgencyDecisionMade,
    AllegationOutcomeRecorded,
    AllegationReceived,
    ApplicantNotified,
    ApplicationReceived,
    ApprovalEnded,
    AssessmentCompleted,
    CheckRecorded,
    DeadlineCancelled,
    DeadlineMet,
    DeadlineSet,
    EndingRecorded,
    EnquiryReceived,
    EnquiryReplied,
    FosterCareAgreementSigned,
    HoldLifted,
    HoldPlaced,
    HouseholdApproved,
    HouseholdEntryAmended,
    HouseholdRefused,
    HouseholdRegistered,
    InitialVisitHeld,
    LadoReferralMade,
    LadoWrittenConfirmationSent,
    MemberAdded,
    MemberDemographicsRecorded,
    MemberLeft,
    PanelMinutesReceived,
    PanelRecommended,
    PlacementEnded,
    PlacementStarted,
    PlacementType,
    QualifyingDeterminationDecided,
    QualifyingDeterminationMade,
    RepresentationsReceived,
    ResignationNoticeReceived,
    ReviewRecorded,
    Stage1Decided,
    SupervisionAgendaItemAdded,
    SupervisionRecorded,
    TemporaryApprovalExtended,
    TemporaryApprovalGranted,
    TrainingRecorded,
)
from services.carers.rules import (
    AllegationState,
    HouseholdState,
    allegation_received,
    ending_parts_recorded,
    evolve,
    evolve_allegation,
    is_carers_clock,
)
from shared.contracts.base import Event
from shared.eventstore import Batch, Projector, RecordedEvent, handles

# The events of a household's own stream (those about it on other streams have handlers of their own).
HouseholdStreamEvent = (
    HouseholdRegistered
    | MemberAdded
    | MemberLeft
    | MemberDemographicsRecorded
    | HouseholdEntryAmended
    | CheckRecorded
    | HouseholdApproved
    | HouseholdRefused
    | ApprovalEnded
    | SupervisionRecorded
    | SupervisionAgendaItemAdded
    | TrainingRecorded
    | ReviewRecorded
    | HoldPlaced
    | HoldLifted
    | EnquiryReceived
    | EnquiryReplied
    | InitialVisitHeld
    | ApplicationReceived
    | Stage1Decided
    | AssessmentCompleted
    | PanelRecommended
    | PanelMinutesReceived
    | AgencyDecisionMade
    | ApplicantNotified
    | FosterCareAgreementSigned
    | ResignationNoticeReceived
    | TemporaryApprovalGranted
    | TemporaryApprovalExtended
    | QualifyingDeterminationMade
    | RepresentationsReceived
    | QualifyingDeterminationDecided
)
AllegationEvent = AllegationReceived | LadoReferralMade | LadoWrittenConfirmationSent | AllegationOutcomeRecorded
ClockEvent = DeadlineSet | DeadlineMet | DeadlineCancelled


class PlacementRow(BaseModel):
    """A placement as `carers_placements` keeps it (and GET /placements/{id} answers)."""

    placement_id: uuid.UUID
    child_id: uuid.UUID
    household_id: uuid.UUID
    start_date: date
    long_term: bool
    connected_person: bool
    placing_authority: str
    placement_type: PlacementType | None = None
    child_needs: list[str] = []
    ended: bool = False
    end_date: date | None = None
    end_reason: str | None = None
    end_narrative: str | None = None
    carer_feelings: str | None = None
    child_wishes_contact: bool | None = None
    child_wishes: str | None = None
    carer_views: str | None = None
    ending_meeting_held: bool | None = None
    ending_meeting_on: date | None = None
    ending_recorded: list[str] | None = None  # once ended: which parts of a good ending are recorded
    ending_flagged: bool | None = None  # once ended: none of them is
    version: int = 0


def evolve_placement(
    row: PlacementRow | None, payload: PlacementStarted | PlacementEnded | EndingRecorded, version: int
) -> PlacementRow | None:
    """The placement's row after one event of its stream."""
    if isinstance(payload, PlacementStarted):
        row = PlacementRow.model_validate(payload.model_dump())
    elif row is None:
        return None
    else:
        if isinstance(payload, PlacementEnded):
            row.end_date, row.end_reason, row.end_narrative = payload.end_date, payload.reason, payload.narrative
            row.carer_feelings = payload.carer_feelings
        row.ended = True
        _record_ending(row, payload)
    row.version = version
    return row


_ENDING_FIELDS = ("child_wishes_contact", "child_wishes", "carer_views", "ending_meeting_held", "ending_meeting_on")


def _record_ending(row: PlacementRow, payload: PlacementEnded | EndingRecorded) -> None:
    """What the event records of the ending (what it leaves out stays as it was), and its parts."""
    for field in _ENDING_FIELDS:
        value = getattr(payload, field)
        if value is not None:
            setattr(row, field, value)
    row.ending_recorded = ending_parts_recorded(
        child_wishes_contact=row.child_wishes_contact,
        child_wishes=row.child_wishes,
        carer_views=row.carer_views or row.carer_feelings,
        ending_meeting_held=row.ending_meeting_held,
    )
    row.ending_flagged = not row.ending_recorded


class HouseholdsProjector(Projector):
    name = "carers.households"
    tables = ("carers_households", "carers_placements", "carers_allegations")
    replay_cost = 8  # seconds alone at 100k bench events (Projector.replay_cost)

    @handles(*get_args(HouseholdStreamEvent))
    async def _household(self, batch: Batch, payload: HouseholdStreamEvent, event: RecordedEvent) -> None:
        await self._fold(batch, payload.household_id, payload, event)

    @handles(PlacementStarted, PlacementEnded, EndingRecorded)
    async def _placement(
        self, batch: Batch, payload: PlacementStarted | PlacementEnded | EndingRecorded, event: RecordedEvent
    ) -> None:
        await self._fold(batch, payload.household_id, payload, event)
        key = ("carers_placements", str(payload.placement_id))
        row = batch.kept(key)
        if row is None:
            found = await batch.first(_PLACEMENT_DATA, {"p": str(payload.placement_id)}, key)
            row = PlacementRow.model_validate(found.data) if found is not None else None
        row = evolve_placement(row, payload, event.stream_version)
        if row is not None:
            batch.put(_UPSERT_PLACEMENT, key, _placement_params(row))
            batch.keep(key, row)

    @handles(*get_args(AllegationEvent))
    async def _allegation_event(self, batch: Batch, payload: AllegationEvent, event: RecordedEvent) -> None:
        await self._fold(batch, payload.household_id, payload, event)
        await self._allegation(batch, payload, event)

    @handles(*get_args(ClockEvent))
    async def _clock(self, batch: Batch, payload: ClockEvent, event: RecordedEvent) -> None:
        if payload.household_id is None or not is_carers_clock(payload.kind):
            return  # another service's clock, or one about no household (a report's triage)
        await self._fold(batch, payload.household_id, payload, event)
        await self._allegation(batch, payload, event)

    async def _fold(self, batch: Batch, household: uuid.UUID, payload: Event, event: RecordedEvent) -> None:
        household_id = str(household)
        key = ("carers_households", household_id)
        # The fold reads the state it wrote last; within a batch that is the one it kept.
        current = batch.kept(key)
        if current is None:
            row = await batch.first(_HOUSEHOLD_STATE, {"h": household_id}, key)
            current = HouseholdState.model_validate(row.state) if row is not None else None
        state = evolve(current, payload, stream_id=event.stream_id, stream_version=event.stream_version)
        if state is not None:
            batch.put(_UPSERT_HOUSEHOLD, key, _household_params(state, event.position))
            batch.keep(key, state)

    async def _allegation(self, batch: Batch, payload: Event, event: RecordedEvent) -> None:
        """The allegation's row, for events of an allegation's own stream."""
        if not event.stream_id.startswith("allegation-") or event.stream_id.startswith("allegation-report-"):
            return
        allegation_id = event.stream_id.removeprefix("allegation-")
        key = ("carers_allegations", allegation_id)
        state = batch.kept(key)
        if state is None:
            row = await batch.first(_ALLEGATION_STATE, {"a": allegation_id}, key)
            state = AllegationState.model_validate(row.state) if row is not None else None
        if isinstance(payload, AllegationReceived):
            state = allegation_received(payload)
        if state is None:
            return
        state = evolve_allegation(state, payload, event.stream_version)
        batch.put(_UPSERT_ALLEGATION, key, _allegation_params(state))
        batch.keep(key, state)


_HOUSEHOLD_STATE = text("SELECT state FROM carers_households WHERE household_id = :h")
_UPSERT_HOUSEHOLD = text(
    "INSERT INTO carers_households (household_id, name, status, version, state, position) "
    "VALUES (:h, :n, :s, :v, CAST(:st AS jsonb), :p) ON CONFLICT (household_id) DO UPDATE SET "
    "name = EXCLUDED.name, status = EXCLUDED.status, version = EXCLUDED.version, "
    "state = EXCLUDED.state, position = EXCLUDED.position"
)
_PLACEMENT_DATA = text("SELECT data FROM carers_placements WHERE placement_id = :p")
_UPSERT_PLACEMENT = text(
    "INSERT INTO carers_placements (placement_id, household_id, child_id, start_date, end_date, data) "
    "VALUES (:p, :h, :c, :s, :e, CAST(:d AS jsonb)) ON CONFLICT (placement_id) DO UPDATE SET "
    "end_date = EXCLUDED.end_date, data = EXCLUDED.data"
)
_ALLEGATION_STATE = text("SELECT state FROM carers_allegations WHERE allegation_id = :a")
# The row's `events` (each allegation's history, which the state used to be refolded from) is no
# longer needed: the state folds one event at a time. New rows keep it empty.
_UPSERT_ALLEGATION = text(
    "INSERT INTO carers_allegations (allegation_id, household_id, state, events) "
    "VALUES (:a, :h, CAST(:s AS jsonb), '[]'::jsonb) ON CONFLICT (allegation_id) DO UPDATE SET state = EXCLUDED.state"
)


def _household_params(state: HouseholdState, position: int) -> Callable[[], dict[str, Any]]:
    def params() -> dict[str, Any]:
        return {
            "h": str(state.household_id),
            "n": state.name,
            "s": state.status.value,
            "v": state.version,
            "st": state.model_dump_json(),
            "p": position,
        }

    return params


def _placement_params(row: PlacementRow) -> Callable[[], dict[str, Any]]:
    def params() -> dict[str, Any]:
        return {
            "p": str(row.placement_id),
            "h": str(row.household_id),
            "c": str(row.child_id),
            "s": row.start_date,
            "e": row.end_date,
            "d": row.model_dump_json(),
        }

    return params


def _allegation_params(state: AllegationState) -> Callable[[], dict[str, Any]]:
    def params() -> dict[str, Any]:
        return {"a": str(state.allegation_id), "h": str(state.household_id), "s": state.model_dump_json()}

    return params
