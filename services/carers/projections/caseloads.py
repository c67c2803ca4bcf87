"""Caseloads: who is allocated to which child and household (registrations and allocations), when
each worker was last supervised, and their own training with its expiry; read against the targets
(local) and the clock at query time."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import asyncpg
from pydantic import BaseModel, Field
from sqlalchemy import text

from services.carers.events import (
    AllocationEnded,
    ChildRegistered,
    HouseholdRegistered,
    WorkerAllocated,
    WorkerSupervisionRecorded,
    WorkerTrainingRecorded,
)
from services.carers.rules import CHILD_SEEN_CLOCKS, CaseloadStatus, caseload_status, worker_supervision_due
from shared.calendar import local_date
from shared.eventstore import Batch, Projector, RecordedEvent, handles
from shared.practice import CarersPractice


class CaseloadsProjector(Projector):
    name = "carers.caseloads"
    tables = ("carers_caseloads", "carers_workers", "carers_worker_training")

    @handles(WorkerTrainingRecorded)
    async def _trained(self, batch: Batch, trained: WorkerTrainingRecorded, event: RecordedEvent) -> None:
        params = {"w": trained.worker_id, "c": trained.course.value, "d": trained.completed_on, "e": trained.expires_on}
        batch.write(_WORKER_TRAINED, params, ("carers_worker_training", trained.worker_id, trained.course.value))

    @handles(WorkerSupervisionRecorded)
    async def _supervised(self, batch: Batch, supervised: WorkerSupervisionRecorded, event: RecordedEvent) -> None:
        params = {"w": supervised.worker_id, "at": supervised.occurred_at}
        batch.write(_WORKER_SUPERVISED, params, ("carers_workers", supervised.worker_id))

    @handles(ChildRegistered)
    async def _child(self, batch: Batch, child: ChildRegistered, event: RecordedEvent) -> None:
        _allocate(batch, child.social_worker_id, "child", child.child_id, event.occurred_at)

    @handles(HouseholdRegistered)
    async def _household(self, batch: Batch, household: HouseholdRegistered, event: RecordedEvent) -> None:
        _allocate(batch, household.supervising_social_worker_id, "household", household.household_id, event.occurred_at)

    @handles(WorkerAllocated)
    async def _allocated(self, batch: Batch, allocated: WorkerAllocated, event: RecordedEvent) -> None:
        if allocated.role != "lado":  # the LADO's involvement is not a caseload
            kind, object_id = _allocated_to(allocated)
            _allocate(batch, allocated.worker_id, kind, object_id, event.occurred_at)

    @handles(AllocationEnded)
    async def _allocation_ended(self, batch: Batch, ended: AllocationEnded, event: RecordedEvent) -> None:
        kind, object_id = _allocated_to(ended)
        if ended.role != "lado" and object_id is not None:
            params = {"w": ended.worker_id, "k": kind, "o": str(object_id), "at": event.occurred_at}
            batch.write(_DEALLOCATE, params, ("carers_caseloads", ended.worker_id, kind, str(object_id)))


def _allocated_to(allocation: WorkerAllocated | AllocationEnded) -> tuple[str, uuid.UUID | None]:
    if allocation.child_id is not None:
        return "child", allocation.child_id
    return "household", allocation.household_id


def _allocate(batch: Batch, worker: str | None, kind: str, object_id: uuid.UUID | None, at: datetime) -> None:
    if not worker or object_id is None:
        return
    params = {"w": worker, "k": kind, "o": str(object_id), "at": at}
    batch.write(_ALLOCATE, params, ("carers_caseloads", worker, kind, str(object_id)))
    batch.write(_WORKER_ALLOCATED, params, ("carers_workers", worker))


_WORKER_SUPERVISED = text(
    "INSERT INTO carers_workers (worker_id, last_supervised_at, supervisions) VALUES (:w, :at, 1) "
    "ON CONFLICT (worker_id) DO UPDATE SET supervisions = carers_workers.supervisions + 1, "
    "last_supervised_at = GREATEST(carers_workers.last_supervised_at, EXCLUDED.last_supervised_at)"
)
# The latest course completed is the one in force (a late record of an older course changes nothing).
_WORKER_TRAINED = text(
    "INSERT INTO carers_worker_training (worker_id, course, completed_on, expires_on) VALUES (:w, :c, :d, :e) "
    "ON CONFLICT (worker_id, course) DO UPDATE SET completed_on = EXCLUDED.completed_on, "
    "expires_on = EXCLUDED.expires_on WHERE EXCLUDED.completed_on >= carers_worker_training.completed_on"
)
_DEALLOCATE = text("DELETE FROM carers_caseloads WHERE worker_id = :w AND kind = :k AND object_id = :o")
_ALLOCATE = text(
    "INSERT INTO carers_caseloads (worker_id, kind, object_id, since) VALUES (:w, :k, :o, :at) ON CONFLICT DO NOTHING"
)
_WORKER_ALLOCATED = text(
    "INSERT INTO carers_workers (worker_id, first_allocated_at) VALUES (:w, :at) "
    "ON CONFLICT (worker_id) DO UPDATE SET first_allocated_at = "
    "LEAST(COALESCE(carers_workers.first_allocated_at, EXCLUDED.first_allocated_at), EXCLUDED.first_allocated_at)"
)


# ---- reading ---------------------------------------------------------------------------------
class WorkerSupervision(BaseModel):
    last_supervised_at: datetime | None
    supervisions: int
    due_at: datetime | None
    overdue: bool


class StaffTraining(BaseModel):
    course: str
    completed_on: date
    expires_on: date
    overdue: bool


class ChildToSee(BaseModel):
    """A placed child the worker (the household's SSW) owes a sighting: a clock of the agency's duty
    to see the children it places (issue 18)."""

    household_id: uuid.UUID
    child_id: uuid.UUID
    placement_id: uuid.UUID
    kind: str
    description: str
    due_at: datetime
    overdue: bool


class WorkerCaseload(CaseloadStatus):
    worker_id: str
    child_ids: list[uuid.UUID]
    household_ids: list[uuid.UUID]
    supervision: WorkerSupervision
    training: list[StaffTraining]
    overdue_training: list[str]  # the courses whose training has expired, beside the caseload
    children_to_see: list[ChildToSee] = Field(
        default_factory=list, description="Children of the worker's households owed a visit, sighting or bedroom check."
    )


_ALLOCATIONS = (
    "SELECT worker_id, kind, object_id FROM carers_caseloads WHERE ($1::text IS NULL OR worker_id = $1) "
    "ORDER BY worker_id, since, object_id"
)
_TRAINING = (
    "SELECT worker_id, course, completed_on, expires_on FROM carers_worker_training "
    "WHERE ($1::text IS NULL OR worker_id = $1) ORDER BY worker_id, course"
)
# The open clocks of the duty to see each placed child, of the households named ($1), from the
# household's folded state (its open clocks and its current placements). The state is taken apart
# once a household (MATERIALIZED): written inline, each clock's row detoasted the whole state again
# (146 -> 35 ms for 230 households).
_CHILDREN_TO_SEE = (
    "WITH h AS MATERIALIZED (SELECT household_id, state->'deadlines' AS deadlines, "
    "state->'placements' AS placements FROM carers_households WHERE household_id = ANY($1::uuid[])) "
    "SELECT h.household_id, d.value->>'kind' AS kind, d.value->>'description' AS description, "
    "(d.value->>'due_at')::timestamptz AS due_at, (d.value->>'placement_id')::uuid AS placement_id, "
    "(h.placements->(d.value->>'placement_id')->>'child_id')::uuid AS child_id "
    "FROM h, jsonb_each(h.deadlines) d WHERE d.value->>'kind' = ANY($2::text[]) "
    "AND h.placements ? (d.value->>'placement_id') ORDER BY due_at, placement_id, kind"
)
_WORKERS = (
    "SELECT worker_id, first_allocated_at, last_supervised_at, supervisions FROM carers_workers "
    "WHERE ($1::text IS NULL OR worker_id = $1)"
)


async def caseloads(
    conn: asyncpg.Connection,
    now: datetime,
    practice: CarersPractice,
    worker_id: str | None = None,
) -> list[WorkerCaseload]:
    """Per worker (or the one named): children and households allocated against the targets
    (local), and whether the worker's own supervision is overdue at `now`. `conn` is a driver
    connection of the store's pool."""
    allocated: dict[str, dict[str, list[uuid.UUID]]] = {}
    for row in await conn.fetch(_ALLOCATIONS, worker_id):
        allocated.setdefault(row["worker_id"], {"child": [], "household": []})[row["kind"]].append(row["object_id"])
    workers = {row["worker_id"]: row for row in await conn.fetch(_WORKERS, worker_id)}
    training: dict[str, list[StaffTraining]] = {}
    for row in await conn.fetch(_TRAINING, worker_id):
        expired = row["expires_on"] <= local_date(now)
        training.setdefault(row["worker_id"], []).append(
            StaffTraining(
                course=row["course"], completed_on=row["completed_on"], expires_on=row["expires_on"], overdue=expired
            )
        )
    households = [h for mine in allocated.values() for h in mine["household"]]
    to_see: dict[uuid.UUID, list[ChildToSee]] = {}
    for row in await conn.fetch(_CHILDREN_TO_SEE, households, sorted(CHILD_SEEN_CLOCKS)) if households else ():
        to_see.setdefault(row["household_id"], []).append(ChildToSee(**dict(row), overdue=row["due_at"] < now))
    return [
        _caseload(
            worker, allocated.get(worker, {"child": [], "household": []}), workers.get(worker), now, practice
        ).model_copy(
            update={
                **_training_of(training.get(worker, [])),
                "children_to_see": [
                    c for h in allocated.get(worker, {}).get("household", []) for c in to_see.get(h, [])
                ],
            }
        )
        for worker in sorted(set(allocated) | set(workers) | set(training))
    ]


def _training_of(courses: list[StaffTraining]) -> dict[str, object]:
    return {"training": courses, "overdue_training": [c.course for c in courses if c.overdue]}


def _caseload(
    worker: str, mine: dict[str, list[uuid.UUID]], row: asyncpg.Record | None, now: datetime, practice: CarersPractice
) -> WorkerCaseload:
    last = row["last_supervised_at"] if row is not None else None
    first = row["first_allocated_at"] if row is not None else None
    due = worker_supervision_due(last, first, practice)
    status = caseload_status(len(mine["child"]), len(mine["household"]), practice)
    return WorkerCaseload(
        **status.model_dump(),
        worker_id=worker,
        child_ids=mine["child"],
        household_ids=mine["household"],
        supervision=WorkerSupervision(
            last_supervised_at=last,
            supervisions=row["supervisions"] if row is not None else 0,
            due_at=due,
            overdue=due is not None and due < now,
        ),
        training=[],
        overdue_training=[],
    )
