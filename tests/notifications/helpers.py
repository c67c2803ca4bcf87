"""Helpers for the notifications tests: a real HTTP receiver on 127.0.0.1, source events of the
other services appended straight to the log, and subscriptions through the API."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import httpx
import orjson
import uvicorn
from fastapi import FastAPI

from shared.eventstore import NewEvent, RecordedEvent


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver: records every request; answers `status` (per path if set in `statuses`)."""

    status: int = 200
    statuses: dict[str, int] = field(default_factory=dict)
    hang: bool = False
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append(Received(scope["path"], headers, body))
        self.arrived.set()
        if self.hang:
            await self.release.wait()
        status = self.statuses.get(scope["path"], self.status)
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self, lifespan="off", log_level="warning", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:  # noqa: ASYNC110  (uvicorn exposes a flag, not an event)
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self.release.set()
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                await self._task
        self._server = None
        self._task = None

    def on(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]


async def eventually(
    predicate: Callable[[], Awaitable[bool]] | Callable[[], bool],
    timeout: float = 10.0,  # noqa: ASYNC109
    interval: float = 0.05,
) -> None:
    """Wait until `predicate()` (sync or async) is true; fail after `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                result = predicate()
                if asyncio.iscoroutine(result):
                    result = await result
                if result:
                    return
                await asyncio.sleep(interval)
    except TimeoutError:
        raise AssertionError("condition not reached in time") from None


def lifespan(application: FastAPI) -> Any:
    """The app's own lifespan (start projectors and workers; stop them on exit)."""
    return application.router.lifespan_context(application)


# ---- other services' events, appended straight to the log ------------------------------------
def _meta(service: str, summary: str) -> dict[str, Any]:
    return {"actor_id": f"test-{service}", "actor_role": "registered_manager", "service": service, "summary": summary}


async def append(
    app: FastAPI,
    stream: str,
    type_: str,
    data: dict[str, Any],
    *,
    occurred_at: datetime,
    child_ids: list[uuid.UUID] | tuple[uuid.UUID, ...] = (),
) -> RecordedEvent:
    payload = orjson.loads(orjson.dumps(data, default=str))
    recorded = await app.state.store.append(
        stream,
        [
            NewEvent(
                type=type_,
                data=payload,
                occurred_at=occurred_at,
                child_ids=tuple(child_ids),
                metadata=_meta(type_.split(".")[0], type_),
            )
        ],
    )
    return recorded[0]


async def end_placement(
    app: FastAPI, placement_id: uuid.UUID, child_id: uuid.UUID, household_id: uuid.UUID, at: datetime, end: date
) -> None:
    await append(
        app,
        f"placement-{placement_id}",
        "carers.PlacementEnded",
        {
            "placement_id": placement_id,
            "child_id": child_id,
            "household_id": household_id,
            "end_date": end.isoformat(),
            "reason": "planned move",
            "narrative": "Moved to a long-term placement.",
        },
        occurred_at=at,
        child_ids=[child_id],
    )


async def incident(
    app: FastAPI,
    child_id: uuid.UUID,
    at: datetime,
    category: str,
    *,
    needed_hospital_treatment: bool = False,
    police_called: bool = False,
    household_id: uuid.UUID | None = None,
) -> RecordedEvent:
    incident_id = uuid.uuid4()
    return await append(
        app,
        f"child-{child_id}",
        "visits.IncidentRecorded",
        {
            "incident_id": incident_id,
            "child_id": child_id,
            "category": category,
            "occurred_at": at.isoformat(),
            "narrative": f"Test incident: {category}",
            "needed_hospital_treatment": needed_hospital_treatment,
            "police_called": police_called,
            "household_id": household_id,
        },
        occurred_at=at,
        child_ids=[child_id],
    )


