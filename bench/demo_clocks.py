"""The clocks a small agency's year would not reach by chance, each shown met in time and missed
whatever the demo's size, on its longest-placed children (the first two) and their households: a
child's needs and the carers' training for them, allegations reported by a worker outside the care
and triaged by the registered manager, incidents and concerns followed up at supervision, a complaint
late at stages 2 and 3, a concern answered late, a return home interview late, a health plan and a
health assessment reviewed in time."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bench.demo_events import _complaint, _concern, _household, _incident, _later_path, _needs
from bench.demo_story import HOUSING, Child, Household, daytime, iso
from bench.generator import TERMS
from shared.calendar import add_working_days_at

if TYPE_CHECKING:
    from bench.demo_story import Story

CONCERNS = (
    "The carers are struggling with the school run since the younger child started nursery.",
    f"The bedroom is too small for two; the carers await {HOUSING} on a bigger house.",
)


def plan_clocks(story: Story) -> None:
    placed = sorted((c for c in story.children if c.placed_at is not None), key=lambda c: c.placed_at or story.end)
    first, second = placed[0], placed[min(1, len(placed) - 1)]
    rng = random.Random(f"{story.api.seed}-clocks")
    _needs(story, first, rng, need="self_harm", after=20)
    _needs(story, second, rng, need="diabetes", after=30, late=True)
    _triage(story, first, _from(story, first, 60), rng, late=False)
    _triage(story, second, _from(story, second, 200), rng, late=True)
    # On the supervision agenda: police called (discussed at the next supervision), damage (put off).
    _incident(story, first, _from(story, first, 75), "police_called", random.Random(21), slow=False)
    _incident(story, second, _from(story, second, 160), "damage", random.Random(22), slow=False)
    # A missing episode whose return home interview is late; a seizure whose health plan is in time.
    _incident(story, second, _from(story, second, 100), "missing", random.Random(23), slow=True)
    _incident(story, first, _from(story, first, 140), "seizure", random.Random(24), slow=False)
    for child, days, concern in ((first, 90, CONCERNS[0]), (second, 130, CONCERNS[1])):
        _supervision_concern(story, child, _from(story, child, days), concern, rng)
    _first_aid(story, story.households[story.slow_household], rng)
    # A health review well before it is due, for a child still in care (a leaver's stop with care).
    review = _from(story, second, 45)
    body = {"kind": "review_health_assessment", "occurred_at": iso(review), "by": "Dr Shah", "outcome": "Well."}
    story.at(review + timedelta(hours=2), story.health_check(second, review, body))
    # Substantiated allegations: the approval reviewed within 28 days, and (the household that
    # resigns) not reviewed.
    if story.slow_household >= 0:
        slow = story.households[story.slow_household]
        _substantiated(story, slow, _quiet(story, slow, 150), rng, reviewed=True)
    if story.retiring != story.slow_household:
        retiring = story.households[story.retiring]
        _substantiated(story, retiring, _quiet(story, retiring, 130), rng, reviewed=False)
    _complaint(story, second, random.Random(25), stage=3, slow=True, received=_from(story, second, 20))
    _concern(story, first, random.Random(26), late=True)


def _from(story: Story, child: Child, days: int) -> datetime:
    """`days` into the child's placement or the demo's year, whichever began later."""
    assert child.placed_at is not None
    return daytime(random.Random(days), max(child.placed_at, story.start) + timedelta(days=days))


def _supervision_concern(story: Story, child: Child, when: datetime, concern: str, rng: random.Random) -> None:
    """A concern raised at a visit by the household's SSW, followed up at a visit two weeks later
    (unless it waits on the council)."""
    household = _household(story, child)
    story.at(when, story.supervision(household, when, False, rng, concerns=(concern,)))
    again = daytime(rng, when + timedelta(days=14))
    story.at(again, story.supervision(household, again, False, rng))


def _triage(story: Story, child: Child, received: datetime, rng: random.Random, *, late: bool) -> None:
    """A duty social worker with no part in the child's care reports an allegation; the registered
    manager triages it (closes it with the reason) the same day, or (`late`) days later."""
    household = _household(story, child)
    ids: dict[str, str] = {}

    async def report() -> None:
        body: dict[str, Any] = {
            "household_id": household.id,
            "member_id": household.members[0],
            "child_ids": [child.id],
            "received_at": iso(received),
            "summary": "A neighbour told the duty worker she heard shouting at the foster home late at night.",
            "source": "duty social worker, from a neighbour",
        }
        made = await story.api.post("/v1/allegations", body, required=False, headers=story.outside_worker_headers())
        if made is not None:
            ids["id"] = made.get("report_id", "")

    story.at(received + timedelta(minutes=30), report)
    closed = add_working_days_at(received, 4) if late else received + timedelta(hours=rng.randint(2, 5))
    why = {"reason": "Spoke with the carers and the child: a loud film, not an argument; no harm alleged."}

    async def close() -> None:
        if ids.get("id"):
            await story.api.post(f"/v1/allegation-reports/{ids['id']}/close", why, required=False)

    story.at(closed, close)


def _first_aid(story: Story, household: Household, rng: random.Random) -> None:
    """A first aid certificate that runs out in the year: renewed by one carer, not by the other."""
    done = daytime(rng, story.start + timedelta(days=20))
    expires = (done + timedelta(days=180)).date().isoformat()

    async def train() -> None:
        for member in household.members:
            body = {"member_id": member, "course": "first_aid", "completed_on": done.date().isoformat()}
            await story.api.post(f"/v1/households/{household.id}/training", {**body, "expires_on": expires})

    story.at(done + timedelta(hours=2), train)
    renewed = done + timedelta(days=170)

    async def renew() -> None:
        body = {"member_id": household.members[0], "course": "first_aid", "completed_on": renewed.date().isoformat()}
        await story.api.post(f"/v1/households/{household.id}/training", body, required=False)

    story.at(renewed + timedelta(hours=2), renew)


def _quiet(story: Story, household: Household, days: int) -> datetime:
    """The first weekday from `days` into the year with no placement in the household for 60 days
    (the allegation's hold would refuse it)."""
    at = story.start + timedelta(days=days)
    while any(
        c.placed_at and at - timedelta(days=1) <= c.placed_at <= at + timedelta(days=60) for c in household.children
    ):
        at += timedelta(days=7)
    return daytime(random.Random(days), at)


def _substantiated(
    story: Story, household: Household, received: datetime, rng: random.Random, *, reviewed: bool
) -> None:
    """An allegation against a carer referred to the LADO the same day, found substantiated three
    weeks later; the household's approval reviewed two weeks after that (and its hold lifted), or not."""
    ids: dict[str, str] = {}

    async def receive() -> None:
        body = {
            "household_id": household.id,
            "member_id": household.members[0],
            "child_ids": [c.id for c in story.placed_in(household, received)],
            "received_at": iso(received),
            "summary": "The carer smacked a child during an argument at bedtime; the child told the school.",
            "source": "school designated safeguarding lead",
        }
        made = await story.api.post("/v1/allegations", body, required=False)
        if made is not None:
            ids["id"], ids["hold"] = made["allegation_id"], made["hold_id"]

    story.at(received + timedelta(hours=1), receive)
    url = _later_path("/v1/allegations/{id}/{step}", ids)
    referred = received + timedelta(hours=3)
    lado = {"referred_at": iso(referred), "lado_name": "LADO, West Northamptonshire"}
    story.at(referred, story.post(url("lado-referral"), lado, required=False))
    confirmed = add_working_days_at(referred, 1)
    story.at(confirmed, story.post(url("written-confirmation"), {"sent_at": iso(confirmed)}, required=False))
    decided = daytime(rng, received + timedelta(days=21))
    outcome = {"outcome": "substantiated", "dbs_referral_made": True, "decided_at": iso(decided)}
    story.at(decided, story.post(url("outcome"), outcome, required=False))
    if not reviewed:
        return
    held = daytime(rng, decided + timedelta(days=14))
    story.at(held + timedelta(hours=2), story.review(household, held, True))  # to panel: it may be the first
    _determination(story, household, held + timedelta(days=1))
    lift = {"reason": "Approval reviewed after the substantiated allegation: continue, with a safety plan."}
    story.at(
        held + timedelta(hours=3),
        story.post(lambda: f"/v1/households/{household.id}/holds/{ids.get('hold')}/lift", lift, required=False),
    )


def _determination(story: Story, household: Household, notified: datetime) -> None:
    """After the review, the agency proposes fewer children (a qualifying determination); the carers
    do not answer in their 28 days, and the agency decision maker withdraws it a week after them."""
    proposal = {
        "proposal": "change_of_terms",
        "new_terms": {**TERMS, "max_children": 2},
        "reasons": "After the substantiated allegation the agency proposes at most two children.",
        "notified_at": iso(notified),
    }
    story.at(notified, story.post(lambda: f"/v1/households/{household.id}/determinations", proposal, required=False))
    decided = daytime(random.Random(notified.toordinal()), notified + timedelta(days=35))
    decision = {
        "outcome": "withdrawn",
        "recommendation_considered": True,
        "reasons": "The safety plan has held; the terms stay as they are.",
    }
    story.at(
        decided, story.post(lambda: f"/v1/households/{household.id}/determinations/decision", decision, required=False)
    )
