"""A realistic fostering agency, deterministic from a seed, shared by `carelog demo` and the benchmark.

Two ways to load it:

- bench/demo.py: through the real HTTP API in-process, day by day on a moved clock, so every clock,
  reactor and notification is produced by the services themselves on its day. Used by `carelog demo`
  (about 100 children and 40 households, a year ending on a chosen date); it draws its names and
  phrases from here.
- `load_bulk`: straight through the event store's own append path (`EventStore.append`, many
  concurrent multi-event appends), each block recorded as the services would have recorded it
  (their commands' clocks, their reactors' reactions), built with the services' own models and
  helpers. Used by the benchmark to reach 100k or 1M events quickly. Projections are then
  rebuilt by replay. Blocks 0.. are the current year; each `BLOCKS_PER_YEAR` further blocks are a
  year earlier, whose children went home and whose household resigned before it ended: a bigger
  log is a longer history of an agency of the same size, not a bigger agency.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import uuid
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, cast

from services.carers import commands as carers
from services.carers import events as carer_events
from services.carers import rules as carer_rules
from services.carers.commands.approvals import decide_resignation
from services.notifications import commands as notification_commands
from services.notifications import rules as notification_rules
from services.notifications.rulebook import default_rule_sets
from services.visits import commands as visit_commands
from services.visits import events as vev
from services.visits import projections as visit_projections
from services.visits import rules as visit_rules
from services.visits.commands import returns as visit_returns
from services.visits.rules import ContactKind, IncidentCategory, MadeBy, NotSeenAloneReason, VisitKind, VisitorRole
from shared.access.api import AllocationRequest, decide_allocation
from shared.auth import Principal, Role
from shared.calendar import add_working_days_at
from shared.clock import ManualClock
from shared.commanding import CommandContext
from shared.contracts.base import load, load_as
from shared.contracts.carers import (
    AllegationOutcomeRecorded,
    AllegationReceived,
    HouseholdRegistered,
    PlacementEnded,
    PlacementStarted,
)
from shared.contracts.visits import ChildRegistered, IncidentRecorded
from shared.deadlines import DEADLINE_SET, DEADLINE_TYPES
from shared.eventstore import EventStore, NewEvent, RecordedEvent, reaction_metadata
from shared.problems import Problem
from shared.settings import Settings

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
# Where the agency's households live (ONS code): West Northamptonshire, so a child placed by another
# authority has an area authority to tell.
LOCAL_AUTHORITY = "E06000062"
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


def _seen(child_id: str, when: str) -> dict[str, Any]:
    """What a supervision records of a placed child (issue 18): mostly seen, alone and the bedroom
    too; now and then not alone or the bedroom not seen, with the reason. Derived from the child and
    the instant, not the story's dice, so the rest of the story is unchanged."""
    roll = zlib.crc32(f"{child_id}|{when}".encode()) % 10
    account: dict[str, Any] = {"child_id": child_id, "seen": True, "seen_alone": roll != 0, "bedroom_seen": roll != 1}
    if roll == 0:
        account["not_seen_alone_reason"] = "child_refused"
    if roll == 1:
        account["bedroom_not_seen_reason"] = "child_refused"
    return account


# ==== bulk loading through the event store ======================================================
@dataclass
class BulkResult:
    events: int = 0
    blocks: int = 0
    child_ids: list[uuid.UUID] = field(default_factory=list)
    household_ids: list[uuid.UUID] = field(default_factory=list)


# A block is one fostering household and its three placed children over the year before `now`, as
# the services would have recorded it: each command's events with the clocks it starts and meets,
# and each reactor's reactions (the first statutory visit clock, follow-up visits after an
# allegation, the supervision agenda, Schedule 7 and LADO notifications). The commands run in the
# order they would have been recorded, against small read models fed by the same events, and they
# are built with the services' own request models, event models, rules and (pure) helpers, so
# payloads, stream ids, clock kinds, causation and child_ids are the services' own. Reactions carry
# the reactors' own ids (`reaction_id`), so a reactor that later follows these events adds nothing.

COMPLAINTS = (
    "Not allowed to phone friends after 9pm; feels the rule is unfair.",
    "Pocket money was stopped for a week and nobody explained why.",
    "Contact with dad was cancelled twice at short notice.",
    "Says the carer shouted at her in front of her friends.",
    "Has had three social workers this year and wants one who stays.",
)
COMPLAINT_RESPONSES = (
    ("Discussed with the carers; phone time agreed until 9.30pm at weekends.", "partly_upheld"),
    ("Apology given; contact rebooked with a named worker to confirm each session.", "upheld"),
    ("House rules explained and agreed with the child at a meeting with the carers.", "not_upheld"),
)
# category: (weight, narrative). About a third of incidents are ones Schedule 7 makes notifiable.
INCIDENTS: dict[str, tuple[int, str]] = {
    "damage": (18, "Kicked a hole in the bedroom door after an argument about screen time; calmed with the carer."),
    "medication_error": (12, "Evening medication given an hour late; GP advice taken, no harm."),
    "other": (14, "Minor incident at home, managed by the carer and discussed at the visit."),
    "police_called": (16, "Threatened a neighbour after midnight; the carer called the police, who calmed things."),
    "missing": (16, "Did not come home from school; the carer reported her missing to the police at 7pm."),
    "self_harm": (16, "Cut her arm in the bathroom; the carer gave first aid and stayed with her."),
    "overdose": (8, "Took about 12 paracetamol; the carer called 111 and took her to A&E. Discharged next day."),
}
FOUND = "Found by the police at a friend's flat in town and brought home, unhurt."
AMENDMENTS = (
    ("Recorded against the wrong date of the school review.", "The school review was on the Thursday."),
    ("The narrative named the wrong sibling.", "The child spoke about her younger brother, not her sister."),
    ("Bedroom seen was recorded in error.", "The bedroom was not seen at this visit; seen at the next."),
)
ALLEGATION = "Child told a teacher the carer grabbed his arm during an argument about screen time."

_NOTIFIABLE_TYPES = frozenset(c.event_type for c in notification_rules.NOTIFIABLE)
# Categories Schedule 7 makes notifiable whatever the details (self-harm only with hospital treatment).
_NOTIFIABLE_INCIDENTS = frozenset({"police_called", "missing", "overdose"})
# The events about a household on other streams (carers reads them with the household's own).
_HOUSEHOLD_RELATED = frozenset(c.event_type for c in carer_events.HOUSEHOLD_RELATED)
_APPEND_ORDER = ("household", "placement", "complaint", "allegation", "child", "notification", "allocation")

# A steady agency whose log grows by years: block b's year ends b // BLOCKS_PER_YEAR years before
# `now` (blocks 0.. are the current year). A block is about 445 events, so 100k events are 227
# blocks, all of the current year; 1M events are ten years of an agency of the same size.
BLOCKS_PER_YEAR = 230
# A past year's story stops this long before its year ends: by then its children have gone home and
# the household has resigned, so nothing of it is on a later worklist, caseload or escalation.
_LEAVING = timedelta(days=42)


