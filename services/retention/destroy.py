"""`carelog retention run`: destroy the data keys of the records past their retention date and not
held, record a RecordDestroyed per subject (no personal data in it), then rebuild every projection
so that no table keeps a copy of what the log can no longer read."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from services.retention import projections as pj
from services.retention import rules
from services.retention.events import RecordDestroyed, SubjectKind, retention_stream
from shared.calendar import start_of_day
from shared.eventstore import ANY_VERSION, EventStore, NewEvent, Projector, ProjectorRunner, RecordedEvent
from shared.eventstore.shredding import subject_name
from shared.idempotency import forget_answers_naming
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


async def run(
    store: EventStore,
    projectors: Sequence[Projector],
    today: date,
    *,
    actor: str,
    dry_run: bool,
    progress: CommandProgress | None = None,
) -> list[pj.RetentionRow]:
    """Destroy what is due (unless `dry_run`) and rebuild `projectors`; what was (or would be)
    destroyed. `progress` shows each phase on a terminal (carelog retention run)."""
    found = await due(store, today)
    if dry_run or not found:
        return found
    destroyed = progress.phase("destroying keys", total=len(found)) if progress else None
    for done, row in enumerate(found, 1):
        await destroy(store, row, today, actor)
        if destroyed is not None:
            destroyed(done)
    runner = ProjectorRunner(store.engine, projectors, batch_size=2000)
    await runner.replay(list(projectors), progress=progress.phase("rebuilding projections") if progress else None)
    return found
