"""carers: pure domain rules (no I/O, no clock: callers pass `on` / `now`).

Statutory numbers are in `STATUTORY` with their source; numbers that are local practice are in
`LocalRules` (filled from `CARELOG_CARERS_*` settings by commands.py).

The household's state is a fold over its events (`evolve`): the same fold runs inside the
locked append transaction (placement eligibility), in the projector (read models) and in the
commands (validation), so all three agree by construction.
"""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from shared.calendar import add_working_days_at
from shared.deadlines import DEADLINE_CANCELLED, DEADLINE_MET, DEADLINE_SET


# ---- the numbers -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Statutory:
    adult_age: int = 18  # Schedule 3, Fostering Services (England) Regulations 2011: checks on every adult (18+)
    annual_review_months: int = 12  # reg 28(2), Fostering Services (England) Regulations 2011
    unannounced_visit_months: int = 12  # NMS 21.8: at least one unannounced visit a year
    tsd_months: int = 12  # NMS 20.3: TSD standards within 12 months of approval
    tsd_months_connected: int = 18  # NMS 20.3: 18 months for family and friends (connected) carers
    lado_referral_working_days: int = 1  # Working Together to Safeguard Children 2023, ch. 4: within one working day


STATUTORY = Statutory()


@dataclass(frozen=True)
class LocalRules:
    """Local practice (DOMAIN.md marks these "(local)"): configuration, not law."""

    supervision_months: int = 1  # NMS 21 says "regular"; monthly is common council practice
    dbs_renewal_years: int = 3  # renew the enhanced DBS every 3 years
    safeguarding_renewal_years: int = 3  # safeguarding training renewed every 3 years
    lado_written_confirmation_working_days: int = 3  # written confirmation of the LADO referral
    approval_review_days: int = 28  # review of approval after a substantiated allegation
    due_soon_days: int = 14  # compliance shows "due_soon" this close to a due date
    needs_training_days: int = 28  # carers trained for a placed child's needs within 28 days
    ending_record_working_days: int = 5  # an incomplete ending record completed within 5 working days
    worker_supervision_months: int = 1  # a social worker's own supervision: monthly
    caseload_children_target: int = 20  # children per children's social worker
    caseload_households_target: int = 16  # households per supervising social worker


class MemberRole(StrEnum):
    APPLICANT = "applicant"
    CARER = "carer"
    ADULT = "adult"
    CHILD = "child"


CARER_ROLES = frozenset({MemberRole.APPLICANT, MemberRole.CARER})


class CheckKind(StrEnum):
    DBS_ENHANCED = "dbs_enhanced"
    MEDICAL = "medical"
    REFERENCES = "references"
    LOCAL_AUTHORITY = "local_authority"
    HOME_SAFETY = "home_safety"


class CheckResult(StrEnum):
    CLEAR = "clear"
    CONCERNS = "concerns"


class TrainingCourse(StrEnum):
    TSD_STANDARDS = "tsd_standards"
    SAFEGUARDING = "safeguarding"
    FIRST_AID = "first_aid"
    MEDICATION = "medication"
    ALLEGATIONS = "allegations"
    EXPLOITATION = "exploitation"
    EPILEPSY = "epilepsy"
    SELF_HARM = "self_harm"
    SUBSTANCE_MISUSE = "substance_misuse"
    DIABETES = "diabetes"
    OTHER = "other"


class ReviewOutcome(StrEnum):
    CONTINUE = "continue"
    CHANGE_TERMS = "change_terms"
    RECOMMEND_TERMINATION = "recommend_termination"


class AllegationOutcome(StrEnum):
    SUBSTANTIATED = "substantiated"
    FALSE = "false"
    MALICIOUS = "malicious"
    UNSUBSTANTIATED = "unsubstantiated"
    UNFOUNDED = "unfounded"


class HouseholdStatus(StrEnum):
    ASSESSMENT = "assessment"
    APPROVED = "approved"
    REFUSED = "refused"
    ENDED = "ended"


