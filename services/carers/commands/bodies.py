"""carers: the request bodies of its commands (validated by pydantic before any decider runs)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.carers.events import AgencyDecision, PanelCase, PanelRecommendation
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
from shared.contracts.carers import StaffCourse, StaffRole
from shared.contracts.vocabularies import ethnicities, local_authorities
from shared.types import Day, Instant

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _known_authority(code: str) -> str:
    found = local_authorities().get(code.upper())
    if found is None:
        raise ValueError(
            "not an ONS code of a local authority in England (shared/contracts/data/local_authorities.csv)"
        )
    if found.ended_on is not None:
        raise ValueError(f"{found.name} ({found.code}) ended on {found.ended_on}: use its successor's code")
    return found.code


def _known_ethnicity(code: str) -> str:
    if code.upper() not in ethnicities():
        raise ValueError("not a DfE ethnicity code (shared/contracts/data/ethnicity.csv)")
    return code.upper()


# The household's local authority (where it lives, so the area authority of the children placed
# there): an ONS code from the table, e.g. E06000062 (West Northamptonshire).
LocalAuthorityCode = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=9, max_length=9), AfterValidator(_known_authority)
]
EthnicityCode = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=4, max_length=4), AfterValidator(_known_ethnicity)
]


class HouseholdIn(Body):
    name: Text
    address: Annotated[str, StringConstraints(max_length=500)] | None = None
    local_authority: LocalAuthorityCode = Field(
        description="ONS code of the local authority the household lives in: the area authority told of "
        "Schedule 7 events about children placed here by another authority."
    )
    connected_person: bool = Field(False, description="Family and friends (connected person) carers.")
    supervising_social_worker_id: Text | None = None
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "The Okafor household",
                    "local_authority": "E06000062",
                    "supervising_social_worker_id": "ssw-17",
                }
            ]
        },
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


class MemberLeftIn(Body):
    left_on: Day | None = Field(None, description="The day they left the household (default: today).")
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = None
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"left_on": "2026-11-20", "reason": "Moved out to university."}]},
    )


class MemberDemographicsIn(Body):
    """As the carer or applicant declared it, for Ofsted's annual fostering data collection."""

    sex: Literal["female", "male", "not_known"]
    ethnicity: EthnicityCode
    disability: Literal["yes", "no", "not_declared"] = "not_declared"
    connected_person: bool = False
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"sex": "female", "ethnicity": "BAFR", "disability": "no"}]},
    )


class HouseholdAmendmentIn(Body):
    amends_event_id: uuid.UUID
    reason: Text
    correction: Text
    local_authority: LocalAuthorityCode | None = Field(
        None, description="The household's local authority as corrected (only beside its registration)."
    )
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "amends_event_id": "0b6f0a4e-3f55-4d8c-9d2f-3c1b7a9e5a10",
                    "reason": "Date of birth mistyped.",
                    "correction": "Ada Okafor was born on 2 April 1981.",
                }
            ]
        },
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
    agreement_signed_on: Day | None = Field(
        None, description="The foster care agreement signed on this day (reg 27(5)(b)), recorded with the approval."
    )
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


class WorkerTrainingIn(Body):
    role: StaffRole
    course: StaffCourse
    completed_on: Day
    expires_on: Day | None = Field(
        None, description="Default: the staff training renewal period (local) after completion."
    )
    provider: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = None
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"role": "supervising_social_worker", "course": "safeguarding", "completed_on": "2026-11-20"}]
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


# ---- the carer's journey -----------------------------------------------------------------------
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)] | None


class EnquiryIn(Body):
    received_at: Instant | None = Field(None, description="Default: now.")
    channel: Annotated[str, StringConstraints(pattern="^[a-z_]{1,40}$")] | None = Field(
        None, description="How it came in: phone, email, web, event..."
    )
    summary: Note = None


class EnquiryReplyIn(Body):
    replied_at: Instant | None = Field(None, description="Default: now.")


class InitialVisitIn(Body):
    occurred_at: Instant
    visitor_id: Text | None = Field(None, description="Default: the caller.")
    proceed: bool = Field(description="Invited to apply (false: not taken forward).")
    notes: Note = None


class ApplicationIn(Body):
    received_at: Instant | None = Field(None, description="Default: now.")


