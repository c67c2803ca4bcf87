"""carers: supervision, of a household by its supervising social worker (NMS 21) and of a social
worker by their manager (NMS 24.3 / 25.7). Pure deciders and thin shells."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

from services.carers.commands import loading
from services.carers.commands.bodies import SupervisionIn, WorkerSupervisionIn, WorkerTrainingIn
from services.carers.commands.clocks import all_met, cancelled, clock, future, not_in_future
from services.carers.commands.households import unannounced_visit_clock
from services.carers.events import (
    ChildSeen,
    Concern,
    ConcernAddressed,
    DeadlineSet,
    NotSeen,
    SupervisionRecorded,
    WorkerSupervisionRecorded,
    WorkerTrainingRecorded,
    worker_stream,
)
from services.carers.rules import (
    CLOCK_SOURCES,
    Clock,
    HouseholdState,
    HouseholdStatus,
    NotSeenReason,
    OpenDeadline,
    account_refusals,
    add_months_at,
    add_years,
    children_not_placed_here,
    children_unaccounted,
    clocks_met_by,
    next_clock,
    open_clocks_of,
    sightings,
    start_of,
)
from shared.auth import MANAGERS
from shared.commanding import CommandContext
from shared.eventstore import NewEvent, RecordedEvent
from shared.policy import require_role, require_writer
from shared.recording import Recorder
from shared.refusals import Reason, refuse_if


# ---- a household's supervision ---------------------------------------------------------------
def decide_supervision(
    rec: Recorder, state: HouseholdState, body: SupervisionIn, names: Mapping[uuid.UUID, str] | None = None
) -> list[NewEvent]:
    """A supervision (or unannounced visit) of the household: meets its clocks and starts the
    next, closes the concerns and agenda items it dealt with, escalates the incidents it was due
    to discuss and did not, and starts a follow-up clock for each concern it raises. `names`: the
    placed children's names, to name a child the supervision leaves out."""
    placed = {p.child_id for p in state.placements.values()}
    not_seen = children_not_seen(placed, body)
    refuse_if([*future(rec, occurred_at=body.occurred_at), *_refusals(state, body, placed, not_seen, names or {})])
    concerns = [Concern(concern_id=rec.new_id(), text=text) for text in body.concerns]
    event = _supervision(rec, state, body, not_seen, concerns)
    return [
        event,
        *_supervision_clocks(rec, state, body, event),
        *_children_seen_clocks(rec, state, body, event),
        *_dealt_with(rec, state, body, event),
        *_agenda_missed(rec, state, body, event),
        *_concern_clocks(rec, state, body, concerns, event),
    ]


def children_not_seen(placed: set[uuid.UUID], body: SupervisionIn) -> dict[uuid.UUID, str]:
    """Each child not seen, with the reason. The legacy single reason, when one of the three,
    accounts for every placed child neither seen nor listed."""
    not_seen = {n.child_id: n.reason.value for n in body.children_not_seen}
    not_seen |= {
        a.child_id: a.not_seen_reason.value for a in body.children_accounts if a.not_seen_reason and not a.seen
    }
    if body.children_not_seen_reason in set(NotSeenReason):
        accounted = {a.child_id for a in body.children_accounts}
        for child_id in sorted(placed - set(body.children_seen) - accounted - set(not_seen), key=str):
            not_seen[child_id] = str(body.children_not_seen_reason)
    return not_seen


def _refusals(
    state: HouseholdState,
    body: SupervisionIn,
    placed: set[uuid.UUID],
    not_seen: dict[uuid.UUID, str],
    names: Mapping[uuid.UUID, str],
) -> list[Reason]:
    reasons = _agenda_refusals(state, body)
    accounts = [ChildSeen(**a.model_dump()) for a in body.children_accounts]
    named = [*body.children_discussed, *body.children_seen, *(n.child_id for n in body.children_not_seen)]
    reasons += children_not_placed_here(state, [*named, *(a.child_id for a in accounts)])
    seen = set(body.children_seen) | {a.child_id for a in accounts if a.seen}
    if not body.unannounced:  # an unannounced visit's own rule below names every child it missed
        reasons += account_refusals(placed, accounts, set(body.children_seen) | set(not_seen), names)
    else:
        reasons += [r for r in account_refusals(set(), accounts, set()) if r.code != "child_not_accounted"]
    reasons += [
        Reason("seen_and_not_seen", f"Child {child_id} is listed both as seen and as not seen.")
        for child_id in sorted(seen & set(not_seen), key=str)
    ]
    if body.unannounced:
        reasons += [
            Reason(
                "children_not_seen",
                f"Child {child_id} is placed here: an unannounced visit must see every placed child or "
                "record why not (child_refused, inappropriate_for_age_or_understanding, unable) (NMS 21.8).",
            )
            for child_id in children_unaccounted(placed, seen, not_seen)
        ]
    return reasons


