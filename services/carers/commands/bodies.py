"""carers: the request bodies of its commands (validated by pydantic before any decider runs)."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.carers.rules import (
    AllegationOutcome,
    CheckKind,
    CheckResult,
    ChildNeed,
    MemberRole,
    NotSeenReason,
    PlacementType,
    ReviewOutcome,
    Terms,
    TrainingCourse,
    ending_parts_recorded,
)
from shared.types import Day, Instant

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HouseholdIn(Body):
    name: Text
    address: Annotated[str, StringConstraints(max_length=500)] | None = None
    connected_person: bool = Field(False, description="Family and friends (connected person) carers.")
    supervising_social_worker_id: Text | None = None
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "The Okafor household", "supervising_social_worker_id": "ssw-17"}]},
    )


class MemberIn(Body):
    name: Text
    role: MemberRole
    date_of_birth: Day
    joined_on: Day | None = Field(None, description="When they joined the household (default: today).")
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Ada Okafor", "role": "applicant", "date_of_birth": "1980-04-02"}]},
    )


class CheckIn(Body):
    kind: CheckKind
    result: CheckResult
    checked_at: Day
    expires_on: Day | None = Field(None, description="Default: DBS renewal period after checked_at (local).")
    certificate_number: Annotated[str, StringConstraints(max_length=50)] | None = None
    notes: Annotated[str, StringConstraints(max_length=5000)] | None = None
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kind": "dbs_enhanced", "result": "clear", "checked_at": "2026-11-20"}]},
    )


class ApprovalIn(Body):
    decision: Annotated[str, StringConstraints(pattern="^(approved|refused)$")]
    decided_at: Instant | None = None
    terms: Terms | None = None
    reason: Annotated[str, StringConstraints(max_length=5000)] | None = None
    panel_date: Day | None = None
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "decision": "approved",
                    "terms": {"age_min": 0, "age_max": 17, "max_children": 2, "placement_types": ["short_term"]},
                }
            ]
        },
    )

    @model_validator(mode="after")
    def _complete(self) -> ApprovalIn:
        if self.decision == "approved" and self.terms is None:
            raise ValueError("an approval needs its terms (age range, number of children, placement types)")
        if self.decision == "refused" and not self.reason:
            raise ValueError("a refusal needs its reason")
        if self.terms is not None and self.terms.age_min > self.terms.age_max:
            raise ValueError("terms.age_min is above terms.age_max")
        return self


class EndApprovalIn(Body):
    reason: LongText
    ended_at: Instant | None = None


class ConcernAddressedIn(Body):
    concern_id: uuid.UUID
    action: LongText


class NotSeenIn(Body):
    child_id: uuid.UUID
    reason: NotSeenReason


class ChildSeenIn(Body):
    child_id: uuid.UUID
    seen: bool
    seen_alone: bool = False
    bedroom_seen: bool = False
    not_seen_reason: NotSeenReason | None = Field(None, description="When not seen: one of the three reasons.")
    not_seen_alone_reason: NotSeenReason | None = Field(None, description="When seen, not alone: why not.")
    bedroom_not_seen_reason: NotSeenReason | None = Field(None, description="When the bedroom was not seen: why not.")


class SupervisionIn(Body):
    occurred_at: Instant
    unannounced: bool = False
    supervising_social_worker_id: Text | None = Field(None, description="Default: the caller.")
    children_discussed: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    children_seen: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    children_not_seen_reason: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        None,
        description="Legacy, for every placed child not seen: one of child_refused, "
        "inappropriate_for_age_or_understanding, unable (free text does not account for a child).",
    )
    children_not_seen: list[NotSeenIn] = Field(
        default_factory=list, max_length=20, description="Each placed child not seen, with one of the three reasons."
    )
    children_accounts: list[ChildSeenIn] = Field(
        default_factory=list,
        max_length=20,
        description="Every child placed in the household: seen, seen alone, bedroom seen, or why not (required for "
        "each placed child; the older children_seen/children_not_seen account for a child without alone/bedroom).",
    )
    agenda_items_discussed: list[uuid.UUID] = Field(
        default_factory=list, max_length=50, description="Items of the supervision agenda discussed (incidents)."
    )
    concerns: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]] = Field(
        default_factory=list, max_length=50
    )
    concerns_addressed: list[ConcernAddressedIn] = Field(default_factory=list, max_length=50)
    actions: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]] = Field(
        default_factory=list, max_length=50
    )
    narrative: LongText
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "occurred_at": "2026-11-25T10:00:00Z",
                    "unannounced": False,
                    "concerns": ["Bedroom damp; carer to contact landlord"],
                    "actions": ["SSW to check bedroom at next visit"],
                    "narrative": "Discussed the children's routines and school; saw both bedrooms.",
                }
            ]
        },
    )


class TrainingIn(Body):
    member_id: uuid.UUID
    course: TrainingCourse
    title: Annotated[str, StringConstraints(max_length=200)] | None = None
    completed_on: Day
    expires_on: Day | None = None
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"member_id": str(uuid.UUID(int=1)), "course": "safeguarding", "completed_on": "2026-11-01"}]
        },
    )


class ChildViewIn(Body):
    child_id: uuid.UUID
    view: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)] | None = None
    not_obtained_reason: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)] | None
    ) = None

    @model_validator(mode="after")
    def _one(self) -> ChildViewIn:
        if not self.view and not self.not_obtained_reason:
            raise ValueError("give the child's view, or the reason it could not be obtained")
        return self


class ReviewIn(Body):
    occurred_at: Instant
    outcome: ReviewOutcome
    to_panel: bool = False
    child_views: list[ChildViewIn] = Field(default_factory=list, max_length=20)
    carer_views: Annotated[str, StringConstraints(max_length=20_000)] | None = None
    reviewer_id: Text | None = None
    narrative: Annotated[str, StringConstraints(max_length=20_000)] | None = None
    new_terms: Terms | None = None
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"occurred_at": "2026-11-25T10:00:00Z", "outcome": "continue", "to_panel": True}]
        },
    )


class HoldIn(Body):
    reason: LongText
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Home conditions: no placements until a risk assessment is done"}]},
    )


class LiftIn(Body):
    reason: LongText


class PlacementIn(Body):
    child_id: uuid.UUID
    household_id: uuid.UUID
    start_date: Day
    placement_type: PlacementType = Field(
        description="Checked against the household's terms of approval (a respite-only household takes no other)."
    )
    long_term: bool | None = Field(None, description="Default: whether the placement type is long_term.")
    placing_authority: Text | None = Field(None, description="Default: the child's placing authority.")
    connected_person: bool | None = Field(None, description="Reg 24 temporary approval; default: the household's.")
    child_needs: list[ChildNeed] = Field(
        default_factory=list, max_length=20, description="The child's needs (also read from the child's record)."
    )
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "child_id": str(uuid.UUID(int=2)),
                    "household_id": str(uuid.UUID(int=3)),
                    "start_date": "2026-11-25",
                    "placement_type": "short_term",
                }
            ]
        },
    )


OptionalLongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)] | None


class EndingParts(Body):
    child_wishes_contact: bool | None = Field(None, description="Does the child wish to keep in touch with the carers?")
    child_wishes: OptionalLongText = Field(None, description="The child's wishes about keeping in touch, in words.")
    carer_views: OptionalLongText = Field(None, description="The carers' views and feelings about the ending.")
    ending_meeting_held: bool | None = None
    ending_meeting_on: Day | None = None

    def parts(self) -> list[str]:
        return ending_parts_recorded(
            child_wishes_contact=self.child_wishes_contact,
            child_wishes=self.child_wishes,
            carer_views=self.carer_views,
            ending_meeting_held=self.ending_meeting_held,
        )


class PlacementEndIn(EndingParts):
    end_date: Day
    reason: Text
    narrative: LongText
    carer_feelings: Annotated[str, StringConstraints(max_length=20_000)] | None = None

    def parts(self) -> list[str]:
        return ending_parts_recorded(
            child_wishes_contact=self.child_wishes_contact,
            child_wishes=self.child_wishes,
            carer_views=self.carer_views or self.carer_feelings,
            ending_meeting_held=self.ending_meeting_held,
        )


class EndingIn(EndingParts):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "child_wishes_contact": True,
                    "child_wishes": "Wants to visit at Christmas",
                    "carer_views": "Sad to see her go; would like to stay in touch",
                    "ending_meeting_held": True,
                }
            ]
        },
    )


class WorkerSupervisionIn(Body):
    occurred_at: Instant
    narrative: LongText
    supervisor_id: Text | None = Field(None, description="Default: the caller.")
    cases_discussed: list[uuid.UUID] = Field(default_factory=list, max_length=200)
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"occurred_at": "2026-11-25T10:00:00Z", "narrative": "Caseload and reflective supervision."}]
        },
    )


class AllegationIn(Body):
    household_id: uuid.UUID
    member_id: uuid.UUID | None = None
    child_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    received_at: Instant
    summary: LongText
    source: Text | None = None
    report_id: uuid.UUID | None = Field(
        None, description="A reported allegation this records after triage (managers): meets its triage clock."
    )
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "household_id": str(uuid.UUID(int=3)),
                    "child_ids": [str(uuid.UUID(int=2))],
                    "received_at": "2026-11-25T09:00:00Z",
                    "summary": "External agency reports a serious allegation against the adults in the household.",
                }
            ]
        },
    )


class CloseReportIn(Body):
    reason: LongText


class LadoReferralIn(Body):
    referred_at: Instant
    lado_name: Text | None = None
    reference: Text | None = None
    written_confirmation_at: Instant | None = None


class WrittenConfirmationIn(Body):
    sent_at: Instant


class OutcomeIn(Body):
    outcome: AllegationOutcome
    dbs_referral_made: bool
    decided_at: Instant | None = None
    narrative: Annotated[str, StringConstraints(max_length=20_000)] | None = None
