"""The child's plans (care, safe care, health): every version, who it was shared with and whether
they acknowledged it (reg 17: carers hold the care plan)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from pydantic import BaseModel, Field
from sqlalchemy import text

from services.visits.events import Medication, PlanAcknowledged, PlanKind, PlanRecorded, PlanShared
from services.visits.projections.children import ChildContext, Current, child_context
from services.visits.projections.clocks import ClockView
from shared.eventstore import Batch, RecordedEvent, handles


class PlansView:
    """visits_plan_versions (a version never changes) and visits_plan_shares."""

    @handles(PlanRecorded)
    async def _plan_recorded(self, batch: Batch, plan: PlanRecorded, event: RecordedEvent) -> None:
        content = {
            "strategies": plan.strategies,
            "medications": [m.model_dump(mode="json") for m in plan.medications],
        }
        batch.write(
            _INSERT_PLAN_VERSION,
            {
                "p": plan.plan_id,
                "v": plan.version,
                "c": plan.child_id,
                "k": plan.kind,
                "s": plan.summary,
                "content": json.dumps(content),
                "rd": plan.review_date,
                "rdl": plan.review_deadline_id,
                "at": event.occurred_at,
                "e": event.event_id,
            },
            ("visits_plan_versions", plan.plan_id, plan.version),
        )

    @handles(PlanShared)
    async def _plan_shared(self, batch: Batch, share: PlanShared, event: RecordedEvent) -> None:
        batch.write(
            _INSERT_PLAN_SHARE,
            {
                "s": share.share_id,
                "p": share.plan_id,
                "v": share.version,
                "c": share.child_id,
                "k": share.kind,
                "h": share.household_id,
                "at": event.occurred_at,
                "dl": share.ack_deadline_id,
                "e": event.event_id,
            },
            ("visits_plan_shares.plan", share.plan_id),
        )

    @handles(PlanAcknowledged)
    async def _plan_acknowledged(self, batch: Batch, ack: PlanAcknowledged, event: RecordedEvent) -> None:
        # Acknowledging a version acknowledges receipt of every earlier version shared with the household.
        batch.write(
            _ACKNOWLEDGE_PLAN_SHARES,
            {
                "p": ack.plan_id,
                "v": ack.version,
                "h": ack.household_id,
                "at": event.occurred_at,
                "by": ack.acknowledged_by,
            },
            ("visits_plan_shares.plan", ack.plan_id),
        )


_INSERT_PLAN_VERSION = text(
    "INSERT INTO visits_plan_versions (plan_id, version, child_id, kind, summary, content, review_date, "
    "review_deadline_id, recorded_at, event_id) VALUES (:p, :v, :c, :k, :s, CAST(:content AS jsonb), :rd, "
    ":rdl, :at, :e) ON CONFLICT (plan_id, version) DO NOTHING"
)
_INSERT_PLAN_SHARE = text(
    "INSERT INTO visits_plan_shares (share_id, plan_id, version, child_id, kind, household_id, shared_at, "
    "ack_deadline_id, event_id) VALUES (:s, :p, :v, :c, :k, :h, :at, :dl, :e) "
    "ON CONFLICT (share_id) DO NOTHING"
)
_ACKNOWLEDGE_PLAN_SHARES = text(
    "UPDATE visits_plan_shares SET acknowledged_at = :at, acknowledged_by = :by WHERE plan_id = :p "
    "AND version <= :v AND acknowledged_at IS NULL AND (CAST(:h AS uuid) IS NULL OR household_id = :h)"
)


# ---- what the plan commands decide on ------------------------------------------------------------
@dataclass(frozen=True)
class PlanVersion:
    plan_id: uuid.UUID
    child_id: uuid.UUID
    kind: PlanKind
    version: int
    review_deadline_id: uuid.UUID | None


@dataclass(frozen=True)
class PlanShare:
    plan_id: uuid.UUID
    version: int
    kind: PlanKind
    household_id: uuid.UUID
    shared_at: datetime
    ack_deadline_id: uuid.UUID | None
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class PlanContext:
    """The child (their placement and open clocks), the plan's current version and its shares."""

    child: ChildContext
    current: PlanVersion | None
    shares: tuple[PlanShare, ...] = ()


_CURRENT_VERSION = (
    "SELECT plan_id, child_id, kind, version, review_deadline_id FROM visits_plan_versions WHERE plan_id = $1 "
    "ORDER BY version DESC LIMIT 1"
)
_SHARES_OF_PLAN = (
    "SELECT plan_id, version, kind, household_id, shared_at, ack_deadline_id, acknowledged_at "
    "FROM visits_plan_shares WHERE plan_id = $1 ORDER BY shared_at, version"
)