def _agenda_refusals(state: HouseholdState, body: SupervisionIn) -> list[Reason]:
    """Concerns addressed and agenda items discussed that are not this household's, or closed."""
    reasons = [
        Reason("unknown_concern", f"No concern {item.concern_id} was raised for this household.")
        for item in body.concerns_addressed
        if str(item.concern_id) not in state.concerns
    ]
    for item_id in body.agenda_items_discussed:
        item = state.agenda.get(str(item_id))
        if item is None:
            reasons.append(Reason("unknown_agenda_item", f"No agenda item {item_id} for this household."))
        elif item.discussed_at is not None:
            reasons.append(Reason("agenda_item_closed", f"Agenda item {item_id} was already discussed."))
    return reasons


def _supervision(
    rec: Recorder, state: HouseholdState, body: SupervisionIn, not_seen: dict[uuid.UUID, str], concerns: list[Concern]
) -> NewEvent:
    agenda_children = [state.agenda[str(i)].child_id for i in body.agenda_items_discussed]
    accounted = [a.child_id for a in body.children_accounts]
    children = [*body.children_discussed, *body.children_seen, *not_seen, *accounted, *filter(None, agenda_children)]
    supervised = SupervisionRecorded(
        household_id=state.household_id,
        supervision_id=rec.new_id(),
        occurred_at=body.occurred_at,
        unannounced=body.unannounced,
        supervising_social_worker_id=body.supervising_social_worker_id or rec.principal.subject,
        children_discussed=body.children_discussed,
        children_seen=body.children_seen,
        children_not_seen_reason=body.children_not_seen_reason,
        children_not_seen=[NotSeen(child_id=c, reason=r) for c, r in not_seen.items()],
        children_accounts=[ChildSeen(**a.model_dump()) for a in body.children_accounts],
        agenda_items_discussed=body.agenda_items_discussed,
        concerns=concerns,
        concerns_addressed=[
            ConcernAddressed(concern_id=c.concern_id, action=c.action) for c in body.concerns_addressed
        ],
        actions=body.actions,
        narrative=body.narrative,
    )
    summary = ("Unannounced visit" if body.unannounced else "Supervision") + f" of {state.name}"
    if concerns:
        summary += f"; {len(concerns)} concern(s) raised"
    return rec.event(supervised, occurred_at=body.occurred_at, child_ids=children, summary=summary)


def _supervision_clocks(rec: Recorder, state: HouseholdState, body: SupervisionIn, event: NewEvent) -> list[NewEvent]:
    """An approved household's supervision clock met and the next started; an unannounced visit's too."""
    if state.status != HouseholdStatus.APPROVED:
        return []
    at, hid = body.occurred_at, state.household_id
    next_due = add_months_at(at, rec.settings.carers.supervision_months)
    events = all_met(rec, hid, state.open_clocks(Clock.SUPERVISION), at, event)
    events.append(clock(rec, hid, Clock.SUPERVISION, at, next_due, "Next supervision", escalate_to="manager"))
    if body.unannounced:
        events += all_met(rec, hid, state.open_clocks(Clock.UNANNOUNCED_VISIT), at, event)
        events.append(unannounced_visit_clock(rec, hid, at))
    return events


