"""carers: a household's commands, from registration to approval, checks, training, reviews and
holds. Each is a pure decider (`decide_*`: refuses or returns the events) and a thin shell that
loads the household, decides and appends."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from services.carers.commands import loading
from services.carers.commands.approvals import agreement_event
from services.carers.commands.bodies import (
    ApprovalIn,
    CheckIn,
    EndApprovalIn,
    HoldIn,
    HouseholdAmendmentIn,
    HouseholdIn,
    LiftIn,
    MemberDemographicsIn,
    MemberIn,
    MemberLeftIn,
    ReviewIn,
    TrainingIn,
)
from services.carers.commands.clocks import all_met, cancelled, clock, future, minted_id, not_in_future
from services.carers.commands.stage1 import stage1_decision_clock
from services.carers.events import (
    ApprovalEnded,
    CheckRecorded,
    ChildView,
    HoldLifted,
    HoldPlaced,
    HouseholdApproved,
    HouseholdEntryAmended,
    HouseholdRefused,
    HouseholdRegistered,
    MemberAdded,
    MemberDemographicsRecorded,
    MemberLeft,
    ReviewRecorded,
    Terms,
    TrainingRecorded,
    household_stream,
)
from services.carers.rules import (
    CARER_ROLES,
    STATUTORY,
    CheckKind,
    CheckResult,
    CheckState,
    Clock,
    HouseholdState,
    HouseholdStatus,
    MemberRole,
    MemberState,
    OpenDeadline,
    ReviewOutcome,
    TrainingCourse,
    add_months_at,
    add_years,
    adult_from,
    age_on,
    start_of,
    tsd_months,
)
from shared.auth import MANAGERS
from shared.commanding import CommandContext
from shared.eventstore import NewEvent, RecordedEvent
from shared.policy import require_role, require_writer
from shared.problems import Problem
from shared.recording import Recorder
from shared.refusals import Reason, refuse_if


# ---- registration and members -----------------------------------------------------------------
def decide_registration(rec: Recorder, body: HouseholdIn) -> list[NewEvent]:
    registered = HouseholdRegistered(
        household_id=rec.new_id(),
        name=body.name,
        address=body.address,
        connected_person=body.connected_person,
        supervising_social_worker_id=body.supervising_social_worker_id,
        local_authority=body.local_authority,
    )
    return [rec.event(registered, summary=f"Fostering household registered: {body.name}")]


async def register_household(ctx: CommandContext, body: HouseholdIn) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    events = decide_registration(ctx, body)
    stream = household_stream(minted_id(events[0], "household_id"))
    return await ctx.append(stream, events, expected_version=0)


def decide_member(rec: Recorder, state: HouseholdState, body: MemberIn) -> list[NewEvent]:
    """A person joins the household: their DBS clock starts (when they join as an adult or turn
    18), and a carer joining an approved household has their training clocks too."""
    joined = body.joined_on or rec.now().date()
    refuse_if([*future(rec, date_of_birth=body.date_of_birth), *_member_refusals(body, joined)])
    added = MemberAdded(
        household_id=state.household_id,
        member_id=rec.new_id(),
        name=body.name,
        role=body.role,
        date_of_birth=body.date_of_birth,
        joined_on=joined,
    )
    member = MemberState(
        member_id=added.member_id, name=added.name, role=added.role, date_of_birth=added.date_of_birth, joined_on=joined
    )
    events = [rec.event(added, summary=f"{body.name} joined the household as {body.role.value}")]
    events.append(dbs_clock(rec, state, member))
    if state.status == HouseholdStatus.APPROVED and body.role in CARER_ROLES:
        events += carer_clocks(rec, state, member, rec.now())
    return events


def _member_refusals(body: MemberIn, joined: date) -> list[Reason]:
    reasons = []
    adult_role = body.role in CARER_ROLES | {MemberRole.ADULT}
    if adult_role and age_on(body.date_of_birth, joined) < STATUTORY.adult_age:
        reasons.append(Reason("member_under_18", f"A member with role {body.role.value} must be 18 or over."))
    if joined < body.date_of_birth:
        reasons.append(Reason("joined_before_birth", "joined_on is before date_of_birth."))
    return reasons


def decide_member_left(
    rec: Recorder, state: HouseholdState, member_id: uuid.UUID, body: MemberLeftIn
) -> list[NewEvent]:
    """A person leaves the household: from that day they are not one of its adults (a placement no
    longer needs their DBS check), and their open clocks (DBS, training) stop."""
    member = member_of(state, member_id)
    if member.left_on is not None:
        raise Problem("state-conflict", f"{member.name} left the household on {member.left_on:%d %b %Y}.")
    left = body.left_on or rec.now().date()
    reasons = future(rec, left_on=body.left_on)
    if left < member.joined_on:
        reasons.append(Reason("left_before_joining", f"left_on is before {member.name} joined ({member.joined_on})."))
    refuse_if(reasons)
    event = rec.event(
        MemberLeft(household_id=state.household_id, member_id=member_id, left_on=left, reason=body.reason),
        summary=f"{member.name} left the household on {left:%d %b %Y}" + (f": {body.reason}" if body.reason else ""),
    )
    theirs = [d for d in state.deadlines.values() if d.member_id == member_id]
    return [event, *(cancelled(rec, state.household_id, d, "member left the household") for d in theirs)]


async def member_left(
    ctx: CommandContext, household_id: uuid.UUID, member_id: uuid.UUID, body: MemberLeftIn
) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    state = await loading.load_household(ctx, household_id)
    return await loading.append_to_household(ctx, state, decide_member_left(ctx, state, member_id, body))


def decide_household_amendment(
    rec: Recorder, state: HouseholdState, entry: tuple[uuid.UUID, str, str] | None, body: HouseholdAmendmentIn
) -> list[NewEvent]:
    """A correction beside an entry of the household's own record (`entry`: its id, type and
    stream; None: no such entry). The entry itself is never changed."""
    if entry is None or entry[2] != household_stream(state.household_id):
        refuse_if([Reason("not_in_this_record", f"{body.amends_event_id} is not an entry in this household's record.")])
    assert entry is not None
    if body.local_authority is not None and entry[1] != HouseholdRegistered.event_type:
        refuse_if(
            [Reason("not_the_registration", "The local authority is corrected beside the household's registration.")]
        )
    return [
        rec.event(
            HouseholdEntryAmended(
                household_id=state.household_id,
                amendment_id=rec.new_id(),
                amends_event_id=entry[0],
                amends_type=entry[1],
                reason=body.reason,
                correction=body.correction,
                local_authority=body.local_authority,
            ),
            causation_id=entry[0],
            summary=f"Correction to an earlier household entry ({entry[1]}): {body.reason}",
        )
    ]


async def amend_household_entry(
    ctx: CommandContext, household_id: uuid.UUID, body: HouseholdAmendmentIn
) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    state = await loading.load_household(ctx, household_id)
    stored = await ctx.store.event_by_id(body.amends_event_id)
    entry = (stored.event_id, stored.type, stored.stream_id) if stored is not None else None
    return await loading.append_to_household(ctx, state, decide_household_amendment(ctx, state, entry, body))


def decide_demographics(
    rec: Recorder, state: HouseholdState, member_id: uuid.UUID, body: MemberDemographicsIn
) -> list[NewEvent]:
    """A carer's or applicant's demographics as they declared them (the latest recorded counts)."""
    member = member_of(state, member_id)
    if member.role not in CARER_ROLES:
        refuse_if([Reason("not_a_carer", f"{member.name} is not an applicant or carer of this household.")])
    recorded = MemberDemographicsRecorded(
        household_id=state.household_id,
        member_id=member_id,
        sex=body.sex,
        ethnicity=body.ethnicity,
        disability=body.disability,
        connected_person=body.connected_person,
    )
    return [rec.event(recorded, summary=f"Demographics recorded for {member.name}")]


async def record_demographics(
    ctx: CommandContext, household_id: uuid.UUID, member_id: uuid.UUID, body: MemberDemographicsIn
) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    state = await loading.load_household(ctx, household_id)
    return await loading.append_to_household(ctx, state, decide_demographics(ctx, state, member_id, body))


async def add_member(ctx: CommandContext, household_id: uuid.UUID, body: MemberIn) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    state = await loading.load_household(ctx, household_id)
    return await loading.append_to_household(ctx, state, decide_member(ctx, state, body))


def member_of(state: HouseholdState, member_id: uuid.UUID) -> MemberState:
    member = state.members.get(str(member_id))
    if member is None:
        raise Problem("not-found", f"No member {member_id} in household {state.household_id}.")
    return member


def dbs_clock(rec: Recorder, state: HouseholdState, member: MemberState) -> NewEvent:
    """The clock for a member's first enhanced DBS: due when they join as an adult, or turn 18."""
    born = member.date_of_birth
    due = start_of(member.joined_on if born is None else max(member.joined_on, adult_from(born)))
    description = f"Enhanced DBS check for {member.name} before any placement"
    return clock(rec, state.household_id, Clock.DBS, due, due, description, member_id=member.member_id)


