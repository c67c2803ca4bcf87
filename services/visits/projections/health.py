"""The child's health (checks and the incidents a health timeline follows), risk assessments and
looked-after child reviews."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import text

from services.visits import rules
from services.visits.events import HealthCheckRecorded, LookedAfterReviewRecorded, RiskAssessmentRecorded
from services.visits.projections.clocks import ClockView
from shared.eventstore import Batch, RecordedEvent, handles


class HealthView:
    """visits_health_checks, visits_risk_assessments and visits_lac_reviews."""

    @handles(RiskAssessmentRecorded)
    async def _risk_assessed(self, batch: Batch, assessment: RiskAssessmentRecorded, event: RecordedEvent) -> None:
        batch.write(
            _INSERT_RISK_ASSESSMENT,
            {
                "a": assessment.assessment_id,
                "c": assessment.child_id,
                "at": event.occurred_at,
                "by": assessment.assessed_by,
                "h": json.dumps([h.model_dump(mode="json") for h in assessment.hazards]),
                "rd": assessment.review_date,
                "e": event.event_id,
            },
            ("visits_risk_assessments", assessment.assessment_id),
        )

    @handles(HealthCheckRecorded)
    async def _health_checked(self, batch: Batch, check: HealthCheckRecorded, event: RecordedEvent) -> None:
        batch.write(
            _INSERT_HEALTH_CHECK,
            {
                "i": check.check_id,
                "c": check.child_id,
                "k": check.kind,
                "at": event.occurred_at,
                "by": check.by,
                "o": check.outcome,
                "e": event.event_id,
            },
            ("visits_health_checks", check.check_id),
        )

    @handles(LookedAfterReviewRecorded)
    async def _reviewed(self, batch: Batch, review: LookedAfterReviewRecorded, event: RecordedEvent) -> None:
        batch.write(
            _INSERT_LAC_REVIEW,
            {
                "r": review.review_id,
                "c": review.child_id,
                "n": review.number,
                "at": event.occurred_at,
                "ca": review.child_attended,
                "cv": review.child_views_given,
                "e": event.event_id,
            },
            ("visits_lac_reviews", review.review_id),
        )


_INSERT_RISK_ASSESSMENT = text(
    "INSERT INTO visits_risk_assessments (assessment_id, child_id, assessed_at, assessed_by, hazards, "
    "review_date, event_id) VALUES (:a, :c, :at, :by, CAST(:h AS jsonb), :rd, :e) "
    "ON CONFLICT (assessment_id) DO NOTHING"
)
_INSERT_HEALTH_CHECK = text(
    "INSERT INTO visits_health_checks (check_id, child_id, kind, occurred_at, by, outcome, event_id) "
    "VALUES (:i, :c, :k, :at, :by, :o, :e) ON CONFLICT (check_id) DO NOTHING"
)
_INSERT_LAC_REVIEW = text(
    "INSERT INTO visits_lac_reviews (review_id, child_id, number, held_at, child_attended, "
    "child_views_given, event_id) VALUES (:r, :c, :n, :at, :ca, :cv, :e) ON CONFLICT (review_id) DO NOTHING"
)


# ---- health as the API shows it ------------------------------------------------------------------
class HealthEvent(BaseModel):
    incident_id: uuid.UUID
    event_id: uuid.UUID
    category: str
    occurred_at: datetime


class HealthCheckView(BaseModel):
    check_id: uuid.UUID
    kind: str
    occurred_at: datetime
    by: str


class HealthRecord(BaseModel):
    timeline: list[HealthEvent] = Field(description="Seizures, self-harm, substance misuse, medication errors...")
    counts_by_month: dict[str, dict[str, int]] = Field(description='{"YYYY-MM": {category: count}}, England time.')
    checks: list[HealthCheckView]
    open_clocks: list[ClockView]


_HEALTH_TIMELINE = (
    "SELECT incident_id, event_id, category, occurred_at FROM visits_incidents "
    "WHERE child_id = $1 AND category = ANY($2::text[]) ORDER BY occurred_at, incident_id"
)
_HEALTH_CHECKS = (
    "SELECT check_id, kind, occurred_at, by FROM visits_health_checks WHERE child_id = $1 ORDER BY occurred_at"
)


async def health_record(conn: Any, child_id: uuid.UUID, open_clocks: list[ClockView]) -> HealthRecord:
    """The health timeline and checks, with the child's open health clocks (read by the caller)."""
    categories = sorted(rules.HEALTH_TIMELINE_CATEGORIES)
    timeline = [HealthEvent(**r) for r in await conn.fetch(_HEALTH_TIMELINE, child_id, categories)]
    return HealthRecord(
        timeline=timeline,
        counts_by_month=rules.month_counts((e.category, e.occurred_at) for e in timeline),
        checks=[HealthCheckView(**r) for r in await conn.fetch(_HEALTH_CHECKS, child_id)],
        open_clocks=[c for c in open_clocks if c.kind in rules.HEALTH_KINDS],
    )


# ---- risk assessments and reviews in a child's compliance -----------------------------------------
class RiskAssessmentSummary(BaseModel):
    last_assessed_at: datetime | None
    review_date: date | None
    open_clocks: list[ClockView]


class ReviewSummary(BaseModel):
    held: int
    last_held_at: datetime | None
    child_attended_last: bool | None
    child_views_given_last: bool | None
    next: ClockView | None = Field(description="The clock of the next review.")


@dataclass(frozen=True)
class Assessed:
    last_assessed_at: datetime | None = None
    review_date: date | None = None


_LATEST_RISK_ASSESSMENT = (
    "SELECT assessed_at, review_date FROM visits_risk_assessments WHERE child_id = $1 ORDER BY assessed_at DESC LIMIT 1"
)
_REVIEWS = (
    "SELECT count(*) OVER () AS held, held_at, child_attended, child_views_given FROM visits_lac_reviews "
    "WHERE child_id = $1 ORDER BY held_at DESC LIMIT 1"
)


async def latest_risk_assessment(conn: Any, child_id: uuid.UUID) -> Assessed:
    row = await conn.fetchrow(_LATEST_RISK_ASSESSMENT, child_id)
    return Assessed(row["assessed_at"], row["review_date"]) if row is not None else Assessed()


async def review_summary(conn: Any, child_id: uuid.UUID, next_review: ClockView | None) -> ReviewSummary:
    row = await conn.fetchrow(_REVIEWS, child_id)
    if row is None:
        return ReviewSummary(
            held=0, last_held_at=None, child_attended_last=None, child_views_given_last=None, next=next_review
        )
    return ReviewSummary(
        held=row["held"],
        last_held_at=row["held_at"],
        child_attended_last=row["child_attended"],
        child_views_given_last=row["child_views_given"],
        next=next_review,
    )
