"""`carelog retention run`: destroy the data keys of the records past their retention date and not
held (children, households, staff), record a RecordDestroyed (StaffRecordDestroyed) per subject
with no personal data in it, remove the access log's rows past the agency's policy and those
naming a destroyed child (AccessLogExpired counts them), then rebuild every projection so that no
table keeps a copy of what the log can no longer read."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial

from services.retention import projections as pj
from services.retention import rules
from services.retention.events import (
    AccessLogExpired,
    RecordDestroyed,
    StaffRecordDestroyed,
    SubjectKind,
    access_log_stream,
    retention_stream,
    staff_retention_stream,
)
from shared.calendar import start_of_day
from shared.eventstore import ANY_VERSION, EventStore, NewEvent, Projector, ProjectorRunner, RecordedEvent
from shared.eventstore.shredding import subject_name
from shared.idempotency import forget_answers_naming
from shared.practice import RetentionPractice
from shared.progress import CommandProgress

# Destruction event ids derive from the subject: a run that stopped half-way and runs again
# appends nothing twice.
_DESTROYED = uuid.UUID("a3f7c1d2-6b5e-4c8f-9a0d-2e1f3b4c5d6e")


async def due(store: EventStore, today: date) -> list[pj.RetentionRow]:
    """Every record the run would destroy today: past its date, not held, not destroyed."""
    async with store.acquire() as conn:
        rows = await pj.retention_rows(conn)
    return [r for r in rows if rules.destroyable(r.retain_until, r.held, r.destroyed_on is not None, today)]


def destruction(row: pj.RetentionRow, today: date, actor: str) -> NewEvent:
    """The RecordDestroyed of `row`: what, under which rule and source, when and by whom."""
    assert row.retain_until is not None and row.rule is not None
    destroyed = RecordDestroyed(
        subject_kind=row.kind,
        subject_id=row.subject_id,
        rule=row.rule,
        source=rules.RULES[row.rule].source,
        retain_until=row.retain_until,
        destroyed_on=today,
        destroyed_by=actor,
    )
    rule = rules.RULES[row.rule]
    return NewEvent(
        type=RecordDestroyed.event_type,
        data=destroyed.payload(),
        occurred_at=start_of_day(today),
        child_ids=(row.subject_id,) if row.kind == SubjectKind.CHILD else (),
        metadata={
            "actor_id": actor,
            "actor_role": "system",
            "service": "retention",
            "summary": f"Record destroyed on {today.isoformat()} under {rule.code} ({rule.source})",
        },
        event_id=uuid.uuid5(_DESTROYED, f"{row.kind.value}:{row.subject_id}"),
    )


async def destroy(store: EventStore, row: pj.RetentionRow, today: date, actor: str) -> list[RecordedEvent]:
    """Destroy the subject's key, then record it (a repeat destroys nothing and appends nothing)."""
    assert row.rule is not None
    async with store.acquire() as conn:
        await store.keys.destroy(conn, subject_name(row.kind.value, row.subject_id), today, row.rule)
        # Answers kept for Idempotency-Key retries hold what the commands answered in clear.
        await forget_answers_naming(conn, str(row.subject_id))
    return await store.append(retention_stream(row.kind, row.subject_id), [destruction(row, today, actor)], ANY_VERSION)


@dataclass
class Outcome:
    """What a run destroyed (or, dry, would): records, staff records, rows of the access log."""

    records: list[pj.RetentionRow] = field(default_factory=list)
    staff: list[pj.StaffRetentionRow] = field(default_factory=list)
    access_log: AccessLogExpired | None = None