def carer_clocks(rec: Recorder, state: HouseholdState, member: MemberState, started: datetime) -> list[NewEvent]:
    """TSD standards and safeguarding training clocks of a carer in an approved household."""
    out = []
    done = {t.course for t in state.trainings if t.member_id == member.member_id}
    if TrainingCourse.TSD_STANDARDS not in done and not state.open_clocks(Clock.TSD, member_id=member.member_id):
        months = tsd_months(state.connected_person)
        description = f"TSD standards completed by {member.name} ({months} months from approval)"
        due = add_months_at(started, months)
        out.append(clock(rec, state.household_id, Clock.TSD, started, due, description, member_id=member.member_id))
    review_due = state.review_due() or add_months_at(started, STATUTORY.annual_review_months)
    if not state.open_clocks(Clock.SAFEGUARDING_TRAINING, member_id=member.member_id):
        out.append(safeguarding_clock(rec, state, member, started, review_due))
    return out


def safeguarding_clock(
    rec: Recorder, state: HouseholdState, member: MemberState, started: datetime, due: datetime
) -> NewEvent:
    description = f"Safeguarding training by {member.name} before the next review"
    kind = Clock.SAFEGUARDING_TRAINING
    return clock(rec, state.household_id, kind, started, due, description, member_id=member.member_id)


