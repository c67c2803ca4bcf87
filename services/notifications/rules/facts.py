"""The facts a notification is raised by: when each happened, the children and household it
concerns, and what this service knows of those children (their registration and placements)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import assert_never

from shared.contracts.base import Event
from shared.contracts.carers import AllegationOutcomeRecorded, AllegationReceived
from shared.contracts.visits import ComplaintReceived, IncidentRecorded
from shared.contracts.vocabularies import same_authority

# The facts a rule file may name: the events this service reacts to.
NOTIFIABLE: tuple[type[Event], ...] = (
    IncidentRecorded,
    ComplaintReceived,
    AllegationReceived,
    AllegationOutcomeRecorded,
)
Notifiable = IncidentRecorded | ComplaintReceived | AllegationReceived | AllegationOutcomeRecorded


def as_notifiable(fact: Event) -> Notifiable | None:
    """The fact, if a rule file may name it."""
    if isinstance(fact, IncidentRecorded | ComplaintReceived | AllegationReceived | AllegationOutcomeRecorded):
        return fact
    return None


def event_time(fact: Notifiable) -> datetime:
    """When the notifiable thing happened: a notification's clock runs from it."""
    match fact:
        case IncidentRecorded():
            return fact.occurred_at
        case ComplaintReceived() | AllegationReceived():
            return fact.received_at
        case AllegationOutcomeRecorded():
            return fact.decided_at
        case _:
            assert_never(fact)


# ---- whom a notification concerns -------------------------------------------------------------
@dataclass(frozen=True)
class AllegationOnFile:
    """An allegation as this service keeps it: its outcome names neither household nor children."""

    household_id: uuid.UUID | None
    child_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class ChildOnFile:
    name: str | None
    placing_authority: str | None


@dataclass(frozen=True)
class PlacementOnFile:
    household_id: uuid.UUID | None
    start_date: date | None
    end_date: date | None
    placing_authority: str | None

    def covers(self, day: date) -> bool:
        return is_placed([(self.start_date, self.end_date)], day)


@dataclass(frozen=True)
class Subjects:
    """The children an event concerns (in order, once each) and the household it is about."""

    child_ids: tuple[uuid.UUID, ...]
    household_id: uuid.UUID | None


@dataclass(frozen=True)
class OnFile:
    """What this service knows of the subjects' children: their registration and placements."""

    children: Mapping[uuid.UUID, ChildOnFile | None]
    placements: Mapping[uuid.UUID, Sequence[PlacementOnFile]]
    # The local authority (ONS code) each household lives in, None where it was never recorded.
    households: Mapping[uuid.UUID, str | None] = field(default_factory=dict)

    def placed(self, child_ids: Sequence[uuid.UUID], day: date) -> list[uuid.UUID]:
        return [c for c in child_ids if any(p.covers(day) for p in self.placements.get(c, ()))]

    def household_of(self, placed: Sequence[uuid.UUID], day: date) -> uuid.UUID | None:
        """The household the placed children live in on `day` (the last one found)."""
        found = None
        for child_id in placed:
            for p in self.placements.get(child_id, ()):
                if p.covers(day) and p.household_id:
                    found = p.household_id
        return found

    def placing_authorities(self, child_ids: Sequence[uuid.UUID], day: date) -> list[str]:
        """Each child's placing authority on `day` (its placement's, else its registration's), once each."""
        found: list[str] = []
        for child_id in child_ids:
            names = [p.placing_authority for p in self.placements.get(child_id, ()) if p.covers(day)]
            current = [n for n in names if n]
            child = self.children.get(child_id)
            if not current and child is not None and child.placing_authority:
                current = [child.placing_authority]
            found.extend(n for n in current if n not in found)
        return found


@dataclass(frozen=True)
class Area:
    """Where the children live and whether that authority must be told as the area authority."""

    code: str | None  # the household's local authority; None: not known
    told: bool  # known and not a placing authority, or not known (so a manager sees it)


def area_of(household_local_authority: str | None, placing_authorities: Sequence[str]) -> Area:
    """The area authority is told when the child lives in another authority's area than the one
    that placed them (Schedule 7); when where they live is not recorded, it is told too: its clock
    runs and escalates rather than the duty being dropped unseen."""
    code = household_local_authority
    if code is None:
        return Area(None, told=True)
    return Area(code, told=not any(same_authority(code, named) for named in placing_authorities))


def subjects_of(
    fact: Notifiable, event_child_ids: Sequence[uuid.UUID], allegation: AllegationOnFile | None = None
) -> Subjects:
    """The children and household of a notifiable fact; an allegation's outcome is about those of
    the allegation (`allegation`, as received)."""
    household: uuid.UUID | None
    match fact:
        case IncidentRecorded():
            ids, household = [fact.child_id], fact.household_id
        case ComplaintReceived():
            ids, household = [fact.child_id], fact.about_household_id
        case AllegationReceived():
            ids, household = list(fact.child_ids), fact.household_id
        case AllegationOutcomeRecorded():
            ids = list(allegation.child_ids if allegation else event_child_ids)
            household = fact.household_id or (allegation.household_id if allegation else None)
        case _:
            assert_never(fact)
    return Subjects(tuple(dict.fromkeys(ids)), household)


def is_placed(placements: Sequence[tuple[date | None, date | None]], on: date) -> bool:
    """Whether any placement (start_date, end_date) covers the date `on`."""
    for start, end in placements:
        if (start is None or start <= on) and (end is None or on <= end):
            return True
    return False


# ---- ids ---------------------------------------------------------------------------------------
def notification_id(cause_event_id: uuid.UUID, rule: str) -> uuid.UUID:
    return uuid.uuid5(cause_event_id, f"notification:{rule}")


def acknowledgement_deadline_id(notification_id: uuid.UUID, recipient: str | None = None) -> uuid.UUID:
    """The acknowledgement clock of one recipient (reg 36: each must be told); without a recipient,
    the one clock notifications raised before clocks were kept per recipient had."""
    if recipient is None:
        return uuid.uuid5(notification_id, "acknowledgement")
    return uuid.uuid5(notification_id, f"acknowledgement:{recipient}")
