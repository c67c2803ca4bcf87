"""Assembling exports and reports from the log (read-only: this service appends nothing).

Everything here reads the `events` table only, narrowed by `recorded_at <= as_of`, so the same
question asked of the same instant gives the same answer for ever.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import rfc8785
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.investigations import events as ev
from services.investigations import rules
from shared.problems import Problem

# Appends hold the head lock for milliseconds; an instant older than this is settled for ever.
SETTLE_MARGIN = timedelta(seconds=60)
LATE_ENTRIES_LISTED = 200


class InvestigationsSettings(BaseSettings):
    """Local practice for reports (CARELOG_ prefix, like the rest of the settings)."""

    model_config = SettingsConfigDict(env_prefix="CARELOG_", extra="ignore")

    # Days after a month's end during which late entries still count in its official figures.
    kpi_close_days: float = 5.0
    # An entry recorded this long after it occurred is marked late in exports (as in chronologies).
    late_entry_hours: float = 24.0


def settings_from(app_settings: Any | None = None) -> InvestigationsSettings:
    own = InvestigationsSettings()
    if app_settings is not None:
        for name in ("kpi_close_days", "late_entry_hours"):
            value = getattr(app_settings, name, None)
            if value is not None:
                setattr(own, name, value)
    return own


def canonical(document: Any) -> bytes:
    """RFC 8785 canonical JSON: the same report is the same bytes."""
    return rfc8785.dumps(document)


# ---- reading the log ---------------------------------------------------------------------------
def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _dt(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


async def _head_recorded_at(conn: AsyncConnection) -> datetime | None:
    return (await conn.execute(text("SELECT recorded_at FROM events_head WHERE id"))).scalar_one_or_none()


async def _anchor(conn: AsyncConnection, as_of: datetime) -> dict[str, Any]:
    """The last event included as of `as_of` (recorded_at never decreases along the log)."""
    row = (
        await conn.execute(
            text("SELECT position, hash FROM events WHERE recorded_at <= :t ORDER BY position DESC LIMIT 1"),
            {"t": as_of},
        )
    ).first()
    return {"position": int(row.position), "hash": row.hash} if row else {"position": 0, "hash": None}


async def load_facts(conn: AsyncConnection, as_of: datetime) -> rules.Facts:
    """Every fact the KPIs need, as recorded by `as_of`, each with its own recorded_at."""
    result = await conn.execute(
        text(
            "SELECT type, data, occurred_at, recorded_at FROM events "
            "WHERE type = ANY(:types) AND recorded_at <= :t ORDER BY position"
        ),
        {"types": list(ev.KPI_SOURCE_TYPES), "t": as_of},
    )
    children: list[rules.Child] = []
    households: list[rules.Household] = []
    allocations: list[rules.Allocation] = []
    placements: dict[str, rules.Placement] = {}
    visits: list[rules.Visit] = []
    supervisions: list[rules.Supervision] = []
    holds: dict[str, rules.Hold] = {}
    deadlines: dict[str, rules.Deadline] = {}
    notifications: dict[str, rules.Notification] = {}
    escalations: list[rules.Escalation] = []
    ended: dict[str, tuple[date, datetime]] = {}
    lifted: dict[str, tuple[datetime, datetime]] = {}
    met: dict[str, tuple[datetime, datetime]] = {}
    cancelled: dict[str, tuple[datetime, datetime]] = {}
    sent: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for row in result:
        t, d, rec = row.type, _json(row.data), row.recorded_at
        if t == ev.CHILD_REGISTERED:
            children.append(rules.Child(str(d["child_id"]), d.get("name", ""), d.get("social_worker_id"), rec))
        elif t == ev.HOUSEHOLD_REGISTERED:
            households.append(
                rules.Household(str(d["household_id"]), d.get("name", ""), d.get("supervising_social_worker_id"), rec)
            )
        elif t in (ev.WORKER_ALLOCATED, ev.ALLOCATION_ENDED):
            subject = d.get("child_id") or d.get("household_id")
            if subject:
                allocations.append(
                    rules.Allocation(
                        str(subject), d["worker_id"], d.get("role", ""), row.occurred_at, t == ev.ALLOCATION_ENDED, rec
                    )
                )
        elif t == ev.PLACEMENT_STARTED:
            pid = str(d["placement_id"])
            placements[pid] = rules.Placement(
                pid, str(d["child_id"]), str(d["household_id"]), _day(d["start_date"]), rec
            )
        elif t == ev.PLACEMENT_ENDED:
            ended.setdefault(str(d["placement_id"]), (_day(d["end_date"]), rec))
        elif t == ev.VISIT_RECORDED:
            visits.append(
                rules.Visit(
                    child_id=str(d["child_id"]),
                    visitor_id=d.get("visitor_id") or "unknown",
                    visitor_role=d.get("visitor_role") or "",
                    occurred_at=_dt(d["occurred_at"]),
                    child_seen=bool(d.get("child_seen")),
                    seen_alone=bool(d.get("seen_alone")),
                    views_recorded=bool((d.get("child_views") or "").strip()),
                    recorded_at=rec,
                    household_id=d.get("household_id"),
                )
            )
        elif t == ev.SUPERVISION_RECORDED:
            supervisions.append(
                rules.Supervision(str(d["household_id"]), _dt(d["occurred_at"]), bool(d.get("unannounced")), rec)
            )
        elif t == ev.HOLD_PLACED:
            hid = str(d["hold_id"])
            holds[hid] = rules.Hold(hid, str(d["household_id"]), _dt(d.get("placed_at") or row.occurred_at), rec)
        elif t == ev.HOLD_LIFTED:
            lifted.setdefault(str(d["hold_id"]), (_dt(d.get("lifted_at") or row.occurred_at), rec))
        elif t == ev.DEADLINE_SET:
            did = str(d["deadline_id"])
            deadlines[did] = rules.Deadline(
                deadline_id=did,
                kind=d.get("kind", ""),
                subject=d.get("subject", ""),
                started_at=_dt(d.get("started_at") or row.occurred_at),
                due_at=_dt(d["due_at"]),
                recorded_at=rec,
                household_id=str(d["household_id"]) if d.get("household_id") else None,
            )
        elif t == ev.DEADLINE_MET:
            met.setdefault(str(d["deadline_id"]), (_dt(d.get("met_at") or row.occurred_at), rec))
        elif t == ev.DEADLINE_CANCELLED:
            cancelled.setdefault(str(d["deadline_id"]), (row.occurred_at, rec))
        elif t == ev.NOTIFICATION_RAISED:
            nid = str(d["notification_id"])
            notifications[nid] = rules.Notification(nid, d.get("rule_set", ""), _dt(d["due_by"]), row.occurred_at, rec)
        elif t == ev.DELIVERY_ATTEMPTED:
            if d.get("outcome") == "delivered" and d.get("notification_id"):
                sent[str(d["notification_id"])].append((_dt(d["attempted_at"]), rec))
        elif t == ev.NOTIFICATION_ACKNOWLEDGED:
            sent[str(d["notification_id"])].append((_dt(d.get("acknowledged_at") or row.occurred_at), rec))
        elif t == ev.ESCALATION_RAISED:
            escalations.append(
                rules.Escalation(
                    str(d["escalation_id"]), _dt(d.get("raised_at") or row.occurred_at), d.get("deadline_kind"), rec
                )
            )
    return rules.Facts(
        children=tuple(children),
        households=tuple(households),
        allocations=tuple(allocations),
        placements=tuple(
            replace(p, end=ended[k][0], end_recorded_at=ended[k][1]) if k in ended else p for k, p in placements.items()
        ),
        visits=tuple(visits),
        supervisions=tuple(supervisions),
        holds=tuple(
            replace(h, lifted_at=lifted[k][0], lifted_recorded_at=lifted[k][1]) if k in lifted else h
            for k, h in holds.items()
        ),
        deadlines=tuple(
            replace(
                dl,
                met_at=met[k][0] if k in met else None,
                met_recorded_at=met[k][1] if k in met else None,
                cancelled_at=cancelled[k][0] if k in cancelled else None,
                cancelled_recorded_at=cancelled[k][1] if k in cancelled else None,
            )
            for k, dl in deadlines.items()
        ),
        notifications=tuple(replace(n, sent=tuple(sent.get(k, ()))) for k, n in notifications.items()),
        escalations=tuple(escalations),
    )


# ---- the monthly KPI report --------------------------------------------------------------------
async def resolve(
    conn: AsyncConnection, month: str, as_of: datetime | None, close_days: float, now: datetime
) -> tuple[datetime, bool, datetime]:
    """(as_of, provisional, close) for a report of `month`, `now` by the agency's clock."""
    close = rules.month_close(month, close_days)
    head_recorded_at = await _head_recorded_at(conn)
    settled = max(now - SETTLE_MARGIN, head_recorded_at) if head_recorded_at else now - SETTLE_MARGIN
    resolved, provisional = rules.resolve_as_of(as_of, close, settled, head_recorded_at)
    return resolved, provisional, close