# ---- checks ----------------------------------------------------------------------------------
def decide_check(rec: Recorder, state: HouseholdState, member_id: uuid.UUID, body: CheckIn) -> list[NewEvent]:
    """A check on a member. A clear enhanced DBS meets the member's DBS clock and starts its renewal."""
    member = member_of(state, member_id)
    expires = body.expires_on
    if body.kind == CheckKind.DBS_ENHANCED and expires is None:
        expires = add_years(body.checked_at, rec.settings.carers.dbs_renewal_years)
    reasons = future(rec, checked_at=body.checked_at)
    if expires is not None and expires <= body.checked_at:
        reasons.append(Reason("expiry_before_check", "expires_on must be after checked_at."))
    refuse_if(reasons)
    at = start_of(body.checked_at)
    checked = CheckRecorded(
        household_id=state.household_id,
        member_id=member_id,
        check_id=rec.new_id(),
        kind=body.kind.value,
        result=body.result,
        checked_at=body.checked_at,
        expires_on=expires,
        certificate_number=body.certificate_number,
        notes=body.notes,
    )
    event = rec.event(
        checked, occurred_at=at, summary=f"{body.kind.value} check for {member.name}: {body.result.value}"
    )
    stage1 = stage1_decision_clock(rec, _with_check(state, member_id, checked), at, event)
    if body.kind != CheckKind.DBS_ENHANCED or body.result != CheckResult.CLEAR or expires is None:
        return [event, *stage1]
    renewal = f"Enhanced DBS renewal for {member.name}"
    return [
        event,
        *all_met(rec, state.household_id, state.open_clocks(Clock.DBS, member_id=member_id), at, event),
        clock(rec, state.household_id, Clock.DBS, at, start_of(expires), renewal, member_id=member_id),
        *stage1,
    ]


def _with_check(state: HouseholdState, member_id: uuid.UUID, checked: CheckRecorded) -> HouseholdState:
    """The household as it will be once the check is recorded."""
    after = state.model_copy(deep=True)
    after.members[str(member_id)].checks.append(
        CheckState(
            check_id=checked.check_id,
            kind=checked.kind,
            result=checked.result,
            checked_at=checked.checked_at,
            expires_on=checked.expires_on,
        )
    )
    return after


async def record_check(
    ctx: CommandContext, household_id: uuid.UUID, member_id: uuid.UUID, body: CheckIn
) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    state = await loading.load_household(ctx, household_id)
    return await loading.append_to_household(ctx, state, decide_check(ctx, state, member_id, body))


