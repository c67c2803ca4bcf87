"""The facts the KPIs are computed from, each with when it was recorded, and how the log's events
fold into them (one fold per contract: the table `FOLDS` is also what the report reads)."""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from typing import Any, TypeVar, get_type_hints

from shared.contracts.access import AllocationEnded, WorkerAllocated
from shared.contracts.base import Event
from shared.contracts.carers import (
    ApprovalEnded,
    HoldLifted,
    HoldPlaced,
    HouseholdRefused,
    HouseholdRegistered,
    PlacementEnded,
    PlacementStarted,
    SupervisionRecorded,
)
from shared.contracts.deadlines import DeadlineCancelled, DeadlineMet, DeadlineSet
from shared.contracts.notifications import (
    DeliveryAttempted,
    EscalationRaised,
    NotificationAcknowledged,
    NotificationRaised,
)
from shared.contracts.visits import ChildRegistered, VisitRecorded
from shared.eventstore.model import RecordedEvent


@dataclass(frozen=True, slots=True)
class Child:
    child_id: str
    name: str
    social_worker_id: str | None
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class Household:
    household_id: str
    name: str
    supervising_social_worker_id: str | None
    recorded_at: datetime
    # When it stopped fostering for the agency (its approval ended, or it was refused), if it has.
    left_at: datetime | None = None
    left_recorded_at: datetime | None = None

    def left_before(self, at: datetime) -> bool:
        return self.left_at is not None and self.left_at < at


@dataclass(frozen=True, slots=True)
class Allocation:
    subject_id: str  # child or household id
    worker_id: str
    role: str
    occurred_at: datetime
    ended: bool
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class Placement:
    placement_id: str
    child_id: str
    household_id: str
    start: date
    recorded_at: datetime
    end: date | None = None
    end_recorded_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Visit:
    child_id: str
    visitor_id: str
    visitor_role: str
    occurred_at: datetime
    child_seen: bool
    seen_alone: bool
    views_recorded: bool
    recorded_at: datetime
    household_id: str | None = None

    @property
    def statutory(self) -> bool:
        """Meets the CPPR reg 28 clock: the child's social worker saw the child."""
        return self.child_seen and self.visitor_role == "child_social_worker"


@dataclass(frozen=True, slots=True)
class Supervision:
    household_id: str
    occurred_at: datetime
    unannounced: bool
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class Hold:
    hold_id: str
    household_id: str
    placed_at: datetime
    recorded_at: datetime
    lifted_at: datetime | None = None
    lifted_recorded_at: datetime | None = None

    def active(self, at: datetime) -> bool:
        return self.placed_at <= at and (self.lifted_at is None or self.lifted_at > at)


@dataclass(frozen=True, slots=True)
class Deadline:
    deadline_id: str
    kind: str
    subject: str
    started_at: datetime
    due_at: datetime
    recorded_at: datetime
    household_id: str | None = None
    met_at: datetime | None = None
    met_recorded_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancelled_recorded_at: datetime | None = None

    def status(self, at: datetime) -> str:
        """`not_started`, `met`, `cancelled`, `overdue` or `open` at the instant `at`."""
        if self.started_at > at:
            return "not_started"
        if self.met_at is not None and self.met_at <= at:
            return "met"
        if self.cancelled_at is not None and self.cancelled_at <= at:
            return "cancelled"
        return "overdue" if self.due_at < at else "open"


@dataclass(frozen=True, slots=True)
class Notification:
    notification_id: str
    rule_set: str
    due_by: datetime
    raised_at: datetime
    recorded_at: datetime
    recipients: tuple[str, ...] = ()
    # (recipient, sent or acknowledged at, recorded at): each recipient's first one by due_by means
    # "sent to that recipient in time". An acknowledgement naming no recipient counts only when the
    # notification has one recipient.
    sent: tuple[tuple[str | None, datetime, datetime], ...] = ()


