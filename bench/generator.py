"""A realistic fostering agency, deterministic from a seed, shared by `carelog demo` and the benchmark.

Two ways to load it:

- `load_via_api`: through the real HTTP API in-process (httpx ASGITransport against `create_app`),
  so every clock, reactor and notification is produced by the services themselves. Used by
  `carelog demo` (about 100 children and 40 households, a year of history ending now).
- `load_bulk`: straight through the event store's own append path (`EventStore.append`, many
  concurrent multi-event appends), with payloads built by the services' own event models. Used
  by the benchmark to reach 100k or 1M events quickly. Projections are then rebuilt by replay.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from services.carers import events as cev
from services.carers.rules import Terms
from services.visits import events as vev
from shared.eventstore import EventStore, NewEvent

FIRST = (
    "Amira Ben Chloe Dylan Ellie Finn Grace Harvey Isla Jayden Kai Leah Mason Nia Oscar Poppy Reece "
    "Sofia Tyler Umar Violet Will Yasmin Zac Aaliyah Callum Demi Ethan Freya Harley Imogen Jack"
).split()
LAST = (
    "Khan Smith Jones Taylor Brown Williams Wilson Evans Thomas Roberts Patel Walker Wright Hall Green Hughes".split()
)
AUTHORITIES = (
    "West Northamptonshire Council",
    "North Northamptonshire Council",
    "Leicestershire County Council",
    "Milton Keynes City Council",
    "Bedford Borough Council",
)
LEGAL = ("section_31_care_order", "section_20_accommodated", "interim_care_order", "placement_order")
TERMS = {"age_min": 0, "age_max": 17, "max_children": 3, "placement_types": ["short_term", "long_term"]}
VIEWS = (
    "Says she likes her new school and wants to see her brother more.",
    "Wants more pocket money and to stay up later at weekends.",
    "Happy here; worried about contact with mum being cancelled again.",
    "Likes the dog. Finds maths hard. Wants to join the football club.",
    "Did not want to talk much today; said things are 'fine'.",
)
NARRATIVES = (
    "Seen alone in the bedroom for forty minutes; room warm and personalised. Talked about school and contact.",
    "Visit at home after school. Carer reports better sleep. Child showed me drawings and the new bike.",
    "Child quieter than usual; carer says a difficult contact last week. Agreed to raise with the IRO.",
    "Spoke about friendships and online safety. Bedroom seen; no concerns. Education plan reviewed.",
)


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _ns(seed: int) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"carelog-bench-{seed}")


# ==== loading through the real API ===============================================================
@dataclass
class DemoAgency:
    children: list[str] = field(default_factory=list)
    households: list[str] = field(default_factory=list)
    placements: dict[str, str] = field(default_factory=dict)  # child -> household
    overdose_child: str | None = None
    unanswered_complaint: str | None = None
    held_household: str | None = None
    overdue_children: list[str] = field(default_factory=list)
    requests: int = 0
    failures: list[str] = field(default_factory=list)


class _Api:
    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str], agency: DemoAgency) -> None:
        self.client = client
        self.headers = headers
        self.agency = agency

    async def post(self, url: str, body: dict[str, Any], *, required: bool = True) -> dict[str, Any] | None:
        response = await self.client.post(url, json=body, headers=self.headers)
        self.agency.requests += 1
        if response.status_code >= 300:
            message = f"POST {url} -> {response.status_code}: {response.text[:300]}"
            if required:
                raise RuntimeError(message)
            self.agency.failures.append(message)
            return None
        result: dict[str, Any] = response.json()
        return result


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


async def load_via_api(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    now: datetime,
    *,
    seed: int = 7,
    children: int = 100,
    households: int = 40,
    settle: Callable[[], Any] | None = None,
    concurrency: int = 8,
) -> DemoAgency:
    """Record a year of an agency's life ending at `now` through the API (manager's `headers`).

    `settle` (async, optional) brings every projector and reactor up to date; it is called
    between phases so cross-service effects (a placement's statutory visit clock) exist before
    the visits that meet them.
    """
    rng = random.Random(seed)
    agency = DemoAgency()
    api = _Api(client, headers, agency)
    start = now - timedelta(days=365)
    gate = asyncio.Semaphore(concurrency)

    async def settled() -> None:
        if settle is not None:
            await settle()

    # ---- households: members, DBS checks, approval ----------------------------------------------
    plans = []
    for h in range(households):
        approved_at = start - timedelta(days=rng.randint(10, 40), hours=rng.randint(9, 16))
        carers = [(_name(rng), date(rng.randint(1965, 1992), rng.randint(1, 12), rng.randint(1, 28)))]
        if rng.random() < 0.6:
            carers.append((_name(rng), date(rng.randint(1965, 1992), rng.randint(1, 12), rng.randint(1, 28))))
        plans.append((h, approved_at, carers, f"ssw-{h % 6 + 1}"))

    async def make_household(plan: Any) -> tuple[str, list[str]]:
        h, approved_at, carers, ssw = plan
        async with gate:
            created = await api.post(
                "/v1/households",
                {
                    "name": f"The {carers[0][0].split()[1]} household ({h + 1})",
                    "address": f"{rng.randint(1, 200)} Station Road, Northampton",
                    "supervising_social_worker_id": ssw,
                },
            )
            assert created is not None
            hid = created["household_id"]
            members = []
            for index, (name, dob) in enumerate(carers):
                member = await api.post(
                    f"/v1/households/{hid}/members",
                    {
                        "name": name,
                        "role": "applicant" if index == 0 else "carer",
                        "date_of_birth": dob.isoformat(),
                        "joined_on": (approved_at - timedelta(days=400)).date().isoformat(),
                    },
                )
                assert member is not None
                members.append(member["member_id"])
                await api.post(
                    f"/v1/households/{hid}/members/{member['member_id']}/checks",
                    {
                        "kind": "dbs_enhanced",
                        "result": "clear",
                        "checked_at": (approved_at - timedelta(days=60)).date().isoformat(),
                        "certificate_number": f"00{rng.randint(10**9, 10**10 - 1)}",
                    },
                )
            await api.post(
                f"/v1/households/{hid}/approval",
                {"decision": "approved", "decided_at": _iso(approved_at), "terms": TERMS},
            )
            # The first annual review (to panel), so the approval has not lapsed by today.
            await api.post(
                f"/v1/households/{hid}/reviews",
                {
                    "occurred_at": _iso(approved_at + timedelta(days=335)),
                    "outcome": "continue",
                    "to_panel": True,
                    "carer_views": "Enjoying fostering; would like more respite support.",
                    "narrative": "First annual review; panel recommended continuing approval on the same terms.",
                },
            )
            return hid, members

    made = await asyncio.gather(*(make_household(p) for p in plans))
    agency.households = [hid for hid, _ in made]
    first_carer = {hid: members[0] for hid, members in made}
    approved = {hid: plan[1] for hid, plan in zip(agency.households, plans, strict=True)}

    # ---- children ------------------------------------------------------------------------------
    child_plans = []
    for c in range(children):
        age = rng.randint(1, 16)
        dob = date(now.year - age, rng.randint(1, 12), rng.randint(1, 28))
        child_plans.append(
            {
                "name": _name(rng),
                "date_of_birth": dob.isoformat(),
                "legal_status": rng.choice(LEGAL),
                "placing_authority": rng.choice(AUTHORITIES),
                "social_worker_id": f"sw-{c % 12 + 1}",
            }
        )

    async def make_child(body: dict[str, Any]) -> str:
        async with gate:
            created = await api.post("/v1/children", body)
            assert created is not None
            return str(created["child_id"])

    agency.children = list(await asyncio.gather(*(make_child(b) for b in child_plans)))
    social_worker = {cid: b["social_worker_id"] for cid, b in zip(agency.children, child_plans, strict=True)}

    # ---- placements (85% of children; up to 3 per household) -------------------------------------
    placed_start: dict[str, datetime] = {}
    slots = [hid for hid in agency.households for _ in range(3)]
    rng.shuffle(slots)
    for cid in agency.children:
        if rng.random() > 0.85 or not slots:
            continue
        hid = slots.pop()
        start_at = max(approved[hid], start) + timedelta(days=rng.randint(1, 150))
        result = await api.post(
            "/v1/placements",
            {
                "child_id": cid,
                "household_id": hid,
                "start_date": start_at.date().isoformat(),
                "long_term": rng.random() < 0.4,
            },
            required=False,
        )
        if result is not None:
            agency.placements[cid] = hid
            placed_start[cid] = datetime.combine(start_at.date(), datetime.min.time(), tzinfo=UTC)
    await settled()

    # ---- each child's year: visits every ~6 weeks, contacts, statements --------------------------
    placed = list(agency.placements)
    overdue = set(rng.sample(placed, max(1, len(placed) // 8)))
    agency.overdue_children = sorted(overdue)
    agency.overdose_child = sorted(overdue)[0]
    visit_events: list[tuple[str, str]] = []

    async def child_year(cid: str) -> None:
        crng = random.Random(f"{seed}-{cid}")
        at = placed_start.get(cid, start) + timedelta(days=crng.randint(3, 6), hours=crng.randint(9, 17))
        stop = now - timedelta(days=crng.randint(50, 80)) if cid in overdue else now - timedelta(days=1)
        async with gate:
            while at < stop:
                seen_alone = crng.random() < 0.85
                body: dict[str, Any] = {
                    "occurred_at": _iso(at),
                    "visitor_id": social_worker[cid],
                    "visitor_role": "child_social_worker",
                    "kind": "statutory",
                    "child_seen": True,
                    "seen_alone": seen_alone,
                    "bedroom_seen": crng.random() < 0.8,
                    "child_views": crng.choice(VIEWS),
                    "narrative": crng.choice(NARRATIVES),
                }
                if not seen_alone:
                    body["not_seen_alone_reason"] = crng.choice(["child_refused", "unable"])
                visit = await api.post(f"/v1/children/{cid}/visits", body, required=False)
                if visit is not None:
                    visit_events.append((cid, visit["event_id"]))
                contact_at = at + timedelta(days=crng.randint(7, 20))
                if crng.random() < 0.5 and contact_at < now:
                    await api.post(
                        f"/v1/children/{cid}/contacts",
                        {
                            "occurred_at": _iso(contact_at),
                            "kind": crng.choice(["phone", "message", "video"]),
                            "with_whom": crng.choice(["the child", "the foster carer", "the school"]),
                            "summary": "Checked in about school and contact arrangements; no new concerns.",
                            "worker_id": social_worker[cid],
                        },
                        required=False,
                    )
                if crng.random() < 0.15:
                    await api.post(
                        f"/v1/children/{cid}/statements",
                        {"occurred_at": _iso(at), "words": crng.choice(VIEWS), "how": "spoken"},
                        required=False,
                    )
                if crng.random() < 0.05 and at + timedelta(days=2) < now:
                    await api.post(
                        f"/v1/children/{cid}/incidents",
                        {
                            "category": crng.choice(["damage", "medication_error", "other"]),
                            "occurred_at": _iso(at + timedelta(days=2)),
                            "narrative": "Minor incident at home, managed by the carer and discussed at the visit.",
                            "household_id": agency.placements.get(cid),
                        },
                        required=False,
                    )
                at += timedelta(days=crng.randint(36, 46), hours=crng.randint(-3, 3))

    await asyncio.gather(*(child_year(cid) for cid in agency.children))

    # ---- supervisions monthly -------------------------------------------------------------------
    def placed_in(hid: str, at: datetime) -> list[str]:
        return [c for c, h in agency.placements.items() if h == hid and placed_start[c] <= at]

    async def household_year(hid: str) -> None:
        hrng = random.Random(f"{seed}-{hid}")
        at = approved[hid] + timedelta(days=hrng.randint(20, 30))
        at = max(at, start + timedelta(days=hrng.randint(0, 25)))
        async with gate:
            while at < now - timedelta(days=2):
                kids = placed_in(hid, at)
                unannounced = hrng.random() < 0.1
                await api.post(
                    f"/v1/households/{hid}/supervisions",
                    {
                        "occurred_at": _iso(at),
                        "unannounced": unannounced,
                        "children_discussed": kids,
                        "children_seen": kids if unannounced else [],
                        "narrative": "Supervision at home: routines, contact, training plan and the log reviewed.",
                        "actions": ["Book first aid refresher"] if hrng.random() < 0.2 else [],
                    },
                    required=False,
                )
                at += timedelta(days=hrng.randint(26, 33))

    await asyncio.gather(*(household_year(hid) for hid in agency.households))
    await settled()

    # ---- the things a manager must see today -------------------------------------------------------
    # An overdose twelve days ago, with no follow-up visit since.
    cid = agency.overdose_child
    await api.post(
        f"/v1/children/{cid}/incidents",
        {
            "category": "overdose",
            "occurred_at": _iso(now - timedelta(days=12, hours=3)),
            "narrative": "Took about 12 paracetamol; carer called 111 and took her to A&E. Discharged next day.",
            "needed_hospital_treatment": True,
            "household_id": agency.placements[cid],
        },
    )
    # Complaints: five answered and closed, one unanswered for 25 days.
    complainants = rng.sample(placed, 6)
    for index, ccid in enumerate(complainants):
        received = now - timedelta(days=25 if index == 0 else rng.randint(60, 300))
        complaint = await api.post(
            f"/v1/children/{ccid}/complaints",
            {
                "received_at": _iso(received),
                "made_by": rng.choice(["child", "parent", "carer"]),
                "about_household_id": agency.placements[ccid],
                "summary": "Not allowed to phone friends after 9pm; feels the rule is unfair.",
            },
        )
        assert complaint is not None
        if index == 0:
            agency.unanswered_complaint = complaint["complaint_id"]
            continue
        kid = complaint["complaint_id"]
        await api.post(f"/v1/complaints/{kid}/acknowledge", {"acknowledged_at": _iso(received + timedelta(days=1))})
        await api.post(
            f"/v1/complaints/{kid}/respond",
            {
                "responded_at": _iso(received + timedelta(days=8)),
                "response": "Discussed with the carers; phone time agreed until 9.30pm on weekends.",
                "outcome": "partly_upheld",
            },
        )
        await api.post(
            f"/v1/complaints/{kid}/close", {"closed_at": _iso(received + timedelta(days=10)), "outcome": "resolved"}
        )
    # An allegation against a carer nine days ago: the household goes on hold.
    held = next(h for h in agency.households if any(p == h for p in agency.placements.values()))
    agency.held_household = held
    allegation = await api.post(
        "/v1/allegations",
        {
            "household_id": held,
            "member_id": first_carer[held],
            "child_ids": [c for c, h in agency.placements.items() if h == held],
            "received_at": _iso(now - timedelta(days=9)),
            "summary": "Child told a teacher the carer grabbed his arm during an argument about screen time.",
            "source": "school designated safeguarding lead",
        },
    )
    assert allegation is not None
    await api.post(
        f"/v1/allegations/{allegation['allegation_id']}/lado-referral",
        {"referred_at": _iso(now - timedelta(days=8)), "lado_name": "LADO, West Northamptonshire"},
        required=False,
    )
    # Amendments: a few entries corrected (the originals stay).
    for acid, event_id in rng.sample(visit_events, min(5, len(visit_events))):
        await api.post(
            f"/v1/children/{acid}/amendments",
            {
                "amends_event_id": event_id,
                "reason": "Recorded against the wrong date of the school review.",
                "correction": "The school review mentioned was on the Thursday, not the Tuesday.",
            },
            required=False,
        )
    await settled()
    return agency


# ==== bulk loading through the event store ======================================================
@dataclass
class BulkResult:
    events: int = 0
    blocks: int = 0
    child_ids: list[uuid.UUID] = field(default_factory=list)
    household_ids: list[uuid.UUID] = field(default_factory=list)


def _meta(actor: str, role: str, service: str, summary: str) -> dict[str, Any]:
    return {"actor_id": actor, "actor_role": role, "service": service, "summary": summary}


def block_events(seed: int, block: int, now: datetime) -> list[tuple[str, list[NewEvent]]]:
    """One household with three placed children and a year of their record: about 125 events,
    as (stream id, events) appends. Deterministic from (seed, block)."""
    rng = random.Random(f"{seed}:{block}")
    ns = _ns(seed)

    def uid(key: str) -> uuid.UUID:
        return uuid.uuid5(ns, f"{block}:{key}")

    start = now - timedelta(days=365)
    ssw = f"ssw-{block % 40 + 1}"
    hid = uid("household")
    approved_at = start - timedelta(days=rng.randint(10, 40))
    member = uid("member")
    hh: list[NewEvent] = []

    def h_event(
        type_: str, payload: Any, at: datetime, children: tuple[uuid.UUID, ...] = (), summary: str = ""
    ) -> None:
        hh.append(
            NewEvent(
                type=type_,
                data=payload.model_dump(mode="json"),
                occurred_at=at,
                child_ids=children,
                metadata=_meta(ssw, "supervising_social_worker", "carers", summary or type_),
                event_id=uid(f"h{len(hh)}"),
            )
        )

    h_event(
        cev.HOUSEHOLD_REGISTERED,
        cev.HouseholdRegistered(
            household_id=hid, name=f"The {rng.choice(LAST)} household", supervising_social_worker_id=ssw
        ),
        approved_at - timedelta(days=200),
    )
    h_event(
        cev.MEMBER_ADDED,
        cev.MemberAdded(
            household_id=hid,
            member_id=member,
            name=_name(rng),
            role="applicant",
            date_of_birth=date(rng.randint(1965, 1990), 3, 9),
            joined_on=(approved_at - timedelta(days=400)).date(),
        ),
        approved_at - timedelta(days=199),
    )
    h_event(
        cev.CHECK_RECORDED,
        cev.CheckRecorded(
            household_id=hid,
            member_id=member,
            check_id=uid("dbs"),
            kind="dbs_enhanced",
            result="clear",
            checked_at=(approved_at - timedelta(days=60)).date(),
            expires_on=(approved_at + timedelta(days=1000)).date(),
        ),
        approved_at - timedelta(days=60),
    )
    h_event(
        cev.HOUSEHOLD_APPROVED,
        cev.HouseholdApproved(
            household_id=hid, approval_id=uid("approval"), approved_at=approved_at, terms=Terms(**TERMS)
        ),
        approved_at,
    )
    appends: list[tuple[str, list[NewEvent]]] = []
    children = []
    for k in range(3):
        cid = uid(f"child{k}")
        children.append(cid)
        sw = f"sw-{(block * 3 + k) % 120 + 1}"
        placed_at = start + timedelta(days=rng.randint(1, 60))
        child_stream: list[NewEvent] = []

        def c_event(
            type_: str,
            payload: Any,
            at: datetime,
            summary: str,
            cid: uuid.UUID = cid,
            sw: str = sw,
            stream: list[NewEvent] = child_stream,
            k: int = k,
        ) -> None:
            stream.append(
                NewEvent(
                    type=type_,
                    data=payload.model_dump(mode="json"),
                    occurred_at=at,
                    child_ids=(cid,),
                    metadata=_meta(sw, "child_social_worker", "visits", summary),
                    event_id=uid(f"c{k}:{len(stream)}"),
                )
            )

        c_event(
            vev.CHILD_REGISTERED,
            vev.ChildRegistered(
                child_id=cid,
                name=_name(rng),
                date_of_birth=date(now.year - rng.randint(1, 16), rng.randint(1, 12), rng.randint(1, 28)),
                legal_status=rng.choice(LEGAL),
                placing_authority=rng.choice(AUTHORITIES),
                social_worker_id=sw,
            ),
            placed_at - timedelta(days=20),
            "Child registered",
        )
        appends.append((vev.child_stream(cid), child_stream))
        pid = uid(f"placement{k}")
        appends.append(
            (
                f"placement-{pid}",
                [
                    NewEvent(
                        type=cev.PLACEMENT_STARTED,
                        data=cev.PlacementStarted(
                            placement_id=pid,
                            child_id=cid,
                            household_id=hid,
                            start_date=placed_at.date(),
                            long_term=k == 0,
                            connected_person=False,
                            placing_authority=rng.choice(AUTHORITIES),
                        ).model_dump(mode="json"),
                        occurred_at=placed_at,
                        child_ids=(cid,),
                        metadata=_meta(ssw, "supervising_social_worker", "carers", "Placement started"),
                        event_id=uid(f"placement{k}:0"),
                    )
                ],
            )
        )
        at = placed_at + timedelta(days=5, hours=rng.randint(9, 16))
        while at < now - timedelta(days=1):
            seen_alone = rng.random() < 0.85
            c_event(
                vev.VISIT_RECORDED,
                vev.VisitRecorded(
                    visit_id=uid(f"v{k}:{len(child_stream)}"),
                    child_id=cid,
                    occurred_at=at,
                    visitor_id=sw,
                    visitor_role="child_social_worker",
                    kind="statutory",
                    child_seen=True,
                    seen_alone=seen_alone,
                    not_seen_alone_reason=None if seen_alone else "child_refused",
                    bedroom_seen=True,
                    child_views=rng.choice(VIEWS),
                    narrative=rng.choice(NARRATIVES),
                    household_id=hid,
                ),
                at,
                "Statutory visit: seen" + (" alone" if seen_alone else ""),
            )
            for _ in range(rng.randint(2, 4)):
                contact_at = at + timedelta(days=rng.randint(3, 35), hours=rng.randint(0, 8))
                if contact_at >= now:
                    continue
                c_event(
                    vev.CONTACT_RECORDED,
                    vev.ContactRecorded(
                        contact_id=uid(f"ct{k}:{len(child_stream)}"),
                        child_id=cid,
                        occurred_at=contact_at,
                        kind=rng.choice(["phone", "message", "video", "meeting"]),
                        with_whom=rng.choice(["the child", "the foster carer", "the school", "mum"]),
                        summary="Checked in about school and contact arrangements; no new concerns.",
                        worker_id=sw,
                    ),
                    contact_at,
                    "Contact recorded",
                )
            if rng.random() < 0.3:
                c_event(
                    vev.STATEMENT_RECORDED,
                    vev.StatementRecorded(
                        statement_id=uid(f"st{k}:{len(child_stream)}"),
                        child_id=cid,
                        occurred_at=at,
                        words=rng.choice(VIEWS),
                        how="spoken",
                    ),
                    at,
                    "The child's own words",
                )
            if rng.random() < 0.1:
                c_event(
                    vev.INCIDENT_RECORDED,
                    vev.IncidentRecorded(
                        incident_id=uid(f"in{k}:{len(child_stream)}"),
                        child_id=cid,
                        category=rng.choice(["damage", "medication_error", "other"]),
                        occurred_at=at + timedelta(days=2),
                        narrative="Minor incident at home, managed by the carer.",
                        household_id=hid,
                    ),
                    at + timedelta(days=2),
                    "Incident recorded",
                )
            at += timedelta(days=rng.randint(36, 46))
    # Supervisions monthly, discussing the children.
    at = start + timedelta(days=rng.randint(20, 30))
    while at < now - timedelta(days=2):
        h_event(
            cev.SUPERVISION_RECORDED,
            cev.SupervisionRecorded(
                household_id=hid,
                supervision_id=uid(f"sup{len(hh)}"),
                occurred_at=at,
                unannounced=False,
                supervising_social_worker_id=ssw,
                children_discussed=children,
                narrative="Supervision at home: routines, contact, training plan and the log reviewed.",
            ),
            at,
            tuple(children),
            "Supervision",
        )
        at += timedelta(days=rng.randint(26, 33))
    return [(f"household-{hid}", hh), *appends]


async def load_bulk(
    store: EventStore,
    target_events: int,
    *,
    seed: int = 7,
    first_block: int = 0,
    now: datetime | None = None,
    concurrency: int = 32,
    progress: Callable[[int], None] | None = None,
) -> BulkResult:
    """Append blocks (household + three children) until about `target_events` more events are
    stored, through `EventStore.append` with `concurrency` appends in flight (group commit)."""
    now = now or datetime.now(UTC)
    result = BulkResult(blocks=first_block)
    queue: asyncio.Queue[tuple[str, list[NewEvent]] | None] = asyncio.Queue(maxsize=concurrency * 4)

    async def worker() -> None:
        while (item := await queue.get()) is not None:
            stream_id, events = item
            await store.append(stream_id, events, 0)

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        # The household stream first in each block: placements and supervisions refer to it.
        while result.events < target_events:
            block = block_events(seed, result.blocks, now)
            result.blocks += 1
            result.household_ids.append(uuid.UUID(block[0][0].removeprefix("household-")))
            for stream_id, events in block:
                if stream_id.startswith("child-"):
                    result.child_ids.append(uuid.UUID(stream_id.removeprefix("child-")))
                await queue.put((stream_id, events))
                result.events += len(events)
            if progress is not None:
                progress(result.events)
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
    return result


# ==== `carelog demo` ==============================================================================
async def settle_app(app: Any, rounds: int = 50) -> None:
    """Run every projector and reactor of `app` until the log stops growing."""
    store = app.state.store
    for _ in range(rounds):
        before = (await store.head())[0]
        for runner in app.state.runners.values():
            await runner.catch_up()
        if (await store.head())[0] == before:
            return


async def run_demo(settings: Any, app_url: str, *, seed: int = 7, children: int = 100, households: int = 40) -> str:
    """Load the demo agency into the database at `app_url`; return what to try next."""
    import logging
    import time

    import structlog

    from services.app import create_app
    from services.notifications.workers import raise_due_escalations
    from shared.auth import Role, mint_token

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    started = time.perf_counter()
    app = create_app(settings, database_url=app_url, run_workers=False)
    now = app.state.clock.now()
    token = mint_token(settings, role=Role.REGISTERED_MANAGER, subject="demo-manager", ttl=timedelta(hours=8))
    headers = {"Authorization": f"Bearer {token}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://carelog.demo", timeout=60) as client:
            agency = await load_via_api(
                client,
                headers,
                now,
                seed=seed,
                children=children,
                households=households,
                settle=lambda: settle_app(app),
            )
            # The clock raises every escalation already due, as a running server would.
            await raise_due_escalations(app.state)
            await settle_app(app)
            due = (await client.get("/v1/visits/due", headers=headers)).json()
        head = (await app.state.store.head())[0]
    overdue = [i for i in due.get("items", []) if i.get("overdue")]
    lines = [
        f"demo agency loaded in {time.perf_counter() - started:.1f}s: {len(agency.children)} children, "
        f"{len(agency.households)} households, {len(agency.placements)} placements, {head} events "
        f"({agency.requests} API requests, {len(agency.failures)} refused).",
        f"overdue visits now: {len(overdue)} (GET /v1/visits/due)",
        f"a child with an overdose and no follow-up: {agency.overdose_child}",
        f"  GET /v1/children/{agency.overdose_child}/chronology",
        f"  GET /v1/children/{agency.overdose_child}/compliance",
        f"a household on hold after an allegation: GET /v1/households/{agency.held_household}",
        f"an unanswered complaint: GET /v1/complaints/{agency.unanswered_complaint}",
        "notifications and escalations: GET /v1/notifications, GET /v1/escalations",
        "a registered manager's token (8 hours), after `carelog serve`:",
        f"  export TOKEN={token}",
        '  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/v1/visits/due',
    ]
    for failure in agency.failures[:5]:
        lines.append(f"refused: {failure}")
    return "\n".join(lines)
