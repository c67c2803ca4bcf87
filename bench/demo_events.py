"""What happens to the demo's children through the year besides the routine: incidents and what they
call for (a visit after a serious one, a return home interview after a missing episode, the risk
assessment and health plan reviewed), concerns, complaints through their stages, allegations, needs
that call for carer training, endings, Schedule 7 notifications answered, and a few corrections."""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bench.demo_story import RISK, Child, Household, daytime, iso
from bench.generator import COMPLAINT_RESPONSES, COMPLAINTS, FOUND, INCIDENTS
from shared.calendar import add_working_days_at

if TYPE_CHECKING:
    from bench.demo_story import Story

SERIOUS = {"police_called", "missing", "self_harm", "overdose"}
HEALTH_PLAN = {
    "kind": "health",
    "summary": "Health plan reviewed after the incident: GP and CAMHS involved; carers briefed.",
    "strategies": ["Carer checks in each evening"],
}
# Each need and the courses it calls for (services/carers/rules/tables.py's NEEDS_TRAINING).
NEEDS = {"epilepsy": ("epilepsy", "first_aid"), "diabetes": ("diabetes", "medication"), "self_harm": ("self_harm",)}
ON_THE_AGENDA = {"assault_on_carer", "damage", "police_called"}


def plan_events(story: Story) -> None:
    rng = random.Random(f"{story.api.seed}-events")
    placed = [c for c in story.children if c.placed_at is not None]
    for child in placed:
        crng = random.Random(f"{story.api.seed}-events-{child.key}")
        _incidents(story, child, crng)
        if crng.random() < 0.35:
            _complaint(story, child, crng, stage=_stage(crng))
        if crng.random() < 0.15:
            _concern(story, child, crng)
        if crng.random() < 0.12:
            _needs(story, child, crng)
    ending = [
        c for c in placed if c.placed_at and c.placed_at < story.end - timedelta(days=120) and c.key != story.slow_child
    ]
    # At least two endings: the first record completed in time, the second late.
    for shown, child in enumerate(rng.sample(ending, min(len(ending), max(2, len(ending) // 12)))):
        _ending(story, child, rng, {0: False, 1: True}.get(shown))
    _concern(story, rng.choice(placed), rng, protection=True)
    _concern(story, rng.choice(placed), rng, protection=True, late=True)
    _allegation(story, rng, placed, story.start + timedelta(days=rng.randint(120, 200)), finished=True)
    _allegation(story, rng, placed, story.end - timedelta(days=9), finished=False)
    _today(story, rng, placed)
    _showcase(story, sorted(placed, key=lambda c: c.placed_at or story.end), rng)
    day = story.start + timedelta(days=6)
    while day < story.end:
        story.at(daytime(rng, day), lambda: _answer_notifications(story))
        day += timedelta(days=7)


def _later_path(template: str, ids: dict[str, str], child: Child | None = None) -> Callable[[str], Callable[[], str]]:
    """`url(step)`: the path of a step on a record whose id is known only once it is recorded."""

    def url(step: str) -> Callable[[], str]:
        return lambda: template.format(id=ids.get("id", "none"), step=step, child=child.id if child else "")

    return url


def _stage(rng: random.Random) -> int:
    return 1 if rng.random() < 0.85 else (2 if rng.random() < 0.8 else 3)


def _household(story: Story, child: Child) -> Household:
    return story.households[child.household or 0]


def _incidents(story: Story, child: Child, rng: random.Random) -> None:
    assert child.placed_at is not None
    for _ in range(rng.choices((0, 1, 2), weights=(55, 35, 10))[0]):
        at = daytime(rng, child.placed_at + timedelta(days=rng.randint(5, 330))) + timedelta(hours=rng.randint(0, 5))
        category = rng.choice([*INCIDENTS, "seizure", "substance_misuse"])
        _incident(story, child, at, category, rng)


def _incident(
    story: Story,
    child: Child,
    at: datetime,
    category: str,
    rng: random.Random,
    follow: bool = True,
    slow: bool | None = None,
) -> None:
    """The incident and what it calls for, each follow-up mostly in time (or, when `slow` is given,
    all in time or all late)."""
    hospital = category == "overdose" or (category == "self_harm" and rng.random() < 0.5)
    narrative = INCIDENTS[category][1] if category in INCIDENTS else _OTHER[category]
    body: dict[str, Any] = {
        "category": category,
        "occurred_at": iso(at),
        "narrative": narrative,
        "needed_hospital_treatment": hospital,
        "police_called": category == "police_called",
    }
    url = story.child_url(child, "incidents")
    written = story.later(at, late=rng.random() < 0.08, rng=rng)

    async def record() -> None:
        await story.post(url, body, required=False)()
        if category in ON_THE_AGENDA:  # discussed at the household's next supervision
            story.pending.add(child.household or 0)

    story.at(written, record)
    # The recipients of any Schedule 7 notification it raised answer within hours (most of them).
    story.at(written + timedelta(hours=3), lambda: _answer_notifications(story, child))
    if not follow:
        return
    if category == "missing":
        found = at + timedelta(hours=rng.randint(3, 30))
        back = {"category": "found", "occurred_at": iso(found), "narrative": FOUND}
        story.at(found + timedelta(hours=1), story.post(url, back, required=False))
        interview = found + timedelta(hours=rng.randint(20, 60) if _in_time(rng, 0.8, slow) else rng.randint(80, 120))
        talk = {
            "occurred_at": iso(interview),
            "kind": "return_home_interview",
            "with_whom": "the child, by an independent worker",
            "summary": "Talked about where she went and who with; no exploitation indicators.",
            "worker_id": child.body["social_worker_id"],
        }
        story.at(interview + timedelta(hours=1), story.post(story.child_url(child, "contacts"), talk, required=False))
    if category in SERIOUS and rng.random() < 0.85:
        follow_up_visit(story, child, at, f"the {category.replace('_', ' ')}", rng)
    if category in {*SERIOUS, "substance_misuse"} - {"overdose"} or category == "overdose":
        reviewed = add_working_days_at(at, rng.randint(1, 4) if _in_time(rng, 0.8, slow) else 7)
        risk = {
            **RISK,
            "assessed_by": child.body["social_worker_id"],
            "review_date": (reviewed + timedelta(days=90)).date().isoformat(),
        }
        story.at(reviewed, story.post(story.child_url(child, "risk-assessments"), risk, required=False))
    if category in ("seizure", "substance_misuse"):
        reviewed = add_working_days_at(at, rng.randint(1, 4) if _in_time(rng, 0.75, slow) else 8)
        plan = {**HEALTH_PLAN, "review_date": (reviewed + timedelta(days=120)).date().isoformat()}
        story.at(reviewed + timedelta(hours=1), story.post(story.child_url(child, "plans"), plan, required=False))


def _in_time(rng: random.Random, likely: float, slow: bool | None) -> bool:
    """The draw that decides whether a step is in time, overridden by `slow` (drawn either way, so
    the rest of the story's draws stay as they are)."""
    drawn = rng.random() < likely
    return drawn if slow is None else not slow


def follow_up_visit(story: Story, child: Child, after: datetime, what: str, rng: random.Random) -> None:
    """The child's social worker sees the child after `what`: mostly within 2 working days."""
    visit_at = add_working_days_at(after, rng.choice((1, 1, 1, 2)) if rng.random() < 0.8 else 4)
    visit = {
        "occurred_at": iso(visit_at),
        "visitor_id": child.body["social_worker_id"],
        "visitor_role": "child_social_worker",
        "kind": "other",
        "child_seen": True,
        "seen_alone": True,
        "bedroom_seen": story.refusing(child, visit_at) < 2,
        "child_views": "Talked about what happened and what would help next time.",
        "narrative": f"Visit after {what}; safety plan agreed with the carer.",
    }
    story.at(visit_at + timedelta(hours=2), story.post(story.child_url(child, "visits"), visit, required=False))


def _showcase(story: Story, placed: list[Child], rng: random.Random) -> None:
    """Whatever the size, the incidents whose clocks a manager should see both ways: two missing
    episodes (a return home interview in time, one late), a seizure and substance misuse (the health
    plan reviewed in time, then late), self-harm (the risk assessment reviewed in time)."""
    first, second = placed[0], placed[min(1, len(placed) - 1)]
    for child, days, category in ((first, 40, "missing"), (second, 70, "seizure"), (first, 120, "self_harm")):
        assert child.placed_at is not None
        _incident(story, child, daytime(rng, child.placed_at + timedelta(days=days)), category, random.Random(1))
    for child, days, category in ((second, 150, "missing"), (first, 190, "substance_misuse")):
        assert child.placed_at is not None
        _incident(story, child, daytime(rng, child.placed_at + timedelta(days=days)), category, random.Random(5))
    _complaint(story, first, random.Random(3), stage=1, timely=True)
    _complaint(story, second, random.Random(4), stage=3, timely=True)


_OTHER = {
    "seizure": "Had a seizure at breakfast lasting two minutes; the carer followed the care plan and called 111.",
    "substance_misuse": "Came home smelling of cannabis and unsteady; the carer stayed with him overnight.",
}


def _complaint(
    story: Story,
    child: Child,
    rng: random.Random,
    *,
    stage: int,
    timely: bool = False,
    slow: bool = False,
    received: datetime | None = None,
) -> None:
    """Acknowledged (48 hours), answered (10 working days), some taken to stage 2 or 3; mostly in time
    (`timely`: every stage in time; `slow`: stages 2 and 3 each late)."""
    assert child.placed_at is not None
    latest = (story.end - child.placed_at).days - 5
    if latest < 20:
        return
    drawn = daytime(rng, child.placed_at + timedelta(days=rng.randint(15, latest)))
    received = received or drawn
    ids: dict[str, str] = {}
    household = _household(story, child)

    made_by = rng.choice(["child", "parent", "carer", "other"])
    if made_by == "child":
        follow_up_visit(story, child, received, "the child's complaint", rng)

    async def receive() -> None:
        body = {
            "received_at": iso(received),
            "made_by": made_by,
            "about_household_id": household.id,
            "summary": rng.choice(COMPLAINTS),
        }
        made = await story.api.post(f"/v1/children/{child.id}/complaints", body, required=False)
        if made is not None:
            ids["id"] = made["complaint_id"]

    story.at(received + timedelta(minutes=30), receive)
    url = _later_path("/v1/complaints/{id}/{step}", ids)
    if timely or rng.random() < 0.92:
        ack = received + (
            timedelta(hours=rng.randint(2, 40))
            if timely or rng.random() < 0.85
            else timedelta(hours=rng.randint(60, 90))
        )
        story.at(
            ack,
            story.post(url("acknowledge"), {"acknowledged_at": iso(ack), "how": "letter to the child"}, required=False),
        )
    answered = add_working_days_at(
        received, rng.randint(4, 9) if timely or rng.random() < 0.75 else rng.randint(11, 18)
    )
    text, outcome = rng.choice(COMPLAINT_RESPONSES)
    story.at(
        answered,
        story.post(
            url("respond"), {"responded_at": iso(answered), "response": text, "outcome": outcome}, required=False
        ),
    )
    at = answered
    if stage >= 2:
        at = daytime(rng, at + timedelta(days=rng.randint(3, 10)))
        story.at(
            at,
            story.post(
                url("escalate"), {"requested_at": iso(at), "reason": "Not satisfied with the answer."}, required=False
            ),
        )
        at = add_working_days_at(at, rng.randint(15, 24) if (rng.random() < 0.7 or timely) and not slow else 30)
        body = {
            "responded_at": iso(at),
            "response": "Investigated independently; apology and new contact plan.",
            "outcome": "partly_upheld",
        }
        story.at(at, story.post(url("respond"), body, required=False))
    if stage >= 3:
        at = daytime(rng, at + timedelta(days=rng.randint(3, 8)))
        story.at(
            at,
            story.post(
                url("escalate"), {"requested_at": iso(at), "reason": "Asked for a review panel."}, required=False
            ),
        )
        at = add_working_days_at(at, 34 if slow else rng.randint(15, 28))
        story.at(at, story.post(url("panel"), {"held_at": iso(at)}, required=False))
        at = add_working_days_at(at, 7 if slow else rng.randint(2, 4))
        body = {"reported_at": iso(at), "recommendations": "Named worker for contact; monthly check-ins."}
        story.at(at, story.post(url("panel-report"), body, required=False))
        at = add_working_days_at(at, rng.randint(8, 14) if (rng.random() < 0.5 or timely) and not slow else 20)
        body = {
            "responded_at": iso(at),
            "response": "The agency accepts the panel's recommendations.",
            "outcome": "upheld",
        }
        story.at(at, story.post(url("respond"), body, required=False))
    closed = daytime(rng, at + timedelta(days=rng.randint(1, 6)))
    story.at(closed, story.post(url("close"), {"closed_at": iso(closed), "outcome": "resolved"}, required=False))


def _concern(story: Story, child: Child, rng: random.Random, *, protection: bool = False, late: bool = False) -> None:
    """A concern acted on and answered within 2 working days (mostly; `late`: answered late); one that
    becomes a child protection enquiry, with its strategy discussion the next working day (once late)."""
    assert child.placed_at is not None
    raised = daytime(
        rng, child.placed_at + timedelta(days=rng.randint(10, max(11, (story.end - child.placed_at).days - 10)))
    )
    ids: dict[str, str] = {}

    async def raise_it() -> None:
        body = {
            "raised_at": iso(raised),
            "raised_by": "child",
            "summary": "Does not feel safe with an older child in the house.",
            "childs_words": "I don't feel safe when he's around.",
        }
        made = await story.api.post(f"/v1/children/{child.id}/concerns", body, required=False)
        if made is not None:
            ids["id"] = made["concern_id"]

    story.at(raised + timedelta(minutes=20), raise_it)
    url = _later_path("/v1/children/{child}/concerns/{id}/{step}", ids, child)
    acted = add_working_days_at(raised, 1 if rng.random() < 0.8 else 3)
    story.at(
        acted,
        story.post(
            url("actions"), {"actioned_at": iso(acted), "action": "Spoke with the SSW and the carers."}, required=False
        ),
    )
    if protection:
        escalated = acted + timedelta(hours=1)
        body = {
            "escalated_at": iso(escalated),
            "to": "child_protection_enquiry",
            "reason": "Disclosure needs a section 47 enquiry.",
        }
        story.at(escalated, story.post(url("escalate"), body, required=False))
        follow_up_visit(story, child, escalated, "the child protection enquiry began", rng)
        held = add_working_days_at(escalated, 3 if late else 1) - timedelta(hours=2)
        story.at(
            held + timedelta(hours=1),
            story.post(
                url("strategy-discussion"),
                {"held_at": iso(held), "outcome": "Section 47 enquiry; safety plan."},
                required=False,
            ),
        )
        return
    resolved = (
        add_working_days_at(raised, 2) - timedelta(hours=1)
        if rng.random() < 0.8 and not late
        else add_working_days_at(raised, 4)
    )
    resolved = max(resolved, acted + timedelta(hours=1))  # the outcome follows the action taken
    body2 = {
        "resolved_at": iso(resolved),
        "outcome": "Rooms rearranged; the child told what will happen.",
        "child_told": True,
    }
    story.at(resolved, story.post(url("outcome"), body2, required=False))


def _needs(story: Story, child: Child, rng: random.Random, need: str = "", after: int = 0, late: bool = False) -> None:
    """A need recorded soon after placement (or `after` days); the carers trained for it within 28
    days (mostly)."""
    assert child.placed_at is not None
    need = need or rng.choice(list(NEEDS))
    at = daytime(rng, child.placed_at + timedelta(days=after or rng.randint(2, 10)))
    story.at(
        at,
        story.post(
            story.child_url(child, "needs"), {"needs": [need], "notes": "From the placing authority."}, required=False
        ),
    )
    household = _household(story, child)
    trained = daytime(rng, at + timedelta(days=rng.randint(7, 25) if rng.random() < 0.8 and not late else 40))

    async def train() -> None:
        for member in household.members:
            for course in NEEDS[need]:
                body = {"member_id": member, "course": course, "completed_on": trained.date().isoformat()}
                await story.api.post(f"/v1/households/{household.id}/training", body, required=False)

    story.at(trained + timedelta(hours=2), train)


def _ending(story: Story, child: Child, rng: random.Random, slow: bool | None = None) -> None:
    """A planned ending; now and then its record incomplete at first, completed within 5 working days
    (or later; when `slow` is given, incomplete at first and completed late or in time)."""
    assert child.placed_at is not None
    ended = daytime(
        rng, child.placed_at + timedelta(days=rng.randint(100, max(101, (story.end - child.placed_at).days - 10)))
    )
    child.ended_at = ended
    complete = rng.random() < 0.6 and slow is None
    body: dict[str, Any] = {
        "end_date": ended.date().isoformat(),
        "reason": "Returned home to family under a care plan.",
        "narrative": "Planned move home after a successful series of overnight stays.",
    }
    parts = {
        "child_wishes_contact": True,
        "child_wishes": "Wants to visit the carers at Christmas.",
        "carer_views": "Proud of her progress; would like to stay in touch.",
        "ending_meeting_held": True,
    }
    if complete:
        body |= parts
    story.at(ended, story.post(lambda: f"/v1/placements/{child.placement_id}/end", body, required=False))
    # Home under the care plan: the child is no longer looked after (the return's reason E4A).
    home = {"ended_on": ended.date().isoformat(), "reason": "E4A"}
    story.at(
        ended + timedelta(hours=1), story.post(lambda: f"/v1/children/{child.id}/care-ended", home, required=False)
    )
    if not complete:
        done = add_working_days_at(ended, rng.randint(2, 4) if _in_time(rng, 0.7, slow) else 8)
        story.at(done, story.post(lambda: f"/v1/placements/{child.placement_id}/ending", parts, required=False))


def _allegation(story: Story, rng: random.Random, placed: list[Child], received: datetime, *, finished: bool) -> None:
    """An allegation against a carer: the LADO told within a working day (the second one late),
    confirmed in writing; the first ends unsubstantiated weeks later and the hold is lifted."""
    received = daytime(rng, received)
    candidates = [
        c for c in placed if c.placed_at and c.placed_at < received and (c.ended_at is None or c.ended_at > received)
    ]
    child = rng.choice(candidates)
    household = _household(story, child)
    ids: dict[str, str] = {}

    async def receive() -> None:
        kids = [c.id for c in story.placed_in(household, received)]
        body = {
            "household_id": household.id,
            "member_id": household.members[0],
            "child_ids": kids,
            "received_at": iso(received),
            "summary": "Child told a teacher the carer grabbed his arm during an argument about screen time.",
            "source": "school designated safeguarding lead",
        }
        made = await story.api.post("/v1/allegations", body, required=False)
        if made is not None:
            ids["id"] = made["allegation_id"]
            if not finished:
                story.agency.held_household = household.id

    story.at(received + timedelta(hours=1), receive)
    for placed_child in household.children:
        if placed_child.placed_at and placed_child.placed_at < received and placed_child.ended_at is None:
            follow_up_visit(story, placed_child, received + timedelta(hours=1), "the allegation", rng)
    url = _later_path("/v1/allegations/{id}/{step}", ids)
    referred = received + timedelta(hours=3) if finished else add_working_days_at(received, 2)
    story.at(
        referred,
        story.post(
            url("lado-referral"),
            {"referred_at": iso(referred), "lado_name": "LADO, West Northamptonshire"},
            required=False,
        ),
    )
    confirmed = add_working_days_at(referred, 2)
    story.at(confirmed, story.post(url("written-confirmation"), {"sent_at": iso(confirmed)}, required=False))
    if finished:
        decided = daytime(rng, received + timedelta(days=rng.randint(25, 45)))
        outcome = {"outcome": "unsubstantiated", "dbs_referral_made": False, "decided_at": iso(decided)}
        story.at(decided, story.post(url("outcome"), outcome, required=False))


def _today(story: Story, rng: random.Random, placed: list[Child]) -> None:
    """What a manager must see on the last day: an overdose twelve days ago with no visit since, and
    a complaint unanswered for 25 days."""
    current = [c for c in placed if c.placed_at and c.placed_at < story.end - timedelta(days=40) and c.ended_at is None]
    child = current[0]
    at = story.end - timedelta(days=12, hours=3)
    _incident(story, child, at, "overdose", rng, follow=False)

    async def remember() -> None:
        story.agency.overdose_child = child.id

    story.at(at + timedelta(hours=2), remember)
    other = current[1]
    received = daytime(rng, story.end - timedelta(days=25))

    async def complain() -> None:
        body = {
            "received_at": iso(received),
            "made_by": "child",
            "about_household_id": _household(story, other).id,
            "summary": "Not allowed to phone friends after 9pm; feels the rule is unfair.",
        }
        made = await story.api.post(f"/v1/children/{other.id}/complaints", body, required=False)
        if made is not None:
            story.agency.unanswered_complaint = made["complaint_id"]

    story.at(received + timedelta(minutes=30), complain)


async def _answer_notifications(story: Story, child: Child | None = None) -> None:
    """The recipients' answers to Schedule 7 notifications (about `child`, or all of them, as the
    weekly sweep): one answer in six comes only with the weekly sweep, late."""
    found = await story.api.get("/v1/notifications", limit=1000, **({"child_id": child.id} if child else {}))
    for note in found.get("notifications", []):
        for recipient in note.get("recipients", []):
            if child is not None and zlib.crc32(f"{note['notification_id']}|{recipient}".encode()) % 6 == 0:
                continue
            key = f"{note['notification_id']}|{recipient}"
            if key in story.answered:
                continue
            story.answered.add(key)
            body = {
                "acknowledged_by": f"Duty officer, {recipient}",
                "recipient": recipient,
                "action_taken": "Read and recorded on our system.",
                "outcome": "No further action for us.",
            }
            await story.api.post(f"/v1/notifications/{note['notification_id']}/acknowledge", body, required=False)
