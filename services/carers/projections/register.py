"""The register of foster parents read from the log as the agency knew it at an instant
(`recorded_at <= as_of`): services/carers/rules/register.py folds it."""

from __future__ import annotations

from datetime import datetime

from services.carers.rules.register import REGISTER_TYPES, RegisterEntry, foster_parents_register
from shared.calendar import local_date
from shared.contracts.base import Event, load
from shared.eventstore import EventFilter, EventStore


async def register_of_foster_parents(store: EventStore, as_of: datetime) -> list[RegisterEntry]:
    payloads: list[Event] = []
    wanted = EventFilter(types=[t.event_type for t in REGISTER_TYPES], as_of=as_of)
    async for page in store.iterate(wanted):
        payloads.extend(load(event) for event in page)
    return foster_parents_register(payloads, local_date(as_of))