class PlacementType(StrEnum):
    SHORT_TERM = "short_term"
    LONG_TERM = "long_term"
    RESPITE = "respite"
    EMERGENCY = "emergency"
    REMAND = "remand"
    CONNECTED_PERSON = "connected_person"
    PARENT_AND_CHILD = "parent_and_child"


# Deadline kinds this service starts (DeadlineSet.kind).
class Clock(StrEnum):
    SUPERVISION = "carers.supervision"
    UNANNOUNCED_VISIT = "carers.unannounced_visit"
    ANNUAL_REVIEW = "carers.annual_review"
    TSD = "carers.tsd_standards"
    SAFEGUARDING_TRAINING = "carers.safeguarding_training"
    TRAINING_RENEWAL = "carers.training_renewal"
    DBS = "carers.dbs_check"
    SUPERVISION_FOLLOW_UP = "carers.supervision_follow_up"
    LADO_REFERRAL = "carers.lado_referral"
    ALLEGATION_TRIAGE = "carers.allegation_triage"
    LADO_WRITTEN_CONFIRMATION = "carers.lado_written_confirmation"
    APPROVAL_REVIEW = "carers.approval_review"
    NEEDS_TRAINING = "carers.needs_training"
    INCIDENT_AGENDA = "carers.incident_agenda"
    ENDING_RECORD = "carers.ending_record"
    WORKER_SUPERVISION = "carers.worker_supervision"


CLOCK_SOURCES: dict[str, str] = {
    Clock.SUPERVISION: "NMS 21 (monthly: local practice)",
    Clock.UNANNOUNCED_VISIT: "NMS 21.8",
    Clock.ANNUAL_REVIEW: "Fostering Services (England) Regulations 2011 reg 28",
    Clock.TSD: "NMS 20.3",
    Clock.SAFEGUARDING_TRAINING: "NMS 20 (each review period; renewal local)",
    Clock.TRAINING_RENEWAL: "NMS 20.5 (renewal: local)",
    Clock.DBS: "Fostering Services (England) Regulations 2011 Schedule 3 (renewal: local)",
    Clock.SUPERVISION_FOLLOW_UP: "Ofsted finding: concerns noted in supervision and not acted on (local)",
    Clock.LADO_REFERRAL: "Working Together to Safeguard Children 2023, chapter 4",
    Clock.ALLEGATION_TRIAGE: "Working Together to Safeguard Children 2023, chapter 4: a reported allegation is "
    "triaged in time for its LADO referral (1 working day)",
    Clock.LADO_WRITTEN_CONFIRMATION: "Working Together to Safeguard Children 2023, chapter 4 (3 working days: local)",
    Clock.APPROVAL_REVIEW: "Fostering Services (England) Regulations 2011 reg 28(2)(b)",
    Clock.NEEDS_TRAINING: "reg 17(1) and NMS 20.5: training as appears necessary for the child placed (days: local)",
    Clock.INCIDENT_AGENDA: "NMS 21.8; Ofsted finding: incidents not discussed at the next supervision (local)",
    Clock.ENDING_RECORD: "NMS 11 and Ofsted finding: endings not recorded for children (working days: local)",
    Clock.WORKER_SUPERVISION: "NMS 24.3 / 25.7: staff receive regular supervision (monthly: local)",
}


# ---- matching: a child's needs and the training they call for (versioned data) ----------------
class ChildNeed(StrEnum):
    EPILEPSY = "epilepsy"
    COMPLEX_MEDICATION = "complex_medication"
    SELF_HARM = "self_harm"
    SUBSTANCE_MISUSE = "substance_misuse"
    DIABETES = "diabetes"
    SEXUAL_EXPLOITATION_RISK = "sexual_exploitation_risk"


