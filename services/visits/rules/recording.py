"""What makes an entry in the child's record acceptable (docs/domain.md §2, CPPR reg 29, Ofsted 2023).
Each rule answers the reasons it refuses (shared.refusals.Reason), empty when it accepts."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, timedelta

from services.visits.rules.statutory import complaint_stage_working_days
from shared.contracts.visits import MadeBy, PlanKind
from shared.refusals import Reason, in_the_future

# The fields a medication in a plan cannot do without (Ofsted 2023: what, how much, who, watch for).
MEDICATION_ESSENTIALS = ("name", "dose", "given_by", "watch_for")


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


def visit_refusals(
    *,
    child_seen: bool,
    seen_alone: bool,
    not_seen_alone_reason: str | None,
    narrative: str | None,
    child_views: str | None,
) -> list[Reason]:
    """Why a visit record cannot be accepted. docs/domain.md §2, CPPR reg 29."""
    reasons: list[Reason] = []
    if child_seen and _blank(narrative):
        reasons.append(
            Reason("narrative_missing", "A visit where the child was seen needs a narrative of the conversation.")
        )
    if child_seen and _blank(child_views):
        reasons.append(
            Reason("child_views_missing", "A visit where the child was seen needs the child's views, in their words.")
        )
    if seen_alone and not child_seen:
        reasons.append(Reason("alone_but_not_seen", "The child cannot be seen alone if the child was not seen."))
    if not seen_alone and not_seen_alone_reason is None:
        reasons.append(
            Reason(
                "not_seen_alone_reason_missing",
                "When the child was not seen alone, record why: child_refused, "
                "inappropriate_for_age_or_understanding or unable.",
            )
        )
    if seen_alone and not_seen_alone_reason is not None:
        reasons.append(
            Reason(
                "not_seen_alone_reason_unexpected",
                "not_seen_alone_reason is only for visits where the child was not seen alone.",
            )
        )
    return reasons


def registration_refusals(date_of_birth: date, looked_after_since: date, now: datetime) -> list[Reason]:
    """A child is born, and looked after from a day that has come and is not before their birth."""
    born = in_the_future("date_of_birth", date_of_birth, now)
    if born is not None:
        return [born]
    reasons = [r for r in [in_the_future("looked_after_since", looked_after_since, now)] if r is not None]
    if looked_after_since < date_of_birth:
        reasons.append(Reason("looked_after_before_birth", "looked_after_since is before the child's date of birth."))
    return reasons


def occurrence_refusals(
    field: str, at: datetime, now: datetime, *, not_before: datetime | None = None, since: str = ""
) -> list[Reason]:
    """`at` has happened, and not before `not_before` (the moment `since` names, e.g. "the
    complaint was received")."""
    reasons = [r for r in [in_the_future(field, at, now)] if r is not None]
    if not_before is not None and at < not_before:
        reasons.append(Reason("before_it_began", f"{field} is before {since}."))
    return reasons


def household_refusals(named: uuid.UUID | None, placed_with: uuid.UUID | None) -> list[Reason]:
    """An incident names only the household the child is placed with: another household's id
    would put this child on that household's supervision agenda."""
    if named is not None and named != placed_with:
        return [
            Reason(
                "household_not_placement",
                "household_id must be the household the child is placed with (leave it out to use it).",
            )
        ]
    return []


def complaint_about_refusals(about: uuid.UUID | None, households: Collection[uuid.UUID]) -> list[Reason]:
    """A complaint about carers names a household the child is or was placed with."""
    if about is not None and about not in households:
        return [
            Reason(
                "household_never_placed",
                "about_household_id must be a household the child is or was placed with.",
            )
        ]
    return []


def complaint_flags(*, made_by: str, serious: bool, about_household_id: object | None) -> tuple[bool, bool]:
    """(schedule7_row9, lado_consultation).

    Schedule 7 row 9 is a serious complaint about a foster carer; every complaint by a child about
    their carer is handled as row 9 and goes to the LADO for consultation (NCT practice).
    """
    by_child_about_carer = made_by == MadeBy.CHILD and about_household_id is not None
    row9 = by_child_about_carer or (serious and about_household_id is not None)
    return row9, by_child_about_carer


def extension_refusals(stage: int, working_days: int) -> list[Reason]:
    try:
        complaint_stage_working_days(stage, extended_to=working_days)
    except ValueError as exc:
        return [Reason("extension_out_of_range", f"{str(exc).capitalize()}.")]
    return []


def closing_refusals(stage: int, status: str) -> list[Reason]:
    if status != "responded":
        return [
            Reason(
                "no_response",
                f"A complaint cannot be closed without a recorded response (stage {stage} has none).",
            )
        ]
    return []


def review_date_refusals(review_date: date, today: date, field: str = "review_date") -> list[Reason]:
    if review_date <= today:
        detail = f"{field} ({review_date.isoformat()}) must be after today: a review is ahead."
        return [Reason("review_date_not_ahead", detail)]
    return []


def medication_refusals(kind: str, medications: Sequence[Mapping[str, str | None]]) -> list[Reason]:
    """A medication in a plan says what, how much, who gives it and what to watch for (Ofsted 2023)."""
    reasons: list[Reason] = []
    if medications and kind != PlanKind.HEALTH:
        reasons.append(Reason("medication_outside_health_plan", "Medication belongs in the health plan."))
    for i, med in enumerate(medications):
        missing = [f for f in MEDICATION_ESSENTIALS if _blank(med.get(f))]
        if missing:
            reasons.append(Reason("medication_incomplete", f"medications[{i}] needs {', '.join(missing)}."))
    return reasons


def sharing_refusals(version: int, current_version: int, placed_with: uuid.UUID | None) -> list[Reason]:
    """A plan is shared with the carers the child is placed with (reg 17), at a version it has."""
    reasons: list[Reason] = []
    if placed_with is None:
        reasons.append(
            Reason("not_placed", "The child is not placed with a household: there is no carer to share the plan with.")
        )
    if version > current_version:
        reasons.append(Reason("no_such_version", f"The plan has no version {version} (current: {current_version})."))
    return reasons


def acknowledger_refusals(is_carer: bool) -> list[Reason]:
    """Only the carers who hold a plan say they received it: a worker cannot for them."""
    if not is_carer:
        return [Reason("carers_only", "Only the carers the plan was shared with acknowledge receiving it.")]
    return []


def amendment_refusals(
    entry: uuid.UUID, of_children: Collection[uuid.UUID] | None, child_id: uuid.UUID
) -> list[Reason]:
    """A correction sits beside an entry of this child's record (`of_children`: the children the
    entry is about; None: no such entry)."""
    if of_children is None or child_id not in of_children:
        return [Reason("not_in_this_record", f"{entry} is not an entry in this child's record.")]
    return []


def views_refusals(child_views_given: bool, how_views_given: str | None) -> list[Reason]:
    """A review that heard the child's views says how they were given (CPPR reg 36)."""
    if child_views_given and _blank(how_views_given):
        return [
            Reason(
                "how_views_given_missing",
                "Say how the child gave their views (attended, met the chair, wrote, advocate...).",
            )
        ]
    return []


def concern_outcome_refusals(*, actions: int, status: str) -> list[Reason]:
    if status in ("resolved", "escalated"):
        return [Reason("concern_closed", f"The concern is already {status}.")]
    if actions == 0:
        return [Reason("no_action_yet", "Record the action taken on the concern before its outcome.")]
    return []


def is_late_entry(occurred_at: datetime, recorded_at: datetime, late_hours: float) -> bool:
    return recorded_at - occurred_at > _hours(late_hours)


@functools.lru_cache(maxsize=16)
def _hours(hours: float) -> timedelta:
    return timedelta(hours=hours)
