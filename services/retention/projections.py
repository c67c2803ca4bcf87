"""retention_subjects: the facts each record's retention turns on (the 18th and 75th birthdays
derived from a child's date of birth while it can be read, and the date of death; a household's
approval, refusal and allegations), its holds and its destruction; retention_staff: each worker's
last record. The date each record may be destroyed is computed from them by the rules at query
time; a destroyed record keeps the date it was destroyed under."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text

from services.retention import rules
from services.retention.events import (
    AllegationReceived,
    ApprovalEnded,
    ChildRegistered,
    HouseholdApproved,
    HouseholdRefused,
    HouseholdRegistered,
    IncidentCategory,
    IncidentRecorded,
    LegalHoldLifted,
    LegalHoldPlaced,
    RecordDestroyed,
    StaffRecordDestroyed,
    SubjectKind,
    WorkerSupervisionRecorded,
    WorkerTrainingRecorded,
)
from shared.calendar import local_date
from shared.eventstore import Batch, Projector, RecordedEvent, handles
from shared.eventstore.shredding import active, subject_name

# A date of birth that no longer opens (the record destroyed) leaves the derived dates as they were.
_SUBJECT = text(
    "INSERT INTO retention_subjects (kind, subject_id, until_75th_birthday, eighteenth_birthday) "
    "VALUES (:k, :id, :u75, :u18) ON CONFLICT (kind, subject_id) DO UPDATE SET "
    "until_75th_birthday = coalesce(excluded.until_75th_birthday, retention_subjects.until_75th_birthday), "
    "eighteenth_birthday = coalesce(excluded.eighteenth_birthday, retention_subjects.eighteenth_birthday)"
)
_DIED = text("UPDATE retention_subjects SET died_on = :d WHERE kind = 'child' AND subject_id = :id")
_APPROVED = text(
    "UPDATE retention_subjects SET approved = true, approval_ended_on = NULL "
    "WHERE kind = 'household' AND subject_id = :id"
)
_ENDED = text("UPDATE retention_subjects SET approval_ended_on = :d WHERE kind = 'household' AND subject_id = :id")
_REFUSED = text("UPDATE retention_subjects SET refused_on = :d WHERE kind = 'household' AND subject_id = :id")
_ALLEGATION = text(
    "UPDATE retention_subjects SET last_allegation_on = GREATEST(last_allegation_on, :d) "
    "WHERE kind = 'household' AND subject_id = :id"
)
_DESTROYED = text(
    "UPDATE retention_subjects SET destroyed_on = :d, destroyed_rule = :r, retain_until = :u "
    "WHERE kind = :k AND subject_id = :id"
)
_STAFF_RECORD = text(
    "INSERT INTO retention_staff (worker_id, last_record_on) VALUES (:w, :d) ON CONFLICT (worker_id) "
    "DO UPDATE SET last_record_on = GREATEST(retention_staff.last_record_on, excluded.last_record_on)"
)
_STAFF_DESTROYED = text(
    "UPDATE retention_staff SET destroyed_on = :d, destroyed_rule = :r, retain_until = :u WHERE worker_id = :w"
)
_HOLD = text(
    "INSERT INTO retention_holds (hold_id, kind, subject_id, grounds, placed_at) VALUES (:h, :k, :id, :g, :at) "
    "ON CONFLICT (hold_id) DO NOTHING"
)
_LIFT = text("UPDATE retention_holds SET lifted_at = :at WHERE hold_id = :h")


def _key(kind: str, subject_id: uuid.UUID) -> tuple[str, str, uuid.UUID]:
    return ("retention_subjects", kind, subject_id)


class RetentionView(Projector):
    name = "retention"
    tables = ("retention_subjects", "retention_holds", "retention_staff")

    @handles(ChildRegistered)
    async def _child(self, batch: Batch, child: ChildRegistered, event: RecordedEvent) -> None:
        born = child.date_of_birth  # None once destroyed
        params = {
            "k": "child",
            "id": child.child_id,
            "u75": rules.add_years(born, rules.CHILD_TO_75.years) if born else None,
            "u18": rules.add_years(born, rules.ADULT_AGE) if born else None,
        }
        batch.write(_SUBJECT, params, _key("child", child.child_id))

    @handles(IncidentRecorded)
    async def _incident(self, batch: Batch, incident: IncidentRecorded, event: RecordedEvent) -> None:
        if incident.category == IncidentCategory.DEATH:
            params = {"id": incident.child_id, "d": local_date(incident.occurred_at)}
            batch.write(_DIED, params, _key("child", incident.child_id))

    @handles(HouseholdRegistered)
    async def _household(self, batch: Batch, household: HouseholdRegistered, event: RecordedEvent) -> None:
        params = {"k": "household", "id": household.household_id, "u75": None, "u18": None}
        batch.write(_SUBJECT, params, _key("household", household.household_id))

    @handles(HouseholdApproved)
    async def _approved(self, batch: Batch, approved: HouseholdApproved, event: RecordedEvent) -> None:
        batch.write(_APPROVED, {"id": approved.household_id}, _key("household", approved.household_id))

    @handles(ApprovalEnded)
    async def _ended(self, batch: Batch, ended: ApprovalEnded, event: RecordedEvent) -> None:
        params = {"id": ended.household_id, "d": local_date(ended.ended_at)}
        batch.write(_ENDED, params, _key("household", ended.household_id))

    @handles(HouseholdRefused)
    async def _refused(self, batch: Batch, refused: HouseholdRefused, event: RecordedEvent) -> None:
        params = {"id": refused.household_id, "d": local_date(refused.refused_at)}
        batch.write(_REFUSED, params, _key("household", refused.household_id))

    @handles(AllegationReceived)
    async def _allegation(self, batch: Batch, allegation: AllegationReceived, event: RecordedEvent) -> None:
        params = {"id": allegation.household_id, "d": local_date(allegation.received_at)}
        batch.write(_ALLEGATION, params, _key("household", allegation.household_id))

    @handles(LegalHoldPlaced)
    async def _hold(self, batch: Batch, hold: LegalHoldPlaced, event: RecordedEvent) -> None:
        params = {"h": hold.hold_id, "k": hold.subject_kind.value, "id": hold.subject_id, "g": hold.grounds}
        batch.write(_HOLD, {**params, "at": hold.placed_at}, ("retention_holds", hold.hold_id))

    @handles(LegalHoldLifted)
    async def _lifted(self, batch: Batch, lifted: LegalHoldLifted, event: RecordedEvent) -> None:
        batch.write(_LIFT, {"h": lifted.hold_id, "at": lifted.lifted_at}, ("retention_holds", lifted.hold_id))

    @handles(RecordDestroyed)
    async def _destroyed(self, batch: Batch, destroyed: RecordDestroyed, event: RecordedEvent) -> None:
        kind = destroyed.subject_kind.value
        params = {"k": kind, "id": destroyed.subject_id, "d": destroyed.destroyed_on, "r": destroyed.rule}
        batch.write(_DESTROYED, {**params, "u": destroyed.retain_until}, _key(kind, destroyed.subject_id))
        # Every process follows this projection: one still holding the key forgets it now.
        active().destroyed(subject_name(kind, destroyed.subject_id), destroyed.destroyed_on, destroyed.rule)

    @handles(WorkerTrainingRecorded)
    async def _training(self, batch: Batch, training: WorkerTrainingRecorded, event: RecordedEvent) -> None:
        params = {"w": training.worker_id, "d": training.completed_on}
        batch.write(_STAFF_RECORD, params, ("retention_staff", training.worker_id))

    @handles(WorkerSupervisionRecorded)
    async def _supervision(self, batch: Batch, supervision: WorkerSupervisionRecorded, event: RecordedEvent) -> None:
        params = {"w": supervision.worker_id, "d": local_date(supervision.occurred_at)}
        batch.write(_STAFF_RECORD, params, ("retention_staff", supervision.worker_id))

    @handles(StaffRecordDestroyed)
    async def _staff_destroyed(self, batch: Batch, destroyed: StaffRecordDestroyed, event: RecordedEvent) -> None:
        params = {"w": destroyed.worker_id, "d": destroyed.destroyed_on, "r": destroyed.rule}
        batch.write(_STAFF_DESTROYED, {**params, "u": destroyed.retain_until}, ("retention_staff", destroyed.worker_id))
        active().destroyed(subject_name("staff", destroyed.worker_id), destroyed.destroyed_on, destroyed.rule)


# ---- queries -----------------------------------------------------------------------------------
class RetentionRow(BaseModel):
    """A record's retention: until when it is kept, under which rule, whether held or destroyed."""

    kind: SubjectKind
    subject_id: uuid.UUID
    retain_until: date | None
    rule: str | None
    source: str | None
    held: bool
    holds: list[uuid.UUID]
    destroyed_on: date | None