# ---- approval --------------------------------------------------------------------------------
def decide_approval(rec: Recorder, state: HouseholdState, body: ApprovalIn) -> list[NewEvent]:
    """Approved on terms (with the clocks approval starts) or refused, with the reason."""
    at = body.decided_at or rec.now()
    not_in_future(rec, decided_at=at)
    if state.status == HouseholdStatus.APPROVED:
        raise Problem("state-conflict", "The household is already approved; change terms at a review.")
    if state.journey.stage is not None:
        raise Problem(
            "state-conflict",
            "The household is on the assessment journey: the agency decision maker decides after the panel.",
        )
    if body.decision == "refused":
        refused = HouseholdRefused(household_id=state.household_id, refused_at=at, reason=body.reason or "")
        return [rec.event(refused, occurred_at=at, summary=f"Approval refused: {state.name}")]
    if body.terms is None:  # ApprovalIn refuses an approval without terms; this says so to mypy
        raise Problem("validation", "An approval needs its terms.")
    if not state.carers():
        refuse_if([Reason("no_carer", "A household is approved for its carers: add an applicant first.")])
    not_in_future(rec, agreement_signed_on=body.agreement_signed_on)
    events = approval_events(rec, state, at, body.terms, body.panel_date)
    if body.agreement_signed_on is not None:
        events.append(agreement_event(rec, state, body.agreement_signed_on))
    return events


def approval_events(
    rec: Recorder, state: HouseholdState, at: datetime, terms: Terms, panel_date: date | None
) -> list[NewEvent]:
    """The household approved on `terms`, and the clocks approval starts: supervision, the
    unannounced visit, the first annual review, and each carer's TSD and training clocks."""
    hid = state.household_id
    approved = HouseholdApproved(
        household_id=hid,
        approval_id=rec.new_id(),
        approved_at=at,
        terms=terms,
        connected_person=state.connected_person,
        panel_date=panel_date,
        decision_maker_id=rec.principal.subject,
    )
    summary = (
        f"Approved as foster carers: {state.name} (up to {terms.max_children}, ages {terms.age_min}-{terms.age_max})"
    )
    event = rec.event(approved, occurred_at=at, summary=summary)
    supervision_due = add_months_at(at, rec.settings.carers.supervision_months)
    events = [
        event,
        *all_met(rec, hid, state.open_clocks(Clock.TEMPORARY_APPROVAL), at, event),
        clock(rec, hid, Clock.SUPERVISION, at, supervision_due, _SUPERVISION, escalate_to="manager"),
        unannounced_visit_clock(rec, hid, at),
        clock(rec, hid, Clock.ANNUAL_REVIEW, at, add_months_at(at, STATUTORY.annual_review_months), _FIRST_REVIEW),
    ]
    newly_approved = state.model_copy(deep=True)
    newly_approved.approved_at, newly_approved.last_review_at = at, None
    for member in newly_approved.carers():
        events += carer_clocks(rec, newly_approved, member, at)
    return events


_SUPERVISION = "Supervision of the carers by their supervising social worker"
_FIRST_REVIEW = "First annual review of approval (goes to panel)"


def unannounced_visit_clock(rec: Recorder, household_id: uuid.UUID, at: datetime) -> NewEvent:
    due = add_months_at(at, STATUTORY.unannounced_visit_months)
    description = "Unannounced visit to the household (children seen)"
    return clock(rec, household_id, Clock.UNANNOUNCED_VISIT, at, due, description, escalate_to="manager")


async def record_approval(ctx: CommandContext, household_id: uuid.UUID, body: ApprovalIn) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    state = await loading.load_household(ctx, household_id)
    return await loading.append_to_household(ctx, state, decide_approval(ctx, state, body))


# The clocks an approval runs, stopped when it ends (an ended approval owes no carer's DBS renewal,
# and there is no next supervision to discuss an incident at).
_ENDS_WITH_APPROVAL = frozenset(
    {
        Clock.DBS,
        Clock.INCIDENT_AGENDA,
        Clock.SUPERVISION,
        Clock.UNANNOUNCED_VISIT,
        Clock.ANNUAL_REVIEW,
        Clock.TSD,
        Clock.SAFEGUARDING_TRAINING,
        Clock.TRAINING_RENEWAL,
    }
)


