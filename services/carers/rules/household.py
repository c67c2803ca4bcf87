"""The household, folded from the log: one typed function per event that changes it. The same fold
runs in the commands (to decide), inside the locked append (placement eligibility) and in the
projector (the read model), so all three agree by construction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from functools import singledispatch

from pydantic import BaseModel, Field

from services.carers.events import household_stream
from services.carers.rules.clocks import OpenDeadline, is_carers_clock, opened
from services.carers.rules.journey import (
    JOURNEY_EVENTS,
    JourneyStage,
    JourneyState,
    MemberChecks,
    clear_kinds,
    evolve_journey,
    stage1_outstanding,
)
from services.carers.rules.oversight import ending_parts_of
from services.carers.rules.tables import (
    CARER_ROLES,
    ENDING_PARTS,
    STATUTORY,
    CheckResult,
    HouseholdStatus,
    MemberRole,
    Terms,
    add_months_at,
    adult_by_birth,
)
from shared.contracts.base import Event, load
from shared.contracts.carers import (
    AllegationOutcomeRecorded,
    AllegationReceived,
    ApprovalEnded,
    CheckRecorded,
    EndingRecorded,
    FosterCareAgreementSigned,
    HoldLifted,
    HoldPlaced,
    HouseholdApproved,
    HouseholdEntryAmended,
    HouseholdRefused,
    HouseholdRegistered,
    MemberAdded,
    MemberDemographicsRecorded,
    MemberLeft,
    PlacementEnded,
    PlacementStarted,
    QualifyingDeterminationDecided,
    QualifyingDeterminationMade,
    RepresentationsReceived,
    ResignationNoticeReceived,
    ReviewRecorded,
    SupervisionAgendaItemAdded,
    SupervisionRecorded,
    TemporaryApprovalExtended,
    TemporaryApprovalGranted,
    TrainingRecorded,
)
from shared.contracts.deadlines import DeadlineCancelled, DeadlineMet, DeadlineSet
from shared.eventstore import RecordedEvent


class CheckState(BaseModel):
    check_id: uuid.UUID
    kind: str
    result: CheckResult
    checked_at: date
    expires_on: date | None = None


class Demographics(BaseModel):
    sex: str
    ethnicity: str
    disability: str
    connected_person: bool


class MemberState(BaseModel):
    member_id: uuid.UUID
    name: str
    role: MemberRole
    date_of_birth: date | None  # None: the household's record was destroyed (crypto-shredding)
    joined_on: date
    checks: list[CheckState] = Field(default_factory=list)
    left_on: date | None = None  # left the household: no longer one of its adults from then
    left_reason: str | None = None
    demographics: Demographics | None = None  # as declared, for Ofsted's annual data collection

    def lives_here(self, on: date) -> bool:
        return self.joined_on <= on and (self.left_on is None or self.left_on > on)


class AmendmentState(BaseModel):
    """A correction beside an entry of the household's record."""

    amendment_id: uuid.UUID
    amends_event_id: uuid.UUID
    amends_type: str
    reason: str
    correction: str


class HoldState(BaseModel):
    hold_id: uuid.UUID
    reason: str
    placed_at: datetime
    allegation_id: uuid.UUID | None = None
    lifted_at: datetime | None = None
    lift_reason: str | None = None


class ConcernState(BaseModel):
    concern_id: uuid.UUID
    text: str
    raised_at: datetime
    supervision_id: uuid.UUID
    addressed_at: datetime | None = None
    action: str | None = None


class PlacementRef(BaseModel):
    placement_id: uuid.UUID
    child_id: uuid.UUID
    start_date: date
    child_needs: list[str] = Field(default_factory=list)


class AgendaItem(BaseModel):
    """A behavioural incident to discuss at the household's next supervision."""

    item_id: uuid.UUID
    incident_id: uuid.UUID | None = None
    child_id: uuid.UUID | None = None
    category: str
    occurred_at: datetime
    summary: str
    added_at: datetime
    discussed_at: datetime | None = None
    supervision_id: uuid.UUID | None = None


class IncompleteEnding(BaseModel):
    placement_id: uuid.UUID
    child_id: uuid.UUID
    end_date: date
    missing: list[str]


class AllegationRef(BaseModel):
    allegation_id: uuid.UUID
    received_at: datetime
    hold_recorded: bool = False
    outcome: str | None = None


class TemporaryApproval(BaseModel):
    """A connected person's temporary approval for the named children (CPPR 2010 reg 24, 25)."""

    approval_id: uuid.UUID
    granted_at: datetime
    expires_at: datetime
    child_ids: list[uuid.UUID]
    extended: bool = False