class Stage1DecisionIn(Body):
    decided_at: Instant | None = Field(None, description="Default: now.")
    proceed: bool
    reason: Note = None

    @model_validator(mode="after")
    def _reasoned(self) -> Stage1DecisionIn:
        if not self.proceed and not self.reason:
            raise ValueError("a decision not to go on to stage 2 needs its reason")
        return self


class AssessmentIn(Body):
    completed_at: Instant | None = Field(None, description="Default: now.")
    assessor_id: Text | None = Field(None, description="Default: the caller.")
    recommended_terms: Terms | None = None


class PanelRecommendationIn(Body):
    panel_date: Day
    recommendation: PanelRecommendation
    terms: Terms | None = Field(None, description="The terms recommended (with a recommendation to approve).")
    reasons: LongText
    dissent: Note = Field(None, description="Any member's dissent, with their reasons.")

    @model_validator(mode="after")
    def _terms(self) -> PanelRecommendationIn:
        if self.recommendation == PanelRecommendation.APPROVE and self.terms is None:
            raise ValueError("a recommendation to approve names its terms")
        return self


class PanelMinutesIn(Body):
    received_at: Instant | None = Field(None, description="Default: now.")


class AgencyDecisionIn(Body):
    decided_at: Instant | None = Field(None, description="Default: now.")
    decision: AgencyDecision
    recommendation_considered: bool = Field(description="The panel's recommendation was taken into account.")
    reasons: Note = Field(None, description="The reasons: required where the decision differs from the panel's.")
    terms: Terms | None = Field(None, description="Default: the terms the panel recommended.")


class ApplicantNoticeIn(Body):
    sent_at: Instant | None = Field(None, description="Default: now.")
    method: Annotated[str, StringConstraints(pattern="^(letter|email)$")]


# ---- the agreement, resignation and temporary approval ----------------------------------------
class AgreementIn(Body):
    signed_on: Day


class ResignationIn(Body):
    received_at: Instant | None = Field(None, description="When the written notice was received (default: now).")
    reason: Note = None


class TemporaryApprovalIn(Body):
    granted_at: Instant | None = Field(None, description="Default: now.")
    child_ids: list[uuid.UUID] = Field(min_length=1, max_length=10, description="The children it is for (reg 24).")
    relationship: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None


class TemporaryExtensionIn(Body):
    weeks: int = Field(ge=1, le=52, description="How many weeks more: at most 8, once (reg 25).")
    reason: LongText


# ---- panels and qualifying determinations ------------------------------------------------------
class PanelMemberIn(Body):
    member_id: Text
    name: Text
    role: Annotated[str, StringConstraints(pattern="^[a-z_]{1,40}$")] = Field(
        description="chair, vice_chair, social_worker, independent, medical_adviser, ..."
    )


class PanelIn(Body):
    meets_on: Day
    members: list[PanelMemberIn] = Field(min_length=1, max_length=30)


class PanelCaseIn(Body):
    household_id: uuid.UUID
    case: PanelCase


class CaseRecommendationIn(Body):
    household_id: uuid.UUID
    members_present: list[Text] = Field(min_length=1, max_length=30)
    recommendation: PanelRecommendation
    terms: Terms | None = None
    reasons: LongText
    dissent: Note = Field(None, description="Any member's dissent, with their reasons.")

    @model_validator(mode="after")
    def _terms(self) -> CaseRecommendationIn:
        if self.recommendation == PanelRecommendation.APPROVE and self.terms is None:
            raise ValueError("a recommendation to approve names its terms")
        return self


class MinutesIn(Body):
    minutes: LongText


class DeterminationIn(Body):
    proposal: Annotated[str, StringConstraints(pattern="^(termination|change_of_terms)$")]
    new_terms: Terms | None = None
    reasons: LongText
    notified_at: Instant | None = Field(None, description="When the carers were told in writing (default: now).")


class RepresentationsIn(Body):
    route: Annotated[str, StringConstraints(pattern="^(representations|irm)$")]
    received_at: Instant | None = Field(None, description="Default: now.")
    summary: Note = None


class DeterminationDecisionIn(Body):
    outcome: Annotated[str, StringConstraints(pattern="^(confirmed|withdrawn)$")]
    recommendation_considered: bool = Field(description="The panel's or the IRM's recommendation, if any, considered.")
    reasons: LongText
