"""Stage 1's decision clock: it starts when the last statutory check of an application comes back
(FSR 2011 reg 26 and Schedule 3), from the check that completed the set."""

from __future__ import annotations

from datetime import datetime

from services.carers.commands.clocks import clock
from services.carers.rules import Clock, HouseholdState
from services.carers.rules.journey import JourneyStage
from shared.calendar import add_working_days_at
from shared.eventstore import NewEvent
from shared.recording import Recorder


def stage1_decision_clock(rec: Recorder, after: HouseholdState, at: datetime, cause: NewEvent | None) -> list[NewEvent]:
    """The stage 1 decision clock, when the household (as `after` leaves it) is in stage 1, has
    every check back and has no such clock already: due a number of working days (local) after `at`."""
    if after.journey.stage != JourneyStage.STAGE1 or after.open_clocks(Clock.STAGE1_DECISION):
        return []
    if after.stage1_outstanding(at.date()):
        return []
    due = add_working_days_at(at, rec.settings.carers.stage1_decision_working_days)
    description = "Stage 1 decided: every statutory check and reference is back"
    causation = cause.event_id if cause is not None else None
    return [clock(rec, after.household_id, Clock.STAGE1_DECISION, at, due, description, causation_id=causation)]