# Which courses every carer of a child with the need must hold. Effective 2026-11-25 (local
# policy under reg 17(1) and NMS 20.5; the Ofsted report found carers without the training their
# children's health needs required). A need not listed calls for no particular course.
NEEDS_TRAINING_EFFECTIVE = date(2026, 11, 25)
NEEDS_TRAINING: dict[str, tuple[str, ...]] = {
    ChildNeed.EPILEPSY: (TrainingCourse.EPILEPSY, TrainingCourse.FIRST_AID),
    ChildNeed.COMPLEX_MEDICATION: (TrainingCourse.MEDICATION,),
    ChildNeed.SELF_HARM: (TrainingCourse.SELF_HARM,),
    ChildNeed.SUBSTANCE_MISUSE: (TrainingCourse.SUBSTANCE_MISUSE,),
    ChildNeed.DIABETES: (TrainingCourse.DIABETES, TrainingCourse.MEDICATION),
    ChildNeed.SEXUAL_EXPLOITATION_RISK: (TrainingCourse.EXPLOITATION,),
}


@dataclass(frozen=True)
class TrainingGap:
    member_id: uuid.UUID
    member_name: str
    course: str
    needs: tuple[str, ...]


def held_courses(trainings: list[dict[str, Any]], member_id: uuid.UUID, on: date) -> set[str]:
    """Courses the member holds on `on` (completed by then and not expired)."""
    held = set()
    for t in trainings:
        if t["member_id"] != str(member_id) or date.fromisoformat(str(t["completed_on"])) > on:
            continue
        expires = t.get("expires_on")
        if expires is None or date.fromisoformat(str(expires)) > on:
            held.add(t["course"])
    return held


def training_gaps(
    needs: list[str], carers: list[tuple[uuid.UUID, str]], trainings: list[dict[str, Any]], on: date
) -> list[TrainingGap]:
    """Every (carer, course) the child's needs call for that the carer does not hold on `on`."""
    wanted: dict[str, list[str]] = {}
    for need in dict.fromkeys(needs):
        for course in NEEDS_TRAINING.get(need, ()):
            wanted.setdefault(str(course), []).append(str(need))
    gaps = []
    for member_id, name in carers:
        held = held_courses(trainings, member_id, on)
        for course, because in wanted.items():
            if course not in held:
                gaps.append(TrainingGap(member_id, name, course, tuple(because)))
    return gaps


# ---- behavioural incidents: onto the agenda of the next supervision ---------------------------
AGENDA_INCIDENT_CATEGORIES = frozenset({"assault_on_carer", "damage", "police_called"})


def belongs_on_supervision_agenda(category: str, police_called: bool = False) -> bool:
    return category in AGENDA_INCIDENT_CATEGORIES or police_called


# ---- endings ---------------------------------------------------------------------------------
ENDING_PARTS = ("child_wishes", "carer_views", "ending_meeting")


def ending_parts_recorded(
    *,
    child_wishes_contact: bool | None = None,
    child_wishes: str | None = None,
    carer_views: str | None = None,
    ending_meeting_held: bool | None = None,
) -> list[str]:
    """Which of the three parts of a good ending the record holds."""
    parts = []
    if child_wishes_contact is not None or child_wishes:
        parts.append("child_wishes")
    if carer_views:
        parts.append("carer_views")
    if ending_meeting_held is not None:
        parts.append("ending_meeting")
    return parts


# ---- unannounced visits: every placed child seen, or one of three reasons --------------------
class NotSeenReason(StrEnum):
    CHILD_REFUSED = "child_refused"
    INAPPROPRIATE_FOR_AGE_OR_UNDERSTANDING = "inappropriate_for_age_or_understanding"
    UNABLE = "unable"


def children_unaccounted(
    placed: set[uuid.UUID], seen: set[uuid.UUID], not_seen: dict[uuid.UUID, str]
) -> list[uuid.UUID]:
    """Placed children an unannounced visit neither saw nor gave one of the three reasons for."""
    valid = {c for c, reason in not_seen.items() if reason in set(NotSeenReason)}
    return sorted(placed - seen - valid, key=str)


# ---- caseloads -------------------------------------------------------------------------------
def caseload_status(children: int, households: int, local: LocalRules) -> dict[str, Any]:
    over = []
    if children > local.caseload_children_target:
        over.append("children")
    if households > local.caseload_households_target:
        over.append("households")
    return {
        "children": children,
        "children_target": local.caseload_children_target,
        "households": households,
        "households_target": local.caseload_households_target,
        "over_target": bool(over),
        "over_target_in": over,
    }


