"""Helpers for the visits tests: register children, post other services' events into the log."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.auth import Role
from shared.eventstore import EventFilter, NewEvent, RecordedEvent
from tests import builders

WORKER = "sw-visits-104"
# Registering a child starts the clocks of becoming looked after (issue 12): initial health
# assessment, first looked-after child review and dental check. The child's stream is then at 4.
REGISTRATION_CLOCKS = frozenset(
    {"visits.initial_health_assessment", "visits.looked_after_review", "visits.dental_check"}
)
REGISTERED_VERSION = 1 + len(REGISTRATION_CLOCKS)


def without_registration_clocks(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if (e.get("data") or {}).get("kind") not in REGISTRATION_CLOCKS]


def visit_body(occurred_at: datetime, **overrides: Any) -> dict[str, Any]:
    """A statutory visit by this folder's worker that saw the child alone, with a narrative."""
    return builders.visit_body(occurred_at, **{"visitor_id": WORKER, **overrides})


class Visits:
    """A small client for the visits API used by the tests."""

    def __init__(self, client: httpx.AsyncClient, app: FastAPI, headers: dict[str, str]) -> None:
        self.client = client
        self.app = app
        self.headers = headers

    async def register(self, worker: str | None = WORKER, **overrides: Any) -> str:
        body = {
            "name": "Amira K",
            "date_of_birth": "2012-03-14",
            "legal_status": "section_31_care_order",
            "placing_authority": "West Northamptonshire Council",
            "social_worker_id": worker,
            **overrides,
        }
        response = await self.client.post("/v1/children", json=body, headers=self.headers)
        assert response.status_code == 201, response.text
        return str(response.json()["child_id"])

    async def post(self, path: str, body: dict[str, Any], status: int = 201, **headers: str) -> dict[str, Any]:
        return dict(await builders.post(self.client, {**self.headers, **headers}, path, body, status))

    async def get(self, path: str, status: int = 200, **params: Any) -> dict[str, Any]:
        return dict(await builders.get(self.client, self.headers, path, status, **params))

    async def events_about(self, child_id: str) -> list[RecordedEvent]:
        return list(await self.app.state.store.read(EventFilter(child_id=uuid.UUID(child_id), limit=10_000)))

    async def foreign(
        self,
        stream_id: str,
        type: str,
        data: dict[str, Any],
        *,
        occurred_at: datetime,
        child_ids: list[str],
        summary: str | None = None,
    ) -> RecordedEvent:
        """Append another service's event directly (that service is written concurrently)."""
        service = type.split(".", 1)[0]
        metadata: dict[str, Any] = {"actor_id": f"{service}-worker", "actor_role": "manager", "service": service}
        if summary:
            metadata["summary"] = summary
        recorded = await self.app.state.store.append(
            stream_id,
            [
                NewEvent(
                    type=type,
                    data=data,
                    occurred_at=occurred_at,
                    child_ids=tuple(uuid.UUID(c) for c in child_ids),
                    metadata=metadata,
                )
            ],
        )
        return recorded[0]

    async def allegation(self, *children: str, received_at: datetime, summary: str) -> RecordedEvent:
        """The carers service's AllegationReceived against a new household, naming `children`."""
        allegation_id = str(uuid.uuid4())
        data = {
            "allegation_id": allegation_id,
            "household_id": str(uuid.uuid4()),
            "child_ids": list(children),
            "received_at": received_at.isoformat(),
            "summary": summary,
        }
        return await self.foreign(
            f"allegation-{allegation_id}",
            "carers.AllegationReceived",
            data,
            occurred_at=received_at,
            child_ids=list(children),
        )

    async def place(
        self,
        child_id: str,
        start: date,
        *,
        long_term: bool = False,
        connected_person: bool = False,
        household_id: str | None = None,
        occurred_at: datetime,
    ) -> str:
        placement_id, _ = await builders.place_child(
            self.app,
            child_id,
            at=occurred_at,
            start=start,
            household_id=household_id,
            long_term=long_term,
            connected_person=connected_person,
        )
        return str(placement_id)


@pytest.fixture
def visits(client: httpx.AsyncClient, app: FastAPI, auth: Any) -> Visits:
    # A registered manager: these tests are about the record; access is tested in tests/security.
    return Visits(client, app, auth(Role.REGISTERED_MANAGER, subject=WORKER))