@dataclass(frozen=True, slots=True)
class Escalation:
    escalation_id: str
    raised_at: datetime
    deadline_kind: str | None
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class Facts:
    children: tuple[Child, ...] = ()
    households: tuple[Household, ...] = ()
    allocations: tuple[Allocation, ...] = ()
    placements: tuple[Placement, ...] = ()
    visits: tuple[Visit, ...] = ()
    supervisions: tuple[Supervision, ...] = ()
    holds: tuple[Hold, ...] = ()
    deadlines: tuple[Deadline, ...] = ()
    notifications: tuple[Notification, ...] = ()
    escalations: tuple[Escalation, ...] = ()

    def known_at(self, as_of: datetime) -> Facts:
        """What the agency knew at `as_of`: facts (and their endings) recorded by then."""

        def keep(items: Iterable[Any]) -> tuple[Any, ...]:
            return tuple(i for i in items if i.recorded_at <= as_of)

        def known(when: datetime | None, recorded: datetime | None) -> datetime | None:
            return when if recorded is not None and recorded <= as_of else None

        return Facts(
            children=keep(self.children),
            households=tuple(replace(h, left_at=known(h.left_at, h.left_recorded_at)) for h in keep(self.households)),
            allocations=keep(self.allocations),
            placements=tuple(
                replace(p, end=p.end if known(p.end_recorded_at, p.end_recorded_at) else None)
                for p in keep(self.placements)
            ),
            visits=keep(self.visits),
            supervisions=keep(self.supervisions),
            holds=tuple(replace(h, lifted_at=known(h.lifted_at, h.lifted_recorded_at)) for h in keep(self.holds)),
            deadlines=tuple(
                replace(
                    d,
                    met_at=known(d.met_at, d.met_recorded_at),
                    cancelled_at=known(d.cancelled_at, d.cancelled_recorded_at),
                )
                for d in keep(self.deadlines)
            ),
            notifications=tuple(
                replace(n, sent=tuple(s for s in n.sent if s[2] <= as_of)) for n in keep(self.notifications)
            ),
            escalations=keep(self.escalations),
        )


@dataclass(frozen=True, slots=True)
class Window:
    """What a report reads of the facts: its months, measured at instants from `since` on, from
    the facts as of the report's instant and, for the late entries' baseline, as known at
    `baseline` (Facts.known_at). A placement, a hold or a clock that ended before `since` counts
    in none of them once its ending is known wherever the fact is: recorded by `baseline`, or the
    fact itself recorded after it. Nor does a visit before `visits_from` (too old to be anyone's
    last statutory visit in time), nor a supervision, an escalation or a notification before
    `due_from` (the first month's start). A clock falling due from `due_from` on, and every clock
    of `every_clock_of` (measured across its siblings), stays whatever became of it."""

    since: datetime
    since_day: date  # `since`'s day in England
    due_from: datetime
    visits_from: datetime
    baseline: datetime
    every_clock_of: frozenset[str]

    def ended(self, ending: tuple[date, datetime] | None, noted: datetime) -> bool:
        """Whether `ending` (when, recorded when) of a fact recorded at `noted` is before `since`
        in every reading of the report."""
        if ending is None:
            return False
        at, recorded = ending
        before = at < self.since_day if type(at) is date else at < self.since
        return before and (recorded <= self.baseline or noted > self.baseline)


# ---- folding the log into facts ----------------------------------------------------------------
Recorded = tuple[datetime, datetime]  # (when it happened, when it was recorded)