_ROWS = (
    "SELECT s.*, coalesce((SELECT array_agg(h.hold_id ORDER BY h.placed_at) FROM retention_holds h "
    "WHERE h.kind = s.kind AND h.subject_id = s.subject_id AND h.lifted_at IS NULL), '{}') AS holds "
    "FROM retention_subjects s"
)


def _row(record: Any) -> RetentionRow:
    if record["destroyed_on"] is not None:  # kept as destroyed: the date of birth may not open now
        due = rules.Due(retain_until=record["retain_until"], rule=record["destroyed_rule"])
    elif record["kind"] == SubjectKind.CHILD.value:
        due = rules.child_retention_from(
            record["until_75th_birthday"], record["eighteenth_birthday"], record["died_on"]
        )
    else:
        due = rules.household_retention(
            approved=record["approved"],
            approval_ended_on=record["approval_ended_on"],
            refused_on=record["refused_on"],
            last_allegation_on=record["last_allegation_on"],
        )
    rule = rules.RULES.get(due.rule or "")
    return RetentionRow(
        kind=SubjectKind(record["kind"]),
        subject_id=record["subject_id"],
        retain_until=due.retain_until,
        rule=due.rule,
        source=rule.source if rule else None,
        held=bool(record["holds"]),
        holds=list(record["holds"]),
        destroyed_on=record["destroyed_on"],
    )


