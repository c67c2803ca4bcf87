"""A fostering panel meeting, folded from its stream (`panel-<id>`): its members, the quorum it
needs (local), its agenda of cases, a recommendation per case and its minutes. And the rule of a
quorate meeting: enough members present, the chair or vice chair among them (local practice)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime

from pydantic import BaseModel, Field

from shared.contracts.base import load
from shared.contracts.carers import (
    PanelCase,
    PanelCaseListed,
    PanelMember,
    PanelMinutesAgreed,
    PanelRecommended,
    PanelScheduled,
    Terms,
)
from shared.eventstore import RecordedEvent
from shared.refusals import Reason

PANEL_CHAIRS = frozenset({"chair", "vice_chair"})


class PanelCaseState(BaseModel):
    household_id: uuid.UUID
    case: PanelCase
    recommendation: str | None = None
    terms: Terms | None = None
    reasons: str | None = None
    dissent: str | None = None
    members_present: list[str] = Field(default_factory=list)


class PanelState(BaseModel):
    panel_id: uuid.UUID
    meets_on: date
    members: list[PanelMember]
    quorum: int
    cases: dict[str, PanelCaseState] = Field(default_factory=dict)
    minutes: str | None = None
    minutes_agreed_at: datetime | None = None
    version: int = 0


def fold_panel(events: Iterable[RecordedEvent]) -> PanelState | None:
    state: PanelState | None = None
    for event in events:
        payload = load(event)
        if isinstance(payload, PanelScheduled):
            state = PanelState(
                panel_id=payload.panel_id, meets_on=payload.meets_on, members=payload.members, quorum=payload.quorum
            )
        if state is None:
            continue
        state.version = event.stream_version
        if isinstance(payload, PanelCaseListed):
            state.cases[str(payload.household_id)] = PanelCaseState(
                household_id=payload.household_id, case=payload.case
            )
        elif isinstance(payload, PanelRecommended):
            case = state.cases[str(payload.household_id)]
            case.recommendation, case.terms = payload.recommendation.value, payload.terms
            case.reasons, case.dissent, case.members_present = payload.reasons, payload.dissent, payload.members_present
        elif isinstance(payload, PanelMinutesAgreed):
            state.minutes, state.minutes_agreed_at = payload.minutes, payload.agreed_at
    return state


def quorum_refusals(panel: PanelState, present: list[str]) -> list[Reason]:
    """Why the members present cannot make a recommendation (empty: the meeting is quorate)."""
    members = {m.member_id: m for m in panel.members}
    reasons = [Reason("not_a_member", f"{p} is not a member of this panel.") for p in present if p not in members]
    attending = {p for p in present if p in members}
    if len(attending) < panel.quorum:
        reasons.append(
            Reason("not_quorate", f"{len(attending)} members present; the panel's quorum is {panel.quorum}.")
        )
    if not any(members[p].role in PANEL_CHAIRS for p in attending):
        reasons.append(Reason("no_chair", "Neither the chair nor the vice chair is present."))
    return reasons
