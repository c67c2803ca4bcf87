"""Retention dates as data with their sources, and legal holds, through the HTTP API."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from services.retention import rules
from shared.auth import Role
from shared.clock import ManualClock
from shared.contracts.carers import (
    ApprovalEnded,
    HouseholdApproved,
    HouseholdRegistered,
    StaffCourse,
    StaffRole,
    Terms,
    WorkerTrainingRecorded,
)
from tests.builders import append_foreign, get, post, register_child
from tests.conftest import AuthHeaders, settle


@pytest.mark.parametrize(
    ("born", "died", "until", "rule"),
    [
        pytest.param(date(2010, 3, 1), None, date(2085, 3, 1), "child-75th-birthday", id="kept to the 75th birthday"),
        pytest.param(
            date(2010, 3, 1), date(2020, 6, 2), date(2035, 6, 2), "child-died-before-18", id="died at 10: 15 years on"
        ),
        pytest.param(
            date(2000, 3, 1),
            date(2020, 6, 2),
            date(2075, 3, 1),
            "child-75th-birthday",
            id="died at 20: the 75th birthday",
        ),
        pytest.param(date(2008, 2, 29), None, date(2083, 2, 28), "child-75th-birthday", id="born on 29 February"),
    ],
)
def test_a_childs_record_is_kept_as_reg_50_says(born: date, died: date | None, until: date, rule: str) -> None:
    assert rules.child_retention(born, died) == rules.Due(retain_until=until, rule=rule)


@pytest.mark.parametrize(
    ("facts", "until", "rule"),
    [
        pytest.param({"approved": True}, None, None, id="approved: kept"),
        pytest.param({"approved": False}, None, None, id="an open application: kept"),
        pytest.param(
            {"approved": True, "approval_ended_on": date(2020, 1, 31)},
            date(2030, 1, 31),
            "carer-approval-ended",
            id="approval ended: 10 years",
        ),
        pytest.param(
            {"approved": False, "refused_on": date(2020, 1, 31)}, date(2023, 1, 31), "carer-not-approved", id="refused"
        ),
        pytest.param(
            {"approved": True, "approval_ended_on": date(2020, 1, 31), "last_allegation_on": date(2022, 5, 1)},
            date(2032, 5, 1),
            "allegation-against-carer",
            id="a later allegation keeps it longer",
        ),
    ],
)
def test_a_carers_record_is_kept_as_reg_32_says(facts: dict[str, Any], until: date | None, rule: str | None) -> None:
    given = {"approval_ended_on": None, "refused_on": None, "last_allegation_on": None, **facts}
    assert rules.household_retention(**given) == rules.Due(retain_until=until, rule=rule)


def test_every_rule_names_its_source() -> None:
    assert all(r.source and r.years > 0 for r in rules.RULES.values())


async def ended_household(app: FastAPI, *, ended_at: datetime) -> uuid.UUID:
    """A household approved, then its approval ended at `ended_at` (as the carers service records)."""
    hid = uuid.uuid4()
    stream = f"household-{hid}"
    approved_at = ended_at - timedelta(days=400)
    await append_foreign(
        app, stream, HouseholdRegistered(household_id=hid, name="The Shaw household"), occurred_at=approved_at
    )
    terms = Terms(age_min=0, age_max=17, max_children=2, placement_types=["short_term"])
    approved = HouseholdApproved(household_id=hid, approval_id=uuid.uuid4(), approved_at=approved_at, terms=terms)
    await append_foreign(app, stream, approved, occurred_at=approved_at)
    await append_foreign(
        app, stream, ApprovalEnded(household_id=hid, ended_at=ended_at, reason="Retired"), occurred_at=ended_at
    )
    return hid


async def test_a_childs_retention_date_is_a_projection_of_the_log(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders
) -> None:
    cid = await register_child(app, date_of_birth="2012-05-01")
    await settle(app)
    row = await get(client, auth(Role.REGISTERED_MANAGER), f"/v1/retention/records/child/{cid}")
    assert row["retain_until"] == "2087-05-01" and row["rule"] == "child-75th-birthday"
    assert "reg 50" in row["source"] and row["held"] is False and row["destroyed_on"] is None
    await get(client, auth(Role.REGISTERED_MANAGER), f"/v1/retention/records/child/{uuid.uuid4()}", status=404)
    # Caseworkers have no access to the agency's retention.
    await get(client, auth(Role.CHILD_SOCIAL_WORKER, children=[cid]), f"/v1/retention/records/child/{cid}", status=403)


async def count(app: FastAPI, type_: str) -> int:
    async with app.state.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM events WHERE type = :t"), {"t": type_})).scalar_one())


async def test_the_registered_manager_places_and_lifts_a_legal_hold_with_a_reason(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders
) -> None:
    rm = auth(Role.REGISTERED_MANAGER, subject="rm-1")
    cid = await register_child(app)
    await settle(app)
    body = {"subject_kind": "child", "subject_id": str(cid), "grounds": "inquiry", "reason": "IICSA: preserve"}
    # Only the registered manager: not a manager, not the child's social worker, not an inspector.
    for role in (Role.MANAGER, Role.CHILD_SOCIAL_WORKER, Role.INSPECTOR):
        await post(client, auth(role, children=[cid]), "/v1/retention/holds", body, status=403)
    # Bad input is a problem and writes nothing.
    for bad in ({**body, "grounds": "whim"}, {**body, "reason": " "}, {**body, "subject_id": "nope"}):
        await post(client, rm, "/v1/retention/holds", bad, status=422)
    await post(client, rm, "/v1/retention/holds", {**body, "subject_id": str(uuid.uuid4())}, status=404)
    assert await count(app, "retention.LegalHoldPlaced") == 0
    placed = await post(client, rm, "/v1/retention/holds", body)
    row = await get(client, rm, f"/v1/retention/records/child/{cid}")
    assert row["held"] is True and row["holds"] == [placed["hold_id"]]
    # The hold is on the child's chronology.
    chronology = await get(client, rm, f"/v1/children/{cid}/chronology")
    assert "retention.LegalHoldPlaced" in [e["type"] for e in chronology["entries"]]
    await post(client, rm, f"/v1/retention/holds/{placed['hold_id']}/lift", {"reason": "Inquiry closed"})
    assert (await get(client, rm, f"/v1/retention/records/child/{cid}"))["held"] is False
    await post(client, rm, f"/v1/retention/holds/{placed['hold_id']}/lift", {"reason": "again"}, status=409)
    await post(client, rm, f"/v1/retention/holds/{uuid.uuid4()}/lift", {"reason": "x"}, status=404)


async def test_the_report_lists_what_falls_due_in_the_next_90_days_and_what_is_held(
    client: httpx.AsyncClient, app: FastAPI, auth: AuthHeaders, clock: ManualClock
) -> None:
    rm = auth(Role.REGISTERED_MANAGER, subject="rm-1")
    now = clock.now()
    soon = await ended_household(app, ended_at=now - timedelta(days=10 * 365 - 30))  # due in about a month
    later = await ended_household(app, ended_at=now - timedelta(days=10 * 365 - 200))  # due in about 200 days
    held = await ended_household(app, ended_at=now - timedelta(days=10 * 365 - 20))
    await settle(app)
    body = {"subject_kind": "household", "subject_id": str(held), "grounds": "litigation", "reason": "Claim"}
    await post(client, rm, "/v1/retention/holds", body)
    report = await get(client, rm, "/v1/retention/report")
    assert report["days"] == 90
    assert [r["subject_id"] for r in report["due"]] == [str(soon)]
    assert [r["subject_id"] for r in report["held"]] == [str(held)]
    assert "reg 32" in report["due"][0]["source"]
    # Moving the clock brings the later one into the window.
    clock.advance(timedelta(days=150))
    report = await get(client, rm, "/v1/retention/report")
    assert {r["subject_id"] for r in report["due"]} == {str(soon), str(later)}
    assert report["today"] == (now + timedelta(days=150)).date().isoformat()


def run_carelog(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args], env=env, capture_output=True, text=True, timeout=180
    )


async def trained_worker(app: FastAPI, worker_id: str, *, completed_on: date) -> None:
    """A member of staff's own record: a course, with its provider (sealed under the worker's key)."""
    training = WorkerTrainingRecorded(
        worker_id=worker_id,
        training_id=uuid.uuid4(),
        role=StaffRole.SUPERVISING_SOCIAL_WORKER,
        course=StaffCourse.SAFEGUARDING,
        completed_on=completed_on,
        expires_on=completed_on + timedelta(days=3 * 365),
        provider="Northamptonshire Safeguarding Partnership",
    )
    occurred = datetime.combine(completed_on, datetime.min.time(), tzinfo=UTC)
    await append_foreign(app, f"worker-{worker_id}", training, occurred_at=occurred)


@pytest.mark.parametrize(
    ("last", "years", "until"),
    [
        pytest.param(date(2020, 3, 31), 6, date(2026, 3, 31), id="six years after the last record"),
        pytest.param(date(2020, 2, 29), 3, date(2023, 2, 28), id="a last record on 29 February"),
    ],
)
def test_a_workers_own_record_is_kept_the_agencys_years_after_the_last(last: date, years: int, until: date) -> None:
    assert rules.staff_retention(last, years) == rules.Due(retain_until=until, rule="staff-last-record")
    assert "Limitation Act 1980" in rules.RULES["staff-last-record"].source
    assert rules.access_log_cutoff(date(2030, 1, 2), 6) == date(2024, 1, 2)


async def test_the_access_log_loses_rows_only_through_the_retention_path(app: FastAPI, owner_engine: Any) -> None:
    """Append-only for the application and the owner alike; access_log_expire alone removes rows."""
    async with app.state.store.acquire() as conn:
        for at in (datetime(2010, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)):
            await conn.execute(
                "INSERT INTO access_log (at, actor_id, actor_role, child_id, method, route, path) "
                "VALUES ($1, 'sw-1', 'child_social_worker', $2, 'GET', '/r', '/p')",
                at,
                uuid.uuid4(),
            )
        for statement in ("DELETE FROM access_log", "UPDATE access_log SET reason = 'x'", "TRUNCATE access_log"):
            with pytest.raises(Exception, match="permission denied|append-only"):
                async with conn.transaction():
                    await conn.execute(statement)
        # The same function the run calls: rows before the cutoff go, and nothing else.
        removed = await conn.fetchrow("SELECT * FROM access_log_expire($1)", datetime(2019, 1, 1, tzinfo=UTC))
        assert (removed["past_policy"], removed["of_destroyed"]) == (1, 0)
        assert await conn.fetchval("SELECT count(*) FROM access_log") == 1
        # A cutoff past the policy's floor keeps the newest year of reads, whoever asks.
        removed = await conn.fetchrow("SELECT * FROM access_log_expire($1)", datetime(2999, 1, 1, tzinfo=UTC))
        assert (removed["past_policy"], removed["of_destroyed"]) == (0, 0)
    async with owner_engine.connect() as owner:
        with pytest.raises(Exception, match="append-only"):
            await owner.execute(text("DELETE FROM access_log"))


async def test_the_retention_command_lists_then_destroys_what_is_due(
    app: FastAPI, database_url: str, owner_engine: Any
) -> None:
    """`carelog retention run` on the system clock: a household whose approval ended 11 years ago,
    and a worker whose last record is 7 years old (the agency keeps staff records 6 years)."""
    gone = await ended_household(app, ended_at=datetime.now(UTC) - timedelta(days=11 * 366))
    kept = await ended_household(app, ended_at=datetime.now(UTC) - timedelta(days=365))
    await trained_worker(app, "ssw-left", completed_on=(datetime.now(UTC) - timedelta(days=7 * 366)).date())
    await trained_worker(app, "ssw-here", completed_on=(datetime.now(UTC) - timedelta(days=300)).date())
    await settle(app)
    env = {**os.environ, "CARELOG_DATABASE_URL": database_url}
    dry = await asyncio.to_thread(run_carelog, "retention", "run", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert f"due: household {gone}" in dry.stdout and str(kept) not in dry.stdout
    assert "due: staff ssw-left" in dry.stdout and "ssw-here" not in dry.stdout
    assert await count(app, "retention.RecordDestroyed") == 0
    done = await asyncio.to_thread(run_carelog, "retention", "run", env=env)
    assert done.returncode == 0, done.stderr
    assert f"destroyed: household {gone}" in done.stdout
    async with owner_engine.connect() as conn:
        keys = dict((await conn.execute(text("SELECT subject, destroyed_under FROM subject_keys"))).all())
    assert keys[f"household:{gone}"] == "carer-approval-ended" and keys[f"household:{kept}"] is None
    assert "destroyed: staff ssw-left" in done.stdout and "2 record(s) destroyed" in done.stderr
    assert keys["staff:ssw-left"] == "staff-last-record" and keys["staff:ssw-here"] is None
    assert await count(app, "retention.StaffRecordDestroyed") == 1