async def plan_context(conn: Any, child_id: uuid.UUID, plan_id: uuid.UUID) -> Current[PlanContext]:
    """The child's context (its head and version) with the plan: its current version, if the plan
    is the child's, and every share of it."""
    child = await child_context(conn, child_id)
    if child.found is None:
        return Current(child.head, child.version, None)
    row = await conn.fetchrow(_CURRENT_VERSION, plan_id)
    current = PlanVersion(*row) if row is not None and row["child_id"] == child_id else None
    shares = tuple(PlanShare(*r) for r in await conn.fetch(_SHARES_OF_PLAN, plan_id)) if current else ()
    return Current(child.head, child.version, PlanContext(child.found, current, shares))


# ---- plans as the API shows them -----------------------------------------------------------------
class PlanVersionView(BaseModel):
    plan_id: uuid.UUID
    kind: PlanKind
    version: int
    summary: str
    strategies: list[str]
    medications: list[Medication]
    review_date: date
    recorded_at: datetime

    @classmethod
    def of(cls, row: Any) -> PlanVersionView:
        content = row["content"]
        content = orjson.loads(content) if isinstance(content, str | bytes) else content
        return cls(
            plan_id=row["plan_id"],
            kind=row["kind"],
            version=row["version"],
            summary=row["summary"],
            strategies=content.get("strategies", []),
            medications=content.get("medications", []),
            review_date=row["review_date"],
            recorded_at=row["recorded_at"],
        )


class ShareView(BaseModel):
    version: int
    household_id: uuid.UUID
    shared_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None


class PlanHistory(BaseModel):
    plan_id: uuid.UUID
    kind: PlanKind
    versions: list[PlanVersionView]
    current: PlanVersionView
    shares: list[ShareView] = Field(description="Each version given to the carers, and its acknowledgement.")


class ChildPlans(BaseModel):
    child_id: uuid.UUID
    plans: list[PlanHistory]
    open_clocks: list[ClockView]


class SharedPlan(PlanVersionView, ShareView):
    acknowledged: bool


class SharedPlans(BaseModel):
    child_id: uuid.UUID
    household_id: uuid.UUID | None = Field(description="The household the child is placed with (null: none).")
    plans: list[SharedPlan]


_VERSION_COLUMNS = "plan_id, kind, version, summary, content, review_date, recorded_at"
_VERSIONS_OF_CHILD = f"SELECT {_VERSION_COLUMNS} FROM visits_plan_versions WHERE child_id = $1 ORDER BY kind, version"
_SHARES_OF_CHILD = (
    "SELECT plan_id, version, household_id, shared_at, acknowledged_at, acknowledged_by FROM visits_plan_shares "
    "WHERE child_id = $1 ORDER BY shared_at, version"
)


async def plan_histories(conn: Any, child_id: uuid.UUID) -> list[PlanHistory]:
    """Every plan of the child, by kind: each version in order, and who holds which."""
    versions: dict[uuid.UUID, list[PlanVersionView]] = {}
    for row in await conn.fetch(_VERSIONS_OF_CHILD, child_id):
        versions.setdefault(row["plan_id"], []).append(PlanVersionView.of(row))
    shares: dict[uuid.UUID, list[ShareView]] = {}
    for row in await conn.fetch(_SHARES_OF_CHILD, child_id):
        shares.setdefault(row["plan_id"], []).append(ShareView(**{k: v for k, v in row.items() if k != "plan_id"}))
    return [
        PlanHistory(
            plan_id=plan_id, kind=found[-1].kind, versions=found, current=found[-1], shares=shares.get(plan_id, [])
        )
        for plan_id, found in versions.items()
    ]


# The latest version shared with the household of each plan (of two shares of it, the first).
_SHARED_WITH = (
    f"SELECT * FROM (SELECT DISTINCT ON (s.plan_id) {', '.join(f'v.{c}' for c in _VERSION_COLUMNS.split(', '))}, "
    "s.household_id, s.shared_at, s.acknowledged_at, s.acknowledged_by FROM visits_plan_shares s "
    "JOIN visits_plan_versions v ON v.plan_id = s.plan_id AND v.version = s.version "
    "WHERE s.child_id = $1 AND s.household_id = $2 ORDER BY s.plan_id, s.version DESC, s.shared_at, s.share_id) "
    "latest ORDER BY kind"
)


async def shared_plans(conn: Any, child_id: uuid.UUID, household_id: uuid.UUID) -> list[SharedPlan]:
    """The current plans shared with the household, each as the version they were given."""
    found = []
    for row in await conn.fetch(_SHARED_WITH, child_id, household_id):
        plan = PlanVersionView.of(row)
        share = ShareView(**{k: row[k] for k in ShareView.model_fields})
        acknowledged = share.acknowledged_at is not None
        found.append(SharedPlan(**{**plan.model_dump(), **share.model_dump(), "acknowledged": acknowledged}))
    return found
