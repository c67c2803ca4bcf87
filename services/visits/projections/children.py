"""The child, their placements, visits and incidents: the rows every command on the child's record
starts from (`child_context`, one statement) and the child's details as the API shows them."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import text

from services.visits import rules
from services.visits.events import CareEnded, ChildRegistered, IncidentRecorded, VisitRecorded, child_stream
from services.visits.rules import OpenClock, Placement
from shared.contracts.carers import PlacementEnded, PlacementStarted
from shared.eventstore import Batch, RecordedEvent, handles, sql

T = TypeVar("T")


@dataclass
class Current(Generic[T]):
    """What a read found as of the log's head: the head it saw, the stream's version (0: no such
    stream) and the state (None: no such record)."""

    head: int
    version: int
    found: T | None


# ---- placements: the one read of them ------------------------------------------------------------
PLACEMENT_COLUMNS = (
    "placement_id, household_id, start_date, long_term, connected_person, placing_authority, end_date, started_position"
)


def placements_of_child(child: str) -> str:
    """Every placement of the child named by the parameter `child` (`$1` or `:c`)."""
    return f"SELECT {PLACEMENT_COLUMNS} FROM visits_placements WHERE child_id = {child}"


def placement_of(row: Sequence[Any]) -> Placement:
    """A placement from a row of PLACEMENT_COLUMNS, in that order."""
    return Placement(*row)


# ---- the handlers --------------------------------------------------------------------------------
class ChildrenView:
    """visits_children, visits_placements (from the carers service's events), visits_visits and
    visits_incidents. "The placements of a child" is one key: the clocks that follow a placement
    read them."""

    @handles(ChildRegistered)
    async def _child_registered(self, batch: Batch, child: ChildRegistered, event: RecordedEvent) -> None:
        batch.write(
            _INSERT_CHILD,
            {
                "c": child.child_id,
                "n": child.name,
                "dob": child.date_of_birth,
                "ls": child.legal_status,
                "pa": child.placing_authority,
                "sw": child.social_worker_id,
                "at": event.occurred_at,
                "e": event.event_id,
                "las": child.looked_after_since,
            },
            ("visits_children", child.child_id),
        )

    @handles(PlacementStarted)
    async def _placement_started(self, batch: Batch, started: PlacementStarted, event: RecordedEvent) -> None:
        batch.write(
            _INSERT_PLACEMENT,
            {
                "p": started.placement_id,
                "c": started.child_id,
                "h": started.household_id,
                "s": started.start_date,
                "lt": started.long_term,
                "cp": started.connected_person,
                "pa": started.placing_authority,
                "pos": event.position,
            },
            ("visits_placements", started.placement_id),
            ("visits_placements.child", started.child_id),
        )

    @handles(PlacementEnded)
    async def _placement_ended(self, batch: Batch, ended: PlacementEnded, event: RecordedEvent) -> None:
        batch.write(
            _END_PLACEMENT,
            {"p": ended.placement_id, "d": ended.end_date, "r": ended.reason},
            ("visits_placements", ended.placement_id),
            ("visits_placements.child", ended.child_id),
        )

    @handles(CareEnded)
    async def _care_ended(self, batch: Batch, ended: CareEnded, event: RecordedEvent) -> None:
        batch.write(_END_CARE, {"c": ended.child_id, "d": ended.ended_on}, ("visits_children", ended.child_id))

    @handles(VisitRecorded)
    async def _visit_recorded(self, batch: Batch, visit: VisitRecorded, event: RecordedEvent) -> None:
        batch.write(
            _INSERT_VISIT,
            {
                "v": visit.visit_id,
                "e": event.event_id,
                "c": visit.child_id,
                "at": event.occurred_at,
                "vid": visit.visitor_id,
                "vr": visit.visitor_role,
                "k": visit.kind,
                "cs": visit.child_seen,
                "sa": visit.seen_alone,
                "nr": visit.not_seen_alone_reason,
                "bs": visit.bedroom_seen,
                "hn": bool((visit.narrative or "").strip()),
                "hv": bool((visit.child_views or "").strip()),
            },
            ("visits_visits", visit.visit_id),
        )

    @handles(IncidentRecorded)
    async def _incident_recorded(self, batch: Batch, incident: IncidentRecorded, event: RecordedEvent) -> None:
        batch.write(
            _INSERT_INCIDENT,
            {
                "i": incident.incident_id,
                "e": event.event_id,
                "c": incident.child_id,
                "k": incident.category,
                "at": event.occurred_at,
            },
            ("visits_incidents", incident.incident_id),
        )


_INSERT_CHILD = text(
    "INSERT INTO visits_children (child_id, name, date_of_birth, legal_status, placing_authority, "
    "social_worker_id, registered_at, event_id, looked_after_since) "
    "VALUES (:c, :n, :dob, :ls, :pa, :sw, :at, :e, :las) ON CONFLICT (child_id) DO NOTHING"
)
_INSERT_PLACEMENT = text(
    "INSERT INTO visits_placements (placement_id, child_id, household_id, start_date, long_term, "
    "connected_person, placing_authority, started_position) VALUES (:p, :c, :h, :s, :lt, :cp, :pa, :pos) "
    "ON CONFLICT (placement_id) DO NOTHING"
)
_END_CARE = text(  # the latest end, whichever order they were recorded in
    "UPDATE visits_children SET care_ended_on = GREATEST(care_ended_on, :d) WHERE child_id = :c"
)
_END_PLACEMENT = text("UPDATE visits_placements SET end_date = :d, end_reason = :r WHERE placement_id = :p")
_INSERT_VISIT = text(
    "INSERT INTO visits_visits (visit_id, event_id, child_id, occurred_at, visitor_id, visitor_role, kind, "
    "child_seen, seen_alone, not_seen_alone_reason, bedroom_seen, has_narrative, has_views) VALUES "
    "(:v, :e, :c, :at, :vid, :vr, :k, :cs, :sa, :nr, :bs, :hn, :hv) ON CONFLICT (visit_id) DO NOTHING"
)
_INSERT_INCIDENT = text(
    "INSERT INTO visits_incidents (incident_id, event_id, child_id, category, occurred_at) "
    "VALUES (:i, :e, :c, :k, :at) ON CONFLICT (incident_id) DO NOTHING"
)


# ---- what a command on the child's record starts from ---------------------------------------------
@dataclass(frozen=True)
class Child:
    child_id: uuid.UUID
    name: str
    date_of_birth: date | None  # None: destroyed with the record (crypto-shredding)
    legal_status: str
    placing_authority: str
    social_worker_id: str | None
    registered_at: datetime
    looked_after_since: date | None
    care_ended_on: date | None  # the latest end of care recorded


@dataclass(frozen=True)
class ChildContext:
    """The child, every placement they have had, their open clocks (each with the placement it
    belongs to) and how many looked-after reviews have been held."""

    child: Child
    placements: tuple[Placement, ...] = ()
    open_clocks: tuple[OpenClock, ...] = ()
    reviews_held: int = 0

    @functools.cached_property
    def placement(self) -> Placement | None:
        """The current placement."""
        return rules.current_placement(self.placements)

    @property
    def household_id(self) -> uuid.UUID | None:
        """The household the child is placed with now."""
        return self.placement.household_id if self.placement is not None else None

    @property
    def households(self) -> frozenset[uuid.UUID]:
        """Every household the child has been placed with."""
        return frozenset(p.household_id for p in self.placements if p.household_id is not None)

    @functools.cached_property
    def looked_after(self) -> bool:
        """Whether the child is looked after now (their care not ended, or placed again since)."""
        return rules.looked_after(self.child.care_ended_on, (p.start_date for p in self.placements))

    def clock(self, deadline_id: uuid.UUID | None) -> OpenClock | None:
        """The open clock `deadline_id`, or None (met, stopped or unknown)."""
        return next((c for c in self.open_clocks if c.deadline_id == deadline_id), None)


_CHILD_COLUMNS = (
    "child_id, name, date_of_birth, legal_status, placing_authority, social_worker_id, registered_at, "
    "looked_after_since, care_ended_on"
)
_CHILD_CONTEXT = (
    f"SELECT {sql.HEAD_POSITION_FRAGMENT} AS head, {sql.stream_version_fragment(2)} AS version, "
    + ", ".join(f"c.{column}" for column in _CHILD_COLUMNS.split(", "))
    + f", (SELECT array_agg(p ORDER BY p.started_position) FROM ({placements_of_child('$1')}) p) AS placements, "
    "(SELECT array_agg((d.deadline_id, d.kind, d.started_at, d.due_at, d.placement_id) ORDER BY d.due_at, "
    "d.deadline_id) FROM visits_deadlines d WHERE d.child_id = $1 AND d.status = 'open') AS clocks, "
    "(SELECT count(*) FROM visits_lac_reviews r WHERE r.child_id = $1) AS reviews_held "
    "FROM (SELECT 1) AS one LEFT JOIN visits_children c ON c.child_id = $1"
)


async def child_context(conn: Any, child_id: uuid.UUID) -> Current[ChildContext]:
    """On a driver (asyncpg) connection, in one statement: the log's head, the child's stream
    version and what a command on the child's record decides on (recording a visit is the busiest
    write there is)."""
    row = await conn.fetchrow(_CHILD_CONTEXT, child_id, child_stream(child_id))
    if row["child_id"] is None:
        return Current(row["head"], row["version"] or 0, None)
    placements = tuple(placement_of(p) for p in row["placements"] or ())
    by_id = {p.placement_id: p for p in placements}
    clocks = tuple(
        OpenClock(deadline_id, kind, started_at, due_at, by_id.get(placement_id))
        for deadline_id, kind, started_at, due_at, placement_id in row["clocks"] or ()
    )
    child = Child(**{column: row[column] for column in _CHILD_COLUMNS.split(", ")})
    return Current(row["head"], row["version"] or 0, ChildContext(child, placements, clocks, row["reviews_held"]))


# ---- the child as the API shows them -------------------------------------------------------------
class PlacementView(BaseModel):
    placement_id: uuid.UUID
    household_id: uuid.UUID | None
    start_date: date
    long_term: bool
    connected_person: bool
    placing_authority: str | None

    @classmethod
    def of(cls, placement: Placement | None) -> PlacementView | None:
        if placement is None:
            return None
        return cls(
            placement_id=placement.placement_id,
            household_id=placement.household_id,
            start_date=placement.start_date,
            long_term=placement.long_term,
            connected_person=placement.connected_person,
            placing_authority=placement.placing_authority,
        )


class ChildView(BaseModel):
    child_id: uuid.UUID
    name: str
    date_of_birth: date | None  # None: destroyed with the record (crypto-shredding)
    legal_status: str
    placing_authority: str
    social_worker_id: str | None
    registered_at: datetime
    placement: PlacementView | None
    care_ended_on: date | None
    looked_after: bool
    version: int

    @classmethod
    def of(cls, current: Current[ChildContext]) -> ChildView | None:
        if current.found is None:
            return None
        child = current.found.child
        return cls(
            child_id=child.child_id,
            name=child.name,
            date_of_birth=child.date_of_birth,
            legal_status=child.legal_status,
            placing_authority=child.placing_authority,
            social_worker_id=child.social_worker_id,
            registered_at=child.registered_at,
            placement=PlacementView.of(current.found.placement),
            care_ended_on=child.care_ended_on,
            looked_after=current.found.looked_after,
            version=current.version,
        )


class VisitView(BaseModel):
    visit_id: uuid.UUID
    event_id: uuid.UUID
    occurred_at: datetime
    visitor_id: str
    visitor_role: str
    kind: str
    child_seen: bool
    seen_alone: bool


@dataclass(frozen=True)
class VisitsSeen:
    """The child's latest visit, the latest that saw them alone and the latest with a narrative."""

    last: VisitView | None
    last_seen_alone: VisitView | None
    last_with_narrative: VisitView | None


_VISIT_COLUMNS = "visit_id, event_id, occurred_at, visitor_id, visitor_role, kind, child_seen, seen_alone"
_LATEST_VISITS = " UNION ALL ".join(
    f"(SELECT '{which}' AS which, {_VISIT_COLUMNS} FROM visits_visits WHERE child_id = $1{where} "
    "ORDER BY occurred_at DESC, visit_id LIMIT 1)"
    for which, where in (("last", ""), ("alone", " AND seen_alone"), ("narrative", " AND has_narrative"))
)


async def visits_seen(conn: Any, child_id: uuid.UUID) -> VisitsSeen:
    found: dict[str, VisitView] = {}
    for row in await conn.fetch(_LATEST_VISITS, child_id):
        found[row["which"]] = VisitView(**{k: v for k, v in row.items() if k != "which"})
    return VisitsSeen(found.get("last"), found.get("alone"), found.get("narrative"))