async def run(
    store: EventStore,
    projectors: Sequence[Projector],
    today: date,
    *,
    actor: str,
    dry_run: bool,
    practice: RetentionPractice | None = None,
    progress: CommandProgress | None = None,
) -> Outcome:
    """Destroy what is due (unless `dry_run`), remove the access log's rows past the agency's
    policy and those naming a destroyed child, and rebuild `projectors`. `progress` shows each
    phase on a terminal (carelog retention run)."""
    practice = practice or RetentionPractice()
    found = Outcome(await due(store, today), await staff_due(store, today, practice.staff_years))
    if dry_run:
        found.access_log = await access_log_expiry(store, today, practice.access_log_years, actor, dry_run=True)
        return found
    steps = [partial(destroy, store, row, today, actor) for row in found.records]
    steps += [partial(destroy_staff, store, worker, today, actor) for worker in found.staff]
    destroyed = progress.phase("destroying keys", total=len(steps)) if progress else None
    for done, step in enumerate(steps, 1):
        await step()
        if destroyed is not None:
            destroyed(done)
    found.access_log = await access_log_expiry(store, today, practice.access_log_years, actor, dry_run=False)
    if found.records or found.staff:
        runner = ProjectorRunner(store.engine, projectors, batch_size=2000)
        await runner.replay(list(projectors), progress=progress.phase("rebuilding projections") if progress else None)
    return found


# ---- staff records (local rule) -----------------------------------------------------------------
async def staff_due(store: EventStore, today: date, years: int) -> list[pj.StaffRetentionRow]:
    async with store.acquire() as conn:
        rows = await pj.staff_rows(conn, years)
    return [r for r in rows if rules.destroyable(r.retain_until, False, r.destroyed_on is not None, today)]


async def destroy_staff(store: EventStore, row: pj.StaffRetentionRow, today: date, actor: str) -> list[RecordedEvent]:
    """Destroy the worker's own key (their training providers, supervision narratives), then record it."""
    async with store.acquire() as conn:
        await store.keys.destroy(conn, subject_name("staff", row.worker_id), today, row.rule)
    destroyed = StaffRecordDestroyed(
        worker_id=row.worker_id,
        rule=row.rule,
        source=row.source,
        retain_until=row.retain_until,
        destroyed_on=today,
        destroyed_by=actor,
    )
    event = NewEvent(
        type=StaffRecordDestroyed.event_type,
        data=destroyed.payload(),
        occurred_at=start_of_day(today),
        metadata={"actor_id": actor, "actor_role": "system", "service": "retention"},
        event_id=uuid.uuid5(_DESTROYED, f"staff:{row.worker_id}"),
    )
    return await store.append(staff_retention_stream(row.worker_id), [event], ANY_VERSION)


# ---- the access log (a table: rows removed, their number recorded) ---------------------------------
_COUNT_EXPIRED = (
    "SELECT count(*) FILTER (WHERE at < $1) AS past_policy, count(*) FILTER (WHERE at >= $1 AND child_id IN "
    "(SELECT substr(subject, 7)::uuid FROM subject_keys WHERE subject LIKE 'child:%' AND wrapped IS NULL)) "
    "AS of_destroyed FROM access_log"
)


async def access_log_expiry(
    store: EventStore, today: date, years: int, actor: str, *, dry_run: bool
) -> AccessLogExpired | None:
    """Remove (through `access_log_expire`, the one way past the table's append-only trigger) the
    reads recorded before the policy's cutoff and those naming a destroyed child; record how many."""
    before = rules.access_log_cutoff(today, years)
    async with store.acquire() as conn:
        statement = _COUNT_EXPIRED if dry_run else "SELECT * FROM access_log_expire($1)"
        counts = await conn.fetchrow(statement, start_of_day(before))
    if not counts["past_policy"] and not counts["of_destroyed"]:
        return None
    rule = rules.ACCESS_LOG_POLICY
    expired = AccessLogExpired(
        rule=rule.code,
        source=rule.source,
        recorded_before=before,
        rows_past_policy=counts["past_policy"],
        rows_of_destroyed_records=counts["of_destroyed"],
        expired_on=today,
        expired_by=actor,
    )
    if not dry_run:
        event = NewEvent(
            type=AccessLogExpired.event_type,
            data=expired.payload(),
            occurred_at=start_of_day(today),
            metadata={"actor_id": actor, "actor_role": "system", "service": "retention"},
        )
        await store.append(access_log_stream(), [event], ANY_VERSION)
    return expired
