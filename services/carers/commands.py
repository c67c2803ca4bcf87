"""carers: commands. Each validates, reads what it needs from the log, builds its events (with the
clocks they start or stop) and appends them. Placement eligibility is evaluated inside the append
transaction, under the log's lock, from the household's events as they are at that instant.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.carers import events as ev
from services.carers.rules import (
    CARER_ROLES,
    CLOCK_SOURCES,
    STATUTORY,
    AllegationOutcome,
    CheckKind,
    CheckResult,
    ChildNeed,
    Clock,
    HouseholdState,
    HouseholdStatus,
    LocalRules,
    MemberRole,
    MemberState,
    NotSeenReason,
    OpenDeadline,
    PlacementRequest,
    PlacementType,
    Reason,
    ReviewOutcome,
    Terms,
    TrainingCourse,
    add_months_at,
    add_years,
    adult_from,
    age_on,
    belongs_on_supervision_agenda,
    children_unaccounted,
    ending_parts_recorded,
    evolve,
    household_stream,
    lado_confirmation_due,
    lado_referral_due,
    placement_eligibility,
    start_of,
    track_deadline,
    training_gaps,
    tsd_months,
)
from shared.access import Target
from shared.auth import MANAGERS, Role
from shared.calendar import add_working_days_at
from shared.commanding import CommandContext
from shared.contracts import Event
from shared.deadlines import DEADLINE_TYPES, DeadlineMet, DeadlineSet
from shared.eventstore import EVENT_COLUMNS, NewEvent, RecordedEvent, reaction_id, row_to_event
from shared.policy import require_role, require_writer
from shared.problems import Problem
from shared.types import Day, Instant


# ---- configuration (local practice) ----------------------------------------------------------
class CarersSettings(BaseSettings):
    """Local numbers (DOMAIN.md "(local)"), from CARELOG_CARERS_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="CARELOG_CARERS_", extra="ignore")

    supervision_months: int = Field(1, ge=1, le=12)
    dbs_renewal_years: int = Field(3, ge=1, le=10)
    safeguarding_renewal_years: int = Field(3, ge=1, le=10)
    lado_written_confirmation_working_days: int = Field(3, ge=1, le=20)
    approval_review_days: int = Field(28, ge=1, le=365)
    due_soon_days: int = Field(14, ge=0, le=90)
    needs_training_days: int = Field(28, ge=1, le=365)
    ending_record_working_days: int = Field(5, ge=1, le=60)
    worker_supervision_months: int = Field(1, ge=1, le=12)
    caseload_children_target: int = Field(20, ge=1, le=200)
    caseload_households_target: int = Field(16, ge=1, le=200)

    def rules(self) -> LocalRules:
        return LocalRules(**self.model_dump())


@lru_cache
def local_rules() -> LocalRules:
    return CarersSettings().rules()


# How far in the future a recorded occurrence may be (clock skew of a mobile device).
FUTURE_TOLERANCE = timedelta(minutes=10)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- request bodies --------------------------------------------------------------------------
class HouseholdIn(Body):
    name: Text
    address: Annotated[str, StringConstraints(max_length=500)] | None = None
    connected_person: bool = Field(False, description="Family and friends (connected person) carers.")
    supervising_social_worker_id: Text | None = None
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "The Okafor household", "supervising_social_worker_id": "ssw-17"}]},
    )


class MemberIn(Body):
    name: Text
    role: MemberRole
    date_of_birth: Day
    joined_on: Day | None = Field(None, description="When they joined the household (default: today).")
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Ada Okafor", "role": "applicant", "date_of_birth": "1980-04-02"}]},
    )


class CheckIn(Body):
    kind: CheckKind
    result: CheckResult
    checked_at: Day
    expires_on: Day | None = Field(None, description="Default: DBS renewal period after checked_at (local).")
    certificate_number: Annotated[str, StringConstraints(max_length=50)] | None = None
    notes: Annotated[str, StringConstraints(max_length=5000)] | None = None
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kind": "dbs_enhanced", "result": "clear", "checked_at": "2026-11-20"}]},
    )


class ApprovalIn(Body):
    decision: Annotated[str, StringConstraints(pattern="^(approved|refused)$")]
    decided_at: Instant | None = None
    terms: Terms | None = None
    reason: Annotated[str, StringConstraints(max_length=5000)] | None = None
    panel_date: Day | None = None
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "decision": "approved",
                    "terms": {"age_min": 0, "age_max": 17, "max_children": 2, "placement_types": ["short_term"]},
                }
            ]
        },
    )

    @model_validator(mode="after")
    def _complete(self) -> ApprovalIn:
        if self.decision == "approved" and self.terms is None:
            raise ValueError("an approval needs its terms (age range, number of children, placement types)")
        if self.decision == "refused" and not self.reason:
            raise ValueError("a refusal needs its reason")
        if self.terms is not None and self.terms.age_min > self.terms.age_max:
            raise ValueError("terms.age_min is above terms.age_max")
        return self


class EndApprovalIn(Body):
    reason: LongText
    ended_at: Instant | None = None


class ConcernAddressedIn(Body):
    concern_id: uuid.UUID
    action: LongText


class NotSeenIn(Body):
    child_id: uuid.UUID
    reason: NotSeenReason


class SupervisionIn(Body):
    occurred_at: Instant
    unannounced: bool = False
    supervising_social_worker_id: Text | None = Field(None, description="Default: the caller.")
    children_discussed: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    children_seen: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    children_not_seen_reason: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        None,
        description="Legacy, for every placed child not seen: one of child_refused, "
        "inappropriate_for_age_or_understanding, unable (free text does not account for a child).",
    )
    children_not_seen: list[NotSeenIn] = Field(
        default_factory=list, max_length=20, description="Each placed child not seen, with one of the three reasons."
    )
    agenda_items_discussed: list[uuid.UUID] = Field(
        default_factory=list, max_length=50, description="Items of the supervision agenda discussed (incidents)."
    )
    concerns: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]] = Field(
        default_factory=list, max_length=50
    )
    concerns_addressed: list[ConcernAddressedIn] = Field(default_factory=list, max_length=50)
    actions: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]] = Field(
        default_factory=list, max_length=50
    )
    narrative: LongText
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "occurred_at": "2026-11-25T10:00:00Z",
                    "unannounced": False,
                    "concerns": ["Bedroom damp; carer to contact landlord"],
                    "actions": ["SSW to check bedroom at next visit"],
                    "narrative": "Discussed the children's routines and school; saw both bedrooms.",
                }
            ]
        },
    )


class TrainingIn(Body):
    member_id: uuid.UUID
    course: TrainingCourse
    title: Annotated[str, StringConstraints(max_length=200)] | None = None
    completed_on: Day
    expires_on: Day | None = None
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"member_id": str(uuid.UUID(int=1)), "course": "safeguarding", "completed_on": "2026-11-01"}]
        },
    )


class ChildViewIn(Body):
    child_id: uuid.UUID
    view: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)] | None = None
    not_obtained_reason: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)] | None
    ) = None

    @model_validator(mode="after")
    def _one(self) -> ChildViewIn:
        if not self.view and not self.not_obtained_reason:
            raise ValueError("give the child's view, or the reason it could not be obtained")
        return self


class ReviewIn(Body):
    occurred_at: Instant
    outcome: ReviewOutcome
    to_panel: bool = False
    child_views: list[ChildViewIn] = Field(default_factory=list, max_length=20)
    carer_views: Annotated[str, StringConstraints(max_length=20_000)] | None = None
    reviewer_id: Text | None = None
    narrative: Annotated[str, StringConstraints(max_length=20_000)] | None = None
    new_terms: Terms | None = None
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"occurred_at": "2026-11-25T10:00:00Z", "outcome": "continue", "to_panel": True}]
        },
    )


class HoldIn(Body):
    reason: LongText
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Home conditions: no placements until a risk assessment is done"}]},
    )


class LiftIn(Body):
    reason: LongText


class PlacementIn(Body):
    child_id: uuid.UUID
    household_id: uuid.UUID
    start_date: Day
    long_term: bool = False
    placing_authority: Text | None = Field(None, description="Default: the child's placing authority.")
    placement_type: PlacementType | None = None
    connected_person: bool | None = Field(None, description="Reg 24 temporary approval; default: the household's.")
    child_needs: list[ChildNeed] = Field(
        default_factory=list, max_length=20, description="The child's needs (also read from the child's record)."
    )
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "child_id": str(uuid.UUID(int=2)),
                    "household_id": str(uuid.UUID(int=3)),
                    "start_date": "2026-11-25",
                    "long_term": False,
                }
            ]
        },
    )


OptionalLongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)] | None


class EndingParts(Body):
    child_wishes_contact: bool | None = Field(None, description="Does the child wish to keep in touch with the carers?")
    child_wishes: OptionalLongText = Field(None, description="The child's wishes about keeping in touch, in words.")
    carer_views: OptionalLongText = Field(None, description="The carers' views and feelings about the ending.")
    ending_meeting_held: bool | None = None
    ending_meeting_on: Day | None = None

    def parts(self) -> list[str]:
        return ending_parts_recorded(
            child_wishes_contact=self.child_wishes_contact,
            child_wishes=self.child_wishes,
            carer_views=self.carer_views,
            ending_meeting_held=self.ending_meeting_held,
        )


