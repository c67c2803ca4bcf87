"""The pure half of a command: who acts, when, and how the events it decides are named.

A decider is a pure function `(rec, state, request) -> events` (or a refusal): it reads the instant
and mints ids only through its `Recorder`, so the same inputs give the same events, in a request
(shared/commanding.CommandContext is a Recorder with the log attached) as in the bench generator."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from shared.auth import Principal, Role
from shared.clock import Clock
from shared.contracts.base import Event
from shared.contracts.deadlines import DeadlineCancelled, DeadlineMet, DeadlineSet
from shared.eventstore import NewEvent, RecordedEvent, reaction_metadata
from shared.settings import Settings

# Event ids derived from an Idempotency-Key are stable across retries, even after a crash.
_EVENT_NAMESPACE = uuid.UUID("6f1c3c1e-8d0a-4e8b-9a51-1f0c6e7d2b40")


@dataclass
class Recorder:
    service: str
    principal: Principal
    clock: Clock
    settings: Settings
    request_id: str = ""
    correlation_id: str = ""
    idempotency_key: str | None = None
    _counter: int = field(default=0, repr=False)

    def now(self) -> datetime:
        return self.clock.now()

    def new_id(self) -> uuid.UUID:
        """A fresh id; deterministic per request when the client sent an Idempotency-Key."""
        self._counter += 1
        if self.idempotency_key is None:
            return uuid.uuid4()
        return uuid.uuid5(_EVENT_NAMESPACE, f"{self.principal.subject}|{self.idempotency_key}|{self._counter}")

    def metadata(self, causation_id: uuid.UUID | None = None, summary: str | None = None) -> dict[str, Any]:
        meta: dict[str, Any] = {**self.principal.actor, "service": self.service}
        if self.request_id:
            meta["request_id"] = self.request_id
            meta["correlation_id"] = self.correlation_id or self.request_id
        if causation_id is not None:
            meta["causation_id"] = str(causation_id)
        if summary:
            meta["summary"] = summary
        return meta

    def event(
        self,
        payload: Event | str,
        data: BaseModel | dict[str, Any] | None = None,
        *,
        occurred_at: datetime | None = None,
        child_ids: Sequence[uuid.UUID] = (),
        causation_id: uuid.UUID | None = None,
        summary: str | None = None,
    ) -> NewEvent:
        """A new event of this command. `summary` is the readable line shown in chronologies."""
        if isinstance(payload, Event):
            event_type, stored, version = payload.event_type, payload.payload(), payload.schema_version
        else:  # a type name and its payload: the form of commands not yet on typed contracts
            event_type, version = payload, 1
            stored = data.model_dump(mode="json") if isinstance(data, BaseModel) else dict(data or {})
        return NewEvent(
            type=event_type,
            data=stored,
            occurred_at=occurred_at or self.now(),
            child_ids=tuple(dict.fromkeys(child_ids)),
            metadata=self.metadata(causation_id, summary),
            event_id=self.new_id(),
            schema_version=version,
        )

    def deadline_set(self, deadline: DeadlineSet, *, causation_id: uuid.UUID | None = None) -> NewEvent:
        return self.event(
            deadline,
            occurred_at=deadline.started_at,
            child_ids=deadline.child_ids,
            causation_id=causation_id,
            summary=f"Clock started: {deadline.description} (due {deadline.due_at:%d %b %Y %H:%M})",
        )

    def deadline_met(
        self, met: DeadlineMet, child_ids: Sequence[uuid.UUID] = (), causation_id: uuid.UUID | None = None
    ) -> NewEvent:
        return self.event(
            met,
            occurred_at=met.met_at,
            child_ids=child_ids,
            causation_id=causation_id,
            summary=f"Clock met: {met.kind}" + (" (late)" if met.late else ""),
        )

    def deadline_cancelled(self, cancelled: DeadlineCancelled, child_ids: Sequence[uuid.UUID] = ()) -> NewEvent:
        return self.event(
            cancelled, child_ids=child_ids, summary=f"Clock stopped: {cancelled.kind} ({cancelled.reason})"
        )


class _At:
    """A clock stopped at one instant."""

    def __init__(self, instant: datetime) -> None:
        self._instant = instant

    def now(self) -> datetime:
        return self._instant


@dataclass
class ReactionRecorder(Recorder):
    """The Recorder a reactor hands a command's decider, so a reaction produces exactly what the
    command produces: its ids derive from the cause (`reaction_id(cause, "<key>-<n>")`, so a repeat
    is a no-op), its instant is when the cause was recorded, its metadata the reaction's (a system
    actor, caused by the cause). Build it with `ReactionRecorder.of(service, cause, settings, key)`."""

    cause_id: uuid.UUID = field(default=uuid.UUID(int=0))
    key: str = ""
    base_metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, service: str, cause: RecordedEvent, settings: Settings, key: str) -> ReactionRecorder:
        system = Principal(subject=f"system:{service}", role=Role.ADMIN)  # never read: metadata is the reaction's
        return cls(
            service=service,
            principal=system,
            clock=_At(cause.recorded_at),
            settings=settings,
            cause_id=cause.event_id,
            key=key,
            base_metadata=reaction_metadata(service, cause),
        )

    def new_id(self) -> uuid.UUID:
        self._counter += 1
        return uuid.uuid5(self.cause_id, f"{self.key}-{self._counter}")

    def metadata(self, causation_id: uuid.UUID | None = None, summary: str | None = None) -> dict[str, Any]:
        meta = dict(self.base_metadata)  # the reaction's actor and correlation
        if causation_id is not None:
            meta["causation_id"] = str(causation_id)
        if summary:
            meta["summary"] = summary
        return meta