def worker_supervision_due(
    last_supervised_at: datetime | None, first_allocated_at: datetime | None, local: LocalRules
) -> datetime | None:
    """When the worker's next supervision is due: a month (local) after the last, or after their
    first allocation if they have never been supervised."""
    base = last_supervised_at or first_allocated_at
    return add_months_at(base, local.worker_supervision_months) if base else None


# ---- dates -----------------------------------------------------------------------------------
def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_months_at(instant: datetime, months: int) -> datetime:
    return datetime.combine(add_months(instant.date(), months), instant.timetz())


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def age_on(date_of_birth: date, on: date) -> int:
    return on.year - date_of_birth.year - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))


def adult_from(date_of_birth: date) -> date:
    return add_years(date_of_birth, STATUTORY.adult_age)


def lado_referral_due(received_at: datetime) -> datetime:
    return add_working_days_at(received_at, STATUTORY.lado_referral_working_days)


def lado_confirmation_due(received_at: datetime, local: LocalRules) -> datetime:
    return add_working_days_at(received_at, local.lado_written_confirmation_working_days)


def tsd_months(connected_person: bool) -> int:
    return STATUTORY.tsd_months_connected if connected_person else STATUTORY.tsd_months


# ---- the household, folded from the log -------------------------------------------------------
class Terms(BaseModel):
    age_min: int = Field(ge=0, le=25)
    age_max: int = Field(ge=0, le=25)
    max_children: int = Field(ge=1, le=10)
    placement_types: list[PlacementType] = Field(min_length=1)


class CheckState(BaseModel):
    check_id: uuid.UUID
    kind: str
    result: CheckResult
    checked_at: date
    expires_on: date | None = None


class MemberState(BaseModel):
    member_id: uuid.UUID
    name: str
    role: MemberRole
    date_of_birth: date
    joined_on: date
    checks: list[CheckState] = Field(default_factory=list)


class HoldState(BaseModel):
    hold_id: uuid.UUID
    reason: str
    placed_at: datetime
    allegation_id: uuid.UUID | None = None
    lifted_at: datetime | None = None
    lift_reason: str | None = None


class OpenDeadline(BaseModel):
    deadline_id: uuid.UUID
    kind: str
    description: str
    started_at: datetime
    due_at: datetime
    member_id: uuid.UUID | None = None
    allegation_id: uuid.UUID | None = None
    concern_id: uuid.UUID | None = None
    course: str | None = None
    item_id: uuid.UUID | None = None
    placement_id: uuid.UUID | None = None


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


class HouseholdState(BaseModel):
    household_id: uuid.UUID
    name: str = ""
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
    trainings: list[dict[str, Any]] = Field(default_factory=list)
    version: int = 0

    @property
    def open_holds(self) -> list[HoldState]:
        return [h for h in self.holds.values() if h.lifted_at is None]

    def carers(self) -> list[MemberState]:
        return [m for m in self.members.values() if m.role in CARER_ROLES]

    def review_due(self) -> datetime | None:
        base = self.last_review_at or self.approved_at
        return add_months_at(base, STATUTORY.annual_review_months) if base else None


def household_stream(household_id: uuid.UUID | str) -> str:
    return f"household-{household_id}"