class PlacementEndIn(EndingParts):
    end_date: Day
    reason: Text
    narrative: LongText
    carer_feelings: Annotated[str, StringConstraints(max_length=20_000)] | None = None

    def parts(self) -> list[str]:
        return ending_parts_recorded(
            child_wishes_contact=self.child_wishes_contact,
            child_wishes=self.child_wishes,
            carer_views=self.carer_views or self.carer_feelings,
            ending_meeting_held=self.ending_meeting_held,
        )


class EndingIn(EndingParts):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "child_wishes_contact": True,
                    "child_wishes": "Wants to visit at Christmas",
                    "carer_views": "Sad to see her go; would like to stay in touch",
                    "ending_meeting_held": True,
                }
            ]
        },
    )


class WorkerSupervisionIn(Body):
    occurred_at: Instant
    narrative: LongText
    supervisor_id: Text | None = Field(None, description="Default: the caller.")
    cases_discussed: list[uuid.UUID] = Field(default_factory=list, max_length=200)
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"occurred_at": "2026-11-25T10:00:00Z", "narrative": "Caseload and reflective supervision."}]
        },
    )


class AllegationIn(Body):
    household_id: uuid.UUID
    member_id: uuid.UUID | None = None
    child_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    received_at: Instant
    summary: LongText
    source: Text | None = None
    report_id: uuid.UUID | None = Field(
        None, description="A reported allegation this records after triage (managers): meets its triage clock."
    )
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "household_id": str(uuid.UUID(int=3)),
                    "child_ids": [str(uuid.UUID(int=2))],
                    "received_at": "2026-11-25T09:00:00Z",
                    "summary": "External agency reports a serious allegation against the adults in the household.",
                }
            ]
        },
    )


class CloseReportIn(Body):
    reason: LongText


class LadoReferralIn(Body):
    referred_at: Instant
    lado_name: Text | None = None
    reference: Text | None = None
    written_confirmation_at: Instant | None = None


class WrittenConfirmationIn(Body):
    sent_at: Instant


class OutcomeIn(Body):
    outcome: AllegationOutcome
    dbs_referral_made: bool
    decided_at: Instant | None = None
    narrative: Annotated[str, StringConstraints(max_length=20_000)] | None = None


# ---- reading the log -------------------------------------------------------------------------
_RELATED = ", ".join(f"'{t}'" for t in ev.HOUSEHOLD_RELATED_TYPES)
_HOUSEHOLD_EVENTS = text(
    f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = :s "
    f"UNION ALL SELECT {EVENT_COLUMNS} FROM events WHERE type IN ({_RELATED}) "
    "AND data->>'household_id' = :h AND stream_id <> :s "
    "AND (type LIKE 'carers.%' OR data->>'kind' LIKE 'carers.%') ORDER BY position"
)
_CHILD = text(
    f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = :s AND type = '{ev.CHILD_REGISTERED}' "
    "ORDER BY position LIMIT 1"
)
_CHILD_NEEDS = text(
    f"SELECT data FROM events WHERE stream_id = :s AND type = '{ev.CHILD_NEEDS_RECORDED}' "
    "ORDER BY position DESC LIMIT 1"
)
_CHILD_PLACEMENTS = text(
    f"SELECT {EVENT_COLUMNS} FROM events WHERE child_ids @> ARRAY[CAST(:c AS uuid)] "
    f"AND type IN ('{ev.PLACEMENT_STARTED}', '{ev.PLACEMENT_ENDED}') ORDER BY position"
)


def fold(events: Iterable[RecordedEvent]) -> HouseholdState | None:
    state: HouseholdState | None = None
    for e in events:
        state = evolve(
            state, e.type, e.data, stream_id=e.stream_id, stream_version=e.stream_version, occurred_at=e.occurred_at
        )
    return state


async def read_household(conn: AsyncConnection, household_id: uuid.UUID) -> HouseholdState | None:
    rows = await conn.execute(_HOUSEHOLD_EVENTS, {"s": household_stream(household_id), "h": str(household_id)})
    return fold(row_to_event(r) for r in rows)


async def read_child(conn: AsyncConnection, child_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(_CHILD, {"s": f"child-{child_id}"})).first()
    return row_to_event(row).data if row is not None else None


async def recorded_needs(conn: AsyncConnection, child_id: uuid.UUID) -> list[str]:
    """The child's current needs as the child's record holds them (visits.ChildNeedsRecorded)."""
    row = (await conn.execute(_CHILD_NEEDS, {"s": f"child-{child_id}"})).first()
    if row is None:
        return []
    data = row.data if isinstance(row.data, dict) else {}
    return [str(n) for n in data.get("needs") or []]


