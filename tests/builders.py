"""What every test folder builds a record from, once: request helpers that check the status, request
bodies, and other services' events appended straight to the log from their typed contracts (the
service under test is not the one that writes them)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import httpx
from fastapi import FastAPI

from services.notifications.rules import RECIPIENTS
from shared.contracts.base import Event
from shared.contracts.carers import PlacementStarted
from shared.contracts.visits import ChildRegistered
from shared.eventstore import ANY_VERSION, EventFilter, NewEvent, RecordedEvent

__all__ = [
    "RECIPIENTS",
    "append_foreign",
    "child_body",
    "get",
    "place_child",
    "post",
    "register_child",
    "visit_body",
]


async def post(
    client: httpx.AsyncClient, headers: dict[str, str], url: str, body: dict[str, Any], status: int = 201
) -> Any:
    """The response's JSON, after checking its status (the body is in the failure message)."""
    response = await client.post(url, json=body, headers=headers)
    assert response.status_code == status, ("POST", url, response.status_code, response.text)
    return response.json()


async def get(client: httpx.AsyncClient, headers: dict[str, str], url: str, status: int = 200, **params: Any) -> Any:
    response = await client.get(url, params=params, headers=headers)
    assert response.status_code == status, ("GET", url, response.status_code, response.text)
    return response.json()


def child_body(n: int = 0, **overrides: Any) -> dict[str, Any]:
    """POST /v1/children."""
    return {
        "name": f"Child {n}",
        "date_of_birth": "2014-06-01",
        "legal_status": "section_31_care_order",
        "placing_authority": "West Northamptonshire Council",
        "social_worker_id": "sw-1",
        **overrides,
    }


def visit_body(occurred_at: datetime | str, n: int = 0, **overrides: Any) -> dict[str, Any]:
    """POST /v1/children/{id}/visits: a statutory visit that saw the child alone, with a narrative."""
    when = occurred_at if isinstance(occurred_at, str) else occurred_at.isoformat()
    return {
        "occurred_at": when,
        "visitor_id": f"sw-{n % 7}",
        "visitor_role": "child_social_worker",
        "kind": "statutory",
        "child_seen": True,
        "seen_alone": True,
        "bedroom_seen": True,
        "child_views": f"Views {n}: likes her new school, wants more contact with her brother.",
        "narrative": f"Visit {n}: spoke with the child alone in her bedroom; the carer was downstairs.",
        **overrides,
    }


async def append_foreign(
    app: FastAPI,
    stream_id: str,
    event: Event,
    *,
    occurred_at: datetime,
    child_ids: Sequence[uuid.UUID | str] = (),
    summary: str | None = None,
    expected_version: int = ANY_VERSION,
) -> RecordedEvent:
    """Append another service's event as that service would (its contract's stored form)."""
    service = event.event_type.split(".", 1)[0]
    metadata = {
        "actor_id": f"test-{service}",
        "actor_role": "registered_manager",
        "service": service,
        "summary": summary or event.event_type,
    }
    [recorded] = await app.state.store.append(
        stream_id,
        [
            NewEvent(
                type=event.event_type,
                data=event.payload(),
                occurred_at=occurred_at,
                child_ids=tuple(uuid.UUID(str(c)) for c in child_ids),
                metadata=metadata,
            )
        ],
        expected_version,
    )
    return recorded


async def register_child(
    app: FastAPI,
    *,
    at: datetime | None = None,
    name: str = "Test Child",
    date_of_birth: date | str = "2012-05-01",
    placing_authority: str = "West Northamptonshire Council",
    legal_status: str = "section_31_care_order",
    social_worker_id: str | None = "sw-1",
) -> uuid.UUID:
    """A child in the log as the visits service records one (for tests of the other services)."""
    child_id = uuid.uuid4()
    registered = ChildRegistered(
        child_id=child_id,
        name=name,
        date_of_birth=date.fromisoformat(date_of_birth) if isinstance(date_of_birth, str) else date_of_birth,
        legal_status=legal_status,
        placing_authority=placing_authority,
        social_worker_id=social_worker_id,
    )
    occurred = at or app.state.clock.now()
    await append_foreign(app, f"child-{child_id}", registered, occurred_at=occurred, child_ids=[child_id])
    return child_id


async def place_child(
    app: FastAPI,
    child_id: uuid.UUID | str,
    *,
    at: datetime,
    start: date | None = None,
    household_id: uuid.UUID | str | None = None,
    placing_authority: str = "West Northamptonshire Council",
    long_term: bool = False,
    connected_person: bool = False,
) -> tuple[uuid.UUID, uuid.UUID]:
    """A placement as the carers service records one; returns (placement_id, household_id)."""
    placement_id = uuid.uuid4()
    household = uuid.UUID(str(household_id)) if household_id else uuid.uuid4()
    started = PlacementStarted(
        placement_id=placement_id,
        child_id=uuid.UUID(str(child_id)),
        household_id=household,
        start_date=start or at.date(),
        long_term=long_term,
        connected_person=connected_person,
        placing_authority=placing_authority,
    )
    await append_foreign(app, f"placement-{placement_id}", started, occurred_at=at, child_ids=[child_id])
    return placement_id, household


async def registered_names(app: FastAPI) -> list[str]:
    """The names of every child registered, read through the store: personal fields are sealed in
    the `events` table (crypto-shredding), so a test never looks for a name in the raw rows."""
    names: list[str] = []
    after = 0
    while page := await app.state.store.read(EventFilter(after=after, limit=1000, types=[ChildRegistered.event_type])):
        names += [e.data["name"] for e in page]
        after = page[-1].position
    return names
