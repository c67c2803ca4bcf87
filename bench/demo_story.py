"""The demo agency's story: who does what, on which day, drawn from the seed before anything is
recorded. Each step is put in the diary at the instant it is recorded (bench/demo.py runs it): mostly
on time, some late, a few written up days after they happened (late entries), and some never done,
so every kind of clock is met on time somewhere and missed somewhere else."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from bench.generator import AUTHORITIES, LEGAL, LOCAL_AUTHORITY, NARRATIVES, TERMS, VIEWS, _name
from shared.calendar import add_working_days_at

if TYPE_CHECKING:
    from bench.demo import Api, Diary

PANEL_MEMBERS = [
    {"member_id": "panel-chair", "name": "Ruth Okafor", "role": "chair"},
    {"member_id": "panel-vice", "name": "Graham Pike", "role": "vice_chair"},
    {"member_id": "panel-sw", "name": "Dana Hill", "role": "social_worker"},
    {"member_id": "panel-ind1", "name": "Sam Carter", "role": "independent"},
    {"member_id": "panel-ind2", "name": "Priya Nair", "role": "independent"},
    {"member_id": "panel-med", "name": "Dr Alan Reid", "role": "medical_adviser"},
]
PRESENT = ["panel-chair", "panel-sw", "panel-ind1", "panel-ind2", "panel-med"]
STAGE1_CHECKS = ("medical", "local_authority", "home_safety", "references", "references")
CARE_PLAN = "Placement plan: school run, contact with mum fortnightly, pocket money and bedtime agreed."
RISK = {"hazards": [{"hazard": "Going missing after school", "measures": ["Agreed return times", "Phone checks"]}]}
LAC_REVIEW = {
    "chaired_by": "IRO Patel",
    "child_attended": True,
    "child_views_given": True,
    "how_views_given": "spoke at the meeting",
    "decisions": "Stay with current carers; contact with family as planned.",
}
# Real Northamptonshire postcodes (the DfE validator derives a placement's authority from them); no
# foster home at the child's own postcode, which the DfE's rule 392d refuses.
HOME_POSTCODE = "NN1 1DE"
POSTCODES = ("NN4 8EH", "NN3 6RW")
SOCIAL_WORKERS = [f"sw-{n}" for n in range(1, 13)]
SUPERVISING_WORKERS = [f"ssw-{n}" for n in range(1, 7)]
HOUSING = "the council's housing decision"


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def daytime(rng: random.Random, day: datetime | date) -> datetime:
    """An office-hours instant on `day` (a weekend day moves to Monday)."""
    when = day.date() if isinstance(day, datetime) else day
    while when.weekday() >= 5:
        when += timedelta(days=1)
    return datetime.combine(when, time(rng.randint(9, 16), rng.choice((0, 15, 30, 45))), tzinfo=UTC)


@dataclass
class Child:
    key: int
    body: dict[str, Any]
    placed_at: datetime | None
    household: int | None
    long_term: bool
    id: str = ""
    placement_id: str = ""
    ended_at: datetime | None = None


@dataclass
class Household:
    key: int
    approved_at: datetime
    carers: list[tuple[str, date]]
    ssw: str
    address: str
    id: str = ""
    members: list[str] = field(default_factory=list)
    children: list[Child] = field(default_factory=list)


class Story:
    def __init__(
        self, api: Api, diary: Diary, rng: random.Random, end: datetime, *, children: int, households: int
    ) -> None:
        self.api, self.diary, self.rng, self.end = api, diary, rng, end
        self.start = end - timedelta(days=365)
        self.agency = api.agency
        self.n_children, self.n_households = children, households
        self.households: list[Household] = []
        self.children: list[Child] = []
        self.carer_headers: Callable[[str], dict[str, str]] = lambda _household: api.headers
        # A worker with no part in a child's care (an allegation they report goes to triage).
        self.outside_worker_headers: Callable[[], dict[str, str]] = lambda: api.headers
        self.answered: set[str] = set()  # Schedule 7 notifications answered, by notification and recipient
        self.pending: set[int] = set()  # households with incidents or concerns for their supervisions
        # The child and household (the first placed, the last approved) whose clocks are late.
        self.slow_child = self.slow_household = self.retiring = -1

    # ---- helpers ---------------------------------------------------------------------------------
    def at(self, when: datetime, action: Callable[[], Awaitable[None]]) -> None:
        self.diary.at(when, action)

    def later(self, occurred: datetime, *, late: bool, rng: random.Random) -> datetime:
        """When what happened at `occurred` is written up: within hours, or (a late entry) days after."""
        if late:
            self.agency.late_entries += occurred + timedelta(days=3) <= self.end
            return occurred + timedelta(days=rng.randint(3, 12), hours=rng.randint(0, 6))
        return occurred + timedelta(minutes=rng.randint(20, 240))

    def post(self, url: Callable[[], str] | str, body: Callable[[], dict[str, Any]] | dict[str, Any], **kw: Any) -> Any:
        """An action that posts `body` to `url` (either worked out when it runs)."""

        async def action() -> None:
            await self.api.post(url() if callable(url) else url, body() if callable(body) else body, **kw)

        return action

    def health_check(self, child: Child, when: datetime, body: dict[str, Any]) -> Any:
        """An action that records the health check `body` unless the child stopped being looked
        after by `when` (endings are planned after the health checks: asked when it runs)."""
        post = self.post(self.child_url(child, "health-checks"), body, required=False)

        async def action() -> None:
            if child.ended_at is None or child.ended_at > when:
                await post()

        return action

    def placed_in(self, household: Household, when: datetime) -> list[Child]:
        return [
            c
            for c in household.children
            if c.id and c.placed_at is not None and c.placed_at <= when and (c.ended_at is None or c.ended_at > when)
        ]

    # ---- the plan --------------------------------------------------------------------------------
    def plan(self) -> None:
        rng = self.rng
        for h in range(self.n_households):
            established = rng.random() < 0.3  # approved years ago: DBS and training renew this year
            back = rng.randint(700, 1000) if established else rng.randint(10, 60)
            approved_at = daytime(rng, self.start - timedelta(days=back))
            carers = [(_name(rng), date(rng.randint(1965, 1992), rng.randint(1, 12), rng.randint(1, 28)))]
            if rng.random() < 0.6:
                carers.append((_name(rng), date(rng.randint(1965, 1992), rng.randint(1, 12), rng.randint(1, 28))))
            address = f"{rng.randint(1, 200)} Station Road, Northampton"
            self.households.append(Household(h, approved_at, carers, SUPERVISING_WORKERS[h % 6], address))
        slots = [h for h in self.households for _ in range(3)]
        rng.shuffle(slots)
        for c in range(self.n_children):
            age = rng.randint(1, 16)
            body = {
                "name": _name(rng),
                "date_of_birth": date(self.end.year - age, rng.randint(1, 12), rng.randint(1, 28)).isoformat(),
                "legal_status": rng.choice(LEGAL),
                "placing_authority": rng.choice(AUTHORITIES),
                "social_worker_id": SOCIAL_WORKERS[c % 12],
            }
            placed = rng.random() < 0.85 and slots
            if placed:
                household = slots.pop()
                # Some placed before the year began; none before the household's approval.
                offset = timedelta(days=rng.randint(-60, 300))
                placed_at = daytime(rng, max(household.approved_at + timedelta(days=5), self.start + offset))
                child = Child(c, body, placed_at, household.key, rng.random() < 0.4)
                household.children.append(child)
            else:
                child = Child(c, body, None, None, False)
            self.children.append(child)
        in_care = [c for c in self.children if c.placed_at is not None]
        self.slow_child = min(in_care, key=lambda c: c.placed_at or self.end).key if in_care else -1
        self.retiring = self.households[-1].key  # resigns in the year
        others = [h for h in self.households if h.key != self.retiring]
        self.slow_household = max(others, key=lambda h: h.approved_at).key if others else -1
        from bench.demo_clocks import plan_clocks
        from bench.demo_events import plan_events
        from bench.demo_recruitment import plan_recruitment

        plan_recruitment(self)  # first: a resignation stops the household's later placements
        for household in self.households:
            self.plan_household(household)
        for child in self.children:
            self.plan_child(child)
        workers = {c.body["social_worker_id"] for c in self.children} | {h.ssw for h in self.households}
        for worker in sorted(workers):
            self.plan_worker(worker)
        plan_events(self)
        plan_clocks(self)

    def finish(self) -> None:
        self.agency.households = [h.id for h in self.households]
        self.agency.children = [c.id for c in self.children]
        self.agency.placements = {
            c.id: self.households[c.household].id for c in self.children if c.placement_id and c.household is not None
        }

    # ---- households --------------------------------------------------------------------------------
    def plan_household(self, household: Household) -> None:
        rng = random.Random(f"{self.api.seed}-household-{household.key}")
        approved = household.approved_at
        registered = daytime(rng, approved - timedelta(days=150))

        async def register() -> None:
            body = {
                "name": f"The {household.carers[0][0].split()[1]} household ({household.key + 1})",
                "address": household.address,
                "local_authority": LOCAL_AUTHORITY,
                "supervising_social_worker_id": household.ssw,
            }
            created = await self.api.post("/v1/households", body)
            assert created is not None
            household.id = created["household_id"]
            for index, (name, dob) in enumerate(household.carers):
                member = {
                    "name": name,
                    "role": "applicant" if index == 0 else "carer",
                    "date_of_birth": dob.isoformat(),
                    "joined_on": (approved - timedelta(days=400)).date().isoformat(),
                }
                made = await self.api.post(f"/v1/households/{household.id}/members", member)
                assert made is not None
                household.members.append(made["member_id"])

        self.at(registered, register)
        checked = daytime(rng, approved - timedelta(days=60))
        self.at(checked, lambda: self.dbs_checks(household, checked, rng))
        approval = {
            "decision": "approved",
            "decided_at": iso(approved),
            "terms": TERMS,
            "panel_date": (approved - timedelta(days=7)).date().isoformat(),
            "agreement_signed_on": approved.date().isoformat(),
        }
        self.at(approved, self.post(lambda: f"/v1/households/{household.id}/approval", approval))
        # DBS renewed every 3 years (local): mostly before it expires, now and then after.
        renewal = checked + timedelta(days=365 * 3)
        renewed = renewal - timedelta(days=rng.randint(5, 30)) if rng.random() < 0.8 else renewal + timedelta(days=12)
        if renewed > self.start:
            when = daytime(rng, renewed)
            self.at(when, lambda: self.dbs_checks(household, when, rng))
        # Annual reviews: the first to panel; one household in eight reviewed late.
        late = rng.random() < 0.15
        review = approved + timedelta(days=335 + (45 if late else 0))
        first = True
        reviews = []
        while review < self.end + timedelta(days=60):
            held = daytime(rng, review + timedelta(days=45 if self.late_review(household, review) else 0))
            reviews.append(held)
            self.at(held + timedelta(hours=2), self.review(household, held, first))
            review += timedelta(days=rng.randint(330, 360))
            first = False
        self.plan_training(household, rng, reviews)
        self.plan_supervisions(household, rng)

    def late_review(self, household: Household, due: datetime) -> bool:
        """The slow household's review in the year is held weeks late."""
        inside = self.start + timedelta(days=30) < due < self.end - timedelta(days=105)
        return household.key == self.slow_household and inside

    def review(self, household: Household, when: datetime, to_panel: bool) -> Callable[[], Awaitable[None]]:
        """An annual review of approval, with the views of each child placed there."""

        async def action() -> None:
            views = [
                {"child_id": c.id, "view": "Likes living here; wants to stay."} for c in self.placed_in(household, when)
            ]
            body = {
                "occurred_at": iso(when),
                "outcome": "continue",
                "to_panel": to_panel,
                "child_views": views,
                "carer_views": "Enjoying fostering; would like more respite support.",
                "narrative": "Annual review of approval: continue on the same terms.",
            }
            await self.api.post(f"/v1/households/{household.id}/reviews", body, required=False)

        return action

    async def dbs_checks(self, household: Household, when: datetime, rng: random.Random) -> None:
        for member in household.members:
            await self.api.post(
                f"/v1/households/{household.id}/members/{member}/checks",
                {
                    "kind": "dbs_enhanced",
                    "result": "clear",
                    "checked_at": when.date().isoformat(),
                    "certificate_number": f"00{rng.randint(10**9, 10**10 - 1)}",
                },
            )

    def plan_training(self, household: Household, rng: random.Random, reviews: list[datetime]) -> None:
        """TSD standards in the first year, safeguarding before each review; some late."""
        approved = household.approved_at
        slow = household.key == self.slow_household
        in_time = rng.random() < 0.85 and not slow
        courses = [("tsd_standards", approved + timedelta(days=rng.randint(200, 330) if in_time else 400))]
        # Safeguarding is due before each annual review: mostly weeks before, now and then after it.
        for review in reviews:
            gap = timedelta(days=-rng.randint(10, 60) if rng.random() < 0.85 else rng.randint(5, 20))
            if slow and review > self.start + timedelta(days=30) and review < self.end - timedelta(days=60):
                gap = timedelta(days=1)  # the day after the review held late
            courses.append(("safeguarding", review + gap))
        for course, when in courses:
            on = daytime(rng, when)
            body = {"course": course, "completed_on": on.date().isoformat()}

            async def record(body: dict[str, Any] = body) -> None:
                for member in household.members:
                    await self.api.post(
                        f"/v1/households/{household.id}/training", {**body, "member_id": member}, required=False
                    )

            self.at(on + timedelta(hours=3), record)

    def plan_supervisions(self, household: Household, rng: random.Random) -> None:
        """Monthly supervision at home by the SSW (one in ten missed), once a year unannounced; a
        visit within days of each child's placement; every placed child seen, mostly alone."""
        at = max(household.approved_at + timedelta(days=20), self.start - timedelta(days=rng.randint(5, 30)))
        unannounced_month = rng.randint(0, 11) if rng.random() < 0.85 else -1
        before = daytime(rng, self.start - timedelta(days=rng.randint(40, 300)))
        if before > household.approved_at + timedelta(days=30):  # last year's unannounced visit
            self.at(before, self.supervision(household, before, True, rng))
        month = 0
        while at < self.end:
            if rng.random() > 0.08:
                when = daytime(rng, at)
                self.at(when, self.supervision(household, when, month == unannounced_month, rng))
            at += timedelta(days=rng.randint(26, 33))
            month += 1
        for child in household.children:
            if child.placed_at is not None:
                gap = rng.randint(2, 6) if rng.random() < 0.85 and child.key != self.slow_child else rng.randint(9, 14)
                when = daytime(rng, child.placed_at + timedelta(days=gap))
                self.at(when, self.supervision(household, when, False, rng))

    def supervision(
        self,
        household: Household,
        when: datetime,
        unannounced: bool,
        rng: random.Random,
        concerns: tuple[str, ...] = (),
    ) -> Callable[[], Awaitable[None]]:
        roll = rng.random()

        async def action() -> None:
            kids = self.placed_in(household, when)
            items, addressed = await self.agenda(household, when)
            accounts = [self.account(k, when, roll) for k in kids]
            body = {
                "occurred_at": iso(when),
                "unannounced": unannounced,
                "children_discussed": [k.id for k in kids],
                "children_accounts": accounts,
                "agenda_items_discussed": items,
                "concerns": list(concerns),
                "concerns_addressed": addressed,
                "narrative": "Supervision at home: routines, contact, training plan and the log reviewed.",
            }
            await self.api.post(f"/v1/households/{household.id}/supervisions", body, required=False)
            if concerns:
                self.pending.add(household.key)

        return action

    def account(self, child: Child, when: datetime, roll: float) -> dict[str, Any]:
        """How the SSW saw a placed child: seen, mostly alone and the bedroom seen, but the slow
        child would not be seen alone for seven months of the year, nor seen at all for four."""
        refusing = self.refusing(child, when)
        seen, alone, bedroom = refusing < 2, roll > 0.15 and not refusing, roll < 0.9 and refusing < 2
        account: dict[str, Any] = {"child_id": child.id, "seen": seen, "seen_alone": alone, "bedroom_seen": bedroom}
        if not seen:
            account["not_seen_reason"] = "child_refused"
        elif not alone:
            account["not_seen_alone_reason"] = "child_refused"
        if not bedroom:
            account["bedroom_not_seen_reason"] = "child_refused"
        return account

    def refusing(self, child: Child, when: datetime) -> int:
        """The slow child's difficult months: 1 (not seen alone), 2 (not seen, nor the bedroom); and
        their first week, before the SSW's first visit (late)."""
        if child.key == self.slow_child and child.placed_at and when < child.placed_at + timedelta(days=8):
            return 2
        if child.key != self.slow_child or not self.start + timedelta(days=60) <= when < self.end - timedelta(days=90):
            return 0
        return 2 if when >= self.end - timedelta(days=215) else 1

    async def agenda(self, household: Household, when: datetime) -> tuple[list[str], list[dict[str, str]]]:
        """The incidents on the household's agenda discussed and the concerns raised at earlier
        supervisions followed up, looked up only while a household has some (it saves a read per
        supervision). Damage is put off for a month, and a concern waiting on the council's housing
        decision for two: those clocks are missed."""
        if household.key not in self.pending:
            return [], []
        found = await self.api.get(f"/v1/households/{household.id}")
        items = [
            a["item_id"]
            for a in found["supervision_agenda"]
            if datetime.fromisoformat(a["occurred_at"]) <= when
            and (a["category"] != "damage" or when - datetime.fromisoformat(a["occurred_at"]) > timedelta(days=30))
        ]
        addressed = [
            {"concern_id": c["concern_id"], "action": "Followed up with the carers and the child's social worker."}
            for c in found["open_concerns"]
            if HOUSING not in c["text"] or when - datetime.fromisoformat(c["raised_at"]) > timedelta(days=60)
        ]
        if len(items) == len(found["supervision_agenda"]) and len(addressed) == len(found["open_concerns"]):
            self.pending.discard(household.key)  # nothing left for a later supervision
        return items, addressed

    # ---- workers -----------------------------------------------------------------------------------
    def plan_worker(self, worker: str) -> None:
        rng = random.Random(f"{self.api.seed}-worker-{worker}")
        role = "supervising_social_worker" if worker.startswith("ssw") else "child_social_worker"
        done = self.start - timedelta(days=rng.randint(900, 1100))
        while done < self.end:
            on = daytime(rng, done)
            body = {"role": role, "course": "safeguarding", "completed_on": on.date().isoformat()}
            self.at(on + timedelta(hours=1), self.post(f"/v1/workers/{worker}/training", body, required=False))
            done += timedelta(days=365 * 3 - rng.randint(-15, 30))
        at = self.start - timedelta(days=rng.randint(5, 25))
        while at < self.end:
            if rng.random() > 0.1:
                when = daytime(rng, at)
                body = {"occurred_at": iso(when), "narrative": "Caseload and reflective supervision."}
                self.at(
                    when + timedelta(hours=1), self.post(f"/v1/workers/{worker}/supervisions", body, required=False)
                )
            at += timedelta(days=rng.randint(25, 31))

    # ---- children ----------------------------------------------------------------------------------
    def plan_child(self, child: Child) -> None:
        rng = random.Random(f"{self.api.seed}-child-{child.key}")
        if child.placed_at is None:
            when = daytime(rng, self.start + timedelta(days=rng.randint(30, 330)))
            self.at(when, self.register(child, when.date()))
            return
        household = self.households[child.household or 0]
        placed = child.placed_at
        since = (placed - timedelta(days=rng.randint(0, 5))).date()
        self.at(placed - timedelta(hours=1), self.register(child, since))

        async def place() -> None:
            body = {
                "child_id": child.id,
                "household_id": household.id,
                "start_date": placed.date().isoformat(),
                "placement_type": "long_term" if child.long_term else "short_term",
            }
            made = await self.api.post("/v1/placements", body, required=False)
            if made is not None:
                child.placement_id = made["placement_id"]
                await self.return_details(child, placed.date())

        self.at(placed, place)
        self.plan_health(child, since, rng)
        self.plan_reviews(child, since, rng)
        self.plan_plans(child, household, rng)
        self.plan_visits(child, rng)

    async def return_details(self, child: Child, start: date) -> None:
        """What the SSDA903 return needs of a placed child, in the DfE's codes, from a generator of
        its own so the rest of the story stays as it is."""
        rng = random.Random(f"{self.api.seed}-903-{child.key}")
        sex = rng.choice("MF")
        details = {
            "sex": sex,
            "ethnicity": rng.choice(["WBRI", "WBRI", "WBRI", "MWBC", "BAFR", "AIND", "WOTH"]),
            "upn": f"A{rng.randrange(10**12):012d}",
            "category_of_need": rng.choice(["N1", "N1", "N1", "N4", "N5"]),
            "home_postcode": HOME_POSTCODE,
            **({"mother": False} if sex == "F" else {}),
        }
        await self.api.post(f"/v1/children/{child.id}/statutory-details", details)
        status = {"legal_status": rng.choice(["C1", "C2", "C2", "V2"]), "from_date": start.isoformat()}
        await self.api.post(f"/v1/children/{child.id}/legal-status", status)
        codes = {"placement_id": child.placement_id, "provider": "PR4", "placement_postcode": rng.choice(POSTCODES)}
        await self.api.post(f"/v1/children/{child.id}/placement-codes", codes)

    def register(self, child: Child, since: date) -> Callable[[], Awaitable[None]]:
        async def action() -> None:
            made = await self.api.post("/v1/children", {**child.body, "looked_after_since": since.isoformat()})
            assert made is not None
            child.id = made["child_id"]

        return action

    def child_url(self, child: Child, path: str) -> Callable[[], str]:
        return lambda: f"/v1/children/{child.id}/{path}"

    def plan_health(self, child: Child, since: date, rng: random.Random) -> None:
        """The initial health assessment (28 days), then yearly; a dental check within the year."""
        start = datetime.combine(since, time(12), tzinfo=UTC)
        slow = child.key == self.slow_child
        due = 28 if rng.random() < 0.88 else 40
        at = daytime(
            rng, max(start + timedelta(days=rng.randint(10, due - 4)), (child.placed_at or start) + timedelta(days=2))
        )
        kind = "initial_health_assessment"
        while at < self.end:
            body = {
                "kind": kind,
                "occurred_at": iso(at),
                "by": "Dr Shah, looked-after children's nurse",
                "outcome": "Healthy; immunisations up to date.",
            }
            self.at(at + timedelta(hours=2), self.health_check(child, at, body))
            # Reviewed every 6 months under five, every 12 from five (now and then a few weeks late).
            days = 165 if self.end.year - int(child.body["date_of_birth"][:4]) < 5 else 345
            in_time = rng.random() < 0.9 and not slow
            at = daytime(rng, at + timedelta(days=days - rng.randint(5, 40) if in_time else days + 20 + 20 * slow))
            kind = "review_health_assessment"
        in_time = rng.random() < 0.85 and not slow
        dental = daytime(rng, start + timedelta(days=rng.randint(40, 300) if in_time else 380))
        while dental < self.end:
            body = {
                "kind": "dental_check",
                "occurred_at": iso(dental),
                "by": "Smile Dental",
                "outcome": "No treatment.",
            }
            self.at(dental + timedelta(hours=1), self.health_check(child, dental, body))
            in_time = rng.random() < 0.9 and not slow
            dental = daytime(rng, dental + timedelta(days=rng.randint(300, 355) if in_time else 385))

    def plan_reviews(self, child: Child, since: date, rng: random.Random) -> None:
        """Looked-after reviews: within 20 working days, then 3 months, then every 6; some late."""
        held = datetime.combine(since, time(10), tzinfo=UTC) + timedelta(days=rng.randint(14, 24))
        gaps = [rng.randint(70, 88), *[rng.randint(150, 178) for _ in range(3)]]
        for gap in [0, *gaps]:
            held += timedelta(days=gap + (25 if rng.random() < 0.1 else 0))
            when = daytime(rng, held)
            body = {**LAC_REVIEW, "held_at": iso(when)}
            self.at(
                when + timedelta(hours=3),
                self.post(self.child_url(child, "looked-after-reviews"), body, required=False),
            )

    def plan_plans(self, child: Child, household: Household, rng: random.Random) -> None:
        """A care plan shared with the carers (acknowledged within 5 working days, mostly) and a risk
        assessment, each reviewed by its review date (now and then after it)."""
        assert child.placed_at is not None
        made = daytime(rng, child.placed_at + timedelta(days=rng.randint(3, 9)))
        while made < self.end:
            review = made + timedelta(days=rng.randint(85, 100))
            body = {"kind": "care", "summary": CARE_PLAN, "review_date": review.date().isoformat()}
            self.at(made, self.care_plan(child, household, body, made, rng))
            risk = {**RISK, "assessed_by": child.body["social_worker_id"], "review_date": review.date().isoformat()}
            self.at(
                made + timedelta(hours=1), self.post(self.child_url(child, "risk-assessments"), risk, required=False)
            )
            made = daytime(
                rng,
                review - timedelta(days=rng.randint(1, 10))
                if rng.random() < 0.9 and child.key != self.slow_child
                else review + timedelta(days=9),
            )

    def care_plan(
        self, child: Child, household: Household, body: dict[str, Any], made: datetime, rng: random.Random
    ) -> Callable[[], Awaitable[None]]:
        roll = rng.random()
        days = rng.randint(1, 4) if roll < 0.88 and child.key != self.slow_child else rng.randint(7, 10)
        ack_at = add_working_days_at(made, days) if roll < 0.97 else None  # a few never acknowledged

        async def action() -> None:
            plan = await self.api.post(f"/v1/children/{child.id}/plans", body, required=False)
            # Shared while the child is placed there (a placement ends at the start of its end day).
            if plan is None or child not in self.placed_in(household, made + timedelta(days=1)):
                return
            share = {"how": "given in person at the placement", "version": plan["plan_version"]}
            await self.api.post(f"/v1/children/{child.id}/plans/{plan['plan_id']}/share", share, required=False)
            if ack_at is not None:
                url = f"/v1/children/{child.id}/plans/{plan['plan_id']}/acknowledge"
                ack = self.post(
                    url, {"version": plan["plan_version"]}, required=False, headers=self.carer_headers(household.id)
                )
                self.at(ack_at, ack)

        return action

    def plan_visits(self, child: Child, rng: random.Random) -> None:
        """Statutory visits by the child's social worker about every six weeks (the first within a
        week); one child in eight falls behind; about one visit in ten written up days later."""
        assert child.placed_at is not None
        at = daytime(rng, child.placed_at + timedelta(days=rng.randint(2, 6)))
        overdue = rng.random() < 0.12
        stop = self.end - timedelta(days=rng.randint(50, 80)) if overdue else self.end
        while at < stop:
            seen_alone = rng.random() < 0.85
            body: dict[str, Any] = {
                "occurred_at": iso(at),
                "visitor_id": child.body["social_worker_id"],
                "visitor_role": "child_social_worker",
                "kind": "statutory",
                "child_seen": True,
                "seen_alone": seen_alone,
                "bedroom_seen": rng.random() < 0.8 and self.refusing(child, at) < 2,
                "child_views": rng.choice(VIEWS),
                "narrative": rng.choice(NARRATIVES),
            }
            if not seen_alone:
                body["not_seen_alone_reason"] = rng.choice(["child_refused", "unable"])
            written = self.later(at, late=rng.random() < 0.1, rng=rng)
            self.at(written, self.post(self.child_url(child, "visits"), body, required=False))
            if rng.random() < 0.5:
                contact = at + timedelta(days=rng.randint(7, 20), hours=rng.randint(-2, 2))
                talk = {
                    "occurred_at": iso(contact),
                    "kind": rng.choice(["phone", "message", "video"]),
                    "with_whom": rng.choice(["the child", "the foster carer", "the school"]),
                    "summary": "Checked in about school and contact arrangements; no new concerns.",
                    "worker_id": child.body["social_worker_id"],
                }
                self.at(
                    contact + timedelta(minutes=30), self.post(self.child_url(child, "contacts"), talk, required=False)
                )
            if rng.random() < 0.15:
                words = {"occurred_at": iso(at), "words": rng.choice(VIEWS), "how": "spoken"}
                self.at(written, self.post(self.child_url(child, "statements"), words, required=False))
            at = daytime(rng, at + timedelta(days=rng.randint(34, 44)))
        if overdue:
            self.agency.overdue_children.append(str(child.key))


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)