def _validate(month: str, as_of: datetime | None) -> None:
    try:
        rules.parse_month(month)
    except ValueError as exc:
        raise Problem("validation", str(exc)) from exc
    if as_of is not None and as_of.tzinfo is None:
        raise Problem("validation", "as_of needs a time zone, e.g. 2026-11-25T12:00:00Z.")


async def kpi_report(
    engine: AsyncEngine, month: str, *, now: datetime, as_of: datetime | None = None, close_days: float = 5.0
) -> dict[str, Any]:
    """The KPIs of `month` as the log stood at `as_of` (default: the month's close)."""
    _validate(month, as_of)
    async with engine.connect() as conn:
        resolved, provisional, close = await resolve(conn, month, as_of, close_days, now)
        anchor = await _anchor(conn, resolved)
        facts = await load_facts(conn, resolved)
        late = await _late_entries(conn, month, close, resolved) if resolved > close else None
    return assemble_report(facts, month, resolved, provisional, close, anchor, late, close_days)


def assemble_report(
    facts: rules.Facts,
    month: str,
    as_of: datetime,
    provisional: bool,
    close: datetime,
    anchor: dict[str, Any],
    late: dict[str, Any] | None,
    close_days: float,
) -> dict[str, Any]:
    start, end = rules.month_bounds(month)
    figures = rules.compute_month(facts, month, min(end, as_of))
    months = [rules.shift_month(month, -k) for k in range(rules.CONSECUTIVE_MONTHS_FOR_FAILURE - 1, 0, -1)]
    history: dict[str, list[bool | None]] = defaultdict(list)
    for earlier in months:
        outcome = rules.kpi_outcomes(rules.compute_month(facts, earlier, min(rules.month_bounds(earlier)[1], as_of)))
        for key, value in outcome.items():
            history[key].append(value)
    for key, value in rules.kpi_outcomes(figures).items():
        history[key].append(value)
    report: dict[str, Any] = {
        "report": "carelog monthly KPIs (DOMAIN.md §4)",
        "month": month,
        "period": {"start": rules.iso(start), "end": rules.iso(end)},
        "close": rules.iso(close),
        "close_days": close_days,
        "as_of": rules.iso(as_of),
        "provisional": provisional,
        "official": not provisional and as_of == close,
        "log": anchor,
        **{k: v for k, v in figures.items() if k != "month"},
        "performance": {
            "months": [*months, month],
            "outside_tolerance": {k: [v is False for v in seq] for k, seq in sorted(history.items())},
            "failures": rules.performance_failures(history),
            "rule": "a KPI outside tolerance for 3 consecutive months is a performance failure",
        },
        "late_entries": None,
    }
    if late is not None:
        baseline = rules.compute_month(facts.known_at(close), month, min(end, close))
        late["changed"] = rules.changed_figures(baseline, figures)
        report["late_entries"] = late
    if provisional:
        report["note"] = (
            f"Provisional: the month closes at {rules.iso(close)}; entries recorded until then may change it."
        )
    return report