class Determination(BaseModel):
    """A qualifying determination (termination or change of terms proposed) and where it stands."""

    determination_id: uuid.UUID
    proposal: str
    new_terms: Terms | None = None
    representations_until: datetime
    route: str | None = None  # representations | irm, once the carers answer
    decided: bool = False
    outcome: str | None = None


class HouseholdState(BaseModel):
    household_id: uuid.UUID
    name: str = ""
    local_authority: str | None = None  # ONS code of the authority the household lives in
    connected_person: bool = False
    supervising_social_worker_id: str | None = None
    status: HouseholdStatus = HouseholdStatus.ASSESSMENT
    approved_at: datetime | None = None
    terms: Terms | None = None
    members: dict[str, MemberState] = Field(default_factory=dict)
    holds: dict[str, HoldState] = Field(default_factory=dict)
    deadlines: dict[str, OpenDeadline] = Field(default_factory=dict)
    concerns: dict[str, ConcernState] = Field(default_factory=dict)
    placements: dict[str, PlacementRef] = Field(default_factory=dict)
    # Every child placed here at any time: what a supervision or an allegation may name.
    children_placed: list[uuid.UUID] = Field(default_factory=list)  # in order of first placement
    allegations: dict[str, AllegationRef] = Field(default_factory=dict)
    agenda: dict[str, AgendaItem] = Field(default_factory=dict)
    incomplete_endings: dict[str, IncompleteEnding] = Field(default_factory=dict)
    last_supervision_at: datetime | None = None
    last_unannounced_at: datetime | None = None
    last_review_at: datetime | None = None
    reviews: int = 0
    trainings: list[TrainingRecorded] = Field(default_factory=list)
    journey: JourneyState = Field(default_factory=JourneyState)
    agreement_signed_on: date | None = None  # the foster care agreement on record (reg 27(5)(b))
    resignation_takes_effect_at: datetime | None = None  # the carers' notice received (reg 28(13))
    temporary_approval: TemporaryApproval | None = None
    determination: Determination | None = None
    amendments: list[AmendmentState] = Field(default_factory=list)
    version: int = 0

    @property
    def open_holds(self) -> list[HoldState]:
        return [h for h in self.holds.values() if h.lifted_at is None]

    def carers(self) -> list[MemberState]:
        return [m for m in self.members.values() if m.role in CARER_ROLES]

    def review_due(self) -> datetime | None:
        base = self.last_review_at or self.approved_at
        return add_months_at(base, STATUTORY.annual_review_months) if base else None

    def stage1_outstanding(self, on: date) -> list[str]:
        """The statutory checks of stage 1 not yet back clear (empty: stage 1 can be decided)."""
        members = [
            MemberChecks(
                name=m.name,
                role=m.role,
                adult=adult_by_birth(m.date_of_birth, on),
                clear=clear_kinds([(c.kind, c.result) for c in m.checks]),
            )
            for m in self.members.values()
        ]
        return stage1_outstanding(members)

    def open_clocks(self, kind: str, **match: object) -> list[OpenDeadline]:
        """The household's open clocks of `kind` whose fields equal `match` (member_id=..., ...)."""
        return [
            d for d in self.deadlines.values() if d.kind == kind and all(getattr(d, k) == v for k, v in match.items())
        ]


def evolve(
    state: HouseholdState | None, payload: Event, *, stream_id: str, stream_version: int
) -> HouseholdState | None:
    """The household after one event. Events that do not concern it leave it as it is."""
    if isinstance(payload, HouseholdRegistered):
        state = HouseholdState(
            household_id=payload.household_id,
            name=payload.name,
            connected_person=payload.connected_person,
            supervising_social_worker_id=payload.supervising_social_worker_id,
            local_authority=payload.local_authority,
        )
    if state is None:
        return None
    if stream_id == household_stream(state.household_id):
        state.version = max(state.version, stream_version)
    _apply(payload, state)
    return state


def fold_household(events: Iterable[RecordedEvent]) -> HouseholdState | None:
    """The household as its stream and the events about it elsewhere leave it (None: unknown)."""
    state: HouseholdState | None = None
    for event in events:
        state = evolve(state, load(event), stream_id=event.stream_id, stream_version=event.stream_version)
    return state


@singledispatch
def _apply(payload: Event, state: HouseholdState) -> None:
    """An event the household's state does not follow (a registration is `evolve`'s)."""


@_apply.register
def _member_added(payload: MemberAdded, state: HouseholdState) -> None:
    state.members[str(payload.member_id)] = MemberState(
        member_id=payload.member_id,
        name=payload.name,
        role=payload.role,
        date_of_birth=payload.date_of_birth,
        joined_on=payload.joined_on,
    )


