"""The records carers keeps beside the household, each folded from its own stream: a placement, an
allegation, an allegation reported for triage, and a social worker's supervision clock."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from pydantic import BaseModel, Field

from services.carers.rules.clocks import OpenDeadline, track_clock
from shared.contracts.base import Event, load
from shared.contracts.carers import (
    AllegationOutcomeRecorded,
    AllegationReceived,
    AllegationReportClosed,
    AllegationReported,
    LadoReferralMade,
    LadoWrittenConfirmationSent,
    PlacementEnded,
    PlacementStarted,
)
from shared.eventstore import RecordedEvent


class PlacementState(BaseModel):
    """What a command on a placement needs: whose it is, whether it ended, its open clocks."""

    placement_id: uuid.UUID
    child_id: uuid.UUID
    household_id: uuid.UUID
    start_date: date
    ended: bool = False
    end_date: date | None = None
    deadlines: dict[str, OpenDeadline] = Field(default_factory=dict)
    version: int = 0


def fold_placement(events: Sequence[RecordedEvent]) -> PlacementState | None:
    state: PlacementState | None = None
    deadlines: dict[str, OpenDeadline] = {}
    for event in events:
        payload = load(event)
        if isinstance(payload, PlacementStarted):
            state = PlacementState(
                placement_id=payload.placement_id,
                child_id=payload.child_id,
                household_id=payload.household_id,
                start_date=payload.start_date,
            )
        elif isinstance(payload, PlacementEnded) and state is not None:
            state.ended, state.end_date = True, payload.end_date
        track_clock(deadlines, payload)
    if state is not None:
        state.deadlines, state.version = deadlines, events[-1].stream_version
    return state


class AllegationState(BaseModel):
    """An allegation, its LADO referral and outcome, and its open clocks (also its read model)."""

    allegation_id: uuid.UUID
    household_id: uuid.UUID
    member_id: uuid.UUID | None = None
    child_ids: list[uuid.UUID] = Field(default_factory=list)
    received_at: datetime
    summary: str
    source: str | None = None
    report_id: uuid.UUID | None = None
    referred_at: datetime | None = None
    lado_name: str | None = None
    reference: str | None = None
    written_confirmation_at: datetime | None = None
    outcome: str | None = None
    dbs_referral_made: bool | None = None
    decided_at: datetime | None = None
    deadlines: dict[str, OpenDeadline] = Field(default_factory=dict)
    version: int = 0


def allegation_received(payload: AllegationReceived) -> AllegationState:
    return AllegationState(
        allegation_id=payload.allegation_id,
        household_id=payload.household_id,
        member_id=payload.member_id,
        child_ids=list(payload.child_ids),
        received_at=payload.received_at,
        summary=payload.summary,
        source=payload.source,
        report_id=payload.report_id,
    )


def evolve_allegation(state: AllegationState, payload: Event, stream_version: int) -> AllegationState:
    """The allegation after one more event of its stream."""
    match payload:
        case LadoReferralMade():
            state.referred_at, state.lado_name, state.reference = (
                payload.referred_at,
                payload.lado_name,
                payload.reference,
            )
        case LadoWrittenConfirmationSent():
            state.written_confirmation_at = payload.sent_at
        case AllegationOutcomeRecorded():
            state.outcome, state.dbs_referral_made = payload.outcome, payload.dbs_referral_made
            state.decided_at = payload.decided_at
    track_clock(state.deadlines, payload)
    state.version = max(state.version, stream_version)
    return state


def fold_allegation(events: Sequence[RecordedEvent]) -> AllegationState | None:
    state: AllegationState | None = None
    for event in events:
        payload = load(event)
        if isinstance(payload, AllegationReceived):
            state = allegation_received(payload)
        if state is not None:
            state = evolve_allegation(state, payload, event.stream_version)
    return state


class AllegationReport(BaseModel):
    """An allegation reported for triage, and the registered manager's triage once made."""

    report: AllegationReported
    triage: AllegationReportClosed | None = None
    deadlines: dict[str, OpenDeadline] = Field(default_factory=dict)
    version: int = 0


def fold_report(events: Sequence[RecordedEvent]) -> AllegationReport | None:
    state: AllegationReport | None = None
    for event in events:
        payload = load(event)
        if isinstance(payload, AllegationReported):
            state = AllegationReport(report=payload)
        elif state is None:
            continue
        elif isinstance(payload, AllegationReportClosed):
            state.triage = payload
        track_clock(state.deadlines, payload)
        state.version = event.stream_version
    return state


def open_clocks_of(events: Sequence[RecordedEvent]) -> dict[str, OpenDeadline]:
    """A stream's open clocks (a social worker's supervision, say)."""
    deadlines: dict[str, OpenDeadline] = {}
    for event in events:
        track_clock(deadlines, load(event))
    return deadlines
