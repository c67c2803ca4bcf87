"""carers: read models built from the log, and the reactor that keeps allegation holds in place.

`carers_households` keeps each household's folded state (the same fold as the commands and the
placement check use); `carers_placements` and `carers_allegations` keep one row each. Overdue is
never stored: it is derived at query time from the stored due dates and the injected clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.carers import events as ev
from services.carers.commands import (
    allegation_hold,
    allegation_state,
    incident_agenda,
    needs_recorded,
)
from services.carers.rules import (
    HouseholdState,
    LocalRules,
    caseload_status,
    compliance,
    ending_parts_recorded,
    evolve,
    worker_supervision_due,
)
from shared.eventstore import Batch, NewEvent, Projector, Reactor, RecordedEvent, reaction_metadata

HOUSEHOLD_TYPES = frozenset(
    {
        ev.HOUSEHOLD_REGISTERED,
        ev.MEMBER_ADDED,
        ev.CHECK_RECORDED,
        ev.HOUSEHOLD_APPROVED,
        ev.HOUSEHOLD_REFUSED,
        ev.APPROVAL_ENDED,
        ev.SUPERVISION_RECORDED,
        ev.TRAINING_RECORDED,
        ev.REVIEW_RECORDED,
        ev.HOLD_PLACED,
        ev.HOLD_LIFTED,
        ev.PLACEMENT_STARTED,
        ev.PLACEMENT_ENDED,
        ev.ALLEGATION_RECEIVED,
        ev.LADO_REFERRAL_MADE,
        ev.LADO_WRITTEN_CONFIRMATION_SENT,
        ev.ALLEGATION_OUTCOME_RECORDED,
        ev.SUPERVISION_AGENDA_ITEM_ADDED,
        ev.ENDING_RECORDED,
        "DeadlineSet",
        "DeadlineMet",
        "DeadlineCancelled",
    }
)


def _json(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _household_of(event: RecordedEvent) -> str | None:
    """The household an event changes, or None (another service's deadline, say)."""
    if event.type.startswith("Deadline") and not str(event.data.get("kind", "")).startswith("carers."):
        return None
    value = event.data.get("household_id")
    return str(value) if value else None


class HouseholdsProjector(Projector):
    name = "carers.households"
    tables = ("carers_households", "carers_placements", "carers_allegations")
    types = HOUSEHOLD_TYPES

    async def apply(self, batch: Batch, event: RecordedEvent) -> None:
        household_id = _household_of(event)
        if household_id is None:
            return
        key = ("carers_households", household_id)
        # The fold reads the state it wrote last; within a batch that is the one it kept.
        current = batch.kept(key)
        if current is None:
            row = await batch.first(_HOUSEHOLD_STATE, {"h": household_id}, key)
            current = HouseholdState.model_validate(row.state) if row is not None else None
        state = evolve(
            current,
            event.type,
            event.data,
            stream_id=event.stream_id,
            stream_version=event.stream_version,
            occurred_at=event.occurred_at,
        )
        if state is not None:
            batch.put(_UPSERT_HOUSEHOLD, key, _household_row(household_id, state, event.position))
            batch.keep(key, state)
        if event.stream_id.startswith("placement-") and event.type in (
            ev.PLACEMENT_STARTED,
            ev.PLACEMENT_ENDED,
            ev.ENDING_RECORDED,
        ):
            await self._placement(batch, event)
        if event.stream_id.startswith("allegation-"):
            await self._allegation(batch, event)

    async def _placement(self, batch: Batch, event: RecordedEvent) -> None:
        key = ("carers_placements", str(event.data["placement_id"]))
        if event.type == ev.PLACEMENT_STARTED:
            state = {**event.data, "ended": False, "end_date": None}
        else:
            before = batch.kept(key)
            if before is None:
                row = await batch.first(_PLACEMENT_DATA, {"p": event.data["placement_id"]}, key)
                before = dict(row.data) if row is not None else event.data
            state = {**before, "ended": True}
            if event.type == ev.PLACEMENT_ENDED:
                state.update(
                    end_date=event.data["end_date"],
                    end_reason=event.data["reason"],
                    end_narrative=event.data["narrative"],
                    carer_feelings=event.data.get("carer_feelings"),
                )
            for part in ENDING_FIELDS:
                if event.data.get(part) is not None:
                    state[part] = event.data[part]
            state["ending_recorded"] = ending_parts_recorded(
                child_wishes_contact=state.get("child_wishes_contact"),
                child_wishes=state.get("child_wishes"),
                carer_views=state.get("carer_views") or state.get("carer_feelings"),
                ending_meeting_held=state.get("ending_meeting_held"),
            )
            state["ending_flagged"] = not state["ending_recorded"]
        state["version"] = event.stream_version
        batch.write(
            _UPSERT_PLACEMENT,
            {
                "p": event.data["placement_id"],
                "h": event.data["household_id"],
                "c": event.data["child_id"],
                "s": date.fromisoformat(state.get("start_date") or state["end_date"]),
                "e": date.fromisoformat(state["end_date"]) if state.get("end_date") else None,
                "d": _json(state),
            },
            key,
        )
        # Kept as the stored jsonb would read back, so the next event folds the same value.
        batch.keep(key, orjson.loads(_json(state)))

    async def _allegation(self, batch: Batch, event: RecordedEvent) -> None:
        allegation_id = event.stream_id.removeprefix("allegation-")
        key = ("carers_allegations", allegation_id)
        history = batch.kept(key)
        if history is None:
            row = await batch.first(_ALLEGATION_EVENTS, {"a": allegation_id}, key)
            history = list(row.events) if row is not None else []
        history = [*history, orjson.loads(_json(event.as_json()))]
        replayed = [_recorded(e) for e in history]
        state = allegation_state(replayed)
        state["deadlines"] = {k: v.model_dump(mode="json") for k, v in state["deadlines"].items()}
        batch.write(
            _UPSERT_ALLEGATION,
            {"a": allegation_id, "h": event.data["household_id"], "s": _json(state), "e": _json(history)},
            key,
        )
        batch.keep(key, history)


_HOUSEHOLD_STATE = text("SELECT state FROM carers_households WHERE household_id = :h")
_UPSERT_HOUSEHOLD = text(
    "INSERT INTO carers_households (household_id, name, status, version, state, position) "
    "VALUES (:h, :n, :s, :v, CAST(:st AS jsonb), :p) ON CONFLICT (household_id) DO UPDATE SET "
    "name = EXCLUDED.name, status = EXCLUDED.status, version = EXCLUDED.version, "
    "state = EXCLUDED.state, position = EXCLUDED.position"
)
_PLACEMENT_DATA = text("SELECT data FROM carers_placements WHERE placement_id = :p")
_UPSERT_PLACEMENT = text(
    "INSERT INTO carers_placements (placement_id, household_id, child_id, start_date, end_date, data) "
    "VALUES (:p, :h, :c, :s, :e, CAST(:d AS jsonb)) ON CONFLICT (placement_id) DO UPDATE SET "
    "end_date = EXCLUDED.end_date, data = EXCLUDED.data"
)
_ALLEGATION_EVENTS = text("SELECT events FROM carers_allegations WHERE allegation_id = :a")
_UPSERT_ALLEGATION = text(
    "INSERT INTO carers_allegations (allegation_id, household_id, state, events) "
    "VALUES (:a, :h, CAST(:s AS jsonb), CAST(:e AS jsonb)) ON CONFLICT (allegation_id) DO UPDATE SET "
    "state = EXCLUDED.state, events = EXCLUDED.events"
)


def _household_row(household_id: str, state: HouseholdState, position: int) -> Callable[[], dict[str, Any]]:
    def row() -> dict[str, Any]:
        return {
            "h": household_id,
            "n": state.name,
            "s": state.status.value,
            "v": state.version,
            "st": _json(state.model_dump(mode="json")),
            "p": position,
        }

    return row


ENDING_FIELDS = ("child_wishes_contact", "child_wishes", "carer_views", "ending_meeting_held", "ending_meeting_on")


def _recorded(data: dict[str, Any]) -> RecordedEvent:
    return RecordedEvent(
        position=data["position"],
        event_id=uuid.UUID(data["event_id"]),
        stream_id=data["stream_id"],
        stream_version=data["stream_version"],
        type=data["type"],
        schema_version=data["schema_version"],
        data=data["data"],
        metadata=data["metadata"],
        child_ids=tuple(uuid.UUID(c) for c in data["child_ids"]),
        occurred_at=datetime.fromisoformat(data["occurred_at"]),
        recorded_at=datetime.fromisoformat(data["recorded_at"]),
        prev_hash=data["prev_hash"],
        hash=data["hash"],
    )


class AllegationHoldReactor(Reactor):
    """Every allegation puts its household on hold. The command appends the hold itself; this
    repairs a crash between its two appends (same event id, so a repeat is a no-op)."""

    name = "carers.allegation_holds"
    types = frozenset({ev.ALLEGATION_RECEIVED})

    async def apply(self, batch: Batch, event: RecordedEvent) -> None:
        return None

    async def react(self, conn: AsyncConnection, event: RecordedEvent) -> Sequence[tuple[str, Sequence[NewEvent]]]:
        hold = allegation_hold(event, reaction_metadata("carers", event))
        return [(f"household-{event.data['household_id']}", [hold])]


class IncidentAgendaReactor(Reactor):
    """Follows the child's record: a behavioural incident in a household (carer assaulted, damage,
    police called) goes on the agenda of the household's next supervision, with its clock."""

    name = "carers.incident_agenda"
    types = frozenset({ev.INCIDENT_RECORDED})

    async def apply(self, batch: Batch, event: RecordedEvent) -> None:
        return None

    async def react(self, conn: AsyncConnection, event: RecordedEvent) -> Sequence[tuple[str, Sequence[NewEvent]]]:
        return await incident_agenda(conn, event, reaction_metadata("carers", event))


class ChildNeedsReactor(Reactor):
    """Follows the child's record: needs recorded for a placed child start training clocks for
    carers who lack the courses those needs call for (matching)."""

    name = "carers.child_needs"
    types = frozenset({ev.CHILD_NEEDS_RECORDED})

    async def apply(self, batch: Batch, event: RecordedEvent) -> None:
        return None

    async def react(self, conn: AsyncConnection, event: RecordedEvent) -> Sequence[tuple[str, Sequence[NewEvent]]]:
        return await needs_recorded(conn, event, reaction_metadata("carers", event))


class CaseloadsProjector(Projector):
    """Who is allocated to which child and household, and when each worker was last supervised."""

    name = "carers.caseloads"
    tables = ("carers_caseloads", "carers_workers")
    types = frozenset(
        {
            ev.CHILD_REGISTERED,
            ev.HOUSEHOLD_REGISTERED,
            ev.WORKER_ALLOCATED,
            ev.ALLOCATION_ENDED,
            ev.WORKER_SUPERVISION_RECORDED,
        }
    )

    async def apply(self, batch: Batch, event: RecordedEvent) -> None:
        data = event.data
        if event.type == ev.WORKER_SUPERVISION_RECORDED:
            batch.write(
                _WORKER_SUPERVISED,
                {"w": data["worker_id"], "at": datetime.fromisoformat(data["occurred_at"])},
                ("carers_workers", data["worker_id"]),
            )
            return
        if event.type == ev.CHILD_REGISTERED:
            worker, kind, object_id = data.get("social_worker_id"), "child", data.get("child_id")
        elif event.type == ev.HOUSEHOLD_REGISTERED:
            worker, kind, object_id = data.get("supervising_social_worker_id"), "household", data.get("household_id")
        else:
            if data.get("role") == "lado":
                return  # the LADO's involvement is not a caseload
            worker = data.get("worker_id")
            kind = "child" if data.get("child_id") else "household"
            object_id = data.get("child_id") or data.get("household_id")
        if not worker or not object_id:
            return
        params = {"w": worker, "k": kind, "o": object_id, "at": event.occurred_at}
        allocation = ("carers_caseloads", worker, kind, str(object_id))
        if event.type == ev.ALLOCATION_ENDED:
            batch.write(_DEALLOCATE, params, allocation)
            return
        batch.write(_ALLOCATE, params, allocation)
        batch.write(_WORKER_ALLOCATED, params, ("carers_workers", worker))


_WORKER_SUPERVISED = text(
    "INSERT INTO carers_workers (worker_id, last_supervised_at, supervisions) VALUES (:w, :at, 1) "
    "ON CONFLICT (worker_id) DO UPDATE SET supervisions = carers_workers.supervisions + 1, "
    "last_supervised_at = GREATEST(carers_workers.last_supervised_at, EXCLUDED.last_supervised_at)"
)
_DEALLOCATE = text("DELETE FROM carers_caseloads WHERE worker_id = :w AND kind = :k AND object_id = :o")
_ALLOCATE = text(
    "INSERT INTO carers_caseloads (worker_id, kind, object_id, since) VALUES (:w, :k, :o, :at) ON CONFLICT DO NOTHING"
)
_WORKER_ALLOCATED = text(
    "INSERT INTO carers_workers (worker_id, first_allocated_at) VALUES (:w, :at) "
    "ON CONFLICT (worker_id) DO UPDATE SET first_allocated_at = "
    "LEAST(COALESCE(carers_workers.first_allocated_at, EXCLUDED.first_allocated_at), EXCLUDED.first_allocated_at)"
)


PROJECTORS: list[Projector] = [
    HouseholdsProjector(),
    AllegationHoldReactor(),
    IncidentAgendaReactor(),
    ChildNeedsReactor(),
    CaseloadsProjector(),
]


# ---- queries ---------------------------------------------------------------------------------
async def household(conn: AsyncConnection, household_id: uuid.UUID) -> HouseholdState | None:
    row = (
        await conn.execute(text("SELECT state FROM carers_households WHERE household_id = :h"), {"h": household_id})
    ).first()
    return HouseholdState.model_validate(row.state) if row is not None else None


async def placements_of(conn: AsyncConnection, household_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.execute(
        text("SELECT data FROM carers_placements WHERE household_id = :h ORDER BY start_date, placement_id"),
        {"h": household_id},
    )
    return [dict(r.data) for r in rows]


async def placement(conn: AsyncConnection, placement_id: uuid.UUID) -> dict[str, Any] | None:
    row = (
        await conn.execute(text("SELECT data FROM carers_placements WHERE placement_id = :p"), {"p": placement_id})
    ).first()
    return dict(row.data) if row is not None else None


async def allegation(conn: AsyncConnection, allegation_id: uuid.UUID) -> dict[str, Any] | None:
    row = (
        await conn.execute(text("SELECT state FROM carers_allegations WHERE allegation_id = :a"), {"a": allegation_id})
    ).first()
    return dict(row.state) if row is not None else None


async def overdue_households(conn: AsyncConnection, now: datetime, local: LocalRules) -> list[dict[str, Any]]:
    """Every household with anything overdue at `now` (the agency's view)."""
    out = []
    for row in await conn.execute(text("SELECT state FROM carers_households ORDER BY name, household_id")):
        report = compliance(HouseholdState.model_validate(row.state), now, local)
        if report["overdue_count"]:
            out.append(
                {
                    "household_id": report["household_id"],
                    "name": report["name"],
                    "status": report["status"],
                    "on_hold": report["on_hold"],
                    "overdue_count": report["overdue_count"],
                    "overdue": report["overdue"],
                }
            )
    return out


async def caseloads(
    conn: AsyncConnection, now: datetime, local: LocalRules, worker_id: str | None = None
) -> list[dict[str, Any]]:
    """Per worker: children and households allocated against the targets (local), and whether the
    worker's own supervision is overdue at `now`."""
    where = "WHERE worker_id = :w" if worker_id else ""
    allocated: dict[str, dict[str, list[str]]] = {}
    for row in await conn.execute(
        text(f"SELECT worker_id, kind, object_id FROM carers_caseloads {where} ORDER BY worker_id, since, object_id"),
        {"w": worker_id},
    ):
        mine = allocated.setdefault(row.worker_id, {"child": [], "household": []})
        mine[row.kind].append(str(row.object_id))
    workers = {
        r.worker_id: r
        for r in await conn.execute(
            text(f"SELECT worker_id, first_allocated_at, last_supervised_at, supervisions FROM carers_workers {where}"),
            {"w": worker_id},
        )
    }
    out = []
    for worker in sorted(set(allocated) | set(workers)):
        mine = allocated.get(worker, {"child": [], "household": []})
        row = workers.get(worker)
        last = row.last_supervised_at if row is not None else None
        first = row.first_allocated_at if row is not None else None
        due = worker_supervision_due(last, first, local)
        out.append(
            {
                "worker_id": worker,
                **caseload_status(len(mine["child"]), len(mine["household"]), local),
                "child_ids": mine["child"],
                "household_ids": mine["household"],
                "supervision": {
                    "last_supervised_at": last.isoformat() if last else None,
                    "supervisions": row.supervisions if row is not None else 0,
                    "due_at": due.isoformat() if due else None,
                    "overdue": due is not None and due < now,
                },
            }
        )
    return out