def _years_before(now: datetime, years: int) -> datetime:
    """`now`, `years` years earlier (29 February: the 28th)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


def _humanise(value: str) -> str:
    return value.replace("_", " ")


def _has_allegation(seed: int, block: int) -> bool:
    """Exactly one block in every run of eight has an allegation, at a place drawn from the seed."""
    return block % 8 == random.Random(f"{seed}:allegation:{block // 8}").randrange(8)


@dataclass
class _Child:
    """A child of the block: who they are (planned) and, once registered, their id and visits."""

    name: str
    date_of_birth: date
    legal_status: str
    placing_authority: str
    social_worker: str
    placed_at: datetime
    long_term: bool
    child_id: uuid.UUID | None = None
    registered_at: datetime | None = None
    visit_event_ids: list[uuid.UUID] = field(default_factory=list)

    @property
    def id(self) -> uuid.UUID:
        assert self.child_id is not None, "the child is registered before anything is recorded about them"
        return self.child_id


@dataclass
class _Placement:
    """A row of visits_placements (and notifications_placements)."""

    placement_id: uuid.UUID
    child_id: uuid.UUID
    household_id: uuid.UUID
    start_date: date
    long_term: bool
    connected_person: bool
    placing_authority: str
    end_date: date | None = None
    started_position: int = 0

    def as_visits_knows_it(self) -> visit_rules.Placement:
        return visit_rules.Placement(
            self.placement_id,
            self.household_id,
            self.start_date,
            self.long_term,
            self.connected_person,
            self.placing_authority,
            self.end_date,
            self.started_position,
        )


def _on_file(placement: _Placement) -> notification_rules.PlacementOnFile:
    """The placement as notifications_placements holds it."""
    return notification_rules.PlacementOnFile(
        placement.household_id, placement.start_date, placement.end_date, placement.placing_authority
    )


@dataclass
class _VisitClock:
    """An open row of visits_deadlines: what record_visit and the complaint steps look at."""

    deadline_id: uuid.UUID
    kind: str
    started_at: datetime
    due_at: datetime
    child_id: uuid.UUID | None
    complaint_id: uuid.UUID | None
    placement_id: uuid.UUID | None


@dataclass
class _Complaint:
    """A row of visits_complaints."""

    complaint_id: uuid.UUID
    child_id: uuid.UUID
    received_at: datetime
    about_household_id: uuid.UUID | None
    stage: int = 1
    status: str = "received"
    acknowledged_at: datetime | None = None


@dataclass
class _ComplaintPlan:
    child: _Child
    received_at: datetime
    made_by: MadeBy
    about_carers: bool
    serious: bool
    summary: str
    complaint_id: uuid.UUID | None = None


# The local practice a block is built under: the defaults, whatever this machine's environment says.
_SETTINGS = Settings(_env_file=None, database_url=None)


@dataclass
class _BlockContext(CommandContext):
    """A request's CommandContext whose fresh ids come from the block's own random stream: random
    like a live request's (uuid4), and the same every time the block is built."""

    ids: random.Random = field(default_factory=random.Random)

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.ids.getrandbits(128), version=4)