@dataclass
class FactsFold:
    """What the log says so far, its KPI sources folded in log order. An ending (a placement's, a
    hold's, a clock's) is its first one."""

    children: list[Child] = field(default_factory=list)
    households: list[Household] = field(default_factory=list)
    allocations: list[Allocation] = field(default_factory=list)
    placements: dict[str, Placement] = field(default_factory=dict)
    visits: list[Visit] = field(default_factory=list)
    supervisions: list[Supervision] = field(default_factory=list)
    holds: dict[str, Hold] = field(default_factory=dict)
    deadlines: dict[str, Deadline] = field(default_factory=dict)
    notifications: dict[str, Notification] = field(default_factory=dict)
    escalations: list[Escalation] = field(default_factory=list)
    ended: dict[str, tuple[date, datetime]] = field(default_factory=dict)
    lifted: dict[str, Recorded] = field(default_factory=dict)
    met: dict[str, Recorded] = field(default_factory=dict)
    cancelled: dict[str, Recorded] = field(default_factory=dict)
    left: dict[str, Recorded] = field(default_factory=dict)  # households, by id
    sent: dict[str, list[tuple[str | None, datetime, datetime]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, fact: Event, event: RecordedEvent) -> None:
        FOLDS[type(fact)](self, fact, event)

    def extend(self, later: FactsFold) -> None:
        """Fold in what `later` folded from the events after this fold's (without changing
        `later`): the same as folding those events here, since each fold appends, sets a key (a
        key set again keeps its place) or keeps an ending's first."""
        for name in ("children", "households", "allocations", "visits", "supervisions", "escalations"):
            getattr(self, name).extend(getattr(later, name))
        for name in ("placements", "holds", "deadlines", "notifications"):
            getattr(self, name).update(getattr(later, name))
        for name in ("ended", *_ENDS):
            mine = getattr(self, name)
            for key, value in getattr(later, name).items():
                mine.setdefault(key, value)
        for key, sent in later.sent.items():
            self.sent[key].extend(sent)

    def copy(self) -> FactsFold:
        """A fold to extend without changing this one (the facts themselves are immutable)."""
        copied: dict[str, Any] = {name: list(getattr(self, name)) for name in _LISTS}
        copied.update({name: dict(getattr(self, name)) for name in (*_KEYED, "ended", *_ENDS)})
        return FactsFold(**copied, sent=defaultdict(list, {k: list(v) for k, v in self.sent.items()}))

    def to_json(self) -> dict[str, Any]:
        """The fold as values orjson writes as JSON (a span's snapshot): each fact a list of its
        fields, instants and days left to orjson (ISO 8601 with their offsets), every list and
        mapping in its folded order."""
        return {
            **{name: [_encoded(f) for f in getattr(self, name)] for name in _LISTS},
            **{name: {k: _encoded(f) for k, f in getattr(self, name).items()} for name in _KEYED},
            **{name: getattr(self, name) for name in ("ended", *_ENDS)},
            "sent": dict(self.sent),
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> FactsFold:
        """The fold `to_json` wrote: the same facts, in the same order."""
        fold = cls()
        try:
            for name, kind in _LISTS.items():
                getattr(fold, name).extend(_decoded(kind, f) for f in value[name])
            for name, kind in _KEYED.items():
                getattr(fold, name).update((sys.intern(k), _decoded(kind, f)) for k, f in value[name].items())
            for k, (d, r) in value["ended"].items():
                fold.ended[sys.intern(k)] = (date.fromisoformat(d), _instant(r))
            for name in _ENDS:
                getattr(fold, name).update(
                    (sys.intern(k), (_instant(w), _instant(r))) for k, (w, r) in value[name].items()
                )
            for k, sent in value["sent"].items():
                fold.sent[sys.intern(k)].extend((who, _instant(w), _instant(r)) for who, w, r in sent)
        finally:
            _INSTANTS.clear()
        return fold

    def facts(self, window: Window | None = None, clocks: Iterable[str] | None = None) -> Facts:
        """The facts folded; with `window`, only those a report of its months can count (the
        same figures, from a part of the history), testing only the clocks of `clocks` (in this
        fold's order) if given: those a ClockIndex found the window may count."""
        if window is not None:
            return self._within(window, clocks)
        return Facts(
            children=tuple(self.children),
            households=tuple(self._left(h) for h in self.households),
            allocations=tuple(self.allocations),
            placements=tuple(self._ended(k, p) for k, p in self.placements.items()),
            visits=tuple(self.visits),
            supervisions=tuple(self.supervisions),
            holds=tuple(self._lifted(k, h) for k, h in self.holds.items()),
            deadlines=tuple(self._closed(k, d) for k, d in self.deadlines.items()),
            notifications=tuple(replace(n, sent=tuple(self.sent.get(k, ()))) for k, n in self.notifications.items()),
            escalations=tuple(self.escalations),
        )

    def _within(self, w: Window, clocks: Iterable[str] | None) -> Facts:
        ended, lifted = self.ended, self.lifted
        return Facts(
            children=tuple(self.children),
            households=tuple(self._left(h) for h in self.households),
            allocations=tuple(self.allocations),
            placements=tuple(
                self._ended(k, p)
                for k, p in self.placements.items()
                if not (p.start < w.since_day and w.ended(ended.get(k), p.recorded_at))
            ),
            visits=tuple(v for v in self.visits if v.occurred_at >= w.visits_from),
            supervisions=tuple(s for s in self.supervisions if s.occurred_at >= w.due_from),
            holds=tuple(self._lifted(k, h) for k, h in self.holds.items() if not w.ended(lifted.get(k), h.recorded_at)),
            deadlines=self._clocks_within(w, clocks),
            notifications=tuple(
                replace(n, sent=tuple(self.sent.get(k, ())))
                for k, n in self.notifications.items()
                if n.due_by >= w.due_from
            ),
            escalations=tuple(e for e in self.escalations if e.raised_at >= w.due_from),
        )

    def _clocks_within(self, w: Window, clocks: Iterable[str] | None) -> tuple[Deadline, ...]:
        met, cancelled, deadlines = self.met, self.cancelled, self.deadlines
        return tuple(
            self._closed(k, d)
            for k, d in (deadlines.items() if clocks is None else ((k, deadlines[k]) for k in clocks))
            if d.due_at >= w.due_from
            or d.kind in w.every_clock_of
            or not (w.ended(met.get(k), d.recorded_at) or w.ended(cancelled.get(k), d.recorded_at))
        )

    def _left(self, household: Household) -> Household:
        found = self.left.get(household.household_id)
        return replace(household, left_at=found[0], left_recorded_at=found[1]) if found else household

    def _ended(self, key: str, placement: Placement) -> Placement:
        found = self.ended.get(key)
        return replace(placement, end=found[0], end_recorded_at=found[1]) if found else placement

    def _lifted(self, key: str, hold: Hold) -> Hold:
        found = self.lifted.get(key)
        return replace(hold, lifted_at=found[0], lifted_recorded_at=found[1]) if found else hold

    def _closed(self, key: str, deadline: Deadline) -> Deadline:
        met, cancelled = self.met.get(key), self.cancelled.get(key)
        if met is None and cancelled is None:
            return deadline  # as its DeadlineSet folded it: neither met nor cancelled
        # The constructor, not dataclasses.replace (several times its cost, once a clock per report).
        d = deadline
        return Deadline(
            d.deadline_id, d.kind, d.subject, d.started_at, d.due_at, d.recorded_at, d.household_id,
            met[0] if met else None, met[1] if met else None,
            cancelled[0] if cancelled else None, cancelled[1] if cancelled else None,
        )  # fmt: skip


Fold = Callable[[FactsFold, Any, RecordedEvent], None]
F = TypeVar("F", bound=Fold)
FOLDS: dict[type[Event], Fold] = {}


def folds(*contracts: type[Event]) -> Callable[[F], F]:
    def mark(fold: F) -> F:
        for contract in contracts:
            FOLDS[contract] = fold
        return fold

    return mark


def _id(value: object | None) -> str | None:
    return str(value) if value is not None else None


@folds(ChildRegistered)
def _child(f: FactsFold, child: ChildRegistered, e: RecordedEvent) -> None:
    f.children.append(Child(str(child.child_id), child.name, child.social_worker_id, e.recorded_at))


@folds(HouseholdRegistered)
def _household(f: FactsFold, household: HouseholdRegistered, e: RecordedEvent) -> None:
    f.households.append(
        Household(str(household.household_id), household.name, household.supervising_social_worker_id, e.recorded_at)
    )


@folds(ApprovalEnded, HouseholdRefused)
def _household_left(f: FactsFold, left: ApprovalEnded | HouseholdRefused, e: RecordedEvent) -> None:
    at = left.ended_at if isinstance(left, ApprovalEnded) else left.refused_at
    f.left.setdefault(str(left.household_id), (at, e.recorded_at))


@folds(WorkerAllocated, AllocationEnded)
def _allocation(f: FactsFold, allocation: WorkerAllocated | AllocationEnded, e: RecordedEvent) -> None:
    subject = allocation.child_id or allocation.household_id
    if subject:
        ended = isinstance(allocation, AllocationEnded)
        f.allocations.append(
            Allocation(str(subject), allocation.worker_id, allocation.role, e.occurred_at, ended, e.recorded_at)
        )


@folds(PlacementStarted)
def _placed(f: FactsFold, placement: PlacementStarted, e: RecordedEvent) -> None:
    key = str(placement.placement_id)
    f.placements[key] = Placement(
        key, str(placement.child_id), str(placement.household_id), placement.start_date, e.recorded_at
    )


@folds(PlacementEnded)
def _placement_ended(f: FactsFold, ended: PlacementEnded, e: RecordedEvent) -> None:
    f.ended.setdefault(str(ended.placement_id), (ended.end_date, e.recorded_at))


@folds(VisitRecorded)
def _visit(f: FactsFold, visit: VisitRecorded, e: RecordedEvent) -> None:
    f.visits.append(
        Visit(
            child_id=str(visit.child_id),
            visitor_id=visit.visitor_id or "unknown",
            visitor_role=visit.visitor_role or "",
            occurred_at=visit.occurred_at,
            child_seen=visit.child_seen,
            seen_alone=visit.seen_alone,
            views_recorded=bool((visit.child_views or "").strip()),
            recorded_at=e.recorded_at,
            household_id=_id(visit.household_id),
        )
    )


@folds(SupervisionRecorded)
def _supervision(f: FactsFold, supervision: SupervisionRecorded, e: RecordedEvent) -> None:
    f.supervisions.append(
        Supervision(str(supervision.household_id), supervision.occurred_at, supervision.unannounced, e.recorded_at)
    )


@folds(HoldPlaced)
def _hold(f: FactsFold, hold: HoldPlaced, e: RecordedEvent) -> None:
    key = str(hold.hold_id)
    f.holds[key] = Hold(key, str(hold.household_id), hold.placed_at, e.recorded_at)


@folds(HoldLifted)
def _hold_lifted(f: FactsFold, lifted: HoldLifted, e: RecordedEvent) -> None:
    f.lifted.setdefault(str(lifted.hold_id), (lifted.lifted_at, e.recorded_at))


@folds(DeadlineSet)
def _clock(f: FactsFold, deadline: DeadlineSet, e: RecordedEvent) -> None:
    key = str(deadline.deadline_id)
    f.deadlines[key] = Deadline(
        deadline_id=key,
        kind=deadline.kind,
        subject=deadline.subject,
        started_at=deadline.started_at,
        due_at=deadline.due_at,
        recorded_at=e.recorded_at,
        household_id=_id(deadline.household_id),
    )


@folds(DeadlineMet)
def _clock_met(f: FactsFold, met: DeadlineMet, e: RecordedEvent) -> None:
    f.met.setdefault(str(met.deadline_id), (met.met_at, e.recorded_at))


@folds(DeadlineCancelled)
def _clock_cancelled(f: FactsFold, cancelled: DeadlineCancelled, e: RecordedEvent) -> None:
    f.cancelled.setdefault(str(cancelled.deadline_id), (e.occurred_at, e.recorded_at))


@folds(NotificationRaised)
def _notification(f: FactsFold, raised: NotificationRaised, e: RecordedEvent) -> None:
    key = str(raised.notification_id)
    f.notifications[key] = Notification(
        key, raised.rule_set, raised.due_by, e.occurred_at, e.recorded_at, recipients=tuple(raised.recipients)
    )


@folds(DeliveryAttempted)
def _delivered(f: FactsFold, attempt: DeliveryAttempted, e: RecordedEvent) -> None:
    if attempt.outcome == "delivered" and attempt.notification_id:
        f.sent[str(attempt.notification_id)].append((attempt.recipient, attempt.attempted_at, e.recorded_at))


@folds(NotificationAcknowledged)
def _acknowledged(f: FactsFold, ack: NotificationAcknowledged, e: RecordedEvent) -> None:
    f.sent[str(ack.notification_id)].append((ack.recipient, ack.acknowledged_at, e.recorded_at))


@folds(EscalationRaised)
def _escalated(f: FactsFold, raised: EscalationRaised, e: RecordedEvent) -> None:
    f.escalations.append(Escalation(str(raised.escalation_id), raised.raised_at, raised.deadline_kind, e.recorded_at))


# Everything the KPI report reads (one pass over the log, narrowed by type).
KPI_SOURCES: tuple[type[Event], ...] = tuple(FOLDS)
# The shape of a fold's JSON and the sources folded into it: a fold kept in another is folded again.
# 2: households' endings (ApprovalEnded, HouseholdRefused).
FOLD_FORMAT = 2


# ---- a fold as JSON (the spans' snapshots) ----------------------------------------------------
_LISTS: dict[str, type[Any]] = {
    "children": Child,
    "households": Household,
    "allocations": Allocation,
    "visits": Visit,
    "supervisions": Supervision,
    "escalations": Escalation,
}
_KEYED: dict[str, type[Any]] = {
    "placements": Placement,
    "holds": Hold,
    "deadlines": Deadline,
    "notifications": Notification,
}
_ENDS = ("lifted", "met", "cancelled", "left")


_INSTANTS: dict[str, datetime] = {}  # of the span being decoded (FactsFold.from_json empties it)


def _instant(text: str) -> datetime:
    """An instant decoded from a span: the same object for the same text (one event's recorded_at
    is the recorded_at of every fact it made)."""
    found = _INSTANTS.get(text)
    if found is None:
        found = _INSTANTS[text] = datetime.fromisoformat(text)
    return found


def _encoded(fact: Any) -> list[Any]:
    return [getattr(fact, name) for name in _FIELDS[type(fact)]]


def _reader(hint: Any) -> Callable[[Any], Any] | None:
    """How a field of type `hint` is read back from JSON (None: as it is; tuples apart)."""
    if hint in (datetime, datetime | None):
        return _instant
    if hint in (date, date | None):
        return date.fromisoformat
    return None


def _field_readers(kind: type[Any]) -> list[Callable[[Any], Any] | None]:
    hints = get_type_hints(kind)
    return [_reader(hints[f.name]) for f in fields(kind)]


def _optional(read: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else read(value)


_FIELDS: dict[type[Any], tuple[str, ...]] = {
    kind: tuple(f.name for f in fields(kind)) for kind in (*_LISTS.values(), *_KEYED.values())
}
_READERS: dict[type[Any], list[Callable[[Any], Any] | None]] = {
    kind: [None if r is None else _optional(r) for r in _field_readers(kind)]
    for kind in (*_LISTS.values(), *_KEYED.values())
}


def _recipients_and_sent(kind: type[Any], values: list[Any]) -> None:
    """Tuples come back from JSON as lists: a notification's recipients and sends."""
    if kind is Notification:
        values[5] = tuple(values[5])
        values[6] = tuple((who, _instant(w), _instant(r)) for who, w, r in values[6])


def _shared(value: Any) -> Any:
    """A text decoded from a span, the one copy of it in the process: ids and kinds recur in every
    span, and a server holds every span's facts."""
    return sys.intern(value) if isinstance(value, str) else value


def _decoded(kind: type[Any], encoded: list[Any]) -> Any:
    values = [_shared(v) if read is None else read(v) for read, v in zip(_READERS[kind], encoded, strict=True)]
    _recipients_and_sent(kind, values)
    return kind(*values)
