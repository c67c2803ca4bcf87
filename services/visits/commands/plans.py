"""The child's plans (care, safe care, health), each version shared with the carers and
acknowledged by them (Fostering Services (England) Regulations 2011 reg 17), and risk assessments."""

from __future__ import annotations

import uuid

from pydantic import ConfigDict, Field

from services.visits import projections as pj
from services.visits import rules
from services.visits.commands.common import (
    Body,
    ShortText,
    Text,
    child_of,
    duty_id,
    duty_started,
    found,
    humanise,
    met,
)
from services.visits.events import (
    Hazard,
    Medication,
    PlanAcknowledged,
    PlanKind,
    PlanRecorded,
    PlanShared,
    RiskAssessmentRecorded,
    child_stream,
)
from services.visits.projections import ChildContext, PlanContext, PlanShare
from shared.auth import Role
from shared.calendar import local_date
from shared.commanding import CommandContext
from shared.eventstore import NewEvent, RecordedEvent
from shared.policy import require_writer
from shared.problems import Problem
from shared.recording import Recorder
from shared.refusals import refuse_if
from shared.types import Day, Instant

_PLAN_NAMESPACE = uuid.UUID("0f3e9a52-6c1d-4b7e-8f20-2d9b5c4a7e11")


def plan_id_for(child_id: uuid.UUID, kind: str) -> uuid.UUID:
    """One plan of each kind per child; its versions are the PlanRecorded events."""
    return uuid.uuid5(_PLAN_NAMESPACE, f"{child_id}|{kind}")


class MedicationBody(Body):
    name: str = ShortText
    dose: str = ShortText
    given_by: str = ShortText
    watch_for: str = Text
    when: str | None = Field(default=None, max_length=200)


class RecordPlan(Body):
    kind: PlanKind
    summary: str = Text
    strategies: list[str] = Field(default_factory=list, max_length=100)
    medications: list[MedicationBody] = Field(default_factory=list, max_length=100)
    review_date: Day

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "health",
                    "summary": "Epilepsy: rescue medication and how carers and Amira manage it together.",
                    "strategies": ["Amira keeps a seizure diary with her carer"],
                    "medications": [
                        {
                            "name": "Buccal midazolam",
                            "dose": "10 mg",
                            "given_by": "trained foster carer",
                            "watch_for": "seizure over 5 minutes; breathing",
                            "when": "seizure lasting 5 minutes",
                        }
                    ],
                    "review_date": "2027-02-25",
                }
            ]
        }
    )


class SharePlan(Body):
    shared_at: Instant | None = None
    how: str | None = Field(default=None, max_length=200, examples=["given in person at the placement"])
    version: int | None = Field(default=None, ge=1, description="Default: the current version")


class AcknowledgePlan(Body):
    version: int = Field(ge=1)
    acknowledged_at: Instant | None = None


def _label(kind: str) -> str:
    return f"{humanise(kind)} plan"


def decide_plan(rec: Recorder, plan: PlanContext, child_id: uuid.UUID, body: RecordPlan) -> list[NewEvent]:
    """A new version of the plan, with its review clock; it meets the previous version's."""
    refuse_if(
        rules.review_date_refusals(body.review_date, local_date(rec.now()))
        + rules.medication_refusals(body.kind, [m.model_dump() for m in body.medications])
    )
    current = plan.current
    version = (current.version if current is not None else 0) + 1
    review = rules.plan_review(_label(body.kind), body.review_date, rec.now())
    review_deadline_id = duty_id(rec, plan.child, review)
    recorded = rec.event(
        PlanRecorded(
            plan_id=plan_id_for(child_id, body.kind),
            child_id=child_id,
            kind=body.kind,
            version=version,
            summary=body.summary,
            strategies=body.strategies,
            medications=[Medication(**m.model_dump()) for m in body.medications],
            review_date=body.review_date,
            review_deadline_id=review_deadline_id,
        ),
        child_ids=[child_id],
        summary=f"{_label(body.kind).capitalize()} version {version} recorded (review by {body.review_date:%d %b %Y})",
    )
    previous = plan.child.clock(current.review_deadline_id) if current is not None else None
    events = [recorded] + ([met(rec, previous, rec.now(), recorded, child_id)] if previous is not None else [])
    if body.kind == PlanKind.HEALTH:  # the health plan reviewed after a seizure or substance misuse
        reviews = rules.clocks_met(plan.child.open_clocks, {rules.HEALTH_PLAN_REVIEW}, rec.now())
        events += [met(rec, clock, rec.now(), recorded, child_id) for clock in reviews]
    return events + duty_started(rec, plan.child, review, cause=recorded, deadline_id=review_deadline_id)