async def complaint(
    app: FastAPI,
    child_id: uuid.UUID,
    at: datetime,
    *,
    made_by: str = "child",
    about_household_id: uuid.UUID | None = None,
    serious: bool = True,
    schedule7_row9: bool = False,
    lado_consultation: bool = False,
) -> RecordedEvent:
    complaint_id = uuid.uuid4()
    return await append(
        app,
        f"complaint-{complaint_id}",
        "visits.ComplaintReceived",
        {
            "complaint_id": complaint_id,
            "child_id": child_id,
            "received_at": at.isoformat(),
            "made_by": made_by,
            "about_household_id": about_household_id,
            "summary": "The child says the carer shouts at them.",
            "serious": serious,
            "schedule7_row9": schedule7_row9,
            "lado_consultation": lado_consultation,
        },
        occurred_at=at,
        child_ids=[child_id],
    )


async def allegation(
    app: FastAPI, household_id: uuid.UUID, child_ids: list[uuid.UUID], at: datetime
) -> tuple[uuid.UUID, RecordedEvent]:
    allegation_id = uuid.uuid4()
    event = await append(
        app,
        f"allegation-{allegation_id}",
        "carers.AllegationReceived",
        {
            "allegation_id": allegation_id,
            "household_id": household_id,
            "child_ids": child_ids,
            "received_at": at.isoformat(),
            "summary": "Allegation of physical harm by a carer.",
        },
        occurred_at=at,
        child_ids=child_ids,
    )
    return allegation_id, event


async def allegation_outcome(
    app: FastAPI,
    allegation_id: uuid.UUID,
    household_id: uuid.UUID,
    child_ids: list[uuid.UUID],
    at: datetime,
    *,
    dbs_referral_made: bool,
) -> RecordedEvent:
    return await append(
        app,
        f"allegation-{allegation_id}",
        "carers.AllegationOutcomeRecorded",
        {
            "allegation_id": allegation_id,
            "household_id": household_id,
            "outcome": "substantiated",
            "dbs_referral_made": dbs_referral_made,
            "decided_at": at.isoformat(),
        },
        occurred_at=at,
        child_ids=child_ids,
    )


async def deadline_set(
    app: FastAPI,
    child_id: uuid.UUID,
    started_at: datetime,
    due_at: datetime,
    *,
    kind: str = "visits.visit_after_incident",
    escalate_to: str = "registered_manager",
) -> uuid.UUID:
    deadline_id = uuid.uuid4()
    await append(
        app,
        f"child-{child_id}",
        "DeadlineSet",
        {
            "deadline_id": deadline_id,
            "kind": kind,
            "subject": f"child-{child_id}",
            "child_ids": [child_id],
            "household_id": None,
            "started_at": started_at.isoformat(),
            "due_at": due_at.isoformat(),
            "escalate_to": escalate_to,
            "description": "Visit after a serious incident",
            "source": "Ofsted finding; NCT practice",
        },
        occurred_at=started_at,
        child_ids=[child_id],
    )
    return deadline_id


async def deadline_met(app: FastAPI, child_id: uuid.UUID, deadline_id: uuid.UUID, at: datetime) -> None:
    await append(
        app,
        f"child-{child_id}",
        "DeadlineMet",
        {"deadline_id": deadline_id, "kind": "visits.visit_after_incident", "met_at": at.isoformat(), "late": True},
        occurred_at=at,
        child_ids=[child_id],
    )


# ---- subscriptions through the API -----------------------------------------------------------
class Subscriptions:
    """Creates subscriptions through the API and disables them all at the end of the test, so the
    session's shared log does not keep sending to receivers that are gone."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers
        self.created: list[str] = []

    async def add(
        self,
        url: str,
        recipient: str,
        *,
        placing_authority: str | None = None,
        event_types: list[str] | None = None,
        local_authority: str | None = None,
    ) -> tuple[str, str]:
        body: dict[str, Any] = {"url": url, "recipient": recipient}
        if placing_authority is not None:
            body["placing_authority"] = placing_authority
        if local_authority is not None:
            body["local_authority"] = local_authority
        if event_types is not None:
            body["event_types"] = event_types
        response = await self.client.post("/v1/subscriptions", json=body, headers=self.headers)
        assert response.status_code == 201, response.text
        data = response.json()
        self.created.append(data["subscription_id"])
        return data["subscription_id"], data["secret"]

    async def close(self) -> None:
        for sid in self.created:
            await self.client.post(f"/v1/subscriptions/{sid}/disable", json={}, headers=self.headers)