def evolve(
    state: HouseholdState | None,
    event_type: str,
    data: dict[str, Any],
    *,
    stream_id: str,
    stream_version: int,
    occurred_at: datetime,
) -> HouseholdState | None:
    """Apply one event to the household's state. Events that do not concern it leave it as is."""
    if event_type == "carers.HouseholdRegistered":
        state = HouseholdState(
            household_id=uuid.UUID(data["household_id"]),
            name=data["name"],
            connected_person=bool(data.get("connected_person", False)),
            supervising_social_worker_id=data.get("supervising_social_worker_id"),
        )
    if state is None:
        return None
    if stream_id == household_stream(state.household_id):
        state.version = max(state.version, stream_version)
    match event_type:
        case "carers.MemberAdded":
            state.members[data["member_id"]] = MemberState.model_validate(data)
        case "carers.CheckRecorded":
            member = state.members.get(data["member_id"])
            if member is not None:
                member.checks.append(CheckState.model_validate(data))
        case "carers.HouseholdApproved":
            state.status = HouseholdStatus.APPROVED
            state.approved_at = datetime.fromisoformat(data["approved_at"])
            state.terms = Terms.model_validate(data["terms"])
            state.last_review_at, state.reviews = None, 0  # a new approval has its own first review
            for member in state.members.values():
                if member.role == MemberRole.APPLICANT:
                    member.role = MemberRole.CARER
        case "carers.HouseholdRefused":
            state.status = HouseholdStatus.REFUSED
        case "carers.ApprovalEnded":
            state.status = HouseholdStatus.ENDED
        case "carers.SupervisionRecorded":
            at = datetime.fromisoformat(data["occurred_at"])
            state.last_supervision_at = max(filter(None, [state.last_supervision_at, at]))
            if data.get("unannounced"):
                state.last_unannounced_at = max(filter(None, [state.last_unannounced_at, at]))
            for concern in data.get("concerns", []):
                state.concerns[concern["concern_id"]] = ConcernState(
                    concern_id=concern["concern_id"],
                    text=concern["text"],
                    raised_at=at,
                    supervision_id=data["supervision_id"],
                )
            for follow_up in data.get("concerns_addressed", []):
                known = state.concerns.get(follow_up["concern_id"])
                if known is not None:
                    known.addressed_at = at
                    known.action = follow_up.get("action")
            for item_id in data.get("agenda_items_discussed", []):
                item = state.agenda.get(str(item_id))
                if item is not None and item.discussed_at is None:
                    item.discussed_at, item.supervision_id = at, uuid.UUID(str(data["supervision_id"]))
        case "carers.SupervisionAgendaItemAdded":
            state.agenda.setdefault(data["item_id"], AgendaItem.model_validate(data))
        case "carers.TrainingRecorded":
            state.trainings.append(data)
        case "carers.ReviewRecorded":
            at = datetime.fromisoformat(data["occurred_at"])
            state.last_review_at = max(filter(None, [state.last_review_at, at]))
            state.reviews += 1
            if data.get("new_terms"):
                state.terms = Terms.model_validate(data["new_terms"])
        case "carers.HoldPlaced":
            state.holds[data["hold_id"]] = HoldState.model_validate(data)
            if data.get("allegation_id") and data["allegation_id"] in state.allegations:
                state.allegations[data["allegation_id"]].hold_recorded = True
        case "carers.HoldLifted":
            hold = state.holds.get(data["hold_id"])
            if hold is not None:
                hold.lifted_at = datetime.fromisoformat(data["lifted_at"])
                hold.lift_reason = data["reason"]
        case "carers.PlacementStarted":
            state.placements[data["placement_id"]] = PlacementRef.model_validate(data)
            if (child := uuid.UUID(data["child_id"])) not in state.children_placed:
                state.children_placed.append(child)
        case "carers.PlacementEnded":
            state.placements.pop(data["placement_id"], None)
            recorded = ending_parts_recorded(
                child_wishes_contact=data.get("child_wishes_contact"),
                child_wishes=data.get("child_wishes"),
                carer_views=data.get("carer_views") or data.get("carer_feelings"),
                ending_meeting_held=data.get("ending_meeting_held"),
            )
            if not recorded:
                state.incomplete_endings[data["placement_id"]] = IncompleteEnding(
                    placement_id=data["placement_id"],
                    child_id=data["child_id"],
                    end_date=data["end_date"],
                    missing=list(ENDING_PARTS),
                )
        case "carers.EndingRecorded":
            state.incomplete_endings.pop(data["placement_id"], None)
        case "carers.AllegationReceived":
            held = any(str(h.allegation_id) == data["allegation_id"] for h in state.holds.values())
            state.allegations[data["allegation_id"]] = AllegationRef(
                allegation_id=data["allegation_id"], received_at=data["received_at"], hold_recorded=held
            )
        case "carers.AllegationOutcomeRecorded":
            ref = state.allegations.get(data["allegation_id"])
            if ref is not None:
                ref.outcome = data["outcome"]
        case "DeadlineSet" | "DeadlineMet" | "DeadlineCancelled":
            track_deadline(state.deadlines, event_type, data)
    return state