def _children_seen_clocks(rec: Recorder, state: HouseholdState, body: SupervisionIn, event: NewEvent) -> list[NewEvent]:
    """For each placed child, the clocks of the agency's duty to see them that this supervision
    meets (seen, seen alone, bedroom seen), each started again from now (issue 18)."""
    at, hid, practice = body.occurred_at, state.household_id, rec.settings.carers
    seen = sightings([ChildSeen(**a.model_dump()) for a in body.children_accounts], body.children_seen)
    events: list[NewEvent] = []
    for placement in sorted(state.placements.values(), key=lambda p: str(p.placement_id)):
        sighting = seen.get(placement.child_id)
        if sighting is None:
            continue
        for kind in clocks_met_by(sighting):
            events += all_met(rec, hid, state.open_clocks(kind, placement_id=placement.placement_id), at, event)
            if kind == Clock.SSW_FIRST_VISIT:
                continue
            _, due, description = next_clock(kind, at, practice)
            events.append(
                clock(
                    rec,
                    hid,
                    kind,
                    at,
                    due,
                    description,
                    child_ids=[placement.child_id],
                    escalate_to="manager",
                    causation_id=event.event_id,
                    placement_id=placement.placement_id,
                )
            )
    return events


def _dealt_with(rec: Recorder, state: HouseholdState, body: SupervisionIn, event: NewEvent) -> list[NewEvent]:
    """The follow-up clocks of the concerns addressed, and the clocks of the agenda items discussed."""
    done = [
        d
        for item in body.concerns_addressed
        for d in state.open_clocks(Clock.SUPERVISION_FOLLOW_UP, concern_id=item.concern_id)
    ]
    done += [
        d for item_id in body.agenda_items_discussed for d in state.open_clocks(Clock.INCIDENT_AGENDA, item_id=item_id)
    ]
    return all_met(rec, state.household_id, done, body.occurred_at, event)


def _agenda_missed(rec: Recorder, state: HouseholdState, body: SupervisionIn, event: NewEvent) -> list[NewEvent]:
    """An incident this supervision was due to discuss and did not: its moment has passed, so its
    clock falls due now and escalates (the item stays on the agenda until discussed)."""
    at, hid = body.occurred_at, state.household_id
    discussed = set(body.agenda_items_discussed)
    events: list[NewEvent] = []
    for deadline in state.open_clocks(Clock.INCIDENT_AGENDA):
        item = state.agenda.get(str(deadline.item_id))
        if deadline.item_id in discussed or item is None or item.occurred_at > at or deadline.due_at <= at:
            continue
        description = f"Not discussed at the supervision of {at:%d %b %Y}: {item.summary}"
        events += [
            cancelled(rec, hid, deadline, "supervision held without discussing the incident"),
            clock(
                rec,
                hid,
                Clock.INCIDENT_AGENDA,
                at,
                at,
                description,
                child_ids=[item.child_id] if item.child_id else [],
                escalate_to="manager",
                causation_id=event.event_id,
                item_id=item.item_id,
            ),
        ]
    return events


def _concern_clocks(
    rec: Recorder, state: HouseholdState, body: SupervisionIn, concerns: list[Concern], event: NewEvent
) -> list[NewEvent]:
    """Each concern raised is followed up by the next supervision (Ofsted: concerns not acted on)."""
    at = body.occurred_at
    due = add_months_at(at, rec.settings.carers.supervision_months)
    return [
        clock(
            rec,
            state.household_id,
            Clock.SUPERVISION_FOLLOW_UP,
            at,
            due,
            f"Follow up the concern raised in supervision: {concern.text[:120]}",
            concern_id=concern.concern_id,
            child_ids=event.child_ids,
            escalate_to="manager",
        )
        for concern in concerns
    ]


async def record_supervision(ctx: CommandContext, household_id: uuid.UUID, body: SupervisionIn) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    state = await loading.load_household(ctx, household_id)
    names = await loading.child_names(ctx.store, [p.child_id for p in state.placements.values()])
    return await loading.append_to_household(ctx, state, decide_supervision(ctx, state, body, names))