def decide_end_of_approval(rec: Recorder, state: HouseholdState, body: EndApprovalIn) -> list[NewEvent]:
    if state.status != HouseholdStatus.APPROVED:
        raise Problem("state-conflict", f"The household is not approved (status: {state.status.value}).")
    at = body.ended_at or rec.now()
    not_in_future(rec, ended_at=at)
    ended = ApprovalEnded(household_id=state.household_id, ended_at=at, reason=body.reason)
    event = rec.event(ended, occurred_at=at, summary=f"Approval ended: {state.name}")
    stopped = [d for d in state.deadlines.values() if d.kind in _ENDS_WITH_APPROVAL]
    resigned = all_met(rec, state.household_id, state.open_clocks(Clock.RESIGNATION), at, event)
    return [event, *resigned, *(cancelled(rec, state.household_id, d, "approval ended") for d in stopped)]


async def end_approval(ctx: CommandContext, household_id: uuid.UUID, body: EndApprovalIn) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    state = await loading.load_household(ctx, household_id)
    return await loading.append_to_household(ctx, state, decide_end_of_approval(ctx, state, body))


# ---- training --------------------------------------------------------------------------------
_COURSE_CLOCKS = {TrainingCourse.TSD_STANDARDS: Clock.TSD, TrainingCourse.SAFEGUARDING: Clock.SAFEGUARDING_TRAINING}


def decide_training(rec: Recorder, state: HouseholdState, body: TrainingIn) -> list[NewEvent]:
    """A course completed: meets the clocks waiting for it and starts its renewal when it expires."""
    member = member_of(state, body.member_id)
    expires = body.expires_on
    if body.course == TrainingCourse.SAFEGUARDING and expires is None:
        expires = add_years(body.completed_on, rec.settings.carers.safeguarding_renewal_years)
    reasons = future(rec, completed_on=body.completed_on)
    if expires is not None and expires <= body.completed_on:
        reasons.append(Reason("expiry_before_completion", "expires_on must be after completed_on."))
    refuse_if(reasons)
    at = start_of(body.completed_on)
    trained = TrainingRecorded(
        household_id=state.household_id,
        training_id=rec.new_id(),
        member_id=body.member_id,
        course=body.course.value,
        title=body.title,
        completed_on=body.completed_on,
        expires_on=expires,
    )
    event = rec.event(
        trained, occurred_at=at, summary=f"Training completed by {member.name}: {body.title or body.course.value}"
    )
    events = [event, *all_met(rec, state.household_id, _waiting_for(state, body), at, event)]
    if expires is not None:
        description = f"Renew {body.course.value} training for {member.name}"
        renewal = clock(
            rec,
            state.household_id,
            Clock.TRAINING_RENEWAL,
            at,
            start_of(expires),
            description,
            member_id=body.member_id,
            course=body.course.value,
        )
        events.append(renewal)
    return events


def _waiting_for(state: HouseholdState, body: TrainingIn) -> list[OpenDeadline]:
    """The member's clocks this course meets: TSD or safeguarding, a renewal, a child's needs."""
    found = []
    if body.course in _COURSE_CLOCKS:
        found += state.open_clocks(_COURSE_CLOCKS[body.course], member_id=body.member_id)
    for kind in (Clock.TRAINING_RENEWAL, Clock.NEEDS_TRAINING):
        found += state.open_clocks(kind, member_id=body.member_id, course=body.course.value)
    return found


async def record_training(ctx: CommandContext, household_id: uuid.UUID, body: TrainingIn) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    state = await loading.load_household(ctx, household_id)
    return await loading.append_to_household(ctx, state, decide_training(ctx, state, body))