def track_deadline(deadlines: dict[str, OpenDeadline], event_type: str, data: dict[str, Any]) -> None:
    """A stream's open clocks: DeadlineSet opens one; DeadlineMet or DeadlineCancelled closes it."""
    if event_type == DEADLINE_SET:
        deadlines[data["deadline_id"]] = OpenDeadline.model_validate(data)
    elif event_type in (DEADLINE_MET, DEADLINE_CANCELLED):
        deadlines.pop(data["deadline_id"], None)


# ---- placement eligibility -------------------------------------------------------------------
@dataclass(frozen=True)
class Reason:
    code: str
    detail: str

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail}


@dataclass(frozen=True)
class PlacementRequest:
    child_id: uuid.UUID
    child_date_of_birth: date
    start_date: date
    placement_type: PlacementType | None = None


def dbs_status(member: MemberState, on: date) -> tuple[str, date | None]:
    """(`clear` | `missing` | `concerns` | `expired`, expiry) of the member's latest enhanced DBS on `on`."""
    dbs = [c for c in member.checks if c.kind == CheckKind.DBS_ENHANCED and c.checked_at <= on]
    if not dbs:
        return "missing", None
    latest = max(dbs, key=lambda c: c.checked_at)
    if latest.result != CheckResult.CLEAR:
        return "concerns", latest.expires_on
    if latest.expires_on is not None and latest.expires_on <= on:
        return "expired", latest.expires_on
    return "clear", latest.expires_on


def is_adult(member: MemberState, on: date) -> bool:
    """Role does not decide: a child member who has turned 18 is an adult who needs checks."""
    return age_on(member.date_of_birth, on) >= STATUTORY.adult_age


def placement_eligibility(state: HouseholdState, request: PlacementRequest, on: date) -> list[Reason]:
    """Every reason the household may not take this placement on `on` (empty: it may).

    `on` is the later of today and the start date: a placement must be safe both now and when it
    starts. The child's age is taken at the start date.
    """
    reasons: list[Reason] = []
    if state.status != HouseholdStatus.APPROVED or state.terms is None:
        reasons.append(Reason("not_approved", f"The household is not approved (status: {state.status.value})."))
    for hold in state.open_holds:
        reasons.append(Reason("on_hold", f"The household is on hold since {hold.placed_at:%d %b %Y}: {hold.reason}"))
    for ref in state.allegations.values():
        if not ref.hold_recorded:
            reasons.append(Reason("on_hold", "An allegation was received; the household is on hold."))
    for member in sorted(state.members.values(), key=lambda m: m.name):
        if not is_adult(member, on):
            continue
        status, expiry = dbs_status(member, on)
        if status != "clear":
            text = {
                "missing": "has no enhanced DBS check",
                "concerns": "has an enhanced DBS check with concerns",
                "expired": f"has an enhanced DBS check that expired on {expiry}",
            }[status]
            reasons.append(Reason(f"adult_dbs_{status}", f"{member.name} (an adult in the household) {text}."))
    review_due = state.review_due()
    if state.status == HouseholdStatus.APPROVED and review_due is not None and review_due.date() < on:
        reasons.append(Reason("annual_review_overdue", f"The annual review was due on {review_due:%d %b %Y}."))
    if state.terms is not None:
        terms = state.terms
        current = [p for p in state.placements.values() if p.child_id != request.child_id]
        if len(current) + 1 > terms.max_children:
            reasons.append(
                Reason(
                    "exceeds_max_children",
                    f"The household is approved for {terms.max_children} child(ren) and has {len(current)} placed.",
                )
            )
        age = age_on(request.child_date_of_birth, request.start_date)
        if not terms.age_min <= age <= terms.age_max:
            reasons.append(
                Reason(
                    "outside_age_range",
                    f"The child is {age}; the household is approved for ages {terms.age_min} to {terms.age_max}.",
                )
            )
        if request.placement_type is not None and request.placement_type not in terms.placement_types:
            reasons.append(
                Reason(
                    "placement_type_not_approved",
                    f"The household is not approved for {request.placement_type.value} placements.",
                )
            )
    return reasons


