"""The agency's own duty to see the children placed with its carers (issue 18; NMS 21; the Ofsted
finding of a child not spoken to by their SSW for over a year and bedrooms unseen for months).

Every supervision or SSW visit accounts for each child placed in the household: seen, seen alone,
bedroom seen, or for each that was not, one of the reasons statutory visits give. Each placed
child has four clocks: the first SSW visit after the placement starts, seen by the SSW, seen
alone by the SSW, and their bedroom seen; a sighting meets the clock and starts the next."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.carers.rules.clocks import Clock
from services.carers.rules.tables import NotSeenReason, add_months_at
from shared.contracts.carers import ChildSeen
from shared.practice import CarersPractice
from shared.refusals import Reason

REASONS = frozenset(NotSeenReason)
_REASONS_TEXT = ", ".join(r.value for r in NotSeenReason)


@dataclass(frozen=True)
class Sighting:
    """What one supervision saw of one placed child."""

    seen: bool
    seen_alone: bool
    bedroom_seen: bool


def sightings(accounts: Sequence[ChildSeen], legacy_seen: Iterable[uuid.UUID]) -> dict[uuid.UUID, Sighting]:
    """Each child the supervision accounts for. A child only listed as seen (the older form of the
    record) was seen; whether alone and their bedroom was not recorded, so those clocks stay open."""
    found = {c: Sighting(seen=True, seen_alone=False, bedroom_seen=False) for c in legacy_seen}
    for a in accounts:
        found[a.child_id] = Sighting(seen=a.seen, seen_alone=a.seen and a.seen_alone, bedroom_seen=a.bedroom_seen)
    return found


def account_refusals(
    placed: set[uuid.UUID],
    accounts: Sequence[ChildSeen],
    accounted_otherwise: set[uuid.UUID],
    names: Mapping[uuid.UUID, str] | None = None,
) -> list[Reason]:
    """A placed child the supervision does not account for (named, with their name when known), and
    each account that leaves something not done without one of the reasons."""
    named = [a.child_id for a in accounts]
    known = names or {}
    reasons = [
        Reason(
            "child_not_accounted",
            (f"{known[child_id]} (child {child_id})" if child_id in known else f"Child {child_id}")
            + " is placed here: record whether the supervising social worker saw them, saw them alone and saw "
            "their bedroom, or why not (NMS 21).",
        )
        for child_id in sorted(placed - set(named) - accounted_otherwise, key=str)
    ]
    reasons += [
        Reason("child_accounted_twice", f"Child {child_id} is accounted for more than once.")
        for child_id in sorted({c for c in named if named.count(c) > 1}, key=str)
    ]
    for a in accounts:
        reasons += _incomplete(a)
    return reasons


def _incomplete(a: ChildSeen) -> list[Reason]:
    missing = []
    if a.seen_alone and not a.seen:
        return [Reason("seen_alone_not_seen", f"Child {a.child_id} cannot be seen alone and not seen.")]
    if not a.seen and a.not_seen_reason not in REASONS:
        missing.append("not_seen_reason")
    if a.seen and not a.seen_alone and a.not_seen_alone_reason not in REASONS:
        missing.append("not_seen_alone_reason")
    if not a.bedroom_seen and a.bedroom_not_seen_reason not in REASONS:
        missing.append("bedroom_not_seen_reason")
    return [
        Reason("reason_needed", f"Child {a.child_id}: {field} must be one of {_REASONS_TEXT}.") for field in missing
    ]


def first_clocks(start: datetime, practice: CarersPractice) -> list[tuple[Clock, datetime, str]]:
    """The clocks a placement starts for its child: (kind, due, description)."""
    return [
        (Clock.SSW_FIRST_VISIT, start + timedelta(days=practice.ssw_first_visit_days), "First visit by the SSW"),
        next_clock(Clock.SSW_CHILD_SEEN, start, practice),
        next_clock(Clock.SSW_CHILD_SEEN_ALONE, start, practice),
        next_clock(Clock.BEDROOM_SEEN, start, practice),
    ]


def next_clock(kind: Clock, since: datetime, practice: CarersPractice) -> tuple[Clock, datetime, str]:
    """The clock a sighting of `kind` starts again (or a placement starts first)."""
    months, description = {
        Clock.SSW_CHILD_SEEN: (practice.ssw_seen_months, "Child seen by the SSW"),
        Clock.SSW_CHILD_SEEN_ALONE: (practice.ssw_seen_alone_months, "Child seen alone by the SSW"),
        Clock.BEDROOM_SEEN: (practice.bedroom_seen_months, "Child's bedroom seen"),
    }[kind]
    return kind, add_months_at(since, months), f"{description} (every {months} months)"


def clocks_met_by(sighting: Sighting) -> list[Clock]:
    """The child's clocks a sighting meets (and, but for the first visit, starts again)."""
    met = [Clock.SSW_FIRST_VISIT, Clock.SSW_CHILD_SEEN] if sighting.seen else []
    if sighting.seen_alone:
        met.append(Clock.SSW_CHILD_SEEN_ALONE)
    if sighting.bedroom_seen:
        met.append(Clock.BEDROOM_SEEN)
    return met
