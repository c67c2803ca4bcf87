"""The register of foster parents (FSR 2011 reg 31): every household the agency has approved, with
its carers, terms, approval date, supervising social worker and status, and those whose approval
has ended (when and why). An entry is kept for 10 years after the approval ends (reg 32(3)), then
leaves the register. A pure fold of the log's events, so the register as the agency knew it on any
date is the same fold over the log as it stood then."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from services.carers.rules.tables import CARER_ROLES
from shared.calendar import local_date
from shared.contracts.access import AllocationEnded, WorkerAllocated
from shared.contracts.base import Event
from shared.contracts.carers import ApprovalEnded, HouseholdApproved, HouseholdRegistered, MemberAdded, Terms


@dataclass(frozen=True)
class RegisterRules:
    """Statutory numbers of the register, each with its source."""

    retained_years_after_approval_ends: int = 10  # FSR 2011 reg 32(3)


REGISTER = RegisterRules()
# The events the register follows (read from the log in position order).
REGISTER_TYPES: tuple[type[Event], ...] = (
    HouseholdRegistered,
    MemberAdded,
    HouseholdApproved,
    ApprovalEnded,
    WorkerAllocated,
    AllocationEnded,
)


class RegisteredCarer(BaseModel):
    member_id: uuid.UUID
    name: str
    role: str


class RegisterEntry(BaseModel):
    household_id: uuid.UUID
    name: str
    carers: list[RegisteredCarer]
    connected_person: bool
    approved_at: datetime
    panel_date: date | None
    terms: Terms
    supervising_social_worker_id: str | None
    status: str  # approved | ended
    approval_ended_at: datetime | None = None
    approval_ended_reason: str | None = None
    retained_until: date | None = None  # 10 years after the approval ended (reg 32(3))


@dataclass
class _Household:
    household_id: uuid.UUID
    name: str
    ssw: str | None
    carers: dict[uuid.UUID, RegisteredCarer]
    approval: HouseholdApproved | None = None
    ended: ApprovalEnded | None = None


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _follow(households: dict[uuid.UUID, _Household], payload: Event) -> None:
    if isinstance(payload, HouseholdRegistered):
        households[payload.household_id] = _Household(
            payload.household_id, payload.name, payload.supervising_social_worker_id, {}
        )
        return
    household_id: Any = getattr(payload, "household_id", None)
    found = households.get(household_id) if household_id is not None else None
    if found is None:
        return
    if isinstance(payload, MemberAdded) and payload.role in CARER_ROLES:
        found.carers[payload.member_id] = RegisteredCarer(
            member_id=payload.member_id, name=payload.name, role=payload.role.value
        )
    elif isinstance(payload, HouseholdApproved):
        found.approval, found.ended = payload, None
    elif isinstance(payload, ApprovalEnded):
        found.ended = payload
    elif isinstance(payload, WorkerAllocated) and payload.role == "supervising_social_worker":
        found.ssw = payload.worker_id
    elif isinstance(payload, AllocationEnded) and payload.role == "supervising_social_worker":
        found.ssw = None if found.ssw == payload.worker_id else found.ssw


def _entry(household: _Household, approval: HouseholdApproved) -> RegisterEntry:
    ended = household.ended
    return RegisterEntry(
        household_id=household.household_id,
        name=household.name,
        carers=sorted(household.carers.values(), key=lambda c: (c.name, c.member_id)),
        connected_person=approval.connected_person,
        approved_at=approval.approved_at,
        panel_date=approval.panel_date,
        terms=approval.terms,
        supervising_social_worker_id=household.ssw,
        status="ended" if ended else "approved",
        approval_ended_at=ended.ended_at if ended else None,
        approval_ended_reason=ended.reason if ended else None,
        retained_until=(
            _add_years(local_date(ended.ended_at), REGISTER.retained_years_after_approval_ends) if ended else None
        ),
    )


def foster_parents_register(payloads: Iterable[Event], on: date) -> list[RegisterEntry]:
    """The register on `on` from the events (in log order): every household ever approved whose
    entry is still retained on that day, by name."""
    households: dict[uuid.UUID, _Household] = {}
    for payload in payloads:
        _follow(households, payload)
    entries = [_entry(h, h.approval) for h in households.values() if h.approval is not None]
    kept = [e for e in entries if e.retained_until is None or e.retained_until >= on]
    return sorted(kept, key=lambda e: (e.name, e.household_id))
