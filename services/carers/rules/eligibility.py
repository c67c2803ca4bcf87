"""Placement eligibility: every reason a household may not take a child, listed together. The
placement command runs it inside the locked append, on the household as it is at that instant."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from services.carers.rules.household import HouseholdState, MemberState
from services.carers.rules.tables import (
    CheckKind,
    CheckResult,
    HouseholdStatus,
    PlacementType,
    adult_by_birth,
    age_on,
)
from shared.refusals import Reason


@dataclass(frozen=True)
class PlacementRequest:
    child_id: uuid.UUID
    child_date_of_birth: date
    start_date: date
    placement_type: PlacementType


def dbs_status(member: MemberState, on: date) -> tuple[str, date | None]:
    """(`clear` | `missing` | `concerns` | `expired`, expiry) of the member's latest enhanced DBS on `on`."""
    dbs = [c for c in member.checks if c.kind == CheckKind.DBS_ENHANCED and c.checked_at <= on]
    if not dbs:
        return "missing", None
    latest = max(dbs, key=lambda c: c.checked_at)
    if latest.result != CheckResult.CLEAR:
        return "concerns", latest.expires_on
    if latest.expires_on is not None and latest.expires_on <= on:
        return "expired", latest.expires_on
    return "clear", latest.expires_on


def is_adult(member: MemberState, on: date) -> bool:
    """An adult of the household on `on`: role does not decide (a child member who has turned 18 is
    an adult who needs checks), and one who has left the household is no longer one of its adults."""
    return adult_by_birth(member.date_of_birth, on) and (member.left_on is None or member.left_on > on)


def placement_eligibility(state: HouseholdState, request: PlacementRequest, on: date) -> list[Reason]:
    """Every reason the household may not take this placement on `on` (empty: it may).

    `on` is the later of today and the start date: a placement must be safe both now and when it
    starts. The child's age is taken at the start date.
    """
    return [
        *_approval(state, request, on),
        *_agreement_and_notice(state),
        *_holds(state),
        *_adults_unchecked(state, on),
        *_review_overdue(state, on),
        *_outside_terms(state, request),
    ]


def already_placed(placements: Iterable[uuid.UUID]) -> list[Reason]:
    """A child has one home at a time: each placement still open elsewhere is a reason."""
    return [Reason("child_already_placed", f"The child is already placed (placement {p}).") for p in placements]


def _approval(state: HouseholdState, request: PlacementRequest, on: date) -> list[Reason]:
    if state.status == HouseholdStatus.APPROVED and state.terms is not None:
        return []
    temporary = state.temporary_approval
    if temporary is None or state.status != HouseholdStatus.ASSESSMENT:
        return [Reason("not_approved", f"The household is not approved (status: {state.status.value}).")]
    reasons = []
    if on > temporary.expires_at.date():
        ended = f"{temporary.expires_at:%d %b %Y}"
        reasons.append(Reason("temporary_approval_expired", f"The temporary approval ended on {ended} (reg 24, 25)."))
    if request.child_id not in temporary.child_ids:
        reasons.append(
            Reason("not_named_in_temporary_approval", "The temporary approval is for other children (reg 24).")
        )
    return reasons


def _agreement_and_notice(state: HouseholdState) -> list[Reason]:
    """A fully approved household needs its foster care agreement on record before a placement
    (reg 27(5)(b)); after the carers' resignation notice it takes no new placement (reg 28(13))."""
    reasons = []
    if state.status == HouseholdStatus.APPROVED and state.agreement_signed_on is None:
        reasons.append(
            Reason("no_foster_care_agreement", "No signed foster care agreement is on record (reg 27(5)(b)).")
        )
    if state.resignation_takes_effect_at is not None:
        effect = f"{state.resignation_takes_effect_at:%d %b %Y}"
        reasons.append(Reason("resignation_given", f"The carers have resigned; approval ends on {effect}."))
    return reasons


def _holds(state: HouseholdState) -> list[Reason]:
    reasons = [
        Reason("on_hold", f"The household is on hold since {hold.placed_at:%d %b %Y}: {hold.reason}")
        for hold in state.open_holds
    ]
    # An allegation holds the household from the moment it is received, before its hold lands.
    reasons += [
        Reason("on_hold", "An allegation was received; the household is on hold.")
        for allegation in state.allegations.values()
        if not allegation.hold_recorded
    ]
    return reasons


_DBS_FINDINGS = {
    "missing": "has no enhanced DBS check",
    "concerns": "has an enhanced DBS check with concerns",
    "expired": "has an enhanced DBS check that expired on {expiry}",
}


def _adults_unchecked(state: HouseholdState, on: date) -> list[Reason]:
    reasons = []
    for member in sorted(state.members.values(), key=lambda m: m.name):
        if not is_adult(member, on):
            continue
        status, expiry = dbs_status(member, on)
        if status != "clear":
            finding = _DBS_FINDINGS[status].format(expiry=expiry)
            reasons.append(Reason(f"adult_dbs_{status}", f"{member.name} (an adult in the household) {finding}."))
    return reasons


def _review_overdue(state: HouseholdState, on: date) -> list[Reason]:
    due = state.review_due()
    if state.status == HouseholdStatus.APPROVED and due is not None and due.date() < on:
        return [Reason("annual_review_overdue", f"The annual review was due on {due:%d %b %Y}.")]
    return []


def _outside_terms(state: HouseholdState, request: PlacementRequest) -> list[Reason]:
    terms = state.terms
    if terms is None:
        return []
    reasons = []
    current = [p for p in state.placements.values() if p.child_id != request.child_id]
    if len(current) + 1 > terms.max_children:
        reasons.append(
            Reason(
                "exceeds_max_children",
                f"The household is approved for {terms.max_children} child(ren) and has {len(current)} placed.",
            )
        )
    age = age_on(request.child_date_of_birth, request.start_date)
    if not terms.age_min <= age <= terms.age_max:
        reasons.append(
            Reason(
                "outside_age_range",
                f"The child is {age}; the household is approved for ages {terms.age_min} to {terms.age_max}.",
            )
        )
    if request.placement_type not in terms.placement_types:  # always: the type is required (issue 18)
        reasons.append(
            Reason(
                "placement_type_not_approved",
                f"The household is not approved for {request.placement_type.value} placements.",
            )
        )
    return reasons


def children_not_placed_here(state: HouseholdState, child_ids: Iterable[uuid.UUID]) -> list[Reason]:
    """A child named in a record about a household must be a child placed there (now or before):
    any other id would put that child's name and record where they do not belong."""
    return [
        Reason("child_not_placed_here", f"Child {child_id} has never been placed with this household.")
        for child_id in dict.fromkeys(child_ids)
        if child_id not in state.children_placed
    ]