# ---- a social worker's supervision -------------------------------------------------------------
def decide_worker_supervision(
    rec: Recorder, worker_id: str, open_clocks: Iterable[OpenDeadline], body: WorkerSupervisionIn
) -> list[NewEvent]:
    """A manager supervised a social worker: meets the open clock and starts the next (monthly, local)."""
    not_in_future(rec, occurred_at=body.occurred_at)
    at = body.occurred_at
    supervised = WorkerSupervisionRecorded(
        worker_id=worker_id,
        supervision_id=rec.new_id(),
        occurred_at=at,
        supervisor_id=body.supervisor_id or rec.principal.subject,
        narrative=body.narrative,
        cases_discussed=body.cases_discussed,
    )
    event = rec.event(supervised, occurred_at=at, summary=f"Supervision of social worker {worker_id}")
    next_clock = DeadlineSet(
        deadline_id=rec.new_id(),
        kind=Clock.WORKER_SUPERVISION.value,
        subject=worker_stream(worker_id),
        started_at=at,
        due_at=add_months_at(at, rec.settings.carers.worker_supervision_months),
        escalate_to="registered_manager",
        description=f"Supervision of social worker {worker_id}",
        source=CLOCK_SOURCES[Clock.WORKER_SUPERVISION],
        worker_id=worker_id,
    )
    return [
        event,
        *all_met(rec, None, open_clocks, at, event),
        rec.deadline_set(next_clock, causation_id=event.event_id),
    ]


async def record_worker_supervision(
    ctx: CommandContext, worker_id: str, body: WorkerSupervisionIn
) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    require_role(ctx.principal, MANAGERS, "record the supervision of a social worker")
    stream = worker_stream(worker_id)
    history = await ctx.store.read_stream(stream)
    supervisions = [d for d in open_clocks_of(history).values() if d.kind == Clock.WORKER_SUPERVISION]
    events = decide_worker_supervision(ctx, worker_id, supervisions, body)
    version = history[-1].stream_version if history else 0
    return await ctx.append(stream, events, expected_version=ctx.expected(version))


# ---- a member of staff's own training -----------------------------------------------------------
def decide_worker_training(
    rec: Recorder, worker_id: str, open_clocks: Iterable[OpenDeadline], body: WorkerTrainingIn
) -> list[NewEvent]:
    """A member of staff's safeguarding or supervision training: it meets the clock of the same
    course and starts the next, due when this one expires (renewal period: local)."""
    reasons = future(rec, completed_on=body.completed_on)
    expires = body.expires_on or add_years(body.completed_on, rec.settings.carers.staff_training_renewal_years)
    if expires <= body.completed_on:
        reasons.append(Reason("expires_before_completed", "expires_on must be after completed_on."))
    refuse_if(reasons)
    trained = WorkerTrainingRecorded(
        worker_id=worker_id,
        training_id=rec.new_id(),
        role=body.role,
        course=body.course,
        completed_on=body.completed_on,
        expires_on=expires,
        provider=body.provider,
    )
    what = f"{body.course.value} training of {worker_id}"
    event = rec.event(trained, occurred_at=start_of(body.completed_on), summary=f"{what.capitalize()} (to {expires})")
    renewal = DeadlineSet(
        deadline_id=rec.new_id(),
        kind=Clock.STAFF_TRAINING.value,
        subject=worker_stream(worker_id),
        started_at=start_of(body.completed_on),
        due_at=start_of(expires),
        escalate_to="manager",
        description=f"Renew the {what}",
        source=CLOCK_SOURCES[Clock.STAFF_TRAINING],
        course=body.course.value,
        worker_id=worker_id,
    )
    same_course = [d for d in open_clocks if d.kind == Clock.STAFF_TRAINING and d.course == body.course.value]
    at = start_of(body.completed_on)
    return [event, *all_met(rec, None, same_course, at, event), rec.deadline_set(renewal, causation_id=event.event_id)]


async def record_worker_training(ctx: CommandContext, worker_id: str, body: WorkerTrainingIn) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    require_role(ctx.principal, MANAGERS, "record a member of staff's training")
    stream = worker_stream(worker_id)
    history = await ctx.store.read_stream(stream)
    events = decide_worker_training(ctx, worker_id, open_clocks_of(history).values(), body)
    version = history[-1].stream_version if history else 0
    return await ctx.append(stream, events, expected_version=ctx.expected(version))