async def _late_entries(conn: AsyncConnection, month: str, close: datetime, as_of: datetime) -> dict[str, Any]:
    """Entries about the month recorded after its close (and by `as_of`): why a later report differs."""
    start, end = rules.month_bounds(month)
    rows = list(
        await conn.execute(
            text(
                "SELECT position, event_id, type, occurred_at, recorded_at, metadata->>'summary' AS summary "
                "FROM events WHERE occurred_at >= :s AND occurred_at < :e AND recorded_at > :c "
                "AND recorded_at <= :t ORDER BY position"
            ),
            {"s": start, "e": end, "c": close, "t": as_of},
        )
    )
    by_type = Counter(r.type for r in rows)
    return {
        "explanation": (
            f"{len(rows)} entries occurring in {month} were recorded after its close ({rules.iso(close)}) and "
            f"by {rules.iso(as_of)}; they are included here, so figures may differ from the official report."
        ),
        "baseline_as_of": rules.iso(close),
        "count": len(rows),
        "by_type": dict(sorted(by_type.items())),
        "entries": [
            {
                "position": int(r.position),
                "event_id": str(r.event_id),
                "type": r.type,
                "occurred_at": rules.iso(r.occurred_at),
                "recorded_at": rules.iso(r.recorded_at),
                "summary": r.summary,
            }
            for r in rows[:LATE_ENTRIES_LISTED]
        ],
        "listed": min(len(rows), LATE_ENTRIES_LISTED),
    }


