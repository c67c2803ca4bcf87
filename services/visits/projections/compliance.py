"""A child's compliance: each statutory clock by the clock now, section by section (visits,
follow-ups, complaints, plans, risk, health, reviews, concerns), and whether any is overdue."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from services.visits import rules
from services.visits.projections.children import PlacementView, VisitsSeen, VisitView, child_context, visits_seen
from services.visits.projections.clocks import ClockView, of_kinds, open_clocks
from services.visits.projections.complaints import ComplaintView, open_complaints
from services.visits.projections.concerns import ConcernView, concerns
from services.visits.projections.health import (
    HealthRecord,
    ReviewSummary,
    RiskAssessmentSummary,
    health_record,
    latest_risk_assessment,
    review_summary,
)
from shared.eventstore import EventFilter, EventStore, Projector
from shared.eventstore.scratch import fold_apart


class PlanClocks(BaseModel):
    open_clocks: list[ClockView]


class ChildCompliance(BaseModel):
    child_id: uuid.UUID
    as_at: datetime = Field(description="The agency's clock when this was read.")
    placement: PlacementView | None
    next_statutory_visit: ClockView | None
    statutory_visit_overdue: bool
    last_visit: VisitView | None
    last_seen_alone_at: datetime | None
    days_since_seen_alone: int | None
    last_visit_with_narrative: VisitView | None
    open_follow_ups: list[ClockView] = Field(description="Follow-up visits and return home interviews.")
    open_complaints: list[ComplaintView]
    plans: PlanClocks
    risk_assessment: RiskAssessmentSummary
    health: HealthRecord
    looked_after_reviews: ReviewSummary
    open_concerns: list[ConcernView]
    overdue: bool = Field(description="Any of the child's clocks is overdue.")


def _visits_section(clocks: list[ClockView], seen: VisitsSeen, now: datetime) -> dict[str, Any]:
    statutory = of_kinds(clocks, {rules.STATUTORY_VISIT})
    next_visit = statutory[0] if statutory else None
    alone = seen.last_seen_alone.occurred_at if seen.last_seen_alone is not None else None
    return {
        "next_statutory_visit": next_visit,
        "statutory_visit_overdue": next_visit is not None and next_visit.overdue,
        "last_visit": seen.last,
        "last_seen_alone_at": alone,
        "days_since_seen_alone": rules.days_since(alone, now),
        "last_visit_with_narrative": seen.last_with_narrative,
        "open_follow_ups": of_kinds(clocks, rules.FOLLOW_UP_KINDS),
    }


async def compliance(conn: Any, child_id: uuid.UUID, now: datetime) -> ChildCompliance | None:
    """None when there is no such child. Every clock of the child belongs to one section, so the
    child is overdue when any of their open clocks is."""
    current = await child_context(conn, child_id)
    if current.found is None:
        return None
    clocks = await open_clocks(conn, child_id, now)
    assessed = await latest_risk_assessment(conn, child_id)
    reviews = of_kinds(clocks, {rules.LAC_REVIEW})
    return ChildCompliance(
        child_id=child_id,
        as_at=now,
        placement=PlacementView.of(current.found.placement),
        **_visits_section(clocks, await visits_seen(conn, child_id), now),
        open_complaints=await open_complaints(conn, child_id, now),
        plans=PlanClocks(open_clocks=of_kinds(clocks, rules.PLAN_KINDS)),
        risk_assessment=RiskAssessmentSummary(
            last_assessed_at=assessed.last_assessed_at,
            review_date=assessed.review_date,
            open_clocks=of_kinds(clocks, rules.RISK_KINDS),
        ),
        health=await health_record(conn, child_id, clocks),
        looked_after_reviews=await review_summary(conn, child_id, reviews[0] if reviews else None),
        open_concerns=await concerns(conn, child_id, now, open_only=True),
        overdue=any(c.overdue for c in clocks),
    )


async def compliance_as_of(
    store: EventStore, projectors: Sequence[Projector], child_id: uuid.UUID, as_of: datetime
) -> ChildCompliance | None:
    """The child's compliance as the agency knew it at `as_of`, by the clock then, without a full
    replay: the child's own events recorded by `as_of` (every event about a child names the child)
    folded through the visits projectors into temporary tables, and the same query read there.
    The same answer as `compliance` on projections rebuilt as of `as_of` (tested for 12 dates)."""
    events = [e async for page in store.iterate(EventFilter(child_id=child_id, as_of=as_of)) for e in page]
    if not events:
        return None
    return await fold_apart(store.engine, projectors, events, lambda driver: compliance(driver, child_id, as_of))