async def open_placements_of_child(conn: AsyncConnection, child_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    current: dict[str, dict[str, Any]] = {}
    for row in await conn.execute(_CHILD_PLACEMENTS, {"c": str(child_id)}):
        e = row_to_event(row)
        if e.type == ev.PLACEMENT_STARTED:
            current[e.data["placement_id"]] = e.data
        else:
            current.pop(e.data["placement_id"], None)
    return current


async def load_household(ctx: CommandContext, household_id: uuid.UUID) -> HouseholdState:
    async with ctx.store.reader.connect() as conn:
        state = await read_household(conn, household_id)
    if state is None:
        raise Problem("not-found", f"No household {household_id}.")
    return state


async def load_stream(ctx: CommandContext, stream_id: str, what: str) -> list[RecordedEvent]:
    events = await ctx.store.read_stream(stream_id)
    if not events:
        raise Problem("not-found", f"No {what} {stream_id.split('-', 1)[1]}.")
    return events


# ---- helpers ---------------------------------------------------------------------------------
def children_not_of(state: HouseholdState, child_ids: Iterable[uuid.UUID]) -> list[Reason]:
    """A child id in a request about a household must be a child placed there (now or before): an
    id that is not puts that child's name and record where they do not belong."""
    return [
        Reason("child_not_placed_here", f"Child {child_id} has never been placed with this household.")
        for child_id in dict.fromkeys(child_ids)
        if child_id not in state.children_placed
    ]


def refuse(*reasons: Reason) -> Problem:
    return Problem(
        "business-rule",
        " ".join(r.detail for r in reasons),
        reasons=[r.as_json() for r in reasons],
    )


def not_in_future(ctx: CommandContext, field: str, value: datetime | date) -> None:
    now = ctx.now()
    late = value > (now + FUTURE_TOLERANCE) if isinstance(value, datetime) else value > now.date()
    if late:
        raise refuse(Reason("in_the_future", f"{field} ({value}) is in the future; record what has happened."))


def clock(
    ctx: CommandContext,
    household_id: uuid.UUID,
    kind: Clock,
    started_at: datetime,
    due_at: datetime,
    description: str,
    *,
    subject: str | None = None,
    child_ids: Sequence[uuid.UUID] = (),
    escalate_to: str = "registered_manager",
    causation_id: uuid.UUID | None = None,
    **extra: Any,
) -> NewEvent:
    deadline = ev.CarersDeadlineSet(
        deadline_id=ctx.new_id(),
        kind=kind.value,
        subject=subject or household_stream(household_id),
        child_ids=list(child_ids),
        household_id=household_id,
        started_at=started_at,
        due_at=max(due_at, started_at),
        escalate_to=escalate_to,
        description=description,
        source=CLOCK_SOURCES[kind],
        **extra,
    )
    return ctx.deadline_set(deadline, causation_id=causation_id)


def met(ctx: CommandContext, household_id: uuid.UUID, deadline: OpenDeadline, at: datetime, by: NewEvent) -> NewEvent:
    return ctx.deadline_met(
        ev.CarersDeadlineMet(
            deadline_id=deadline.deadline_id,
            kind=deadline.kind,
            met_at=at,
            met_by_event_id=by.event_id,
            late=at > deadline.due_at,
            household_id=household_id,
        ),
        causation_id=by.event_id,
    )


def cancelled(ctx: CommandContext, household_id: uuid.UUID, deadline: OpenDeadline, reason: str) -> NewEvent:
    return ctx.deadline_cancelled(
        ev.CarersDeadlineCancelled(
            deadline_id=deadline.deadline_id, kind=deadline.kind, reason=reason, household_id=household_id
        )
    )


def open_clocks(state: HouseholdState, kind: Clock, **match: Any) -> list[OpenDeadline]:
    return [d for d in state.deadlines.values() if d.kind == kind and all(getattr(d, k) == v for k, v in match.items())]


def dbs_clock(ctx: CommandContext, state: HouseholdState, member: MemberState, local: LocalRules) -> NewEvent:
    """The clock for a member's first enhanced DBS: due when they join as an adult, or turn 18."""
    due = start_of(max(member.joined_on, adult_from(member.date_of_birth)))
    return clock(
        ctx,
        state.household_id,
        Clock.DBS,
        due,
        due,
        f"Enhanced DBS check for {member.name} before any placement",
        member_id=member.member_id,
    )


def carer_clocks(
    ctx: CommandContext, state: HouseholdState, member: MemberState, started: datetime, local: LocalRules
) -> list[NewEvent]:
    """TSD standards and safeguarding training clocks of a carer in an approved household."""
    out = []
    done = {t["course"] for t in state.trainings if t["member_id"] == str(member.member_id)}
    if TrainingCourse.TSD_STANDARDS not in done and not open_clocks(state, Clock.TSD, member_id=member.member_id):
        months = tsd_months(state.connected_person)
        out.append(
            clock(
                ctx,
                state.household_id,
                Clock.TSD,
                started,
                add_months_at(started, months),
                f"TSD standards completed by {member.name} ({months} months from approval)",
                member_id=member.member_id,
            )
        )
    review_due = state.review_due() or add_months_at(started, STATUTORY.annual_review_months)
    if not open_clocks(state, Clock.SAFEGUARDING_TRAINING, member_id=member.member_id):
        out.append(
            clock(
                ctx,
                state.household_id,
                Clock.SAFEGUARDING_TRAINING,
                started,
                review_due,
                f"Safeguarding training by {member.name} before the next review",
                member_id=member.member_id,
            )
        )
    return out


async def append_household(
    ctx: CommandContext, state: HouseholdState, events: Sequence[NewEvent]
) -> list[RecordedEvent]:
    return await ctx.append(household_stream(state.household_id), events, expected_version=ctx.expected(state.version))


def ids(recorded: Sequence[RecordedEvent]) -> dict[str, Any]:
    return {"version": recorded[-1].stream_version, "position": recorded[-1].position}


# ---- households ------------------------------------------------------------------------------
async def register_household(ctx: CommandContext, body: HouseholdIn) -> dict[str, Any]:
    require_writer(ctx.principal)
    household_id = ctx.new_id()
    event = ctx.event(
        ev.HOUSEHOLD_REGISTERED,
        ev.HouseholdRegistered(household_id=household_id, **body.model_dump()),
        summary=f"Fostering household registered: {body.name}",
    )
    recorded = await ctx.append(household_stream(household_id), [event], expected_version=0)
    return {"household_id": str(household_id), **ids(recorded)}


async def add_member(ctx: CommandContext, household_id: uuid.UUID, body: MemberIn) -> dict[str, Any]:
    require_writer(ctx.principal)
    state = await load_household(ctx, household_id)
    local = local_rules()
    today = ctx.now().date()
    joined = body.joined_on or today
    not_in_future(ctx, "date_of_birth", body.date_of_birth)
    if body.role in CARER_ROLES | {MemberRole.ADULT} and age_on(body.date_of_birth, joined) < STATUTORY.adult_age:
        raise refuse(Reason("member_under_18", f"A member with role {body.role.value} must be 18 or over."))
    if joined < body.date_of_birth:
        raise refuse(Reason("joined_before_birth", "joined_on is before date_of_birth."))
    member_id = ctx.new_id()
    added = ev.MemberAdded(
        household_id=household_id,
        member_id=member_id,
        name=body.name,
        role=body.role,
        date_of_birth=body.date_of_birth,
        joined_on=joined,
    )
    event = ctx.event(ev.MEMBER_ADDED, added, summary=f"{body.name} joined the household as {body.role.value}")
    member = MemberState.model_validate(added.model_dump())
    events = [event, dbs_clock(ctx, state, member, local)]
    if state.status == HouseholdStatus.APPROVED and body.role in CARER_ROLES:
        events += carer_clocks(ctx, state, member, ctx.now(), local)
    recorded = await append_household(ctx, state, events)
    return {"household_id": str(household_id), "member_id": str(member_id), **ids(recorded)}


def _member_of(state: HouseholdState, household_id: uuid.UUID, member_id: uuid.UUID) -> MemberState:
    member = state.members.get(str(member_id))
    if member is None:
        raise Problem("not-found", f"No member {member_id} in household {household_id}.")
    return member


async def record_check(
    ctx: CommandContext, household_id: uuid.UUID, member_id: uuid.UUID, body: CheckIn
) -> dict[str, Any]:
    require_writer(ctx.principal)
    state = await load_household(ctx, household_id)
    member = _member_of(state, household_id, member_id)
    not_in_future(ctx, "checked_at", body.checked_at)
    local = local_rules()
    expires = body.expires_on
    if body.kind == CheckKind.DBS_ENHANCED and expires is None:
        expires = add_years(body.checked_at, local.dbs_renewal_years)
    if expires is not None and expires <= body.checked_at:
        raise refuse(Reason("expiry_before_check", "expires_on must be after checked_at."))
    check_id = ctx.new_id()
    event = ctx.event(
        ev.CHECK_RECORDED,
        ev.CheckRecorded(
            household_id=household_id,
            member_id=member_id,
            check_id=check_id,
            kind=body.kind.value,
            result=body.result,
            checked_at=body.checked_at,
            expires_on=expires,
            certificate_number=body.certificate_number,
            notes=body.notes,
        ),
        occurred_at=start_of(body.checked_at),
        summary=f"{body.kind.value} check for {member.name}: {body.result.value}",
    )
    events = [event]
    if body.kind == CheckKind.DBS_ENHANCED and body.result == CheckResult.CLEAR and expires is not None:
        at = start_of(body.checked_at)
        events += [met(ctx, household_id, d, at, event) for d in open_clocks(state, Clock.DBS, member_id=member_id)]
        events.append(
            clock(
                ctx,
                household_id,
                Clock.DBS,
                at,
                start_of(expires),
                f"Enhanced DBS renewal for {member.name}",
                member_id=member_id,
            )
        )
    recorded = await append_household(ctx, state, events)
    return {"check_id": str(check_id), "expires_on": expires.isoformat() if expires else None, **ids(recorded)}


async def decide_approval(ctx: CommandContext, household_id: uuid.UUID, body: ApprovalIn) -> dict[str, Any]:
    require_writer(ctx.principal)
    state = await load_household(ctx, household_id)
    at = body.decided_at or ctx.now()
    not_in_future(ctx, "decided_at", at)
    if state.status == HouseholdStatus.APPROVED:
        raise Problem("state-conflict", "The household is already approved; change terms at a review.")
    local = local_rules()
    if body.decision == "refused":
        event = ctx.event(
            ev.HOUSEHOLD_REFUSED,
            ev.HouseholdRefused(household_id=household_id, refused_at=at, reason=body.reason or ""),
            occurred_at=at,
            summary=f"Approval refused: {state.name}",
        )
        recorded = await append_household(ctx, state, [event])
        return {"household_id": str(household_id), "status": "refused", **ids(recorded)}
    assert body.terms is not None
    if not state.carers():
        raise refuse(Reason("no_carer", "A household is approved for its carers: add an applicant first."))
    events = approval_events(ctx, state, at, body.terms, body.panel_date, local)
    recorded = await append_household(ctx, state, events)
    return {"household_id": str(household_id), "status": "approved", **ids(recorded)}


def approval_events(
    ctx: CommandContext, state: HouseholdState, at: datetime, terms: Terms, panel_date: date | None, local: LocalRules
) -> list[NewEvent]:
    """The household approved on `terms`, and the clocks approval starts: supervision, the
    unannounced visit, the first annual review, and each carer's TSD and training clocks."""
    household_id = state.household_id
    event = ctx.event(
        ev.HOUSEHOLD_APPROVED,
        ev.HouseholdApproved(
            household_id=household_id,
            approval_id=ctx.new_id(),
            approved_at=at,
            terms=terms,
            connected_person=state.connected_person,
            panel_date=panel_date,
            decision_maker_id=ctx.principal.subject,
        ),
        occurred_at=at,
        summary=f"Approved as foster carers: {state.name} (up to {terms.max_children}, "
        f"ages {terms.age_min}-{terms.age_max})",
    )
    approved = state.model_copy(deep=True)
    approved.approved_at, approved.last_review_at = at, None
    events = [
        event,
        clock(
            ctx,
            household_id,
            Clock.SUPERVISION,
            at,
            add_months_at(at, local.supervision_months),
            "Supervision of the carers by their supervising social worker",
            escalate_to="manager",
        ),
        clock(
            ctx,
            household_id,
            Clock.UNANNOUNCED_VISIT,
            at,
            add_months_at(at, STATUTORY.unannounced_visit_months),
            "Unannounced visit to the household (children seen)",
            escalate_to="manager",
        ),
        clock(
            ctx,
            household_id,
            Clock.ANNUAL_REVIEW,
            at,
            add_months_at(at, STATUTORY.annual_review_months),
            "First annual review of approval (goes to panel)",
        ),
    ]
    for member in approved.carers():
        events += carer_clocks(ctx, approved, member, at, local)
    return events


async def end_approval(ctx: CommandContext, household_id: uuid.UUID, body: EndApprovalIn) -> dict[str, Any]:
    require_writer(ctx.principal)
    state = await load_household(ctx, household_id)
    if state.status != HouseholdStatus.APPROVED:
        raise Problem("state-conflict", f"The household is not approved (status: {state.status.value}).")
    at = body.ended_at or ctx.now()
    not_in_future(ctx, "ended_at", at)
    event = ctx.event(
        ev.APPROVAL_ENDED,
        ev.ApprovalEnded(household_id=household_id, ended_at=at, reason=body.reason),
        occurred_at=at,
        summary=f"Approval ended: {state.name}",
    )
    stops = {Clock.SUPERVISION, Clock.UNANNOUNCED_VISIT, Clock.ANNUAL_REVIEW, Clock.TSD, Clock.SAFEGUARDING_TRAINING}
    stops |= {Clock.TRAINING_RENEWAL}
    events = [event] + [
        cancelled(ctx, household_id, d, "approval ended") for d in state.deadlines.values() if d.kind in stops
    ]
    recorded = await append_household(ctx, state, events)
    return {"household_id": str(household_id), "status": "ended", **ids(recorded)}


async def record_supervision(ctx: CommandContext, household_id: uuid.UUID, body: SupervisionIn) -> dict[str, Any]:
    require_writer(ctx.principal)
    state = await load_household(ctx, household_id)
    not_in_future(ctx, "occurred_at", body.occurred_at)
    reasons = []
    for item in body.concerns_addressed:
        concern = state.concerns.get(str(item.concern_id))
        if concern is None:
            reasons.append(Reason("unknown_concern", f"No concern {item.concern_id} was raised for this household."))
    for item_id in body.agenda_items_discussed:
        item = state.agenda.get(str(item_id))
        if item is None:
            reasons.append(Reason("unknown_agenda_item", f"No agenda item {item_id} for this household."))
        elif item.discussed_at is not None:
            reasons.append(Reason("agenda_item_closed", f"Agenda item {item_id} was already discussed."))
    reasons += children_not_of(
        state, [*body.children_discussed, *body.children_seen, *(n.child_id for n in body.children_not_seen)]
    )
    placed = {p.child_id for p in state.placements.values()}
    seen = set(body.children_seen)
    not_seen = {n.child_id: n.reason.value for n in body.children_not_seen}
    for child_id in sorted(seen & set(not_seen), key=str):
        reasons.append(Reason("seen_and_not_seen", f"Child {child_id} is listed both as seen and as not seen."))
    if body.children_not_seen_reason in set(NotSeenReason):
        for child_id in placed - seen - set(not_seen):
            not_seen[child_id] = str(body.children_not_seen_reason)
    if body.unannounced:
        for child_id in children_unaccounted(placed, seen, not_seen):
            reasons.append(
                Reason(
                    "children_not_seen",
                    f"Child {child_id} is placed here: an unannounced visit must see every placed child or "
                    "record why not (child_refused, inappropriate_for_age_or_understanding, unable) (NMS 21.8).",
                )
            )
    if reasons:
        raise refuse(*reasons)
    local = local_rules()
    at = body.occurred_at
    supervision_id = ctx.new_id()
    concerns = [ev.Concern(concern_id=ctx.new_id(), text=c) for c in body.concerns]
    agenda_children = [state.agenda[str(i)].child_id for i in body.agenda_items_discussed]
    children = list(
        dict.fromkeys([*body.children_discussed, *body.children_seen, *not_seen, *filter(None, agenda_children)])
    )
    event = ctx.event(
        ev.SUPERVISION_RECORDED,
        ev.SupervisionRecorded(
            household_id=household_id,
            supervision_id=supervision_id,
            occurred_at=at,
            unannounced=body.unannounced,
            supervising_social_worker_id=body.supervising_social_worker_id or ctx.principal.subject,
            children_discussed=body.children_discussed,
            children_seen=body.children_seen,
            children_not_seen_reason=body.children_not_seen_reason,
            children_not_seen=[ev.NotSeen(child_id=c, reason=r) for c, r in not_seen.items()],
            agenda_items_discussed=body.agenda_items_discussed,
            concerns=concerns,
            concerns_addressed=[ev.ConcernAddressed(**c.model_dump()) for c in body.concerns_addressed],
            actions=body.actions,
            narrative=body.narrative,
        ),
        occurred_at=at,
        child_ids=children,
        summary=("Unannounced visit" if body.unannounced else "Supervision")
        + f" of {state.name}"
        + (f"; {len(concerns)} concern(s) raised" if concerns else ""),
    )
    events = [event]
    next_due = add_months_at(at, local.supervision_months)
    if state.status == HouseholdStatus.APPROVED:
        events += [met(ctx, household_id, d, at, event) for d in open_clocks(state, Clock.SUPERVISION)]
        events.append(
            clock(ctx, household_id, Clock.SUPERVISION, at, next_due, "Next supervision", escalate_to="manager")
        )
        if body.unannounced:
            events += [met(ctx, household_id, d, at, event) for d in open_clocks(state, Clock.UNANNOUNCED_VISIT)]
            events.append(
                clock(
                    ctx,
                    household_id,
                    Clock.UNANNOUNCED_VISIT,
                    at,
                    add_months_at(at, STATUTORY.unannounced_visit_months),
                    "Unannounced visit to the household (children seen)",
                    escalate_to="manager",
                )
            )
    for item in body.concerns_addressed:
        events += [
            met(ctx, household_id, d, at, event)
            for d in open_clocks(state, Clock.SUPERVISION_FOLLOW_UP, concern_id=item.concern_id)
        ]
    for item_id in body.agenda_items_discussed:
        events += [
            met(ctx, household_id, d, at, event) for d in open_clocks(state, Clock.INCIDENT_AGENDA, item_id=item_id)
        ]
    # An incident this supervision was due to discuss and did not: its moment has passed, so its
    # clock falls due now and escalates (the item stays on the agenda until discussed).
    discussed_ids = set(body.agenda_items_discussed)
    for deadline in open_clocks(state, Clock.INCIDENT_AGENDA):
        item = state.agenda.get(str(deadline.item_id))
        if deadline.item_id in discussed_ids or item is None or item.occurred_at > at or deadline.due_at <= at:
            continue
        events += [
            cancelled(ctx, household_id, deadline, "supervision held without discussing the incident"),
            clock(
                ctx,
                household_id,
                Clock.INCIDENT_AGENDA,
                at,
                at,
                f"Not discussed at the supervision of {at:%d %b %Y}: {item.summary}",
                child_ids=[item.child_id] if item.child_id else [],
                escalate_to="manager",
                causation_id=event.event_id,
                item_id=item.item_id,
            ),
        ]
    for concern in concerns:
        events.append(
            clock(
                ctx,
                household_id,
                Clock.SUPERVISION_FOLLOW_UP,
                at,
                next_due,
                f"Follow up the concern raised in supervision: {concern.text[:120]}",
                concern_id=concern.concern_id,
                child_ids=children,
                escalate_to="manager",
            )
        )
    recorded = await append_household(ctx, state, events)
    discussed = {str(i) for i in body.agenda_items_discussed}
    return {
        "supervision_id": str(supervision_id),
        "concerns": [{"concern_id": str(c.concern_id), "text": c.text} for c in concerns],
        "agenda_items_open": [i for i, a in state.agenda.items() if a.discussed_at is None and i not in discussed],
        **ids(recorded),
    }


async def record_training(ctx: CommandContext, household_id: uuid.UUID, body: TrainingIn) -> dict[str, Any]:
    require_writer(ctx.principal)
    state = await load_household(ctx, household_id)
    member = _member_of(state, household_id, body.member_id)
    not_in_future(ctx, "completed_on", body.completed_on)
    local = local_rules()
    expires = body.expires_on
    if body.course == TrainingCourse.SAFEGUARDING and expires is None:
        expires = add_years(body.completed_on, local.safeguarding_renewal_years)
    if expires is not None and expires <= body.completed_on:
        raise refuse(Reason("expiry_before_completion", "expires_on must be after completed_on."))
    training_id = ctx.new_id()
    at = start_of(body.completed_on)
    event = ctx.event(
        ev.TRAINING_RECORDED,
        ev.TrainingRecorded(
            household_id=household_id,
            training_id=training_id,
            member_id=body.member_id,
            course=body.course.value,
            title=body.title,
            completed_on=body.completed_on,
            expires_on=expires,
        ),
        occurred_at=at,
        summary=f"Training completed by {member.name}: {body.title or body.course.value}",
    )
    events = [event]
    course_clock = {TrainingCourse.TSD_STANDARDS: Clock.TSD, TrainingCourse.SAFEGUARDING: Clock.SAFEGUARDING_TRAINING}
    if body.course in course_clock:
        events += [
            met(ctx, household_id, d, at, event)
            for d in open_clocks(state, course_clock[body.course], member_id=body.member_id)
        ]
    for kind in (Clock.TRAINING_RENEWAL, Clock.NEEDS_TRAINING):
        events += [
            met(ctx, household_id, d, at, event)
            for d in open_clocks(state, kind, member_id=body.member_id, course=body.course.value)
        ]
    if expires is not None:
        events.append(
            clock(
                ctx,
                household_id,
                Clock.TRAINING_RENEWAL,
                at,
                start_of(expires),
                f"Renew {body.course.value} training for {member.name}",
                member_id=body.member_id,
                course=body.course.value,
            )
        )
    recorded = await append_household(ctx, state, events)
    return {"training_id": str(training_id), **ids(recorded)}


async def record_review(ctx: CommandContext, household_id: uuid.UUID, body: ReviewIn) -> dict[str, Any]:
    require_writer(ctx.principal)
    state = await load_household(ctx, household_id)
    not_in_future(ctx, "occurred_at", body.occurred_at)
    if state.status != HouseholdStatus.APPROVED:
        raise Problem("state-conflict", f"Only an approved household is reviewed (status: {state.status.value}).")
    first = state.reviews == 0
    reasons = []
    if first and not body.to_panel:
        reasons.append(Reason("first_review_to_panel", "The first annual review goes to the fostering panel (reg 28)."))
    placed = {p.child_id for p in state.placements.values()}
    heard = {v.child_id for v in body.child_views}
    for child_id in sorted(placed - heard, key=str):
        reasons.append(
            Reason(
                "child_view_missing", f"Child {child_id} is placed here: record their view or why it was not obtained."
            )
        )
    if body.outcome == ReviewOutcome.CHANGE_TERMS and body.new_terms is None:
        reasons.append(Reason("new_terms_missing", "A change of terms needs new_terms."))
    if body.new_terms is not None and body.new_terms.age_min > body.new_terms.age_max:
        reasons.append(Reason("terms_invalid", "new_terms.age_min is above new_terms.age_max."))
    if reasons:
        raise refuse(*reasons)
    at = body.occurred_at
    review_id = ctx.new_id()
    event = ctx.event(
        ev.REVIEW_RECORDED,
        ev.ReviewRecorded(
            household_id=household_id,
            review_id=review_id,
            occurred_at=at,
            first_review=first,
            to_panel=body.to_panel,
            outcome=body.outcome.value,
            child_views=[ev.ChildView(**v.model_dump()) for v in body.child_views],
            carer_views=body.carer_views,
            reviewer_id=body.reviewer_id or ctx.principal.subject,
            narrative=body.narrative,
            new_terms=body.new_terms,
        ),
        occurred_at=at,
        child_ids=sorted(heard | placed, key=str),
        summary=f"Annual review of {state.name}: {body.outcome.value}" + (" (to panel)" if body.to_panel else ""),
    )
    events = [event]
    events += [met(ctx, household_id, d, at, event) for d in open_clocks(state, Clock.ANNUAL_REVIEW)]
    events += [met(ctx, household_id, d, at, event) for d in open_clocks(state, Clock.APPROVAL_REVIEW)]
    next_due = add_months_at(at, STATUTORY.annual_review_months)
    events.append(clock(ctx, household_id, Clock.ANNUAL_REVIEW, at, next_due, "Annual review of approval"))
    for member in state.carers():
        if not open_clocks(state, Clock.SAFEGUARDING_TRAINING, member_id=member.member_id):
            events.append(
                clock(
                    ctx,
                    household_id,
                    Clock.SAFEGUARDING_TRAINING,
                    at,
                    next_due,
                    f"Safeguarding training by {member.name} before the next review",
                    member_id=member.member_id,
                )
            )
    recorded = await append_household(ctx, state, events)
    return {"review_id": str(review_id), "first_review": first, **ids(recorded)}


# ---- holds -----------------------------------------------------------------------------------
async def place_hold(ctx: CommandContext, household_id: uuid.UUID, body: HoldIn) -> dict[str, Any]:
    require_writer(ctx.principal)
    state = await load_household(ctx, household_id)
    hold_id = ctx.new_id()
    event = ctx.event(
        ev.HOLD_PLACED,
        ev.HoldPlaced(household_id=household_id, hold_id=hold_id, reason=body.reason, placed_at=ctx.now()),
        summary=f"Hold on new placements with {state.name}: {body.reason[:120]}",
    )
    recorded = await append_household(ctx, state, [event])
    return {"hold_id": str(hold_id), **ids(recorded)}


async def lift_hold(ctx: CommandContext, household_id: uuid.UUID, hold_id: uuid.UUID, body: LiftIn) -> dict[str, Any]:
    require_writer(ctx.principal)
    require_role(ctx.principal, MANAGERS, "lift a hold")
    state = await load_household(ctx, household_id)
    hold = state.holds.get(str(hold_id))
    if hold is None:
        raise Problem("not-found", f"No hold {hold_id} on household {household_id}.")
    if hold.lifted_at is not None:
        raise Problem("state-conflict", f"The hold was already lifted on {hold.lifted_at:%d %b %Y}.")
    event = ctx.event(
        ev.HOLD_LIFTED,
        ev.HoldLifted(household_id=household_id, hold_id=hold_id, reason=body.reason, lifted_at=ctx.now()),
        summary=f"Hold lifted on {state.name}: {body.reason[:120]}",
    )
    recorded = await append_household(ctx, state, [event])
    return {"hold_id": str(hold_id), **ids(recorded)}


# ---- placements ------------------------------------------------------------------------------
def placement_stream(placement_id: uuid.UUID | str) -> str:
    return f"placement-{placement_id}"


async def start_placement(ctx: CommandContext, body: PlacementIn) -> dict[str, Any]:
    require_writer(ctx.principal)
    state = await load_household(ctx, body.household_id)
    async with ctx.store.reader.connect() as conn:
        child = await read_child(conn, body.child_id)
        needs_on_record = await recorded_needs(conn, body.child_id)
    if child is None:
        raise Problem("not-found", f"No child {body.child_id} is registered; register the child first.")
    if child.get("date_of_birth") and date.fromisoformat(child["date_of_birth"]) > body.start_date:
        raise refuse(Reason("before_birth", "start_date is before the child's date of birth."))
    placement_id = ctx.new_id()
    today = ctx.now().date()
    started = ev.PlacementStarted(
        placement_id=placement_id,
        child_id=body.child_id,
        household_id=body.household_id,
        start_date=body.start_date,
        long_term=body.long_term,
        connected_person=state.connected_person if body.connected_person is None else body.connected_person,
        placing_authority=body.placing_authority or child.get("placing_authority") or "unknown",
        placement_type=body.placement_type,
        child_needs=list(dict.fromkeys([*(n.value for n in body.child_needs), *needs_on_record])),
    )
    event = ctx.event(
        ev.PLACEMENT_STARTED,
        started,
        occurred_at=ctx.now() if body.start_date == today else start_of(body.start_date),
        child_ids=[body.child_id],
        summary=f"Placed with {state.name} from {body.start_date:%d %b %Y}"
        + (" (long-term)" if body.long_term else ""),
    )

    async def eligible(conn: AsyncConnection) -> None:
        """Runs under the log's lock: the state read here is the state the placement joins."""
        current = await read_household(conn, body.household_id)
        registered = await read_child(conn, body.child_id)
        if current is None or registered is None:
            raise Problem("not-found", "The household or child is no longer in the log.")
        if not registered.get("date_of_birth"):
            raise refuse(Reason("child_date_of_birth_unknown", "The child's date of birth is not recorded."))
        dob = date.fromisoformat(registered["date_of_birth"])
        request = PlacementRequest(body.child_id, dob, body.start_date, body.placement_type)
        reasons = placement_eligibility(current, request, max(today, body.start_date))
        elsewhere = await open_placements_of_child(conn, body.child_id)
        for other in elsewhere.values():
            reasons.append(
                Reason("child_already_placed", f"The child is already placed (placement {other['placement_id']}).")
            )
        if reasons:
            raise Problem(
                "invariant-violated",
                "The placement is refused: " + " ".join(r.detail for r in reasons),
                reasons=[r.as_json() for r in reasons],
                household_id=str(body.household_id),
                child_id=str(body.child_id),
            )

    starts = ctx.now() if body.start_date <= today else start_of(body.start_date)
    gaps = needs_training_clocks(ctx, state, started.child_needs, body.child_id, starts, placement_id, event)
    recorded = await ctx.append(placement_stream(placement_id), [event, *gaps], expected_version=0, check=eligible)
    return {
        "placement_id": str(placement_id),
        "child_needs": started.child_needs,
        "training_gaps": [
            {"member_id": g.data["member_id"], "course": g.data["course"], "due_at": g.data["due_at"]} for g in gaps
        ],
        "position": recorded[-1].position,
        **ids(recorded),
    }


def needs_training_clocks(
    ctx: CommandContext,
    state: HouseholdState,
    needs: list[str],
    child_id: uuid.UUID,
    started: datetime,
    placement_id: uuid.UUID,
    cause: NewEvent,
) -> list[NewEvent]:
    """A training clock for every carer lacking a course the child's needs call for (matching):
    the placement goes ahead, and the gap is a deadline in the household's compliance."""
    local = local_rules()
    carers = [(m.member_id, m.name) for m in state.carers()]
    out = []
    for gap in training_gaps(needs, carers, state.trainings, started.date()):
        if open_clocks(state, Clock.NEEDS_TRAINING, member_id=gap.member_id, course=gap.course):
            continue
        out.append(
            clock(
                ctx,
                state.household_id,
                Clock.NEEDS_TRAINING,
                started,
                started + timedelta(days=local.needs_training_days),
                f"{gap.member_name} to complete {gap.course} training for a placed child's needs "
                f"({', '.join(gap.needs)})",
                child_ids=[child_id],
                escalate_to="manager",
                causation_id=cause.event_id,
                member_id=gap.member_id,
                course=gap.course,
                placement_id=placement_id,
            )
        )
    return out


def placement_state(events: Sequence[RecordedEvent]) -> dict[str, Any]:
    state: dict[str, Any] = {"deadlines": {}}
    for e in events:
        if e.type == ev.PLACEMENT_STARTED:
            state = {**e.data, "end_date": None, "ended": False, "deadlines": state["deadlines"]}
        elif e.type == ev.PLACEMENT_ENDED:
            state.update(
                ended=True,
                end_date=e.data["end_date"],
                end_reason=e.data["reason"],
                end_narrative=e.data["narrative"],
            )
        elif e.type in DEADLINE_TYPES:
            track_deadline(state["deadlines"], e.type, e.data)
    state["version"] = events[-1].stream_version if events else 0
    return state


async def end_placement(ctx: CommandContext, placement_id: uuid.UUID, body: PlacementEndIn) -> dict[str, Any]:
    require_writer(ctx.principal)
    stream = placement_stream(placement_id)
    placement = placement_state(await load_stream(ctx, stream, "placement"))
    if placement.get("ended"):
        raise Problem("state-conflict", f"The placement already ended on {placement['end_date']}.")
    if body.end_date < date.fromisoformat(placement["start_date"]):
        raise refuse(Reason("end_before_start", "end_date is before the placement's start_date."))
    not_in_future(ctx, "end_date", body.end_date)
    if body.ending_meeting_on is not None:
        not_in_future(ctx, "ending_meeting_on", body.ending_meeting_on)
    child_id = uuid.UUID(placement["child_id"])
    household_id = uuid.UUID(placement["household_id"])
    parts = body.parts()
    event = ctx.event(
        ev.PLACEMENT_ENDED,
        ev.PlacementEnded(placement_id=placement_id, child_id=child_id, household_id=household_id, **body.model_dump()),
        occurred_at=ctx.now() if body.end_date == ctx.now().date() else start_of(body.end_date),
        child_ids=[child_id],
        summary=f"Placement ended on {body.end_date:%d %b %Y}: {body.reason}"
        + ("" if parts else " (ending not recorded: no wishes, views or meeting)"),
    )
    events = [event]
    if not parts:
        now = ctx.now()
        local = local_rules()
        events.append(
            clock(
                ctx,
                household_id,
                Clock.ENDING_RECORD,
                now,
                add_working_days_at(now, local.ending_record_working_days),
                "Record the ending: the child's wishes about keeping in touch, the carers' views and feelings, "
                "and whether an ending meeting was held",
                subject=stream,
                child_ids=[child_id],
                escalate_to="manager",
                causation_id=event.event_id,
                placement_id=placement_id,
            )
        )
    recorded = await ctx.append(stream, events, expected_version=ctx.expected(placement["version"]))
    return {
        "placement_id": str(placement_id),
        "ending_recorded": parts,
        "ending_flagged": not parts,
        **ids(recorded),
    }


async def record_ending(ctx: CommandContext, placement_id: uuid.UUID, body: EndingIn) -> dict[str, Any]:
    """Complete the record of an ending: what the child wishes, what the carers feel, the meeting."""
    require_writer(ctx.principal)
    stream = placement_stream(placement_id)
    placement = placement_state(await load_stream(ctx, stream, "placement"))
    if not placement.get("ended"):
        raise Problem("state-conflict", "The placement has not ended; record the ending when it ends.")
    parts = body.parts()
    if not parts:
        raise refuse(
            Reason(
                "ending_empty",
                "Record at least one of: the child's wishes about keeping in touch, the carers' views and "
                "feelings, whether an ending meeting was held.",
            )
        )
    if body.ending_meeting_on is not None:
        not_in_future(ctx, "ending_meeting_on", body.ending_meeting_on)
    now = ctx.now()
    child_id = uuid.UUID(placement["child_id"])
    household_id = uuid.UUID(placement["household_id"])
    event = ctx.event(
        ev.ENDING_RECORDED,
        ev.EndingRecorded(
            placement_id=placement_id,
            child_id=child_id,
            household_id=household_id,
            recorded_at=now,
            **body.model_dump(),
        ),
        child_ids=[child_id],
        summary="Ending recorded: " + ", ".join(p.replace("_", " ") for p in parts),
    )
    events = [event] + [
        met(ctx, household_id, d, now, event) for d in placement["deadlines"].values() if d.kind == Clock.ENDING_RECORD
    ]
    recorded = await ctx.append(stream, events, expected_version=ctx.expected(placement["version"]))
    return {"placement_id": str(placement_id), "ending_recorded": parts, **ids(recorded)}


# ---- supervision of the agency's own social workers ------------------------------------------
def worker_stream(worker_id: str) -> str:
    return f"worker-{worker_id}"


async def record_worker_supervision(ctx: CommandContext, worker_id: str, body: WorkerSupervisionIn) -> dict[str, Any]:
    """A manager supervised a social worker: meets the open clock and starts the next (monthly, local)."""
    require_writer(ctx.principal)
    require_role(ctx.principal, MANAGERS, "record the supervision of a social worker")
    not_in_future(ctx, "occurred_at", body.occurred_at)
    stream = worker_stream(worker_id)
    history = await ctx.store.read_stream(stream)
    open_deadlines: dict[str, OpenDeadline] = {}
    for e in history:
        track_deadline(open_deadlines, e.type, e.data)
    local = local_rules()
    at = body.occurred_at
    supervision_id = ctx.new_id()
    event = ctx.event(
        ev.WORKER_SUPERVISION_RECORDED,
        ev.WorkerSupervisionRecorded(
            worker_id=worker_id,
            supervision_id=supervision_id,
            occurred_at=at,
            supervisor_id=body.supervisor_id or ctx.principal.subject,
            narrative=body.narrative,
            cases_discussed=body.cases_discussed,
        ),
        occurred_at=at,
        summary=f"Supervision of social worker {worker_id}",
    )
    events = [event]
    for deadline in open_deadlines.values():
        events.append(
            ctx.deadline_met(
                ev.CarersDeadlineMet(
                    deadline_id=deadline.deadline_id,
                    kind=deadline.kind,
                    met_at=at,
                    met_by_event_id=event.event_id,
                    late=at > deadline.due_at,
                ),
                causation_id=event.event_id,
            )
        )
    due = add_months_at(at, local.worker_supervision_months)
    events.append(
        ctx.deadline_set(
            ev.CarersDeadlineSet(
                deadline_id=ctx.new_id(),
                kind=Clock.WORKER_SUPERVISION.value,
                subject=stream,
                started_at=at,
                due_at=due,
                escalate_to="registered_manager",
                description=f"Supervision of social worker {worker_id}",
                source=CLOCK_SOURCES[Clock.WORKER_SUPERVISION],
                worker_id=worker_id,
            ),
            causation_id=event.event_id,
        )
    )
    recorded = await ctx.append(
        stream, events, expected_version=ctx.expected(history[-1].stream_version if history else 0)
    )
    return {
        "worker_id": worker_id,
        "supervision_id": str(supervision_id),
        "next_due_at": due.isoformat(),
        "deadline_id": events[-1].data["deadline_id"],
        **ids(recorded),
    }


# ---- following the child's record (reactors call these) --------------------------------------
def _reaction(
    cause: RecordedEvent, key: str, type: str, data: BaseModel, metadata: dict[str, Any], summary: str
) -> NewEvent:
    return NewEvent(
        type=type,
        data=data.payload() if isinstance(data, Event) else data.model_dump(mode="json"),
        occurred_at=cause.occurred_at,
        child_ids=cause.child_ids,
        metadata={**metadata, "summary": summary},
        event_id=reaction_id(cause, key),
    )


async def incident_agenda(
    conn: AsyncConnection, cause: RecordedEvent, metadata: dict[str, Any]
) -> list[tuple[str, list[NewEvent]]]:
    """A behavioural incident (carer assaulted, damage, police called) in a household goes on the
    agenda of its next supervision, with a clock due when that supervision is due."""
    data = cause.data
    if not belongs_on_supervision_agenda(str(data.get("category", "")), bool(data.get("police_called"))):
        return []
    household_ids = [data["household_id"]] if data.get("household_id") else []
    if not household_ids and data.get("child_id"):
        placements = await open_placements_of_child(conn, uuid.UUID(data["child_id"]))
        household_ids = sorted({p["household_id"] for p in placements.values()})
    local = local_rules()
    out = []
    for household_id in household_ids:
        state = await read_household(conn, uuid.UUID(household_id))
        if state is not None:
            out.append(agenda_item_for(cause, state, local.supervision_months, metadata))
    return out


def agenda_item_for(
    cause: RecordedEvent, state: HouseholdState, supervision_months: int, metadata: dict[str, Any]
) -> tuple[str, list[NewEvent]]:
    """The incident `cause` on the agenda of `state`'s next supervision, and its clock: due with
    the supervision already due, else `supervision_months` after the last one (or the incident)."""
    data, household_id = cause.data, str(state.household_id)
    at = datetime.fromisoformat(data["occurred_at"]) if data.get("occurred_at") else cause.occurred_at
    supervisions = sorted(d.due_at for d in state.deadlines.values() if d.kind == Clock.SUPERVISION)
    base = state.last_supervision_at or at
    due = supervisions[0] if supervisions else add_months_at(max(base, at), supervision_months)
    item_id = reaction_id(cause, f"agenda-item-id-{household_id}")
    category = str(data.get("category"))
    what = category.replace("_", " ") + (" (police called)" if data.get("police_called") else "")
    item = ev.SupervisionAgendaItemAdded(
        household_id=household_id,
        item_id=item_id,
        incident_id=data.get("incident_id"),
        child_id=data.get("child_id"),
        category=category,
        occurred_at=at,
        summary=f"Incident on {at:%d %b %Y}: {what}",
        added_at=cause.recorded_at,
    )
    deadline = ev.CarersDeadlineSet(
        deadline_id=reaction_id(cause, f"agenda-deadline-id-{household_id}"),
        kind=Clock.INCIDENT_AGENDA.value,
        subject=household_stream(household_id),
        child_ids=list(cause.child_ids),
        household_id=household_id,
        started_at=at,
        due_at=max(due, at),
        escalate_to="manager",
        description=f"Discuss at the next supervision: {what} on {at:%d %b %Y}",
        source=CLOCK_SOURCES[Clock.INCIDENT_AGENDA],
        item_id=item_id,
    )
    return (
        household_stream(household_id),
        [
            _reaction(
                cause,
                f"agenda-item-{household_id}",
                ev.SUPERVISION_AGENDA_ITEM_ADDED,
                item,
                metadata,
                f"On the agenda of {state.name}'s next supervision: {what}",
            ),
            _reaction(
                cause,
                f"agenda-deadline-{household_id}",
                "DeadlineSet",
                deadline,
                metadata,
                f"Clock started: {deadline.description} (due {deadline.due_at:%d %b %Y %H:%M})",
            ),
        ],
    )


async def needs_recorded(
    conn: AsyncConnection, cause: RecordedEvent, metadata: dict[str, Any]
) -> list[tuple[str, list[NewEvent]]]:
    """The child's record gained needs: the carers of the household where the child is placed need
    the training those needs call for (a training clock per carer and course they lack)."""
    child_id = cause.data.get("child_id")
    needs = [str(n) for n in cause.data.get("needs") or []]
    if not child_id or not needs:
        return []
    local = local_rules()
    out = []
    for placement in (await open_placements_of_child(conn, uuid.UUID(child_id))).values():
        state = await read_household(conn, uuid.UUID(placement["household_id"]))
        if state is None:
            continue
        started = max(cause.occurred_at, start_of(date.fromisoformat(placement["start_date"])))
        carers = [(m.member_id, m.name) for m in state.carers()]
        events = []
        for gap in training_gaps(needs, carers, state.trainings, started.date()):
            if open_clocks(state, Clock.NEEDS_TRAINING, member_id=gap.member_id, course=gap.course):
                continue
            deadline = ev.CarersDeadlineSet(
                deadline_id=reaction_id(cause, f"needs-id-{placement['placement_id']}-{gap.member_id}-{gap.course}"),
                kind=Clock.NEEDS_TRAINING.value,
                subject=household_stream(state.household_id),
                child_ids=[uuid.UUID(child_id)],
                household_id=state.household_id,
                started_at=started,
                due_at=started + timedelta(days=local.needs_training_days),
                escalate_to="manager",
                description=f"{gap.member_name} to complete {gap.course} training for a placed child's needs "
                f"({', '.join(gap.needs)})",
                source=CLOCK_SOURCES[Clock.NEEDS_TRAINING],
                member_id=gap.member_id,
                course=gap.course,
                placement_id=uuid.UUID(placement["placement_id"]),
            )
            events.append(
                _reaction(
                    cause,
                    f"needs-{placement['placement_id']}-{gap.member_id}-{gap.course}",
                    "DeadlineSet",
                    deadline,
                    metadata,
                    f"Clock started: {deadline.description} (due {deadline.due_at:%d %b %Y %H:%M})",
                )
            )
        if events:
            out.append((household_stream(state.household_id), events))
    return out


# ---- allegations -----------------------------------------------------------------------------
def allegation_stream(allegation_id: uuid.UUID | str) -> str:
    return f"allegation-{allegation_id}"


def allegation_hold(cause: RecordedEvent, metadata: dict[str, Any]) -> NewEvent:
    """The hold an allegation puts on its household. Its ids derive from the allegation's event,
    so the command and the reactor (which repairs a crash between the two appends) agree."""
    hold = ev.HoldPlaced(
        household_id=cause.data["household_id"],
        hold_id=reaction_id(cause, "hold-id"),
        reason="Allegation against the household: no new placements until a manager lifts this hold.",
        placed_at=cause.occurred_at,
        allegation_id=cause.data["allegation_id"],
    )
    return NewEvent(
        type=ev.HOLD_PLACED,
        data=hold.model_dump(mode="json"),
        occurred_at=cause.occurred_at,
        child_ids=cause.child_ids,
        metadata={**metadata, "causation_id": str(cause.event_id), "summary": "Household on hold: allegation"},
        event_id=reaction_id(cause, "hold"),
    )


def allegation_state(events: Sequence[RecordedEvent]) -> dict[str, Any]:
    state: dict[str, Any] = {"deadlines": {}}
    for e in events:
        if e.type == ev.ALLEGATION_RECEIVED:
            state.update(e.data, referred_at=None, written_confirmation_at=None, outcome=None)
        elif e.type == ev.LADO_REFERRAL_MADE:
            state.update(referred_at=e.data["referred_at"], lado_name=e.data.get("lado_name"))
            state["reference"] = e.data.get("reference")
        elif e.type == ev.LADO_WRITTEN_CONFIRMATION_SENT:
            state["written_confirmation_at"] = e.data["sent_at"]
        elif e.type == ev.ALLEGATION_OUTCOME_RECORDED:
            state.update(
                outcome=e.data["outcome"],
                dbs_referral_made=e.data["dbs_referral_made"],
                decided_at=e.data["decided_at"],
            )
        elif e.type in DEADLINE_TYPES:
            track_deadline(state["deadlines"], e.type, e.data)
    state["version"] = events[-1].stream_version if events else 0
    return state


async def receive_allegation(ctx: CommandContext, body: AllegationIn) -> dict[str, Any]:
    """Anyone who may raise an allegation is heard. A worker with a part in the household's or the
    children's care (or a manager, or the LADO) records it: the hold and the LADO clocks follow at
    once. Anyone else's is a report for the registered manager to triage, answered the same
    whether or not what it names exists, so it tells the reporter nothing they may not read."""
    require_writer(ctx.principal)
    not_in_future(ctx, "received_at", body.received_at)
    if body.report_id is None and not await _involved(ctx, body):
        return await report_allegation(ctx, body)
    if body.report_id is not None:
        require_role(ctx.principal, MANAGERS, "record an allegation from a report")
    state = await load_household(ctx, body.household_id)
    if body.member_id is not None and str(body.member_id) not in state.members:
        raise refuse(Reason("unknown_member", f"No member {body.member_id} in household {body.household_id}."))
    strangers = children_not_of(state, body.child_ids)
    if strangers:
        raise refuse(*strangers)
    report = await _open_report(ctx, body.report_id) if body.report_id is not None else None
    subject, events = allegation_received(ctx, state, body, local_rules())
    recorded = await ctx.append(subject, events, expected_version=0)
    hold = allegation_hold(recorded[0], ctx.metadata())
    await ctx.append(household_stream(body.household_id), [hold])
    if report is not None:
        await _close_report(ctx, report, "allegation_recorded", allegation_id=events[0].data["allegation_id"])
    return {
        "allegation_id": events[0].data["allegation_id"],
        "hold_id": hold.data["hold_id"],
        "lado_referral_due_at": events[1].data["due_at"],
        **ids(recorded),
    }


async def _involved(ctx: CommandContext, body: AllegationIn) -> bool:
    """Whether the caller stands in any relationship to the household or the children named."""
    if ctx.principal.role in MANAGERS or ctx.principal.role == Role.LADO:
        return True
    if ctx.relations is None:
        return False
    return bool(await ctx.relations(Target(child_ids=set(body.child_ids), household_ids={body.household_id})))


def report_stream(report_id: uuid.UUID | str) -> str:
    return f"allegation-report-{report_id}"


async def report_allegation(ctx: CommandContext, body: AllegationIn) -> dict[str, Any]:
    report_id = ctx.new_id()
    stream = report_stream(report_id)
    reported = ctx.event(
        ev.ALLEGATION_REPORTED,
        ev.AllegationReported(
            report_id=report_id,
            reported_by=ctx.principal.subject,
            reporter_role=ctx.principal.role.value,
            **body.model_dump(exclude={"report_id"}),
        ),
        occurred_at=body.received_at,
        summary=f"Allegation reported by {ctx.principal.subject}, for the registered manager to triage",
    )
    # Not on the household's clocks (its carers read those): the registered manager's own.
    triage = ctx.deadline_set(
        DeadlineSet(
            deadline_id=ctx.new_id(),
            kind=Clock.ALLEGATION_TRIAGE.value,
            subject=stream,
            started_at=body.received_at,
            due_at=lado_referral_due(body.received_at),
            escalate_to=Role.REGISTERED_MANAGER.value,
            description=f"Triage the allegation reported by {ctx.principal.subject}",
            source=CLOCK_SOURCES[Clock.ALLEGATION_TRIAGE],
        ),
        causation_id=reported.event_id,
    )
    await ctx.append(stream, [reported, triage], expected_version=0)
    return {
        "report_id": str(report_id),
        "status": "received",
        "detail": "Your report is recorded and passed to the registered manager, who must act on it within "
        "one working day.",
    }


async def _open_report(ctx: CommandContext, report_id: uuid.UUID) -> dict[str, Any]:
    events = await load_stream(ctx, report_stream(report_id), "allegation report")
    report: dict[str, Any] = {**events[0].data, "deadlines": {}, "version": events[-1].stream_version}
    for e in events:
        if e.type == ev.ALLEGATION_REPORT_CLOSED:
            raise Problem("state-conflict", f"The report was already triaged: {e.data['outcome']}.")
        if e.type in DEADLINE_TYPES:
            track_deadline(report["deadlines"], e.type, e.data)
    return report


async def _close_report(
    ctx: CommandContext,
    report: dict[str, Any],
    outcome: str,
    *,
    allegation_id: str | None = None,
    reason: str | None = None,
) -> list[RecordedEvent]:
    at = ctx.now()
    closed = ctx.event(
        ev.ALLEGATION_REPORT_CLOSED,
        ev.AllegationReportClosed(
            report_id=report["report_id"], outcome=outcome, allegation_id=allegation_id, reason=reason, closed_at=at
        ),
        summary="Allegation report triaged: "
        + ("recorded as an allegation" if allegation_id else f"closed ({reason})"),
    )
    triaged = [
        ctx.deadline_met(
            DeadlineMet(deadline_id=d.deadline_id, kind=d.kind, met_at=at, met_by_event_id=closed.event_id,
                        late=at > d.due_at),
            causation_id=closed.event_id,
        )
        for d in report["deadlines"].values()
    ]  # fmt: skip
    stream = report_stream(report["report_id"])
    return await ctx.append(stream, [closed, *triaged], expected_version=ctx.expected(report["version"]))


async def close_allegation_report(ctx: CommandContext, report_id: uuid.UUID, body: CloseReportIn) -> dict[str, Any]:
    """The registered manager closes a report that is not an allegation to record (with why)."""
    require_writer(ctx.principal)
    require_role(ctx.principal, MANAGERS, "triage an allegation report")
    report = await _open_report(ctx, report_id)
    recorded = await _close_report(ctx, report, "closed", reason=body.reason)
    return {"report_id": str(report_id), "outcome": "closed", **ids(recorded)}


async def allegation_report(ctx: CommandContext, report_id: uuid.UUID) -> dict[str, Any]:
    events = await load_stream(ctx, report_stream(report_id), "allegation report")
    closed = next((e.data for e in events if e.type == ev.ALLEGATION_REPORT_CLOSED), None)
    return {**events[0].data, "triage": closed, "version": events[-1].stream_version}


def allegation_received(
    ctx: CommandContext, state: HouseholdState, body: AllegationIn, local: LocalRules
) -> tuple[str, list[NewEvent]]:
    """A new allegation's stream and its first events: the allegation about the household and its
    LADO clocks (referral within one working day, written confirmation after it)."""
    allegation_id = ctx.new_id()
    at = body.received_at
    received = ctx.event(
        ev.ALLEGATION_RECEIVED,
        ev.AllegationReceived(allegation_id=allegation_id, **body.model_dump()),
        occurred_at=at,
        child_ids=body.child_ids,
        summary=f"Allegation received about {state.name}",
    )
    subject = allegation_stream(allegation_id)
    events = [
        received,
        clock(
            ctx,
            body.household_id,
            Clock.LADO_REFERRAL,
            at,
            lado_referral_due(at),
            "Refer the allegation to the LADO (1 working day)",
            subject=subject,
            child_ids=body.child_ids,
            allegation_id=allegation_id,
            causation_id=received.event_id,
        ),
        clock(
            ctx,
            body.household_id,
            Clock.LADO_WRITTEN_CONFIRMATION,
            at,
            lado_confirmation_due(at, local),
            f"Confirm the LADO referral in writing ({local.lado_written_confirmation_working_days} working days)",
            subject=subject,
            child_ids=body.child_ids,
            allegation_id=allegation_id,
            causation_id=received.event_id,
        ),
    ]
    return subject, events


async def _allegation(ctx: CommandContext, allegation_id: uuid.UUID) -> dict[str, Any]:
    return allegation_state(await load_stream(ctx, allegation_stream(allegation_id), "allegation"))


def _deadline_events(
    ctx: CommandContext, allegation: dict[str, Any], kind: Clock, at: datetime, by: NewEvent
) -> list[NewEvent]:
    household_id = uuid.UUID(allegation["household_id"])
    return [met(ctx, household_id, d, at, by) for d in allegation["deadlines"].values() if d.kind == kind]


async def record_lado_referral(ctx: CommandContext, allegation_id: uuid.UUID, body: LadoReferralIn) -> dict[str, Any]:
    require_writer(ctx.principal)
    allegation = await _allegation(ctx, allegation_id)
    if allegation["referred_at"] is not None:
        raise Problem(
            "state-conflict", f"The allegation was already referred to the LADO at {allegation['referred_at']}."
        )
    not_in_future(ctx, "referred_at", body.referred_at)
    received_at = datetime.fromisoformat(allegation["received_at"])
    if body.referred_at < received_at or (body.written_confirmation_at and body.written_confirmation_at < received_at):
        raise refuse(Reason("before_allegation", "The referral cannot precede the allegation."))
    if body.written_confirmation_at:
        not_in_future(ctx, "written_confirmation_at", body.written_confirmation_at)
    household_id = uuid.UUID(allegation["household_id"])
    child_ids = [uuid.UUID(c) for c in allegation["child_ids"]]
    event = ctx.event(
        ev.LADO_REFERRAL_MADE,
        ev.LadoReferralMade(
            allegation_id=allegation_id,
            household_id=household_id,
            referred_at=body.referred_at,
            lado_name=body.lado_name,
            reference=body.reference,
        ),
        occurred_at=body.referred_at,
        child_ids=child_ids,
        summary="Allegation referred to the LADO",
    )
    events = [event, *_deadline_events(ctx, allegation, Clock.LADO_REFERRAL, body.referred_at, event)]
    if body.written_confirmation_at:
        confirmation = _confirmation_event(ctx, allegation_id, household_id, child_ids, body.written_confirmation_at)
        events += [confirmation]
        events += _deadline_events(
            ctx, allegation, Clock.LADO_WRITTEN_CONFIRMATION, body.written_confirmation_at, confirmation
        )
    recorded = await ctx.append(
        allegation_stream(allegation_id), events, expected_version=ctx.expected(allegation["version"])
    )
    return {"allegation_id": str(allegation_id), **ids(recorded)}


def _confirmation_event(
    ctx: CommandContext, allegation_id: uuid.UUID, household_id: uuid.UUID, child_ids: list[uuid.UUID], at: datetime
) -> NewEvent:
    return ctx.event(
        ev.LADO_WRITTEN_CONFIRMATION_SENT,
        ev.LadoWrittenConfirmationSent(allegation_id=allegation_id, household_id=household_id, sent_at=at),
        occurred_at=at,
        child_ids=child_ids,
        summary="LADO referral confirmed in writing",
    )


async def record_written_confirmation(
    ctx: CommandContext, allegation_id: uuid.UUID, body: WrittenConfirmationIn
) -> dict[str, Any]:
    require_writer(ctx.principal)
    allegation = await _allegation(ctx, allegation_id)
    if allegation["written_confirmation_at"] is not None:
        raise Problem("state-conflict", "The written confirmation is already recorded.")
    not_in_future(ctx, "sent_at", body.sent_at)
    if body.sent_at < datetime.fromisoformat(allegation["received_at"]):
        raise refuse(Reason("before_allegation", "The confirmation cannot precede the allegation."))
    household_id = uuid.UUID(allegation["household_id"])
    child_ids = [uuid.UUID(c) for c in allegation["child_ids"]]
    event = _confirmation_event(ctx, allegation_id, household_id, child_ids, body.sent_at)
    events = [event, *_deadline_events(ctx, allegation, Clock.LADO_WRITTEN_CONFIRMATION, body.sent_at, event)]
    recorded = await ctx.append(
        allegation_stream(allegation_id), events, expected_version=ctx.expected(allegation["version"])
    )
    return {"allegation_id": str(allegation_id), **ids(recorded)}


async def record_outcome(ctx: CommandContext, allegation_id: uuid.UUID, body: OutcomeIn) -> dict[str, Any]:
    require_writer(ctx.principal)
    allegation = await _allegation(ctx, allegation_id)
    if allegation["outcome"] is not None:
        raise Problem("state-conflict", f"The outcome is already recorded: {allegation['outcome']}.")
    if allegation["referred_at"] is None:
        raise Problem("state-conflict", "Refer the allegation to the LADO before recording its outcome.")
    at = body.decided_at or ctx.now()
    not_in_future(ctx, "decided_at", at)
    household_id = uuid.UUID(allegation["household_id"])
    child_ids = [uuid.UUID(c) for c in allegation["child_ids"]]
    event = ctx.event(
        ev.ALLEGATION_OUTCOME_RECORDED,
        ev.AllegationOutcomeRecorded(
            allegation_id=allegation_id,
            household_id=household_id,
            outcome=body.outcome.value,
            dbs_referral_made=body.dbs_referral_made,
            decided_at=at,
            narrative=body.narrative,
        ),
        occurred_at=at,
        child_ids=child_ids,
        summary=f"Allegation outcome: {body.outcome.value}"
        + ("; referred to the DBS" if body.dbs_referral_made else ""),
    )
    events = [event]
    if body.outcome == AllegationOutcome.SUBSTANTIATED:
        local = local_rules()
        events.append(
            clock(
                ctx,
                household_id,
                Clock.APPROVAL_REVIEW,
                at,
                at + timedelta(days=local.approval_review_days),
                "Review the household's approval after a substantiated allegation",
                subject=allegation_stream(allegation_id),
                child_ids=child_ids,
                allegation_id=allegation_id,
                causation_id=event.event_id,
            )
        )
    recorded = await ctx.append(
        allegation_stream(allegation_id), events, expected_version=ctx.expected(allegation["version"])
    )
    return {"allegation_id": str(allegation_id), "outcome": body.outcome.value, **ids(recorded)}
