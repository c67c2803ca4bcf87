"""Matching (a child's needs and the training they call for), the supervision agenda, endings,
unannounced visits that see every child, caseloads and the agency's supervision of its workers."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel

from services.carers.rules.tables import AGENDA_INCIDENT_CATEGORIES, NEEDS_TRAINING, NotSeenReason, add_months_at
from shared.contracts.carers import EndingRecorded, PlacementEnded, TrainingRecorded
from shared.practice import CarersPractice


@dataclass(frozen=True)
class TrainingGap:
    member_id: uuid.UUID
    member_name: str
    course: str
    needs: tuple[str, ...]


def held_courses(trainings: Iterable[TrainingRecorded], member_id: uuid.UUID, on: date) -> set[str]:
    """Courses the member holds on `on` (completed by then and not expired)."""
    return {
        t.course
        for t in trainings
        if t.member_id == member_id and t.completed_on <= on and (t.expires_on is None or t.expires_on > on)
    }


def training_gaps(
    needs: Sequence[str], carers: Sequence[tuple[uuid.UUID, str]], trainings: Sequence[TrainingRecorded], on: date
) -> list[TrainingGap]:
    """Every (carer, course) the child's needs call for that the carer does not hold on `on`."""
    wanted: dict[str, list[str]] = {}
    for need in dict.fromkeys(needs):
        for course in NEEDS_TRAINING.get(need, ()):
            wanted.setdefault(str(course), []).append(str(need))
    gaps = []
    for member_id, name in carers:
        held = held_courses(trainings, member_id, on)
        gaps += [TrainingGap(member_id, name, c, tuple(why)) for c, why in wanted.items() if c not in held]
    return gaps


def belongs_on_supervision_agenda(category: str, police_called: bool = False) -> bool:
    return category in AGENDA_INCIDENT_CATEGORIES or police_called


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


def children_unaccounted(
    placed: set[uuid.UUID], seen: set[uuid.UUID], not_seen: dict[uuid.UUID, str]
) -> list[uuid.UUID]:
    """Placed children an unannounced visit neither saw nor gave one of the three reasons for."""
    valid = {c for c, reason in not_seen.items() if reason in set(NotSeenReason)}
    return sorted(placed - seen - valid, key=str)


class CaseloadStatus(BaseModel):
    children: int
    children_target: int
    households: int
    households_target: int
    over_target: bool
    over_target_in: list[str]


def caseload_status(children: int, households: int, practice: CarersPractice) -> CaseloadStatus:
    over = []
    if children > practice.caseload_children_target:
        over.append("children")
    if households > practice.caseload_households_target:
        over.append("households")
    return CaseloadStatus(
        children=children,
        children_target=practice.caseload_children_target,
        households=households,
        households_target=practice.caseload_households_target,
        over_target=bool(over),
        over_target_in=over,
    )


def worker_supervision_due(
    last_supervised_at: datetime | None, first_allocated_at: datetime | None, practice: CarersPractice
) -> datetime | None:
    """When the worker's next supervision is due: a month (local) after the last, or after their
    first allocation if they have never been supervised."""
    base = last_supervised_at or first_allocated_at
    return add_months_at(base, practice.worker_supervision_months) if base else None


def ending_parts_of(ending: PlacementEnded | EndingRecorded) -> list[str]:
    """The parts of a good ending an ending (or its later record) holds."""
    carer_views = (
        ending.carer_views or ending.carer_feelings if isinstance(ending, PlacementEnded) else ending.carer_views
    )
    return ending_parts_recorded(
        child_wishes_contact=ending.child_wishes_contact,
        child_wishes=ending.child_wishes,
        carer_views=carer_views,
        ending_meeting_held=ending.ending_meeting_held,
    )
