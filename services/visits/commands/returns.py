"""What the SSDA903 return needs from the child's record: the DfE's codes for the child, their legal
status, each placement, the end of care, missing episodes, health outcomes and contact with a care
leaver. Codes are checked against the code sets held as data (shared/returns); a bad code is a 422
and nothing is written."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Annotated, TypeVar

from pydantic import AfterValidator, Field

from services.visits.commands.common import Body, child_of, stopped
from services.visits.events import (
    CareEnded,
    CareLeaverContactRecorded,
    HealthOutcomesRecorded,
    LegalStatusChanged,
    MissingEpisodeRecorded,
    PlacementCodesRecorded,
    StatutoryDetailsRecorded,
    child_stream,
)
from services.visits.projections import ChildContext
from services.visits.rules import LOOKED_AFTER_KINDS
from services.visits.rules.returns import foster_placement_code, placement_code_refusals
from shared.calendar import start_of_day
from shared.commanding import CommandContext
from shared.contracts.base import Event
from shared.eventstore import NewEvent, RecordedEvent
from shared.recording import Recorder
from shared.refusals import Reason, in_the_future, refusal, refuse_if
from shared.returns import Ssda903Table, ssda903_code
from shared.types import Day


def _coded(table: Ssda903Table) -> AfterValidator:
    return AfterValidator(partial(ssda903_code, table))


Postcode = Annotated[str, Field(min_length=5, max_length=8, pattern=r"^[A-Za-z0-9 ]+$", examples=["NN1 1DE"])]
UPN = Annotated[str, Field(pattern=r"^([A-HJ-NP-RT-Z]\d{11}[0-9A-Z]|UN[1-5])$", examples=["A123456789012", "UN2"])]


class RecordStatutoryDetails(Body):
    sex: Annotated[str, _coded("sex")]
    ethnicity: Annotated[str, _coded("ethnicity")]
    upn: UPN | None = None
    category_of_need: Annotated[str, _coded("category_of_need")]
    home_postcode: Postcode | None = None
    mother: bool | None = None


class ChangeLegalStatus(Body):
    legal_status: Annotated[str, _coded("legal_status")]
    from_date: Day


class RecordPlacementCodes(Body):
    placement_id: uuid.UUID
    placement_type: Annotated[str, _coded("placement_type")] | None = Field(
        default=None, description="Default: from the placement (connected person, long term): U1, U3, U4 or U6."
    )
    provider: Annotated[str, _coded("placement_provider")]
    placement_postcode: Postcode
    reason_place_change: Annotated[str, _coded("reason_place_change")] | None = None


class EndCare(Body):
    ended_on: Day
    reason: Annotated[str, _coded("reason_episode_ceased")]


class RecordMissingEpisode(Body):
    kind: Annotated[str, _coded("missing")]
    started_on: Day
    ended_on: Day | None = None


class RecordHealthOutcomes(Body):
    recorded_on: Day
    immunisations_up_to_date: bool | None = None
    sdq_score: int | None = Field(default=None, ge=0, le=40)
    sdq_reason: Annotated[str, _coded("sdq_reason")] | None = None
    convicted: bool | None = None
    substance_misuse: bool | None = None


class RecordCareLeaverContact(Body):
    contacted_on: Day
    in_touch: Annotated[str, _coded("in_touch")]
    activity: Annotated[str, _coded("activity")] | None = None
    accommodation: Annotated[str, _coded("accommodation")] | None = None


def _upper(postcode: str | None) -> str | None:
    return " ".join(postcode.upper().split()) if postcode else None


def _one(
    rec: Recorder, child_id: uuid.UUID, payload: Event, on: date, summary: str, *checks: Reason | None
) -> NewEvent:
    refuse_if(reason for reason in checks if reason is not None)
    return rec.event(payload, occurred_at=start_of_day(on), child_ids=[child_id], summary=summary)


def decide_statutory_details(
    rec: Recorder, child: ChildContext, child_id: uuid.UUID, body: RecordStatutoryDetails
) -> list[NewEvent]:
    details = StatutoryDetailsRecorded(
        child_id=child_id, **body.model_dump(exclude={"home_postcode"}), home_postcode=_upper(body.home_postcode)
    )
    on = child.child.looked_after_since if child.child.looked_after_since else rec.now().date()
    summary = (
        f"Details for the SSDA903 return (sex {body.sex}, ethnicity {body.ethnicity}, need {body.category_of_need})"
    )
    return [rec.event(details, occurred_at=max(start_of_day(on), rec.now()), child_ids=[child_id], summary=summary)]


def decide_legal_status(
    rec: Recorder, child: ChildContext, child_id: uuid.UUID, body: ChangeLegalStatus
) -> list[NewEvent]:
    changed = LegalStatusChanged(child_id=child_id, **body.model_dump())
    summary = f"Legal status {body.legal_status} from {body.from_date.isoformat()}"
    return [
        _one(rec, child_id, changed, body.from_date, summary, in_the_future("from_date", body.from_date, rec.now()))
    ]


def decide_placement_codes(
    rec: Recorder, child: ChildContext, child_id: uuid.UUID, body: RecordPlacementCodes
) -> list[NewEvent]:
    placement = next((p for p in child.placements if p.placement_id == body.placement_id), None)
    if placement is None:
        raise refusal([Reason("unknown_placement", f"The child has no placement {body.placement_id}.")])
    kind = {"connected_person": placement.connected_person, "long_term": placement.long_term}
    code = body.placement_type or foster_placement_code(**kind)
    refuse_if(placement_code_refusals(code, **kind))
    codes = PlacementCodesRecorded(
        child_id=child_id,
        **body.model_dump(exclude={"placement_postcode", "placement_type"}),
        placement_type=code,
        placement_postcode=_upper(body.placement_postcode) or "",
    )
    summary = f"Placement coded {code} ({body.provider}) for the SSDA903 return"
    return [rec.event(codes, child_ids=[child_id], summary=summary)]


def decide_care_ended(rec: Recorder, child: ChildContext, child_id: uuid.UUID, body: EndCare) -> list[NewEvent]:
    """No longer looked after: the clocks of looking after the child stop (visits, reviews, plans,
    risk); those of a complaint or a concern run on."""
    ended = CareEnded(child_id=child_id, **body.model_dump())
    summary = f"Stopped being looked after on {body.ended_on.isoformat()} ({body.reason})"
    event = _one(rec, child_id, ended, body.ended_on, summary, in_the_future("ended_on", body.ended_on, rec.now()))
    duties = [c for c in child.open_clocks if c.kind in LOOKED_AFTER_KINDS]
    return [event, *(stopped(rec, clock, "no longer looked after", child_id) for clock in duties)]


def decide_missing_episode(
    rec: Recorder, child: ChildContext, child_id: uuid.UUID, body: RecordMissingEpisode
) -> list[NewEvent]:
    episode = MissingEpisodeRecorded(missing_id=rec.new_id(), child_id=child_id, **body.model_dump())
    backwards = body.ended_on is not None and body.ended_on < body.started_on
    checks = [
        in_the_future("started_on", body.started_on, rec.now()),
        in_the_future("ended_on", body.ended_on, rec.now()) if body.ended_on else None,
        Reason("ends_before_it_starts", "ended_on is before started_on.") if backwards else None,
    ]
    summary = f"{'Missing' if body.kind == 'M' else 'Away without authorisation'} from {body.started_on.isoformat()}"
    return [_one(rec, child_id, episode, body.started_on, summary, *checks)]


def decide_health_outcomes(
    rec: Recorder, child: ChildContext, child_id: uuid.UUID, body: RecordHealthOutcomes
) -> list[NewEvent]:
    outcomes = HealthOutcomesRecorded(child_id=child_id, **body.model_dump())
    both = body.sdq_score is not None and body.sdq_reason is not None
    checks = [
        in_the_future("recorded_on", body.recorded_on, rec.now()),
        Reason("sdq_score_and_reason", "Give an SDQ score or the reason there is none, not both.") if both else None,
    ]
    return [_one(rec, child_id, outcomes, body.recorded_on, "Health outcomes for the SSDA903 return", *checks)]


def decide_care_leaver_contact(
    rec: Recorder, child: ChildContext, child_id: uuid.UUID, body: RecordCareLeaverContact
) -> list[NewEvent]:
    contact = CareLeaverContactRecorded(child_id=child_id, **body.model_dump())
    summary = f"Care leaver contact on {body.contacted_on.isoformat()} (in touch: {body.in_touch})"
    future = in_the_future("contacted_on", body.contacted_on, rec.now())
    return [_one(rec, child_id, contact, body.contacted_on, summary, future)]


B = TypeVar("B", bound=Body)


async def record_for_return(
    ctx: CommandContext,
    child_id: uuid.UUID,
    body: B,
    decide: Callable[[Recorder, ChildContext, uuid.UUID, B], list[NewEvent]],
) -> list[RecordedEvent]:
    """The one shell of these commands: load the child, decide, append on the child's stream."""
    child, version = await child_of(ctx, child_id)
    events = decide(ctx, child, child_id, body)
    return await ctx.append(child_stream(child_id), events, ctx.expected(version))