async def kpi_series(
    engine: AsyncEngine, months: list[str], *, now: datetime, close_days: float = 5.0
) -> list[dict[str, Any]]:
    """Each month's official (or provisional) figures, reading the log once."""
    async with engine.connect() as conn:
        resolved = [await resolve(conn, m, None, close_days, now) for m in months]
        latest = max((r[0] for r in resolved), default=None)
        facts = await load_facts(conn, latest) if latest else rules.Facts()
        anchors = [await _anchor(conn, r[0]) for r in resolved]
    return [
        assemble_report(facts.known_at(as_of), m, as_of, provisional, close, anchor, None, close_days)
        for m, (as_of, provisional, close), anchor in zip(months, resolved, anchors, strict=True)
    ]


# ---- the subject-access export -----------------------------------------------------------------
async def child_export(
    engine: AsyncEngine, child_id: uuid.UUID, *, as_of: datetime | None = None, late_entry_hours: float = 24.0
) -> dict[str, Any]:
    """The child's whole record: every event whose child_ids include the child, in order."""
    if as_of is not None and as_of.tzinfo is None:
        raise Problem("validation", "as_of needs a time zone, e.g. 2026-11-25T12:00:00Z.")
    sql = (
        "SELECT position, event_id, stream_id, stream_version, type, schema_version, data, metadata, child_ids, "
        "occurred_at, recorded_at, hash FROM events WHERE child_ids @> ARRAY[CAST(:c AS uuid)]"
    )
    params: dict[str, Any] = {"c": str(child_id)}
    if as_of is not None:
        sql += " AND recorded_at <= :t"
        params["t"] = as_of
    sql += " ORDER BY occurred_at, position"
    async with engine.connect() as conn:
        rows = list(await conn.execute(text(sql), params))
        head = int((await conn.execute(text("SELECT position FROM events_head WHERE id"))).scalar_one())
    if not rows:
        raise Problem("not-found", f"No record of child {child_id}.")
    me = str(child_id)
    late_after = timedelta(hours=late_entry_hours)
    amendments: dict[str, list[dict[str, Any]]] = defaultdict(list)
    child: dict[str, Any] = {"child_id": me}
    for r in rows:
        data = _json(r.data)
        if r.type == ev.ENTRY_AMENDED:
            amendments[str(data.get("amends_event_id"))].append(
                {
                    "event_id": str(r.event_id),
                    "position": int(r.position),
                    "recorded_at": rules.iso(r.recorded_at),
                    "by": _json(r.metadata).get("actor_id"),
                    "reason": data.get("reason"),
                    "correction": data.get("correction"),
                }
            )
        elif r.type == ev.CHILD_REGISTERED and str(data.get("child_id")) == me:
            child.update({k: v for k, v in data.items() if k != "child_id"})
    entries = []
    years: dict[str, int] = defaultdict(int)
    for r in rows:
        data, metadata = _json(r.data), _json(r.metadata)
        child_ids = [str(c) for c in r.child_ids or ()]
        flags = rules.redaction_flags(r.type, data, child_ids, me)
        year = rules.year_of(r.occurred_at)
        years[str(year)] += 1
        entry: dict[str, Any] = {
            "position": int(r.position),
            "event_id": str(r.event_id),
            "stream_id": r.stream_id,
            "stream_version": int(r.stream_version),
            "type": r.type,
            "schema_version": int(r.schema_version),
            "occurred_at": rules.iso(r.occurred_at),
            "recorded_at": rules.iso(r.recorded_at),
            "year": year,
            "late": r.recorded_at - r.occurred_at > late_after,
            "summary": metadata.get("summary") or r.type,
            "recorded_by": {"actor_id": metadata.get("actor_id"), "role": metadata.get("actor_role")},
            "service": metadata.get("service"),
            "child_ids": child_ids,
            "data": data,
            "hash": r.hash,
            "amendments": amendments.get(str(r.event_id), []),
            "redaction_review": flags,
        }
        if r.type == ev.ENTRY_AMENDED:
            entry["amends_event_id"] = str(data.get("amends_event_id"))
        entries.append(entry)
    return {
        "export": "subject access request: the child's whole record",
        "child": child,
        "as_of": rules.iso(as_of) if as_of else None,
        "log_head": head,
        "counts": {
            "entries": len(entries),
            "amended_entries": sum(1 for e in entries if e["amendments"]),
            "amendments": sum(1 for e in entries if e["type"] == ev.ENTRY_AMENDED),
            "for_redaction_review": sum(1 for e in entries if e["redaction_review"]),
            "late_entries": sum(1 for e in entries if e["late"]),
        },
        "years": dict(sorted(years.items())),
        "redaction_note": (
            "Entries under `redaction_review` contain or may contain information about other people "
            "(other children, carers, complainants, adults subject to allegations). Review them before "
            "disclosure (UK GDPR Art. 15(4), DPA 2018 Sch. 2 para 16)."
        ),
        "entries": entries,
    }