@_apply.register
def _member_left(payload: MemberLeft, state: HouseholdState) -> None:
    member = state.members.get(str(payload.member_id))
    if member is not None and member.left_on is None:
        member.left_on, member.left_reason = payload.left_on, payload.reason


@_apply.register
def _amended(payload: HouseholdEntryAmended, state: HouseholdState) -> None:
    state.amendments.append(
        AmendmentState(
            amendment_id=payload.amendment_id,
            amends_event_id=payload.amends_event_id,
            amends_type=payload.amends_type,
            reason=payload.reason,
            correction=payload.correction,
        )
    )
    if payload.local_authority is not None:
        state.local_authority = payload.local_authority


@_apply.register
def _demographics(payload: MemberDemographicsRecorded, state: HouseholdState) -> None:
    member = state.members.get(str(payload.member_id))
    if member is not None:
        member.demographics = Demographics(
            sex=payload.sex,
            ethnicity=payload.ethnicity,
            disability=payload.disability,
            connected_person=payload.connected_person,
        )


@_apply.register
def _check_recorded(payload: CheckRecorded, state: HouseholdState) -> None:
    member = state.members.get(str(payload.member_id))
    if member is not None:
        member.checks.append(
            CheckState(
                check_id=payload.check_id,
                kind=payload.kind,
                result=payload.result,
                checked_at=payload.checked_at,
                expires_on=payload.expires_on,
            )
        )


@_apply.register
def _approved(payload: HouseholdApproved, state: HouseholdState) -> None:
    state.status = HouseholdStatus.APPROVED
    state.approved_at = payload.approved_at
    state.terms = payload.terms.model_copy(deep=True)
    state.last_review_at, state.reviews = None, 0  # a new approval has its own first review
    state.agreement_signed_on = state.resignation_takes_effect_at = None  # and its own agreement
    for member in state.members.values():
        if member.role == MemberRole.APPLICANT:
            member.role = MemberRole.CARER


@_apply.register
def _refused(payload: HouseholdRefused, state: HouseholdState) -> None:
    state.status = HouseholdStatus.REFUSED


@_apply.register
def _approval_ended(payload: ApprovalEnded, state: HouseholdState) -> None:
    state.status = HouseholdStatus.ENDED


@_apply.register
def _agreement_signed(payload: FosterCareAgreementSigned, state: HouseholdState) -> None:
    state.agreement_signed_on = payload.signed_on


@_apply.register
def _resignation(payload: ResignationNoticeReceived, state: HouseholdState) -> None:
    state.resignation_takes_effect_at = payload.takes_effect_at


@_apply.register
def _determination_made(payload: QualifyingDeterminationMade, state: HouseholdState) -> None:
    state.determination = Determination(
        determination_id=payload.determination_id,
        proposal=payload.proposal,
        new_terms=payload.new_terms,
        representations_until=payload.representations_until,
    )


@_apply.register
def _representations(payload: RepresentationsReceived, state: HouseholdState) -> None:
    if state.determination is not None:
        state.determination.route = payload.route


@_apply.register
def _determination_decided(payload: QualifyingDeterminationDecided, state: HouseholdState) -> None:
    determination = state.determination
    if determination is None:
        return
    determination.decided, determination.outcome = True, payload.outcome
    confirmed = payload.outcome == "confirmed"
    if confirmed and determination.new_terms is not None:
        state.terms = determination.new_terms.model_copy(deep=True)
    if determination.proposal == "refusal":  # the applicant's: refused, or back to the ADM
        journey = state.journey
        journey.stage = JourneyStage.CLOSED if confirmed else JourneyStage.DECISION
        if not confirmed:
            journey.decision = journey.decided_at = journey.notified_at = journey.decision_reasons = None


@_apply.register
def _temporarily_approved(payload: TemporaryApprovalGranted, state: HouseholdState) -> None:
    state.temporary_approval = TemporaryApproval(
        approval_id=payload.approval_id,
        granted_at=payload.granted_at,
        expires_at=payload.expires_at,
        child_ids=list(payload.child_ids),
    )


@_apply.register
def _temporary_extended(payload: TemporaryApprovalExtended, state: HouseholdState) -> None:
    if state.temporary_approval is not None:
        state.temporary_approval.expires_at, state.temporary_approval.extended = payload.expires_at, True


