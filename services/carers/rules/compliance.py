"""A household's compliance at an instant: every clock with its due date and status, its holds,
the incidents awaiting supervision, training its children's needs call for and endings unrecorded.
Overdue is computed here, from stored due dates and the instant passed in: never stored."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from pydantic import BaseModel

from services.carers.rules.clocks import Clock, OpenDeadline
from services.carers.rules.eligibility import dbs_status, is_adult
from services.carers.rules.household import AgendaItem, HouseholdState, IncompleteEnding
from services.carers.rules.tables import HouseholdStatus, start_of
from shared.practice import CarersPractice


class ComplianceItem(BaseModel):
    """One clock: a stored deadline, or an adult's enhanced DBS (computed from the checks)."""

    kind: str
    description: str
    status: str  # ok | due_soon | overdue | required (an unchecked adult during assessment)
    due_at: datetime | None = None
    started_at: datetime | None = None
    deadline_id: uuid.UUID | None = None
    member_id: uuid.UUID | None = None
    allegation_id: uuid.UUID | None = None
    concern_id: uuid.UUID | None = None
    dbs: str | None = None  # clear | missing | concerns | expired


class OpenHold(BaseModel):
    hold_id: uuid.UUID
    reason: str
    placed_at: datetime


class AgendaEntry(AgendaItem):
    status: str = "open"


class TrainingGapItem(BaseModel):
    deadline_id: uuid.UUID
    member_id: uuid.UUID | None = None
    course: str | None = None
    description: str
    due_at: datetime
    status: str


class Flag(BaseModel):
    """Something that keeps a household from compliance that is not a clock overdue."""

    kind: str  # training_gap | incomplete_ending
    deadline_id: uuid.UUID | None = None
    member_id: uuid.UUID | None = None
    course: str | None = None
    description: str | None = None
    due_at: datetime | None = None
    status: str | None = None
    placement_id: uuid.UUID | None = None
    child_id: uuid.UUID | None = None
    end_date: date | None = None
    missing: list[str] | None = None


class ComplianceReport(BaseModel):
    household_id: uuid.UUID
    name: str
    status: HouseholdStatus
    as_of: datetime
    on_hold: bool
    holds: list[OpenHold]
    last_supervision_at: datetime | None
    last_unannounced_visit_at: datetime | None
    last_review_at: datetime | None
    items: list[ComplianceItem]
    overdue: list[ComplianceItem]
    overdue_count: int
    supervision_agenda: list[AgendaEntry]
    training_gaps: list[TrainingGapItem]
    incomplete_endings: list[IncompleteEnding]
    flags: list[Flag]
    compliant: bool


def item_status(due_at: datetime | None, now: datetime, practice: CarersPractice) -> str:
    if due_at is None:
        return "ok"
    if due_at < now:
        return "overdue"
    if due_at - now <= timedelta(days=practice.due_soon_days):
        return "due_soon"
    return "ok"


def compliance(state: HouseholdState, now: datetime, practice: CarersPractice) -> ComplianceReport:
    """Every clock of the household with its due date and status, at `now`."""
    items = dbs_items(state, now, practice) + deadline_items(state, now, practice)
    holds = [OpenHold(hold_id=h.hold_id, reason=h.reason, placed_at=h.placed_at) for h in state.open_holds]
    overdue = [i for i in items if i.status == "overdue"]
    gaps = training_gap_items(state, now, practice)
    endings = list(state.incomplete_endings.values())
    flags = [Flag(kind="training_gap", **g.model_dump()) for g in gaps]
    flags += [Flag(kind="incomplete_ending", **e.model_dump()) for e in endings]
    return ComplianceReport(
        household_id=state.household_id,
        name=state.name,
        status=state.status,
        as_of=now,
        on_hold=bool(holds),
        holds=holds,
        last_supervision_at=state.last_supervision_at,
        last_unannounced_visit_at=state.last_unannounced_at,
        last_review_at=state.last_review_at,
        items=items,
        overdue=overdue,
        overdue_count=len(overdue),
        supervision_agenda=open_agenda(state),
        training_gaps=gaps,
        incomplete_endings=endings,
        flags=flags,
        compliant=not overdue and not holds and not flags,
    )


def dbs_items(state: HouseholdState, now: datetime, practice: CarersPractice) -> list[ComplianceItem]:
    """Each adult's enhanced DBS, by date from the checks. An approved household must have every
    adult checked now; during assessment an unchecked adult is a step still to take."""
    today = now.date()
    unchecked = "overdue" if state.status == HouseholdStatus.APPROVED else "required"
    items = []
    for member in state.members.values():
        if not is_adult(member, today):
            continue
        dbs, expiry = dbs_status(member, today)
        due = start_of(expiry) if expiry else None
        items.append(
            ComplianceItem(
                kind=Clock.DBS,
                member_id=member.member_id,
                description=f"Enhanced DBS check for {member.name}",
                dbs=dbs,
                due_at=due,
                status=item_status(due, now, practice) if dbs == "clear" else unchecked,
            )
        )
    return items


def deadline_items(state: HouseholdState, now: datetime, practice: CarersPractice) -> list[ComplianceItem]:
    """The household's open clocks by due date (but DBS, which `dbs_items` reads from the checks)."""
    return [
        ComplianceItem(
            kind=d.kind,
            deadline_id=d.deadline_id,
            description=d.description,
            member_id=d.member_id,
            allegation_id=d.allegation_id,
            concern_id=d.concern_id,
            started_at=d.started_at,
            due_at=d.due_at,
            status=item_status(d.due_at, now, practice),
        )
        for d in _by_due_date(state.deadlines.values())
        if d.kind != Clock.DBS
    ]


def open_agenda(state: HouseholdState) -> list[AgendaEntry]:
    items = sorted((a for a in state.agenda.values() if a.discussed_at is None), key=lambda a: a.added_at)
    return [AgendaEntry(**a.model_dump()) for a in items]


def training_gap_items(state: HouseholdState, now: datetime, practice: CarersPractice) -> list[TrainingGapItem]:
    return [
        TrainingGapItem(
            deadline_id=d.deadline_id,
            member_id=d.member_id,
            course=d.course,
            description=d.description,
            due_at=d.due_at,
            status=item_status(d.due_at, now, practice),
        )
        for d in _by_due_date(state.deadlines.values())
        if d.kind == Clock.NEEDS_TRAINING
    ]


def _by_due_date(deadlines: Iterable[OpenDeadline]) -> list[OpenDeadline]:
    return sorted(deadlines, key=lambda d: d.due_at)
