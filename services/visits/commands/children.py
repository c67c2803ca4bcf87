"""Registering a child (and the clocks of becoming looked after), and the child's needs."""

from __future__ import annotations

import uuid

from pydantic import ConfigDict, Field

from services.visits import rules
from services.visits.commands.common import Body, ShortText, child_of, humanise, started
from services.visits.events import ChildNeed, ChildNeedsRecorded, ChildRegistered, child_stream
from services.visits.projections import ChildContext
from shared.calendar import local_date
from shared.commanding import CommandContext
from shared.eventstore import NO_STREAM, NewEvent, RecordedEvent
from shared.policy import require_writer
from shared.recording import Recorder
from shared.refusals import refuse_if
from shared.types import Day


class RegisterChild(Body):
    name: str = ShortText
    date_of_birth: Day
    legal_status: str = Field(min_length=1, max_length=100, examples=["section_31_care_order"])
    placing_authority: str = ShortText
    social_worker_id: str | None = Field(default=None, max_length=200)
    looked_after_since: Day | None = Field(
        default=None, description="The day the child became looked after (default: the day of registration)."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Amira K",
                    "date_of_birth": "2012-03-14",
                    "legal_status": "section_31_care_order",
                    "placing_authority": "West Northamptonshire Council",
                    "social_worker_id": "sw-104",
                }
            ]
        }
    )


def decide_registration(rec: Recorder, child_id: uuid.UUID, body: RegisterChild) -> list[NewEvent]:
    """The child registered, and the clocks of becoming looked after: the initial health assessment
    (28 days), the first looked-after child review (20 working days) and the dental check (local)."""
    looked_after_since = body.looked_after_since or local_date(rec.now())
    refuse_if(rules.registration_refusals(body.date_of_birth, looked_after_since, rec.now()))
    registered = rec.event(
        ChildRegistered(
            child_id=child_id,
            name=body.name,
            date_of_birth=body.date_of_birth,
            legal_status=body.legal_status,
            placing_authority=body.placing_authority,
            social_worker_id=body.social_worker_id,
            looked_after_since=looked_after_since,
        ),
        child_ids=[child_id],
        summary=f"{body.name} registered ({humanise(body.legal_status)}, placed by {body.placing_authority})",
    )
    stream = child_stream(child_id)
    clocks = rules.registration_clocks(looked_after_since, rec.settings.visits)
    return [registered] + [started(rec, due, subject=stream, child_id=child_id, cause=registered) for due in clocks]


async def register_child(ctx: CommandContext, body: RegisterChild) -> list[RecordedEvent]:
    require_writer(ctx.principal)
    child_id = ctx.new_id()
    return await ctx.append(child_stream(child_id), decide_registration(ctx, child_id, body), NO_STREAM)


# ---- needs ---------------------------------------------------------------------------------------
class RecordNeeds(Body):
    needs: list[ChildNeed] = Field(
        max_length=len(ChildNeed), description="Every need the child has now (an empty list: none)."
    )
    notes: str | None = Field(default=None, max_length=20_000)

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"needs": ["epilepsy", "complex_medication"], "notes": "Seen by neurology."}]}
    )


def decide_needs(rec: Recorder, child: ChildContext, body: RecordNeeds) -> list[NewEvent]:
    """The child's needs now, as their social worker records them: the whole list each time (the
    carers service matches the carers' training to it)."""
    needs = list(dict.fromkeys(body.needs))
    child_id = child.child.child_id
    named = ", ".join(humanise(n.value) for n in needs) or "none"
    return [
        rec.event(
            ChildNeedsRecorded(child_id=child_id, needs=needs, recorded_by=rec.principal.subject, notes=body.notes),
            child_ids=[child_id],
            summary=f"Needs recorded: {named}",
        )
    ]


async def record_needs(ctx: CommandContext, child_id: uuid.UUID, body: RecordNeeds) -> list[RecordedEvent]:
    child, version = await child_of(ctx, child_id)
    return await ctx.append(child_stream(child_id), decide_needs(ctx, child, body), ctx.expected(version))