# ---- compliance ------------------------------------------------------------------------------
def item_status(due_at: datetime | None, now: datetime, local: LocalRules) -> str:
    if due_at is None:
        return "ok"
    if due_at < now:
        return "overdue"
    if due_at - now <= timedelta(days=local.due_soon_days):
        return "due_soon"
    return "ok"


def compliance(state: HouseholdState, now: datetime, local: LocalRules) -> dict[str, Any]:
    """Every clock of the household with its due date and status, at `now`."""
    items: list[dict[str, Any]] = []
    today = now.date()
    # An approved household must have every adult checked now; during assessment it is a step to do.
    unchecked = "overdue" if state.status == HouseholdStatus.APPROVED else "required"
    for member in state.members.values():
        if not is_adult(member, today):
            continue
        status, expiry = dbs_status(member, today)
        due = start_of(expiry) if expiry else None
        items.append(
            {
                "kind": Clock.DBS.value,
                "member_id": str(member.member_id),
                "description": f"Enhanced DBS check for {member.name}",
                "dbs": status,
                "due_at": due.isoformat() if due else None,
                "status": item_status(due, now, local) if status == "clear" else unchecked,
            }
        )
    for deadline in sorted(state.deadlines.values(), key=lambda d: d.due_at):
        if deadline.kind == Clock.DBS:
            continue  # computed above from the checks themselves, by date
        items.append(
            {
                "kind": deadline.kind,
                "deadline_id": str(deadline.deadline_id),
                "description": deadline.description,
                "member_id": str(deadline.member_id) if deadline.member_id else None,
                "allegation_id": str(deadline.allegation_id) if deadline.allegation_id else None,
                "concern_id": str(deadline.concern_id) if deadline.concern_id else None,
                "started_at": deadline.started_at.isoformat(),
                "due_at": deadline.due_at.isoformat(),
                "status": item_status(deadline.due_at, now, local),
            }
        )
    holds = [
        {"hold_id": str(h.hold_id), "reason": h.reason, "placed_at": h.placed_at.isoformat()} for h in state.open_holds
    ]
    overdue = [i for i in items if i["status"] == "overdue"]
    agenda = [
        {**a.model_dump(mode="json"), "status": "open"}
        for a in sorted(state.agenda.values(), key=lambda a: a.added_at)
        if a.discussed_at is None
    ]
    gaps = [
        {
            "deadline_id": str(d.deadline_id),
            "member_id": str(d.member_id) if d.member_id else None,
            "course": d.course,
            "description": d.description,
            "due_at": d.due_at.isoformat(),
            "status": item_status(d.due_at, now, local),
        }
        for d in sorted(state.deadlines.values(), key=lambda d: d.due_at)
        if d.kind == Clock.NEEDS_TRAINING
    ]
    endings = [e.model_dump(mode="json") for e in state.incomplete_endings.values()]
    flags = [{"kind": "training_gap", **g} for g in gaps] + [{"kind": "incomplete_ending", **e} for e in endings]
    return {
        "household_id": str(state.household_id),
        "name": state.name,
        "status": state.status.value,
        "as_of": now.isoformat(),
        "on_hold": bool(holds),
        "holds": holds,
        "last_supervision_at": state.last_supervision_at.isoformat() if state.last_supervision_at else None,
        "last_unannounced_visit_at": state.last_unannounced_at.isoformat() if state.last_unannounced_at else None,
        "last_review_at": state.last_review_at.isoformat() if state.last_review_at else None,
        "items": items,
        "overdue": overdue,
        "overdue_count": len(overdue),
        "supervision_agenda": agenda,
        "training_gaps": gaps,
        "incomplete_endings": endings,
        "flags": flags,
        "compliant": not overdue and not holds and not flags,
    }