def decide_share(rec: Recorder, plan: PlanContext, plan_id: uuid.UUID, body: SharePlan) -> list[NewEvent]:
    """A version of the plan (default: the current one) given to the carers the child is placed
    with, who acknowledge it within a few working days (local)."""
    current, child_id = plan.current, plan.child.child.child_id
    if current is None:
        raise Problem("not-found", f"No plan {plan_id} for this child.")
    at = body.shared_at or rec.now()
    version = body.version or current.version
    household_id = plan.child.household_id
    refuse_if(
        rules.occurrence_refusals("shared_at", at, rec.now())
        + rules.sharing_refusals(version, current.version, household_id)
    )
    assert household_id is not None  # refused above
    due = rules.plan_acknowledgement(_label(current.kind), version, at, rec.settings.visits)
    ack_deadline_id = duty_id(rec, plan.child, due)
    shared = rec.event(
        PlanShared(
            share_id=rec.new_id(),
            plan_id=plan_id,
            child_id=child_id,
            kind=current.kind,
            version=version,
            household_id=household_id,
            shared_at=at,
            how=body.how,
            ack_deadline_id=ack_deadline_id,
        ),
        occurred_at=at,
        child_ids=[child_id],
        summary=f"{_label(current.kind).capitalize()} version {version} shared with the carers"
        + (f" ({body.how})" if body.how else ""),
    )
    return [
        shared,
        *duty_started(rec, plan.child, due, cause=shared, household_id=household_id, deadline_id=ack_deadline_id),
    ]


def _shared_with_the_carer(rec: Recorder, plan: PlanContext, version: int) -> tuple[PlanShare, list[PlanShare]]:
    """The share of `version` with the carer's household, and every share with it (404: none)."""
    refuse_if(rules.acknowledger_refusals(rec.principal.role == Role.CARER))
    own = set(rec.principal.household_ids)
    shares = [s for s in plan.shares if s.household_id in own]
    share = next((s for s in shares if s.version == version), None)
    if share is None:
        raise Problem("not-found", f"Version {version} of this plan was not shared with your household.")
    return share, shares


def decide_plan_acknowledgement(
    rec: Recorder, plan: PlanContext, plan_id: uuid.UUID, body: AcknowledgePlan
) -> list[NewEvent]:
    """The carers confirm they hold a version of the plan: it meets the acknowledgement clocks of
    that version and the earlier ones shared with their household."""
    share, shares = _shared_with_the_carer(rec, plan, body.version)
    at = body.acknowledged_at or rec.now()
    since = "the plan was shared"
    reasons = rules.occurrence_refusals("acknowledged_at", at, rec.now(), not_before=share.shared_at, since=since)
    if share.acknowledged_at is not None:
        raise Problem("state-conflict", f"Version {body.version} was already acknowledged.")
    refuse_if(reasons)
    child_id = plan.child.child.child_id
    ack = rec.event(
        PlanAcknowledged(
            plan_id=plan_id,
            child_id=child_id,
            kind=share.kind,
            version=body.version,
            household_id=share.household_id,
            acknowledged_by=rec.principal.subject,
            acknowledged_at=at,
        ),
        occurred_at=at,
        child_ids=[child_id],
        summary=f"Carers acknowledged receiving the {_label(share.kind)} (version {body.version})",
    )
    received = [s for s in shares if s.version <= body.version and s.acknowledged_at is None]
    clocks = [c for c in (plan.child.clock(s.ack_deadline_id) for s in received) if c is not None]
    return [ack] + [met(rec, clock, at, ack, child_id) for clock in clocks]


