"""Ofsted's annual fostering data collection, for one collection year, from the log: households
approved, deregistered (with reasons), in assessment and refused; places, those filled and
vacancies; allegations and complaints; the carers' demographics (carer_demographics.py). A pure
function of the events as the agency knew them at an instant, written as CSV (RFC 4180) in a fixed
order: the same as-of, the same bytes."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from services.investigations.rules.carer_demographics import DEMOGRAPHIC_SOURCES, Carers
from shared.calendar import local_date
from shared.contracts.base import Event
from shared.contracts.carers import (
    AllegationReceived,
    ApprovalEnded,
    HouseholdApproved,
    HouseholdRefused,
    HouseholdRegistered,
    PlacementEnded,
    PlacementStarted,
)
from shared.contracts.visits import ComplaintReceived

# Ofsted's fostering collection year runs from 1 April to 31 March (the "Fostering in England"
# data collection); `year` names the April it starts in.
YEAR_START_MONTH = 4
OFSTED_SOURCES: tuple[type[Event], ...] = (
    HouseholdRegistered,
    HouseholdApproved,
    HouseholdRefused,
    ApprovalEnded,
    PlacementStarted,
    PlacementEnded,
    AllegationReceived,
    ComplaintReceived,
    *DEMOGRAPHIC_SOURCES,
)


def collection_year(year: int) -> tuple[date, date]:
    """The first and last day of collection year `year` (1 April `year` to 31 March `year`+1)."""
    return date(year, YEAR_START_MONTH, 1), date(year + 1, YEAR_START_MONTH, 1) - timedelta(days=1)


@dataclass
class _Household:
    registered_on: date
    connected: bool
    places: int = 0
    history: list[tuple[date, str]] = field(default_factory=list)  # (day, approved | ended | refused)

    def approved_on_day(self, day: date) -> bool:
        state = [s for d, s in self.history if d <= day]
        return bool(state) and state[-1] == "approved"

    def in_assessment_on(self, day: date) -> bool:
        return self.registered_on <= day and not [d for d, _ in self.history if d <= day]


@dataclass
class _Log:
    households: dict[uuid.UUID, _Household] = field(default_factory=dict)
    placements: dict[uuid.UUID, tuple[uuid.UUID, date, date | None]] = field(default_factory=dict)
    allegations: list[date] = field(default_factory=list)
    complaints: list[date] = field(default_factory=list)
    deregistered: list[tuple[date, str]] = field(default_factory=list)
    approvals: list[date] = field(default_factory=list)
    refusals: list[date] = field(default_factory=list)
    carers: Carers = field(default_factory=Carers)


def _follow(log: _Log, payload: Event, occurred_at: datetime) -> None:
    if isinstance(payload, HouseholdRegistered):
        log.households[payload.household_id] = _Household(local_date(occurred_at), payload.connected_person)
        return
    if isinstance(payload, PlacementStarted):
        log.placements[payload.placement_id] = (payload.household_id, payload.start_date, None)
    elif isinstance(payload, PlacementEnded) and payload.placement_id in log.placements:
        household_id, start, _ = log.placements[payload.placement_id]
        log.placements[payload.placement_id] = (household_id, start, payload.end_date)
    elif isinstance(payload, AllegationReceived):
        log.allegations.append(local_date(payload.received_at))
    elif isinstance(payload, ComplaintReceived):
        log.complaints.append(local_date(payload.received_at))
    elif isinstance(payload, DEMOGRAPHIC_SOURCES):
        log.carers.follow(payload)
    else:
        _follow_household(log, payload)


def _follow_household(log: _Log, payload: Event) -> None:
    household = log.households.get(getattr(payload, "household_id", None))  # type: ignore[arg-type]
    if household is None:
        return
    if isinstance(payload, HouseholdApproved):
        day = local_date(payload.approved_at)
        household.places, household.connected = payload.terms.max_children, payload.connected_person
        household.history.append((day, "approved"))
        log.approvals.append(day)
    elif isinstance(payload, HouseholdRefused):
        day = local_date(payload.refused_at)
        household.history.append((day, "refused"))
        log.refusals.append(day)
    elif isinstance(payload, ApprovalEnded):
        day = local_date(payload.ended_at)
        household.history.append((day, "ended"))
        log.deregistered.append((day, " ".join(payload.reason.split())))


def _in(day: date, first: date, last: date) -> bool:
    return first <= day <= last


def _within(days: Iterable[date], first: date, last: date) -> int:
    return sum(1 for day in days if _in(day, first, last))


def _households(log: _Log, first: date, last: date) -> list[tuple[str, str, int]]:
    households = list(log.households.values())
    approved_end = [h for h in households if h.approved_on_day(last)]
    return [
        ("households", "approved_at_start", sum(1 for h in households if h.approved_on_day(first - timedelta(days=1)))),
        ("households", "newly_approved_in_year", _within(log.approvals, first, last)),
        ("households", "deregistered_in_year", _within((day for day, _ in log.deregistered), first, last)),
        ("households", "approved_at_end", len(approved_end)),
        ("households", "connected_person_approved_at_end", sum(1 for h in approved_end if h.connected)),
        ("households", "in_assessment_at_end", sum(1 for h in households if h.in_assessment_on(last))),
        ("households", "applications_refused_in_year", _within(log.refusals, first, last)),
    ]


def _places(log: _Log, last: date) -> list[tuple[str, str, int]]:
    approved_end = {h_id: h for h_id, h in log.households.items() if h.approved_on_day(last)}
    filled = Counter(
        household_id
        for household_id, start, end in log.placements.values()
        if household_id in approved_end and start <= last and (end is None or end > last)
    )
    return [
        ("places", "approved_at_end", sum(h.places for h in approved_end.values())),
        ("places", "filled_at_end", sum(filled.values())),
        ("places", "vacancies_at_end", sum(max(0, h.places - filled[h_id]) for h_id, h in approved_end.items())),
    ]


def _rows(log: _Log, first: date, last: date) -> list[tuple[str, str, int]]:
    for household in log.households.values():
        household.history.sort(key=lambda entry: entry[0])
    reasons = Counter(reason for day, reason in log.deregistered if _in(day, first, last))
    return [
        *_households(log, first, last),
        *(("deregistration_reason", reason, count) for reason, count in sorted(reasons.items())),
        *_places(log, last),
        ("allegations", "received_in_year", _within(log.allegations, first, last)),
        ("complaints", "received_in_year", _within(log.complaints, first, last)),
        *log.carers.rows({h_id for h_id, h in log.households.items() if h.approved_on_day(last)}, last),
    ]


def ofsted_fostering_csv(events: Iterable[tuple[Event, datetime]], year: int, as_of: datetime) -> bytes:
    """The return for collection year `year` from (payload, occurred_at) in log order, as CSV."""
    first, last = collection_year(year)
    log = _Log()
    for payload, occurred_at in events:
        _follow(log, payload, occurred_at)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["section", "measure", "value"])
    writer.writerow(["collection", "year", f"{first.isoformat()}/{last.isoformat()}"])
    writer.writerow(["collection", "as_of", as_of.isoformat()])
    writer.writerows(_rows(log, first, last))
    return out.getvalue().encode()
