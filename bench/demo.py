"""`carelog demo`: a year of a fostering agency, recorded day by day through the real HTTP API.

Every request is made on the day it would have been made: the app's clock (a ManualClock) is set to
that instant first, so occurred_at and recorded_at are of that time, and the clock ticks once each
day in between (the escalations of that day are raised on that day, as a running server raises them).
A few entries are written up days after what they record: late entries, shown as late in the record.

The story is drawn from the seed alone, the year ends on `until`, requests are made one at a time in
time order, and every id the API mints derives from the request's Idempotency-Key: the same seed and
the same `until` give the same log, event for event (ids, payloads, recorded_at).
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx

from bench.demo_story import Story
from shared.clock import ManualClock

__all__ = ["DemoAgency", "DemoRefused", "Diary", "load_via_api", "run_demo", "settle_app", "ticker"]


@dataclass
class DemoAgency:
    children: list[str] = field(default_factory=list)
    households: list[str] = field(default_factory=list)
    placements: dict[str, str] = field(default_factory=dict)  # child -> household
    overdose_child: str | None = None
    unanswered_complaint: str | None = None
    held_household: str | None = None
    overdue_children: list[str] = field(default_factory=list)
    late_entries: int = 0
    requests: int = 0
    failures: list[str] = field(default_factory=list)


class DemoRefused(Exception):
    """The demo is not loaded into a log that already holds records (unless forced)."""


class Api:
    """The demo's client: each request names itself (Idempotency-Key and X-Request-ID from the seed
    and what is asked), so the ids the API mints and the request ids in the metadata repeat."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str], agency: DemoAgency, seed: int) -> None:
        self.client = client
        self.headers = headers
        self.agency = agency
        self.seed = seed

    def key(self, url: str, body: dict[str, Any]) -> str:
        what = json.dumps([url, body], sort_keys=True, default=str)
        return f"demo-{self.seed}-{hashlib.sha256(what.encode()).hexdigest()[:40]}"

    async def post(
        self, url: str, body: dict[str, Any], *, required: bool = True, headers: dict[str, str] | None = None
    ) -> dict[str, Any] | None:
        key = self.key(url, body)
        sent = {**(headers or self.headers), "Idempotency-Key": key, "X-Request-ID": key}
        response = await self.client.post(url, json=body, headers=sent)
        self.agency.requests += 1
        if response.status_code >= 300:
            message = f"POST {url} -> {response.status_code}: {response.text[:300]}"
            if required:
                raise RuntimeError(message)
            self.agency.failures.append(message)
            return None
        result: dict[str, Any] = response.json()
        return result

    async def get(self, url: str, **params: Any) -> Any:
        response = await self.client.get(url, params=params, headers=self.headers)
        response.raise_for_status()
        return response.json()


Action = Callable[[], Awaitable[None]]


class Diary:
    """What the agency does, by the instant it is recorded; `run` records it in that order, the
    clock set to each instant and ticking once a day in between."""

    def __init__(
        self, clock: ManualClock, tick: Callable[[], Awaitable[None]], until: datetime, daily_from: datetime
    ) -> None:
        self.clock = clock
        self.tick = tick
        self.until = until
        self.daily_from = daily_from.date()  # before it (the agency's earlier years), no daily tick
        self._tasks: list[tuple[datetime, int, Action]] = []
        self._order = itertools.count()

    def at(self, when: datetime, action: Action) -> None:
        """Record `action` at `when`; anything after the year's end is not recorded yet."""
        if when <= self.until:
            heapq.heappush(self._tasks, (when, next(self._order), action))

    async def run(self, month_done: Callable[[str], None] | None = None) -> None:
        day: date | None = None
        month = ""
        if self._tasks:  # the agency's clock starts at its first record (into an empty log)
            self.clock.set(self._tasks[0][0])
        while self._tasks:
            when, _, action = heapq.heappop(self._tasks)
            day, month = await self._days_until(day, month, when, month_done)
            self.clock.set(max(self.clock.now(), when))
            await action()
            await self.tick()
        await self._days_until(day, month, self.until, month_done)
        self.clock.set(max(self.clock.now(), self.until))
        await self.tick()
        if month_done is not None and month:
            month_done(month)

    async def _days_until(
        self, day: date | None, month: str, when: datetime, month_done: Callable[[str], None] | None
    ) -> tuple[date, str]:
        """Tick at the start of each day from `day` to `when`'s day, telling each month as it ends."""
        target = when.date()
        if day is None:
            return target, f"{target:%Y-%m}"
        while day < target:
            day = max(day + timedelta(days=1), min(self.daily_from, target))
            self.clock.set(max(self.clock.now(), datetime.combine(day, time(0, 5), tzinfo=UTC)))
            await self.tick()
            if f"{day:%Y-%m}" != month:
                if month_done is not None and month:
                    month_done(month)
                month = f"{day:%Y-%m}"
        return day, month


async def load_via_api(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    until: date,
    *,
    clock: ManualClock,
    tick: Callable[[], Awaitable[None]],
    carer_headers: Callable[[str], dict[str, str]],
    seed: int = 7,
    children: int = 100,
    households: int = 40,
    progress: Callable[[str], None] | None = None,
    latest: datetime | None = None,
    outside_worker_headers: Callable[[], dict[str, str]] | None = None,
) -> DemoAgency:
    """Record the agency's year ending on `until` (18:00 UTC) through the API as a registered manager
    (`headers`); a carer acknowledges plans with `carer_headers(household_id)`. `tick` raises the
    escalations due at the clock's instant and brings every projector and reactor up to date."""
    agency = DemoAgency()
    api = Api(client, headers, agency, seed)
    end = datetime.combine(until, time(18, 0), tzinfo=UTC)
    if latest is not None:  # a year ending today ends now: nothing is recorded in the future
        end = min(end, latest)
    diary = Diary(clock, tick, end, daily_from=end - timedelta(days=400))
    story = Story(api, diary, random.Random(seed), end, children=children, households=households)
    story.carer_headers = carer_headers
    if outside_worker_headers is not None:
        story.outside_worker_headers = outside_worker_headers
    story.plan()

    def month_done(month: str) -> None:
        if progress is not None:
            progress(f"{month} recorded ({agency.requests} requests so far)")

    await diary.run(month_done)
    story.finish()
    return agency