async def _plan(ctx: CommandContext, child_id: uuid.UUID, plan_id: uuid.UUID) -> tuple[PlanContext, int]:
    require_writer(ctx.principal)
    current = await ctx.read_current(lambda conn: pj.plan_context(conn, child_id, plan_id))
    return found(current, f"No child {child_id}."), current.version


async def record_plan(ctx: CommandContext, child_id: uuid.UUID, body: RecordPlan) -> list[RecordedEvent]:
    plan, version = await _plan(ctx, child_id, plan_id_for(child_id, body.kind))
    return await ctx.append(child_stream(child_id), decide_plan(ctx, plan, child_id, body), ctx.expected(version))


async def share_plan(
    ctx: CommandContext, child_id: uuid.UUID, plan_id: uuid.UUID, body: SharePlan
) -> list[RecordedEvent]:
    plan, version = await _plan(ctx, child_id, plan_id)
    return await ctx.append(child_stream(child_id), decide_share(ctx, plan, plan_id, body), ctx.expected(version))


async def acknowledge_plan(
    ctx: CommandContext, child_id: uuid.UUID, plan_id: uuid.UUID, body: AcknowledgePlan
) -> list[RecordedEvent]:
    plan, version = await _plan(ctx, child_id, plan_id)
    events = decide_plan_acknowledgement(ctx, plan, plan_id, body)
    return await ctx.append(child_stream(child_id), events, ctx.expected(version))


# ---- risk assessments ----------------------------------------------------------------------------
class HazardBody(Body):
    hazard: str = Text
    measures: list[str] = Field(min_length=1, max_length=50)


class RecordRiskAssessment(Body):
    assessed_at: Instant | None = None
    assessed_by: str = ShortText
    hazards: list[HazardBody] = Field(min_length=1, max_length=100)
    review_date: Day
    summary: str | None = Field(default=None, max_length=20_000)
    prompted_by_event_id: uuid.UUID | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "assessed_by": "sw-104",
                    "hazards": [
                        {
                            "hazard": "Substance misuse: paraphernalia brought into the home",
                            "measures": ["Carer may search bag and bedroom with Amira present; recorded each time"],
                        }
                    ],
                    "review_date": "2027-01-25",
                }
            ]
        }
    )


def decide_risk_assessment(
    rec: Recorder, child: ChildContext, child_id: uuid.UUID, body: RecordRiskAssessment
) -> list[NewEvent]:
    """The assessment, meeting the review clocks it answers (its last review date, a serious
    incident's), and starting the next by its own review date."""
    at = body.assessed_at or rec.now()
    refuse_if(
        rules.occurrence_refusals("assessed_at", at, rec.now())
        + rules.review_date_refusals(body.review_date, local_date(at))
    )
    assessment = rec.event(
        RiskAssessmentRecorded(
            assessment_id=rec.new_id(),
            child_id=child_id,
            assessed_at=at,
            assessed_by=body.assessed_by,
            hazards=[Hazard(**h.model_dump()) for h in body.hazards],
            review_date=body.review_date,
            summary=body.summary,
            prompted_by_event_id=body.prompted_by_event_id,
        ),
        occurred_at=at,
        child_ids=[child_id],
        summary=f"Risk assessment by {body.assessed_by}: {len(body.hazards)} hazard(s), "
        f"review by {body.review_date:%d %b %Y}",
    )
    answered = rules.clocks_met(child.open_clocks, rules.RISK_KINDS, at)
    review = rules.risk_assessment_review(body.review_date, at)
    return (
        [assessment]
        + [met(rec, clock, at, assessment, child_id) for clock in answered]
        + duty_started(rec, child, review, cause=assessment)
    )


async def record_risk_assessment(
    ctx: CommandContext, child_id: uuid.UUID, body: RecordRiskAssessment
) -> list[RecordedEvent]:
    child, version = await child_of(ctx, child_id)
    events = decide_risk_assessment(ctx, child, child_id, body)
    return await ctx.append(child_stream(child_id), events, ctx.expected(version))