@_apply.register
def _supervised(payload: SupervisionRecorded, state: HouseholdState) -> None:
    at = payload.occurred_at
    state.last_supervision_at = max(filter(None, [state.last_supervision_at, at]))
    if payload.unannounced:
        state.last_unannounced_at = max(filter(None, [state.last_unannounced_at, at]))
    for concern in payload.concerns:
        state.concerns[str(concern.concern_id)] = ConcernState(
            concern_id=concern.concern_id, text=concern.text, raised_at=at, supervision_id=payload.supervision_id
        )
    for follow_up in payload.concerns_addressed:
        known = state.concerns.get(str(follow_up.concern_id))
        if known is not None:
            known.addressed_at, known.action = at, follow_up.action
    for item_id in payload.agenda_items_discussed:
        item = state.agenda.get(str(item_id))
        if item is not None and item.discussed_at is None:
            item.discussed_at, item.supervision_id = at, payload.supervision_id


@_apply.register
def _on_the_agenda(payload: SupervisionAgendaItemAdded, state: HouseholdState) -> None:
    state.agenda.setdefault(
        str(payload.item_id),
        AgendaItem(
            item_id=payload.item_id,
            incident_id=payload.incident_id,
            child_id=payload.child_id,
            category=payload.category,
            occurred_at=payload.occurred_at,
            summary=payload.summary,
            added_at=payload.added_at,
        ),
    )


@_apply.register
def _trained(payload: TrainingRecorded, state: HouseholdState) -> None:
    state.trainings.append(payload)


@_apply.register
def _reviewed(payload: ReviewRecorded, state: HouseholdState) -> None:
    state.last_review_at = max(filter(None, [state.last_review_at, payload.occurred_at]))
    state.reviews += 1
    if payload.new_terms is not None:
        state.terms = payload.new_terms.model_copy(deep=True)


@_apply.register
def _held(payload: HoldPlaced, state: HouseholdState) -> None:
    state.holds[str(payload.hold_id)] = HoldState(
        hold_id=payload.hold_id, reason=payload.reason, placed_at=payload.placed_at, allegation_id=payload.allegation_id
    )
    allegation = state.allegations.get(str(payload.allegation_id)) if payload.allegation_id else None
    if allegation is not None:
        allegation.hold_recorded = True


@_apply.register
def _hold_lifted(payload: HoldLifted, state: HouseholdState) -> None:
    hold = state.holds.get(str(payload.hold_id))
    if hold is not None:
        hold.lifted_at, hold.lift_reason = payload.lifted_at, payload.reason


@_apply.register
def _placed(payload: PlacementStarted, state: HouseholdState) -> None:
    state.placements[str(payload.placement_id)] = PlacementRef(
        placement_id=payload.placement_id,
        child_id=payload.child_id,
        start_date=payload.start_date,
        child_needs=list(payload.child_needs),
    )
    if payload.child_id not in state.children_placed:
        state.children_placed.append(payload.child_id)


@_apply.register
def _placement_ended(payload: PlacementEnded, state: HouseholdState) -> None:
    state.placements.pop(str(payload.placement_id), None)
    if not ending_parts_of(payload):
        state.incomplete_endings[str(payload.placement_id)] = IncompleteEnding(
            placement_id=payload.placement_id,
            child_id=payload.child_id,
            end_date=payload.end_date,
            missing=list(ENDING_PARTS),
        )


@_apply.register
def _ending_recorded(payload: EndingRecorded, state: HouseholdState) -> None:
    state.incomplete_endings.pop(str(payload.placement_id), None)


@_apply.register
def _allegation_received(payload: AllegationReceived, state: HouseholdState) -> None:
    held = any(h.allegation_id == payload.allegation_id for h in state.holds.values())
    state.allegations[str(payload.allegation_id)] = AllegationRef(
        allegation_id=payload.allegation_id, received_at=payload.received_at, hold_recorded=held
    )


@_apply.register
def _allegation_outcome(payload: AllegationOutcomeRecorded, state: HouseholdState) -> None:
    allegation = state.allegations.get(str(payload.allegation_id))
    if allegation is not None:
        allegation.outcome = payload.outcome


def _journey_step(payload: Event, state: HouseholdState) -> None:
    evolve_journey(state.journey, payload)


for _journey_event in JOURNEY_EVENTS:
    _apply.register(_journey_event)(_journey_step)


@_apply.register
def _clock_started(payload: DeadlineSet, state: HouseholdState) -> None:
    if is_carers_clock(payload.kind):  # another service's clock may name the household too
        state.deadlines[str(payload.deadline_id)] = opened(payload)


@_apply.register
def _clock_met(payload: DeadlineMet, state: HouseholdState) -> None:
    state.deadlines.pop(str(payload.deadline_id), None)


@_apply.register
def _clock_stopped(payload: DeadlineCancelled, state: HouseholdState) -> None:
    state.deadlines.pop(str(payload.deadline_id), None)