class _Year:
    """One block's year, run in the order it was recorded: a tiny log with the read models the
    commands consult, the commands themselves and the reactors that follow them."""

    def __init__(self, seed: int, block: int, now: datetime, years_back: int = 0) -> None:
        self.seed, self.block = seed, block
        self.year_end = _years_before(now, years_back)
        self.leaves = years_back > 0  # a past year: its children and household leave before it ends
        self.now = self.year_end - _LEAVING if self.leaves else self.year_end  # where the story stops
        self.rng = random.Random(f"{seed}:{block}")  # the story's dice
        self._ids = random.Random(f"{seed}:{block}:ids")  # ids apart, so one more id changes no story
        self.start = self.now - timedelta(days=365)
        self.clock = ManualClock(self.start - timedelta(days=3650))
        self.settings = _SETTINGS
        self.ssw = f"ssw-{block % 40 + 1}"
        self.manager = f"manager-{block % 8 + 1}"
        self.children: list[_Child] = []
        self.carer_id: uuid.UUID | None = None
        self.allegation_id: uuid.UUID | None = None
        self.complaints_planned = 0
        self.notifiable_planned = False
        # The log: each stream's events in version order, as NewEvents (the output) and as the
        # RecordedEvents the services' folds and reactors read.
        self.streams: dict[str, list[NewEvent]] = {}
        self.recorded: dict[str, list[RecordedEvent]] = {}
        self._positions = itertools.count(1)
        self._principals: dict[str, Principal] = {}
        self._tasks: list[tuple[datetime, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._to_react: deque[RecordedEvent] = deque()
        # Read models, as the services' projections would hold them when each command reads them.
        self.household: carer_rules.HouseholdState | None = None
        self._household_key = ""  # its id as the events' data holds it
        self.placements: dict[uuid.UUID, _Placement] = {}  # by placement id
        self.placed: dict[uuid.UUID, _Placement] = {}  # by child id: the current placement
        self.visit_clocks: dict[uuid.UUID, _VisitClock] = {}
        self.care_ended_on: dict[uuid.UUID, date] = {}  # by child id (visits_children.care_ended_on)
        self.complaints: dict[uuid.UUID, _Complaint] = {}
        self.child_rows: dict[uuid.UUID, notification_rules.ChildOnFile] = {}  # notifications_children
        self.allegation_rows: dict[uuid.UUID, notification_rules.AllegationOnFile] = {}

    # ---- the clock, the order of recording and the log -----------------------------------------
    def at(self, when: datetime, action: Callable[[], None]) -> None:
        """Record `action` at `when`; what would be recorded after `now` is not in the log yet."""
        if when <= self.now:
            heapq.heappush(self._tasks, (max(when, self.clock.now()), next(self._order), action))

    def after_the_story(self, when: datetime, action: Callable[[], None]) -> None:
        """Record `action` at `when`, after the story stopped and before the (past) year ends."""
        assert self.now < when <= self.year_end, "the leaving happens in the year's last weeks"
        heapq.heappush(self._tasks, (when, next(self._order), action))

    def run(self) -> None:
        while self._tasks:
            when, _, action = heapq.heappop(self._tasks)
            self.clock.set(when)
            action()
            # The reactors follow the log moments later, before anyone records anything else.
            while self._to_react:
                for stream_id, events in self._reactions(self._to_react.popleft()):
                    self.append(stream_id, events)

    def _ctx(self, service: str, actor: str, role: Role) -> CommandContext:
        """The context a request by `actor` gets now (its metadata, summaries and clock helpers are
        the real ones; only its fresh ids come from the block's own dice)."""
        principal = self._principals.get(actor)
        if principal is None:
            principal = self._principals[actor] = Principal(subject=actor, role=role)
        request_id = str(uuid.UUID(int=self._ids.getrandbits(128), version=4))
        return _BlockContext(
            service=service,
            principal=principal,
            clock=self.clock,
            settings=self.settings,
            store=cast(EventStore, None),  # never used: the block appends to its own log
            runner=None,
            request_id=request_id,
            correlation_id=request_id,
            ids=self._ids,
        )

    def append(self, stream_id: str, events: Sequence[NewEvent]) -> list[RecordedEvent]:
        """Append as the store would (the next versions, recorded now) and feed the read models."""
        stream = self.streams.setdefault(stream_id, [])
        history = self.recorded.setdefault(stream_id, [])
        out = []
        for event in events:
            stream.append(event)
            recorded = RecordedEvent(
                position=next(self._positions),
                event_id=event.event_id,
                stream_id=stream_id,
                stream_version=len(stream),
                type=event.type,
                schema_version=event.schema_version,
                data=event.data,
                metadata=event.metadata,
                child_ids=event.child_ids,
                occurred_at=event.occurred_at,
                recorded_at=self.clock.now(),
                prev_hash="",
                hash="",
            )
            history.append(recorded)
            self._project(recorded)
            out.append(recorded)
        self._to_react.extend(out)
        return out

    def appends(self) -> list[tuple[str, list[NewEvent]]]:
        """One append per stream. The appends run concurrently, but in this order the projections
        mostly see a household before anything about it, a placement before the child's clocks
        that name it, and a complaint's follow-up clock before the visit that meets it."""
        rank = {kind: i for i, kind in enumerate(_APPEND_ORDER)}
        return sorted(self.streams.items(), key=lambda item: rank[item[0].split("-", 1)[0]])

    @property
    def state(self) -> carer_rules.HouseholdState:
        assert self.household is not None, "the household is registered first"
        return self.household

    def _daytime(self, day: datetime) -> datetime:
        """A moment in working hours on `day`."""
        return day.replace(hour=self.rng.randint(9, 16), minute=self.rng.randrange(0, 60, 5), second=0, microsecond=0)

    # ---- read models ---------------------------------------------------------------------------
    def _project(self, event: RecordedEvent) -> None:
        data = event.data
        if self._about_household(event):
            self.household = carer_rules.evolve(
                self.household, load(event), stream_id=event.stream_id, stream_version=event.stream_version
            )
            self._household_key = str(self.state.household_id)
        if event.type == ChildRegistered.event_type:
            self.child_rows[uuid.UUID(data["child_id"])] = notification_rules.ChildOnFile(
                data["name"], data["placing_authority"]
            )
        elif event.type == PlacementStarted.event_type:
            placement = _Placement(
                placement_id=uuid.UUID(data["placement_id"]),
                child_id=uuid.UUID(data["child_id"]),
                household_id=uuid.UUID(data["household_id"]),
                start_date=date.fromisoformat(data["start_date"]),
                long_term=bool(data["long_term"]),
                connected_person=bool(data["connected_person"]),
                placing_authority=data["placing_authority"],
                started_position=event.position,
            )
            self.placements[placement.placement_id] = placement
            self.placed[placement.child_id] = placement
        elif event.type == PlacementEnded.event_type:
            self.placements[uuid.UUID(data["placement_id"])].end_date = date.fromisoformat(data["end_date"])
            self.placed.pop(uuid.UUID(data["child_id"]), None)
        elif event.type == AllegationReceived.event_type:
            children = tuple(uuid.UUID(c) for c in data["child_ids"])
            self.allegation_rows[uuid.UUID(data["allegation_id"])] = notification_rules.AllegationOnFile(
                uuid.UUID(data["household_id"]), children
            )
        elif event.type in DEADLINE_TYPES and str(data.get("kind", "")).startswith("visits."):
            self._track_visit_clock(event)
        elif event.type.startswith("visits.Complaint"):
            self._track_complaint(event)

    def _about_household(self, event: RecordedEvent) -> bool:
        """Whether carers' read_household folds the event: the household's stream, or an event
        elsewhere that names the household (the fold itself leaves other services' clocks out)."""
        if self.household is None:
            return event.type == HouseholdRegistered.event_type
        if event.stream_id.startswith("household-"):
            return True  # a block has one household
        return event.type in _HOUSEHOLD_RELATED and event.data.get("household_id") == self._household_key

    def _track_visit_clock(self, event: RecordedEvent) -> None:
        data = event.data
        deadline_id = uuid.UUID(data["deadline_id"])
        if event.type != DEADLINE_SET:
            self.visit_clocks.pop(deadline_id, None)
            return
        child_ids = data.get("child_ids") or [str(c) for c in event.child_ids]
        child_id = uuid.UUID(child_ids[0]) if child_ids else None
        complaint = event.stream_id.removeprefix("complaint-") if event.stream_id.startswith("complaint-") else None
        self.visit_clocks[deadline_id] = _VisitClock(
            deadline_id=deadline_id,
            kind=data["kind"],
            started_at=datetime.fromisoformat(data["started_at"]),
            due_at=datetime.fromisoformat(data["due_at"]),
            child_id=child_id,
            complaint_id=_uuid_or_none(complaint),
            placement_id=_uuid_or_none(data.get("placement_id")),  # a statutory visit clock names its placement
        )

    def _track_complaint(self, event: RecordedEvent) -> None:
        data = event.data
        complaint_id = uuid.UUID(data["complaint_id"])
        if event.type == vev.ComplaintReceived.event_type:
            self.complaints[complaint_id] = _Complaint(
                complaint_id=complaint_id,
                child_id=uuid.UUID(data["child_id"]),
                received_at=event.occurred_at,
                about_household_id=_uuid_or_none(data.get("about_household_id")),
            )
            return
        complaint = self.complaints[complaint_id]
        if event.type == vev.ComplaintAcknowledged.event_type:
            complaint.acknowledged_at = event.occurred_at
            complaint.status = "acknowledged" if complaint.status == "received" else complaint.status
        elif event.type == vev.ComplaintResponded.event_type:
            complaint.status = "responded"
            complaint.acknowledged_at = complaint.acknowledged_at or event.occurred_at
        elif event.type == vev.ComplaintClosed.event_type:
            complaint.status = "closed"

    def _open_clocks_of_child(self, child_id: uuid.UUID) -> list[_VisitClock]:
        """visits' open_child_deadlines: by due time, then id."""
        mine = (c for c in self.visit_clocks.values() if c.child_id == child_id)
        return sorted(mine, key=lambda c: (c.due_at, c.deadline_id))

    def _open_clocks_of_placement(self, ended: RecordedEvent) -> list[visit_projections.PlacementClock]:
        """visits' open_clocks_of_placement: by due time, then id."""
        placement_id = uuid.UUID(ended.data["placement_id"])
        mine = sorted(
            (c for c in self.visit_clocks.values() if c.placement_id == placement_id),
            key=lambda c: (c.due_at, c.deadline_id),
        )
        return [visit_projections.PlacementClock(c.deadline_id, c.kind, cast(uuid.UUID, c.child_id)) for c in mine]

    def _open_clocks_of_complaint(self, complaint_id: uuid.UUID) -> list[_VisitClock]:
        """visits' complaint_deadlines(open_only=True): the complaint's own clocks, oldest first."""
        mine = (
            c
            for c in self.visit_clocks.values()
            if c.complaint_id == complaint_id and c.kind in visit_rules.COMPLAINT_KINDS
        )
        return sorted(mine, key=lambda c: (c.started_at, c.due_at))

    def _child_context(self, child: _Child) -> visit_projections.ChildContext:
        """visits' child_context: the child, their placements, and their open clocks (each with the
        placement it belongs to)."""
        child_id = child.id
        placements = {
            p.placement_id: p.as_visits_knows_it() for p in self.placements.values() if p.child_id == child_id
        }
        clocks = tuple(
            visit_rules.OpenClock(
                c.deadline_id,
                c.kind,
                c.started_at,
                c.due_at,
                placements.get(c.placement_id) if c.placement_id else None,
            )
            for c in self._open_clocks_of_child(child_id)
        )
        row = visit_projections.Child(
            child_id=child_id,
            name=child.name,
            date_of_birth=child.date_of_birth,
            legal_status=child.legal_status,
            placing_authority=child.placing_authority,
            social_worker_id=child.social_worker,
            registered_at=child.registered_at or self.start,
            looked_after_since=None,
            care_ended_on=self.care_ended_on.get(child_id),
        )
        return visit_projections.ChildContext(row, tuple(placements.values()), clocks)

    def _complaint_state(self, plan: _ComplaintPlan) -> visit_projections.ComplaintState:
        """visits' complaint_context: the complaint where it stands, with its own clocks still open."""
        complaint = self.complaints[cast(uuid.UUID, plan.complaint_id)]
        clocks = tuple(
            visit_rules.OpenClock(c.deadline_id, c.kind, c.started_at, c.due_at)
            for c in self._open_clocks_of_complaint(complaint.complaint_id)
        )
        return visit_projections.ComplaintState(
            complaint_id=complaint.complaint_id,
            child_id=complaint.child_id,
            received_at=complaint.received_at,
            about_household_id=complaint.about_household_id,
            stage=complaint.stage,
            status=complaint.status,
            acknowledged_at=complaint.acknowledged_at,
            open_clocks=clocks,
        )

    # ---- reactors ------------------------------------------------------------------------------
    def _reactions(self, cause: RecordedEvent) -> list[tuple[str, Sequence[NewEvent]]]:
        """What the reactors append after `cause`. (The carers hold reactor adds nothing here: the
        allegation command appends the same hold, with the same id, itself.)"""
        out: list[tuple[str, Sequence[NewEvent]]] = []
        if cause.type == PlacementStarted.event_type:
            started = load_as(PlacementStarted, cause)
            placements = [p.as_visits_knows_it() for p in self.placements.values() if p.child_id == started.child_id]
            current = visit_rules.current_placement(placements)
            ended = self.care_ended_on.get(started.child_id)
            out += visit_projections.decide_first_visit_clock(cause, started, current, ended)
        elif cause.type == PlacementEnded.event_type:
            out += visit_projections.decide_clocks_stopped(cause, self._open_clocks_of_placement(cause))
        elif cause.type == AllegationReceived.event_type:
            allegation = load_as(AllegationReceived, cause)
            left = {
                child_id
                for child_id, ended in self.care_ended_on.items()
                if not visit_rules.looked_after(
                    ended, (p.start_date for p in self.placements.values() if p.child_id == child_id)
                )
            }
            out += visit_projections.decide_allegation_visits(cause, allegation, self.settings.visits, left)
        elif cause.type == vev.IncidentRecorded.event_type:
            out += self._supervision_agenda(cause)
        out += self._notifications(cause)
        return out

    def _supervision_agenda(self, cause: RecordedEvent) -> list[tuple[str, Sequence[NewEvent]]]:
        """carers' incident agenda reactor, with the household this block folds instead of its row."""
        incident = load_as(IncidentRecorded, cause)
        if incident.household_id is None or not carers.on_the_agenda(incident):
            return []
        metadata = reaction_metadata("carers", cause)
        return [carers.decide_incident_agenda(cause, incident, self.state, self.settings.carers, metadata)]

    def _notifications(self, cause: RecordedEvent) -> list[tuple[str, Sequence[NewEvent]]]:
        """The rules reactor's decision (notifications' decide_notifications), on this block's read
        models: a notification and its acknowledgement clock per Schedule 7 or LADO row it matches."""
        fact = notification_rules.as_notifiable(load(cause)) if cause.type in _NOTIFIABLE_TYPES else None
        if fact is None:
            return []
        found = notification_rules.matches_fact(default_rule_sets(), fact)
        if not found:
            return []
        allegation = (
            self.allegation_rows.get(fact.allegation_id) if isinstance(fact, AllegationOutcomeRecorded) else None
        )
        subjects = notification_rules.subjects_of(fact, cause.child_ids, allegation)
        placements = {c: [_on_file(p)] if (p := self.placed.get(c)) else [] for c in subjects.child_ids}
        homes = {p.household_id for ps in placements.values() for p in ps if p.household_id}
        on_file = notification_rules.OnFile(
            children={c: self.child_rows.get(c) for c in subjects.child_ids},
            placements=placements,
            households=dict.fromkeys(homes, LOCAL_AUTHORITY),  # every household registered there
        )
        out = list(notification_commands.decide_notifications(cause, fact, found, subjects, on_file))
        for _, events in out:
            self._plan_acknowledgement(events[0])
        return out

    def _plan_acknowledgement(self, raised: NewEvent) -> None:
        """Most notifications are acknowledged by a recipient within a day or so (NMS 29.2); the
        LADO's are due at once, so theirs are always late; a quarter are still waiting."""
        if self.rng.random() < 0.25:
            return
        data = raised.data
        recipients = data["recipients"]
        recipient = next((r for r in ("placing_authority", "lado") if r in recipients), recipients[0])
        acknowledged_at = self.clock.now() + timedelta(hours=self.rng.randint(1, 30))
        notification_id = uuid.UUID(data["notification_id"])
        authority = (data["placing_authorities"] or ["the placing authority"])[0]
        self.at(
            acknowledged_at + timedelta(minutes=self.rng.randint(5, 90)),
            partial(self.acknowledge_notification, notification_id, recipient, authority, acknowledged_at),
        )

    # ---- notifications: the command ------------------------------------------------------------
    def acknowledge_notification(
        self, notification_id: uuid.UUID, recipient: str, authority: str, acknowledged_at: datetime
    ) -> None:
        """notifications.acknowledge: the recipient's answer, recorded by a manager; the first one
        meets the acknowledgement clock."""
        stream_id = f"notification-{notification_id}"
        ctx = self._ctx("notifications", self.manager, Role.MANAGER)
        by = {"lado": f"LADO, {authority}", "placing_authority": f"Duty manager, {authority}"}.get(
            recipient, "Ofsted notifications team"
        )
        body = notification_commands.AcknowledgeIn.model_validate(
            {
                "acknowledged_by": by,
                "recipient": recipient,
                "action_taken": "Logged and shared with the child's social worker",
                "outcome": "No further action; plan reviewed",
                "acknowledged_at": acknowledged_at,
            }
        )
        state = notification_commands.notification_state(self.recorded[stream_id])
        new = notification_commands.decide_acknowledgement(ctx, state, notification_id, body)
        self.append(stream_id, new)

    # ---- carers: the household -----------------------------------------------------------------
    # Each is the carers command of the same name: its public decider, on this block's household.
    def _carers(self, manager: bool = False) -> CommandContext:
        if manager:
            return self._ctx("carers", self.manager, Role.MANAGER)
        return self._ctx("carers", self.ssw, Role.SUPERVISING_SOCIAL_WORKER)

    def _household_append(self, events: Sequence[NewEvent]) -> list[RecordedEvent]:
        return self.append(carer_events.household_stream(self.state.household_id), events)

    def register_household(self, name: str) -> None:
        body = carers.HouseholdIn(
            name=name,
            address=f"{self.rng.randint(1, 200)} Station Road, Northampton",
            local_authority=LOCAL_AUTHORITY,
            connected_person=False,
            supervising_social_worker_id=self.ssw,
        )
        events = carers.decide_registration(self._carers(), body)
        self.append(carer_events.household_stream(events[0].data["household_id"]), events)

    def add_carer(self, name: str, date_of_birth: date, joined_on: date) -> None:
        """carers.add_member (the applicant), with the clock for their enhanced DBS check."""
        body = carers.MemberIn(
            name=name, role=carer_rules.MemberRole.APPLICANT, date_of_birth=date_of_birth, joined_on=joined_on
        )
        events = carers.decide_member(self._carers(), self.state, body)
        self._household_append(events)
        self.carer_id = uuid.UUID(events[0].data["member_id"])

    def check_dbs(self, checked_at: date) -> None:
        """carers.record_check: a clear enhanced DBS meets the member's DBS clock and starts its renewal."""
        assert self.carer_id is not None, "the carer joins first"
        body = carers.CheckIn(
            kind=carer_rules.CheckKind.DBS_ENHANCED,
            result=carer_rules.CheckResult.CLEAR,
            checked_at=checked_at,
            certificate_number=f"00{self.rng.randint(10**9, 10**10 - 1)}",
        )
        self._household_append(carers.decide_check(self._carers(), self.state, self.carer_id, body))

    def approve(self) -> None:
        """carers.decide_approval: approved, with the supervision, unannounced visit, annual review,
        TSD and safeguarding clocks it starts."""
        body = carers.ApprovalIn(
            decision="approved",
            terms=carer_rules.Terms.model_validate(TERMS),
            agreement_signed_on=self._carers().now().date(),
        )
        self._household_append(carers.decide_approval(self._carers(manager=True), self.state, body))

    def train(self, course: carer_rules.TrainingCourse, completed_on: date) -> None:
        """carers.record_training: meets the course's clock; safeguarding starts its renewal."""
        assert self.carer_id is not None, "the carer joins first"
        body = carers.TrainingIn(member_id=self.carer_id, course=course, completed_on=completed_on)
        self._household_append(carers.decide_training(self._carers(), self.state, body))

    def review(self, occurred_at: datetime) -> None:
        """carers.record_review: the first annual review (to panel) with each placed child's view;
        meets the annual review clock and starts the next."""
        placed = sorted({p.child_id for p in self.state.placements.values()}, key=str)
        body = carers.ReviewIn(
            occurred_at=occurred_at,
            outcome=carer_rules.ReviewOutcome.CONTINUE,
            to_panel=True,
            child_views=[carers.ChildViewIn(child_id=c, view=self.rng.choice(VIEWS)) for c in placed],
            carer_views="Enjoying fostering; would like more respite support.",
            narrative="First annual review; panel recommended continuing approval on the same terms.",
        )
        self._household_append(carers.decide_review(self._carers(), self.state, body))

    def supervise(self, occurred_at: datetime, unannounced: bool, actions: list[str]) -> None:
        """carers.record_supervision: meets the supervision clock and starts the next (an unannounced
        visit also its own), and discusses every incident on the agenda, meeting its clock. (Every
        open item is discussed, so the command's "held without discussing it" branch never fires.)"""
        state = self.state
        placed = [p.child_id for p in state.placements.values()]
        agenda = [i.item_id for i in state.agenda.values() if i.discussed_at is None and i.occurred_at <= occurred_at]
        body = carers.SupervisionIn(
            occurred_at=occurred_at,
            unannounced=unannounced,
            children_discussed=placed,
            children_accounts=[carers.ChildSeenIn.model_validate(_seen(str(c), str(occurred_at))) for c in placed],
            agenda_items_discussed=agenda,
            actions=actions,
            narrative="Supervision at home: routines, contact, training plan and the log reviewed.",
        )
        self._household_append(carers.decide_supervision(self._carers(), state, body))

    def place_child(self, child: _Child) -> None:
        """carers.start_placement (the training-gap clocks are none: a block's children record no needs)."""
        registered = load_as(ChildRegistered, self.recorded[vev.child_stream(child.id)][0])
        body = carers.PlacementIn(
            child_id=child.id,
            household_id=self.state.household_id,
            start_date=child.placed_at.date(),
            placement_type=carer_events.PlacementType.LONG_TERM
            if child.long_term
            else carer_events.PlacementType.SHORT_TERM,
        )
        events = carers.decide_placement(self._carers(), self.state, registered, [], body)
        self.append(carer_events.placement_stream(events[0].data["placement_id"]), events)

    # ---- carers: an allegation -----------------------------------------------------------------
    def _allegation(self) -> carer_rules.AllegationState:
        """The allegation as carers folds it from its stream."""
        assert self.allegation_id is not None, "the allegation is received first"
        found = carer_rules.fold_allegation(self.recorded[carer_events.allegation_stream(self.allegation_id)])
        assert found is not None
        return found

    def _allegation_append(self, events: Sequence[NewEvent]) -> None:
        assert self.allegation_id is not None, "the allegation is received first"
        self.append(carer_events.allegation_stream(self.allegation_id), events)

    def receive_allegation(self, received_at: datetime) -> None:
        """carers.receive_allegation: the allegation with its LADO clocks, then the hold it puts on
        the household (whose ids derive from the allegation's event, as the hold reactor's do)."""
        state, ctx = self.state, self._carers(manager=True)
        body = carers.AllegationIn(
            household_id=state.household_id,
            member_id=self.carer_id,
            child_ids=[p.child_id for p in state.placements.values()],
            received_at=received_at,
            summary=ALLEGATION,
            source="school designated safeguarding lead",
        )
        events = carers.decide_allegation(ctx, state, body)
        self.allegation_id = uuid.UUID(events[0].data["allegation_id"])
        recorded = self.append(carer_events.allegation_stream(self.allegation_id), events)
        self._household_append([carers.allegation_hold(recorded[0], ctx.metadata())])

    def refer_to_lado(self, referred_at: datetime, confirmed_at: datetime | None) -> None:
        """carers.record_lado_referral, with the written confirmation when it went at the same time."""
        body = carers.LadoReferralIn(
            referred_at=referred_at,
            lado_name=f"LADO, {self.children[0].placing_authority}",
            reference=f"LADO/{referred_at:%Y}/{self.block:05d}",
            written_confirmation_at=confirmed_at,
        )
        self._allegation_append(carers.decide_lado_referral(self._carers(manager=True), self._allegation(), body))

    def confirm_referral_in_writing(self, sent_at: datetime) -> None:
        """carers.record_written_confirmation."""
        body = carers.WrittenConfirmationIn(sent_at=sent_at)
        ctx = self._carers(manager=True)
        self._allegation_append(carers.decide_written_confirmation(ctx, self._allegation(), body))

    def record_allegation_outcome(self, decided_at: datetime, outcome: carer_rules.AllegationOutcome) -> None:
        """carers.record_outcome. A block never draws `substantiated` (its approval review and DBS
        referral would need a household review this generator does not model)."""
        body = carers.OutcomeIn(
            outcome=outcome,
            dbs_referral_made=False,
            decided_at=decided_at,
            narrative="LADO strategy discussion: no evidence force was used; advice on de-escalation given.",
        )
        self._allegation_append(carers.decide_outcome(self._carers(manager=True), self._allegation(), body))

    def lift_hold(self) -> None:
        """carers.lift_hold, by a manager, once the allegation has its outcome."""
        state = self.state
        hold = next(h for h in state.open_holds if h.allegation_id == self.allegation_id)
        body = carers.LiftIn(reason="Allegation not substantiated (LADO); risk assessment reviewed with the carers.")
        self._household_append(carers.decide_hold_lifted(self._carers(manager=True), state, hold.hold_id, body))

    # ---- visits: the child's record ------------------------------------------------------------
    def _visits(self, child: _Child) -> CommandContext:
        return self._ctx("visits", child.social_worker, Role.CHILD_SOCIAL_WORKER)

    def _record(self, child: _Child, events: Sequence[NewEvent]) -> None:
        self.append(vev.child_stream(child.id), events)

    def register_child(self, child: _Child) -> None:
        """visits.register_child. The command also starts the clocks of becoming looked after (initial
        health assessment, first looked-after review, dental check); a block records none of the
        health checks and reviews that would meet them, so it leaves those clocks out rather than
        leave every child overdue on all three."""
        ctx = self._visits(child)
        body = visit_commands.RegisterChild(
            name=child.name,
            date_of_birth=child.date_of_birth,
            legal_status=child.legal_status,
            placing_authority=child.placing_authority,
            social_worker_id=child.social_worker,
        )
        child.child_id, child.registered_at = ctx.new_id(), ctx.now()
        registered, *_clocks = visit_commands.decide_registration(ctx, child.id, body)
        self._record(child, [registered])

    def record_visit(self, child: _Child, body: visit_commands.RecordVisit) -> None:
        """visits.record_visit: the visit, then each open clock it meets, by due time (a statutory
        clock is followed by the next one of its placement)."""
        events = visit_commands.decide_visit(self._visits(child), self._child_context(child), child.id, body)
        self._record(child, events)
        child.visit_event_ids.append(events[0].event_id)

    def record_contact(self, child: _Child, body: visit_commands.RecordContact) -> None:
        """visits.record_contact: a return home interview meets the clock the child's return started."""
        events = visit_commands.decide_contact(self._visits(child), self._child_context(child), child.id, body)
        self._record(child, events)

    def record_incident(self, child: _Child, body: visit_commands.RecordIncident) -> None:
        """visits.record_incident, with the clocks a serious incident starts: a follow-up visit, a
        review of the risk assessment, a return home interview after the child is found."""
        events = visit_commands.decide_incident(self._visits(child), self._child_context(child), child.id, body)
        self._record(child, events)

    def record_statement(self, child: _Child, body: visit_commands.RecordStatement) -> None:
        self._record(child, visit_commands.decide_statement(self._visits(child), child.id, body))

    def amend_visit(self, child: _Child) -> None:
        """visits.amend_entry: a correction to one of the child's earlier visits (the original stays)."""
        if not child.visit_event_ids:
            return
        target = self.rng.choice(child.visit_event_ids)
        reason, correction = self.rng.choice(AMENDMENTS)
        entry = visit_commands.Entry(target, vev.VisitRecorded.event_type, (child.id,))
        body = visit_commands.AmendEntry(amends_event_id=target, reason=reason, correction=correction)
        self._record(child, visit_commands.decide_amendment(self._visits(child), child.id, entry, body))

    # ---- visits: complaints --------------------------------------------------------------------
    def _complaints_officer(self) -> CommandContext:
        return self._ctx("visits", self.manager, Role.MANAGER)

    def receive_complaint(self, plan: _ComplaintPlan) -> None:
        """visits.receive_complaint: its acknowledgement and stage 1 clocks, and a follow-up visit
        clock when the child made it (stored in the complaint's stream, about the child)."""
        ctx = self._complaints_officer()
        body = visit_commands.ReceiveComplaint(
            received_at=plan.received_at,
            made_by=plan.made_by,
            about_household_id=self.state.household_id if plan.about_carers else None,
            summary=plan.summary,
            serious=plan.serious,
        )
        plan.complaint_id = ctx.new_id()
        events = visit_commands.decide_complaint(ctx, self._child_context(plan.child), plan.complaint_id, body)
        self.append(vev.complaint_stream(plan.complaint_id), events)

    def _complaint_step(self, plan: _ComplaintPlan, decide: Callable[[CommandContext], list[NewEvent]]) -> None:
        try:
            events = decide(self._complaints_officer())
        except Problem:
            return  # refused (409): e.g. the response came first and counts as the acknowledgement
        self.append(vev.complaint_stream(cast(uuid.UUID, plan.complaint_id)), events)

    def acknowledge_complaint(self, plan: _ComplaintPlan, acknowledged_at: datetime, how: str) -> None:
        """visits.acknowledge_complaint: meets the acknowledgement clock."""
        body = visit_commands.AcknowledgeComplaint(acknowledged_at=acknowledged_at, how=how)
        state = self._complaint_state(plan)
        self._complaint_step(plan, lambda ctx: visit_commands.decide_acknowledgement(ctx, state, body))

    def respond_complaint(self, plan: _ComplaintPlan, responded_at: datetime) -> None:
        """visits.respond_complaint: meets the stage clock (late when out of timescale) and the
        acknowledgement clock if nobody acknowledged it first."""
        response, outcome = self.rng.choice(COMPLAINT_RESPONSES)
        body = visit_commands.RespondComplaint(responded_at=responded_at, response=response, outcome=outcome)
        state = self._complaint_state(plan)
        self._complaint_step(plan, lambda ctx: visit_commands.decide_response(ctx, state, body))

    def close_complaint(self, plan: _ComplaintPlan, closed_at: datetime) -> None:
        """visits.close_complaint: any clock still open is cancelled."""
        body = visit_commands.CloseComplaint(closed_at=closed_at, outcome="resolved")
        state = self._complaint_state(plan)
        self._complaint_step(plan, lambda ctx: visit_commands.decide_closing(ctx, state, body))

    # ---- the plan of the year ------------------------------------------------------------------
    def plan(self) -> None:
        self._plan_household()
        for k in range(3):
            self._plan_child(k)
        # Every block exercises complaints and notifications, whatever the dice said.
        first = self.children[0]
        if not self.complaints_planned:
            self._plan_complaint(first)
        if not self.notifiable_planned:
            when = self._daytime(first.placed_at + timedelta(days=self.rng.randint(30, 300)))
            self._plan_incident(first, when, "police_called")
        if _has_allegation(self.seed, self.block):
            self._plan_allegation()
        if self.leaves:
            self._plan_leaving()

    def _plan_household(self) -> None:
        rng = self.rng
        approved_at = self._daytime(self.start - timedelta(days=rng.randint(10, 40)))
        carer = _name(rng)
        born = date(rng.randint(1965, 1990), rng.randint(1, 12), rng.randint(1, 28))
        self.at(
            approved_at - timedelta(days=200), partial(self.register_household, f"The {carer.split()[1]} household")
        )
        joined = (approved_at - timedelta(days=400)).date()
        self.at(approved_at - timedelta(days=199), partial(self.add_carer, carer, born, joined))
        self.at(approved_at - timedelta(days=60), partial(self.check_dbs, (approved_at - timedelta(days=60)).date()))
        self.at(approved_at, self.approve)
        # The training approval asks for, and the first annual review (to panel) before it lapses.
        for course, earliest, latest in (
            (carer_rules.TrainingCourse.SAFEGUARDING, 20, 200),
            (carer_rules.TrainingCourse.TSD_STANDARDS, 60, 300),
        ):
            completed = self._daytime(approved_at + timedelta(days=rng.randint(earliest, latest)))
            self.at(completed, partial(self.train, course, completed.date()))
        reviewed = self._daytime(approved_at + timedelta(days=rng.randint(320, 350)))
        self.at(reviewed + timedelta(hours=rng.randint(2, 48)), partial(self.review, reviewed))
        # Supervisions about monthly, written up within a day or so; one of the later ones is the
        # year's unannounced visit (NMS 21.8), which sees every placed child.
        dates = []
        at = self._daytime(approved_at + timedelta(days=rng.randint(21, 30)))
        while at < self.now - timedelta(days=2):
            dates.append(at)
            at = self._daytime(at + timedelta(days=rng.randint(25, 32)))
        unannounced = rng.randrange(len(dates) // 2, len(dates))
        for i, when in enumerate(dates):
            actions = ["Book first aid refresher"] if rng.random() < 0.2 else []
            self.at(
                when + timedelta(hours=rng.randint(1, 30)), partial(self.supervise, when, i == unannounced, actions)
            )

    def _plan_child(self, k: int) -> None:
        rng = self.rng
        placed_at = self._daytime(self.start + timedelta(days=rng.randint(1, 60)))
        child = _Child(
            name=_name(rng),
            date_of_birth=(self.now - timedelta(days=rng.randint(400, 16 * 365))).date(),
            legal_status=rng.choice(LEGAL),
            placing_authority=rng.choice(AUTHORITIES),
            social_worker=f"sw-{(self.block * 3 + k) % 120 + 1}",
            placed_at=placed_at,
            long_term=k == 0,
        )
        self.children.append(child)
        self.at(self._daytime(placed_at - timedelta(days=20)), partial(self.register_child, child))
        self.at(placed_at, partial(self.place_child, child))
        # Statutory visits about every six weeks (one in six or so after the clock, so met late),
        # contacts, the child's own words now and then, and an incident in one interval in eight.
        at = self._daytime(placed_at + timedelta(days=rng.randint(2, 8)))
        while at < self.now - timedelta(days=1):
            self._plan_visit(child, at)
            for _ in range(rng.choices((0, 1, 2), weights=(65, 30, 5))[0]):
                self._plan_contact(child, at + timedelta(days=rng.randint(3, 35), hours=rng.randint(0, 8)))
            if rng.random() < 0.12:
                self._plan_incident(child, at + timedelta(days=rng.randint(2, 30), hours=rng.randint(0, 10)))
            at = self._daytime(at + timedelta(days=rng.randint(33, 44)))
        # About one complaint per child per year, and now and then a correction to a visit.
        for _ in range(rng.choices((0, 1, 2), weights=(20, 65, 15))[0]):
            self._plan_complaint(child)
        if rng.random() < 0.3:
            self.at(self._daytime(self.start + timedelta(days=rng.randint(90, 360))), partial(self.amend_visit, child))

    def _plan_visit(self, child: _Child, at: datetime, kind: VisitKind = VisitKind.STATUTORY, why: str = "") -> None:
        rng = self.rng
        seen_alone = rng.random() < 0.85
        body = visit_commands.RecordVisit(
            occurred_at=at,
            visitor_id=child.social_worker,
            visitor_role=VisitorRole.CHILD_SOCIAL_WORKER,
            kind=kind,
            child_seen=True,
            seen_alone=seen_alone,
            not_seen_alone_reason=None
            if seen_alone
            else rng.choice([NotSeenAloneReason.CHILD_REFUSED, NotSeenAloneReason.UNABLE]),
            bedroom_seen=rng.random() < 0.8,
            child_views=rng.choice(VIEWS),
            narrative=(why + " " if why else "") + rng.choice(NARRATIVES),
        )
        # Most visits are written up the same day; about one in eight weeks later: a late entry,
        # recorded after entries about things that happened after it.
        late = rng.random() < 0.12
        lag = (
            timedelta(days=rng.randint(10, 25), hours=rng.randint(0, 8)) if late else timedelta(hours=rng.randint(1, 6))
        )
        self.at(at + lag, partial(self.record_visit, child, body))
        if rng.random() < 0.15:
            words = visit_commands.RecordStatement(occurred_at=at, words=rng.choice(VIEWS), how="spoken")
            self.at(at + lag, partial(self.record_statement, child, words))

    def _plan_contact(self, child: _Child, at: datetime, kind: ContactKind | None = None) -> None:
        rng = self.rng
        body = visit_commands.RecordContact(
            occurred_at=at,
            kind=kind or rng.choice([ContactKind.PHONE, ContactKind.MESSAGE, ContactKind.VIDEO, ContactKind.MEETING]),
            with_whom="the child, by an independent worker"
            if kind == ContactKind.RETURN_HOME_INTERVIEW
            else rng.choice(["the child", "the foster carer", "the school", "mum"]),
            summary="Checked in about school and contact arrangements; no new concerns."
            if kind is None
            else "Talked about where she went and who with; no exploitation indicators.",
            worker_id=child.social_worker,
        )
        self.at(at + timedelta(minutes=rng.randint(5, 120)), partial(self.record_contact, child, body))

    def _plan_incident(self, child: _Child, at: datetime, category: str | None = None) -> None:
        """An incident, recorded within hours. A missing child is later found (a return home
        interview is due within 72 hours); after a serious one the social worker usually visits
        within a few days (the follow-up visit clock is 2 working days, so some are late)."""
        rng = self.rng
        category = category or rng.choices(list(INCIDENTS), weights=[w for w, _ in INCIDENTS.values()])[0]
        hospital = category == "overdose" or (category == "self_harm" and rng.random() < 0.5)
        police = category == "police_called"
        body = visit_commands.RecordIncident(
            category=IncidentCategory(category),
            occurred_at=at,
            narrative=INCIDENTS[category][1],
            needed_hospital_treatment=hospital,
            police_called=police,
        )
        if at + timedelta(hours=8) > self.now:
            return  # too recent to be written up yet (and so are its follow-ups)
        self.at(at + timedelta(hours=rng.randint(1, 8)), partial(self.record_incident, child, body))
        self.notifiable_planned |= category in _NOTIFIABLE_INCIDENTS or hospital
        if category == "missing":
            found = at + timedelta(hours=rng.randint(3, 30))
            back = visit_commands.RecordIncident(category=IncidentCategory.FOUND, occurred_at=found, narrative=FOUND)
            self.at(found + timedelta(hours=rng.randint(1, 3)), partial(self.record_incident, child, back))
            interview = found + timedelta(hours=rng.randint(20, 96))
            self._plan_contact(child, interview, ContactKind.RETURN_HOME_INTERVIEW)
        if visit_rules.needs_follow_up_visit(category, police_called=police, needed_hospital_treatment=hospital):
            if rng.random() < 0.8:
                when = self._daytime(at + timedelta(days=rng.choice((1, 1, 1, 2, 3))))
                self._plan_visit(child, when, VisitKind.OTHER, f"Visit after the {_humanise(category)}.")

    def _plan_complaint(self, child: _Child) -> None:
        """A complaint, acknowledged (due in 2 working days), answered (due in 10) and closed; some
        of each late, a few never acknowledged before the answer."""
        rng = self.rng
        self.complaints_planned += 1
        latest = (self.now - child.placed_at).days - 10
        received = self._daytime(child.placed_at + timedelta(days=rng.randint(10, latest)))
        made_by = rng.choices(list(MadeBy), weights=(35, 15, 30, 20))[0]
        plan = _ComplaintPlan(
            child=child,
            received_at=received,
            made_by=made_by,
            about_carers=rng.random() < 0.4,
            serious=rng.random() < 0.1,
            summary=rng.choice(COMPLAINTS),
        )
        self.at(received + timedelta(minutes=rng.randint(15, 45)), partial(self.receive_complaint, plan))
        add = add_working_days_at
        if rng.random() < 0.9:
            if rng.random() < 0.8:
                acknowledged = received + timedelta(hours=rng.randint(2, 30))
            else:
                acknowledged = add(received, rng.randint(3, 5)) + timedelta(hours=rng.randint(0, 3))
            how = rng.choice(["letter to the child", "phone call", "email"])
            self.at(acknowledged, partial(self.acknowledge_complaint, plan, acknowledged, how))
        days = rng.randint(4, 9) if rng.random() < 0.75 else rng.randint(11, 25)
        responded = add(received, days) + timedelta(hours=rng.randint(0, 4))
        self.at(responded, partial(self.respond_complaint, plan, responded))
        closed = self._daytime(responded + timedelta(days=rng.randint(1, 10)))
        self.at(closed, partial(self.close_complaint, plan, closed))
        if made_by == MadeBy.CHILD and rng.random() < 0.7:
            self._plan_visit(
                child,
                self._daytime(received + timedelta(days=rng.choice((1, 1, 2, 3)))),
                VisitKind.OTHER,
                "Visit about the child's complaint.",
            )

    def _plan_allegation(self) -> None:
        """An allegation against the carer: the LADO told within a working day (mostly), confirmed in
        writing, an outcome weeks later, then a manager lifts the hold."""
        rng = self.rng
        received = self._daytime(self.start + timedelta(days=rng.randint(120, 280)))
        self.at(received + timedelta(hours=rng.randint(1, 3)), partial(self.receive_allegation, received))
        if rng.random() < 0.75:
            referred = received + timedelta(hours=rng.randint(3, 20))
        else:
            referred = add_working_days_at(received, 2) + timedelta(hours=rng.randint(0, 3))
        if rng.random() < 0.4:
            confirmed = referred + timedelta(minutes=20)
            self.at(confirmed + timedelta(minutes=30), partial(self.refer_to_lado, referred, confirmed))
        else:
            self.at(referred + timedelta(minutes=30), partial(self.refer_to_lado, referred, None))
            sent = add_working_days_at(referred, rng.choice((1, 2, 4)))
            self.at(sent + timedelta(minutes=30), partial(self.confirm_referral_in_writing, sent))
        decided = self._daytime(received + timedelta(days=rng.randint(25, 60)))
        outcome = rng.choice(
            [o for o in carer_rules.AllegationOutcome if o != carer_rules.AllegationOutcome.SUBSTANTIATED]
        )
        self.at(decided, partial(self.record_allegation_outcome, decided, outcome))
        self.at(decided + timedelta(days=rng.randint(1, 7)), self.lift_hold)

    # ---- a past year's end: the children go home, the household resigns -------------------------
    def _plan_leaving(self) -> None:
        """Days after the story stops, the carers give notice; each child is seen once more (what
        is still owed answered that day), then goes home: the placement ends (its clocks stop), care
        ends and the social worker's allocation ends. The approval ends when the notice takes
        effect (its clocks stop), the SSW's allocation ends, and every notification still waiting
        is answered. Its own dice, so the story's are those of a year without an end."""
        rng = random.Random(f"{self.seed}:{self.block}:leaving")
        notice = self.now.replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=1)
        self.after_the_story(notice, self.resign)
        for child in self.children:
            home = notice + timedelta(days=rng.randint(3, 20), hours=rng.randint(0, 6))
            self.after_the_story(home - timedelta(days=2), partial(self.see_before_leaving, child))
            self.after_the_story(home, partial(self.end_placement, child))
            self.after_the_story(home + timedelta(hours=1), partial(self.end_care, child))
            self.after_the_story(home + timedelta(hours=2), partial(self.end_allocation, child))
        ended = notice + timedelta(days=28, hours=1)
        self.after_the_story(ended, self.end_approval)
        self.after_the_story(ended + timedelta(hours=1), partial(self.end_allocation, None))
        self.after_the_story(ended + timedelta(hours=2), self.answer_waiting_notifications)

    def resign(self) -> None:
        """carers.record_resignation: the approval ends 28 days after the notice (its clock)."""
        body = carers.ResignationIn(received_at=self.clock.now(), reason="Retiring from fostering.")
        self._household_append(decide_resignation(self._carers(manager=True), self.state, body))

    def see_before_leaving(self, child: _Child) -> None:
        """The social worker's last visit before the move home (visits.record_visit), meeting the visit
        clocks still open; a return home interview still owed, and the child's complaints still
        open, are answered the same day."""
        at = self.clock.now()
        body = visit_commands.RecordVisit(
            occurred_at=at,
            visitor_id=child.social_worker,
            visitor_role=VisitorRole.CHILD_SOCIAL_WORKER,
            kind=VisitKind.STATUTORY,
            child_seen=True,
            seen_alone=True,
            bedroom_seen=True,
            child_views="Looking forward to going home; wants to keep in touch with the carers.",
            narrative="Last visit before the planned move home: belongings packed, goodbyes planned.",
        )
        self.record_visit(child, body)
        if any(c.kind == visit_rules.RETURN_HOME_INTERVIEW for c in self._open_clocks_of_child(child.id)):
            self.record_contact(
                child,
                visit_commands.RecordContact(
                    occurred_at=at,
                    kind=ContactKind.RETURN_HOME_INTERVIEW,
                    with_whom="the child, by an independent worker",
                    summary="Talked about where she went and who with; no exploitation indicators.",
                    worker_id=child.social_worker,
                ),
            )
        for complaint in [c for c in self.complaints.values() if c.child_id == child.id and c.status != "closed"]:
            plan = _ComplaintPlan(child, complaint.received_at, MadeBy.CHILD, False, False, "", complaint.complaint_id)
            if complaint.status != "responded":
                self.respond_complaint(plan, at)
            self.close_complaint(plan, at)

    def end_placement(self, child: _Child) -> None:
        """carers.end_placement, its ending recorded in full (no clock to complete it); the clocks of
        the duty to see the child in this placement stop, and the visits reactor stops its own."""
        placement = self.placed[child.id]
        stream = carer_events.placement_stream(placement.placement_id)
        state = carer_rules.fold_placement(self.recorded[stream])
        assert state is not None
        seen = [
            d
            for d in self.state.deadlines.values()
            if d.kind in carer_rules.CHILD_SEEN_CLOCKS and d.placement_id == placement.placement_id
        ]
        body = carers.PlacementEndIn(
            end_date=self.clock.now().date(),
            reason="Returned home to family under a care plan.",
            narrative="Planned move home after a successful series of overnight stays.",
            child_wishes_contact=True,
            child_wishes="Wants to visit the carers at Christmas.",
            carer_views="Proud of her progress; would like to stay in touch.",
            ending_meeting_held=True,
        )
        self.append(stream, carers.decide_placement_end(self._carers(), state, body, seen))

    def end_care(self, child: _Child) -> None:
        """visits.end_care: home under the care plan, no longer looked after (the return's E4A)."""
        body = visit_returns.EndCare(ended_on=self.clock.now().date(), reason="E4A")
        ctx = self._visits(child)
        self._record(child, visit_returns.decide_care_ended(ctx, self._child_context(child), child.id, body))
        self.care_ended_on[child.id] = body.ended_on

    def end_allocation(self, child: _Child | None) -> None:
        """access.end_allocation, by a manager: the child's social worker, or (None) the household's SSW."""
        if child is not None:
            reason = "Case closed: no longer looked after."
            body = AllocationRequest(
                worker_id=child.social_worker, role="child_social_worker", child_id=child.id, reason=reason
            )
        else:
            reason = "Case closed: the approval ended."
            body = AllocationRequest(
                worker_id=self.ssw,
                role="supervising_social_worker",
                household_id=self.state.household_id,
                reason=reason,
            )
        event = decide_allocation(self._ctx("access", self.manager, Role.MANAGER), body, allocated=False)
        self.append(f"allocation-{body.child_id or body.household_id}", [event])

    def end_approval(self) -> None:
        """carers.end_approval when the notice takes effect: meets the resignation clock and stops
        the approval's own."""
        body = carers.EndApprovalIn(reason="Resigned (reg 28(13)): notice took effect.")
        self._household_append(carers.decide_end_of_approval(self._carers(manager=True), self.state, body))

    def answer_waiting_notifications(self) -> None:
        """notifications.acknowledge for every recipient still waited for, late."""
        for stream_id, history in list(self.recorded.items()):
            if not stream_id.startswith("notification-"):
                continue
            state = notification_commands.notification_state(history)
            if state.raised is None:
                continue
            notification_id = uuid.UUID(stream_id.removeprefix("notification-"))
            authority = (state.raised.placing_authorities or ["the placing authority"])[0]
            for recipient in state.raised.recipients:
                if notification_rules.acknowledgement_deadline_id(notification_id, recipient) in state.open_clocks:
                    self.acknowledge_notification(notification_id, recipient, authority, self.clock.now())


def block_events(
    seed: int, block: int, now: datetime, blocks_per_year: int = BLOCKS_PER_YEAR
) -> list[tuple[str, list[NewEvent]]]:
    """One household with three placed children and a year of their record, about 445 events, as
    (stream id, events) appends: one per stream, its events in stream order, the household's
    first. The year ends `block // blocks_per_year` years before `now`; a past year's children
    leave care and its household resigns before it ends. Deterministic from (seed, block) and `now`."""
    year = _Year(seed, block, now, block // blocks_per_year)
    year.plan()
    year.run()
    return year.appends()


# The order of a block's appends in the log, kind of stream by kind: a clock's start before what
# ends it in another stream (a complaint's follow-up visit before the child's visit that meets it,
# the household's clocks before the placement's end that stops them, a registration before the end
# of its allocation), and a reaction's stream before its cause's, so a reactor that follows the
# load finds its reaction stored and adds nothing. (A placement's clocks met at a supervision on
# the household's stream cannot follow both ways; the household comes first, as it always did.)
_WAVES = (("household",), ("notification", "complaint"), ("child",), ("allegation", "placement"), ("allocation",))


def _waves(block: list[tuple[str, list[NewEvent]]]) -> list[list[tuple[str, list[NewEvent]]]]:
    """A block's appends in `_WAVES`: each wave appended once the one before is stored."""
    wave_of = {kind: wave for wave, kinds in enumerate(_WAVES) for kind in kinds}
    waves: list[list[tuple[str, list[NewEvent]]]] = [[] for _ in _WAVES]
    for append in block:
        waves[wave_of[append[0].split("-", 1)[0]]].append(append)
    return [wave for wave in waves if wave]


async def load_bulk(
    store: EventStore,
    target_events: int,
    *,
    seed: int = 7,
    first_block: int = 0,
    now: datetime | None = None,
    concurrency: int = 32,
    progress: Callable[[int], None] | None = None,
    blocks_per_year: int = BLOCKS_PER_YEAR,
) -> BulkResult:
    """Append blocks (household + three children) until about `target_events` more events are
    stored, through `EventStore.append` with `concurrency` appends in flight (group commit): a few
    blocks overlap, each block's waves (`_waves`) one after the other."""
    now = now or datetime.now(UTC)
    result = BulkResult(blocks=first_block)
    queue: asyncio.Queue[tuple[str, list[NewEvent], asyncio.Future[None]] | None] = asyncio.Queue(
        maxsize=concurrency * 4
    )

    async def worker() -> None:
        while (item := await queue.get()) is not None:
            stream_id, events, done = item
            try:
                await store.append(stream_id, events, 0)
                done.set_result(None)
            except Exception as error:  # the block waiting on it fails, and the load with it
                done.set_exception(error)

    async def in_waves(block: list[tuple[str, list[NewEvent]]]) -> None:
        for wave in _waves(block):
            appended = []
            for stream_id, events in wave:
                appended.append(asyncio.get_running_loop().create_future())
                await queue.put((stream_id, events, appended[-1]))
            await asyncio.gather(*appended)

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    blocks: deque[asyncio.Task[None]] = deque()
    try:
        while result.events < target_events:
            block = block_events(seed, result.blocks, now, blocks_per_year)
            result.blocks += 1
            result.household_ids.append(uuid.UUID(block[0][0].removeprefix("household-")))
            for stream_id, events in block:
                if stream_id.startswith("child-"):
                    result.child_ids.append(uuid.UUID(stream_id.removeprefix("child-")))
                result.events += len(events)
            # A few blocks at once (about a writer's batch of appends): the log stays in block order
            # but for its last few, so the first blocks' children are recorded first.
            if len(blocks) >= max(2, concurrency // 16):
                await blocks.popleft()
            blocks.append(asyncio.create_task(in_waves(block)))
            if progress is not None:
                progress(result.events)
        await asyncio.gather(*blocks)
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
    finally:
        for task in [*workers, *blocks]:
            task.cancel()
    return result