# ---- reviews ---------------------------------------------------------------------------------
def decide_review(rec: Recorder, state: HouseholdState, body: ReviewIn) -> list[NewEvent]:
    """The annual review (the first goes to panel), hearing every placed child: meets the review
    clocks, starts the next, and each carer's safeguarding training before it."""
    not_in_future(rec, occurred_at=body.occurred_at)
    if state.status != HouseholdStatus.APPROVED:
        raise Problem("state-conflict", f"Only an approved household is reviewed (status: {state.status.value}).")
    first = state.reviews == 0
    placed = {p.child_id for p in state.placements.values()}
    heard = {v.child_id for v in body.child_views}
    refuse_if(_review_refusals(body, first, placed - heard))
    at, hid = body.occurred_at, state.household_id
    reviewed = ReviewRecorded(
        household_id=hid,
        review_id=rec.new_id(),
        occurred_at=at,
        first_review=first,
        to_panel=body.to_panel,
        outcome=body.outcome.value,
        child_views=[
            ChildView(child_id=v.child_id, view=v.view, not_obtained_reason=v.not_obtained_reason)
            for v in body.child_views
        ],
        carer_views=body.carer_views,
        reviewer_id=body.reviewer_id or rec.principal.subject,
        narrative=body.narrative,
        new_terms=body.new_terms,
    )
    summary = f"Annual review of {state.name}: {body.outcome.value}" + (" (to panel)" if body.to_panel else "")
    event = rec.event(reviewed, occurred_at=at, child_ids=sorted(heard | placed, key=str), summary=summary)
    next_due = add_months_at(at, STATUTORY.annual_review_months)
    ended = [*state.open_clocks(Clock.ANNUAL_REVIEW), *state.open_clocks(Clock.APPROVAL_REVIEW)]
    events = [event, *all_met(rec, hid, ended, at, event)]
    events.append(clock(rec, hid, Clock.ANNUAL_REVIEW, at, next_due, "Annual review of approval"))
    for member in state.carers():
        if not state.open_clocks(Clock.SAFEGUARDING_TRAINING, member_id=member.member_id):
            events.append(safeguarding_clock(rec, state, member, at, next_due))
    return events


def _review_refusals(body: ReviewIn, first: bool, unheard: set[uuid.UUID]) -> list[Reason]:
    reasons = []
    if first and not body.to_panel:
        reasons.append(Reason("first_review_to_panel", "The first annual review goes to the fostering panel (reg 28)."))
    reasons += [
        Reason("child_view_missing", f"Child {c} is placed here: record their view or why it was not obtained.")
        for c in sorted(unheard, key=str)
    ]
    if body.outcome == ReviewOutcome.CHANGE_TERMS and body.new_terms is None:
        reasons.append(Reason("new_terms_missing", "A change of terms needs new_terms."))
    if body.new_terms is not None and body.new_terms.age_min > body.new_terms.age_max:
        reasons.append(Reason("terms_invalid", "new_terms.age_min is above new_terms.age_max."))
    return reasons


async def record_review(ctx: CommandContext, household_id: uuid.UUID, body: ReviewIn) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    state = await loading.load_household(ctx, household_id)
    return await loading.append_to_household(ctx, state, decide_review(ctx, state, body))


# ---- holds -----------------------------------------------------------------------------------
def decide_hold(rec: Recorder, state: HouseholdState, body: HoldIn) -> list[NewEvent]:
    held = HoldPlaced(household_id=state.household_id, hold_id=rec.new_id(), reason=body.reason, placed_at=rec.now())
    return [rec.event(held, summary=f"Hold on new placements with {state.name}: {body.reason[:120]}")]


async def place_hold(ctx: CommandContext, household_id: uuid.UUID, body: HoldIn) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    state = await loading.load_household(ctx, household_id)
    return await loading.append_to_household(ctx, state, decide_hold(ctx, state, body))


def decide_hold_lifted(rec: Recorder, state: HouseholdState, hold_id: uuid.UUID, body: LiftIn) -> list[NewEvent]:
    hold = state.holds.get(str(hold_id))
    if hold is None:
        raise Problem("not-found", f"No hold {hold_id} on household {state.household_id}.")
    if hold.lifted_at is not None:
        raise Problem("state-conflict", f"The hold was already lifted on {hold.lifted_at:%d %b %Y}.")
    lifted = HoldLifted(household_id=state.household_id, hold_id=hold_id, reason=body.reason, lifted_at=rec.now())
    return [rec.event(lifted, summary=f"Hold lifted on {state.name}: {body.reason[:120]}")]


async def lift_hold(
    ctx: CommandContext, household_id: uuid.UUID, hold_id: uuid.UUID, body: LiftIn
) -> list[RecordedEvent]:
    """Only a manager lifts a hold, with the reason (Ofsted: children moved into a held household)."""
    require_writer(ctx.principal)
    require_role(ctx.principal, MANAGERS, "lift a hold")
    state = await loading.load_household(ctx, household_id)
    return await loading.append_to_household(ctx, state, decide_hold_lifted(ctx, state, hold_id, body))