async def retention_rows(
    conn: Any, *, kind: SubjectKind | None = None, subject_id: uuid.UUID | None = None
) -> list[RetentionRow]:
    """Every record's retention (of one kind, or one subject), on a driver connection."""
    where: list[str] = []
    args: list[Any] = []
    if kind is not None:
        args.append(kind.value)
        where.append(f"s.kind = ${len(args)}")
    if subject_id is not None:
        args.append(subject_id)
        where.append(f"s.subject_id = ${len(args)}")
    statement = _ROWS + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY s.kind, s.subject_id"
    return [_row(r) for r in await conn.fetch(statement, *args)]


class HoldRow(BaseModel):
    hold_id: uuid.UUID
    kind: SubjectKind
    subject_id: uuid.UUID
    grounds: str
    placed_at: datetime
    lifted_at: datetime | None


async def hold(conn: Any, hold_id: uuid.UUID) -> HoldRow | None:
    row = await conn.fetchrow("SELECT * FROM retention_holds WHERE hold_id = $1", hold_id)
    return HoldRow(**dict(row)) if row is not None else None


class StaffRetentionRow(BaseModel):
    """A member of staff's own records: kept until, under the local rule, or destroyed."""

    worker_id: str
    last_record_on: date
    retain_until: date
    rule: str
    source: str
    destroyed_on: date | None


async def staff_rows(conn: Any, years: int) -> list[StaffRetentionRow]:
    """Every worker's retention under the agency's `years` (CARELOG_RETENTION_STAFF_YEARS)."""
    found = []
    for record in await conn.fetch("SELECT * FROM retention_staff ORDER BY worker_id"):
        destroyed = record["destroyed_on"] is not None
        until = (
            record["retain_until"] if destroyed else rules.staff_retention(record["last_record_on"], years).retain_until
        )
        assert until is not None
        found.append(
            StaffRetentionRow(
                worker_id=record["worker_id"],
                last_record_on=record["last_record_on"],
                retain_until=until,
                rule=record["destroyed_rule"] if destroyed else rules.STAFF_LAST_RECORD.code,
                source=rules.STAFF_LAST_RECORD.source,
                destroyed_on=record["destroyed_on"],
            )
        )
    return found