async def settle_app(app: Any, rounds: int = 50) -> None:
    """Run every projector and reactor of `app` until the log stops growing."""
    store = app.state.store
    for _ in range(rounds):
        before = (await store.head())[0]
        for runner in app.state.runners.values():
            await runner.catch_up()
        if (await store.head())[0] == before:
            return


def ticker(app: Any) -> Callable[[], Awaitable[None]]:
    """The tick of `app`'s agency: its projectors and reactors brought up to date when something was
    appended since they last ran, and the escalations due raised once an hour of its time at most
    (as the server's clock worker would)."""
    from services.notifications.workers import raise_due_escalations

    settled = [-1]
    raised = [app.state.clock.now()]

    async def tick() -> None:
        if (await app.state.store.head())[0] != settled[0]:
            await settle_app(app)
        if app.state.clock.now() - raised[0] >= timedelta(hours=1):
            raised[0] = app.state.clock.now()
            if await raise_due_escalations(app.state):
                await settle_app(app)
        settled[0] = (await app.state.store.head())[0]

    return tick


async def run_demo(
    settings: Any,
    app_url: str,
    *,
    seed: int = 7,
    children: int = 100,
    households: int = 40,
    until: date | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    verbose: bool = False,
) -> str:
    """Load the demo agency into the database at `app_url`; return what to try next. A log that
    already holds records is refused (DemoRefused) unless `force`. The year ends on `until` (default:
    today, by the wall clock); `progress` is told each month as it is recorded."""
    import logging
    import time as timer

    import structlog

    from services.app import create_app
    from shared.auth import Role, mint_token
    from shared.calendar import local_date
    from shared.clock import SystemClock

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    started = timer.perf_counter()
    until = until or local_date(SystemClock().now())
    # One manager records a year in minutes: the per-principal write limit is not for that.
    settings = settings.model_copy(update={"writes_per_minute": 0})
    clock = ManualClock(datetime.combine(until - timedelta(days=800), time(0, 0), tzinfo=UTC))
    app = create_app(settings, database_url=app_url, run_workers=False, clock=clock)
    token = mint_token(settings, role=Role.REGISTERED_MANAGER, subject="demo-manager", ttl=timedelta(hours=8))
    headers = {"Authorization": f"Bearer {token}"}

    def carer_headers(household_id: str) -> dict[str, str]:
        import uuid

        carer = mint_token(
            settings,
            role=Role.CARER,
            subject=f"carer-{household_id[:8]}",
            household_ids=[uuid.UUID(household_id)],
            ttl=timedelta(hours=8),
        )
        return {"Authorization": f"Bearer {carer}"}

    def outside_worker_headers() -> dict[str, str]:
        duty = mint_token(settings, role=Role.CHILD_SOCIAL_WORKER, subject="sw-duty", ttl=timedelta(hours=8))
        return {"Authorization": f"Bearer {duty}"}

    async with app.router.lifespan_context(app):
        # The projectors and reactors run only at the diary's ticks, not also in the background
        # whenever the log grows: the reactions then land in the same order on every load.
        for runner in app.state.runners.values():
            await runner.stop()
        held = (await app.state.store.head())[0]
        if held and not force:
            raise DemoRefused(
                f"The log already holds {held} events: the demo agency would be mixed into them. "
                "Load it into an empty database, or pass --force."
            )

        tick = ticker(app)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://carelog.demo", timeout=60) as client:
            agency = await load_via_api(
                client,
                headers,
                until,
                clock=clock,
                tick=tick,
                carer_headers=carer_headers,
                seed=seed,
                children=children,
                households=households,
                progress=progress,
                latest=SystemClock().now(),
                outside_worker_headers=outside_worker_headers,
            )
            due = (await client.get("/v1/visits/due", headers=headers)).json()
        head = (await app.state.store.head())[0]
    overdue = [i for i in due.get("items", []) if i.get("overdue")]
    lines = [
        f"demo agency loaded in {timer.perf_counter() - started:.1f}s: {len(agency.children)} children, "
        f"{len(agency.households)} households, {len(agency.placements)} placements, {head} events "
        f"({agency.requests} API requests, {len(agency.failures)} refused, {agency.late_entries} late entries), "
        f"a year ending {until}.",
        f"overdue visits on {until}: {len(overdue)} (GET /v1/visits/due)",
        f"a child with an overdose and no follow-up: {agency.overdose_child}",
        f"  GET /v1/children/{agency.overdose_child}/chronology",
        f"  GET /v1/children/{agency.overdose_child}/compliance",
        f"a household on hold after an allegation: GET /v1/households/{agency.held_household}",
        f"an unanswered complaint: GET /v1/complaints/{agency.unanswered_complaint}",
        "each month's KPIs: GET /v1/reports/kpis?month=YYYY-MM (or `carelog report --month YYYY-MM`)",
        "notifications and escalations: GET /v1/notifications, GET /v1/escalations",
        "a registered manager's token (8 hours), after `carelog serve`:",
        f"  export TOKEN={token}",
        '  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/v1/visits/due',
    ]
    for failure in agency.failures[: 200 if verbose else 5]:
        lines.append(f"refused: {failure}")
    return "\n".join(lines)
