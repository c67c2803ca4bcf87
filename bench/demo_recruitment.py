"""The demo agency's year of recruitment (issue 19): enquiries answered (mostly the next working day),
initial visits, applications, stage 1 checks and decisions, Form F assessments, two panels with
minutes, the agency decision maker's decisions and the letters that tell the applicants; one refusal
(a qualifying determination, with its 28 days), one resignation, and a connected person's temporary
approval extended once and then made full."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bench.demo_story import PANEL_MEMBERS, PRESENT, STAGE1_CHECKS, daytime, iso
from bench.generator import LOCAL_AUTHORITY, TERMS, _name
from shared.calendar import add_working_days_at

if TYPE_CHECKING:
    from bench.demo_story import Story

APPLICANTS = ("Adeyemi", "Novak", "Harris", "Begum", "Lewis", "Moreau", "Quinn", "Osei")


@dataclass
class Applicant:
    key: int
    surname: str
    enquiry_at: datetime
    id: str = ""
    member: str = ""
    steps: dict[str, datetime] = field(default_factory=dict)


def plan_recruitment(story: Story) -> None:
    rng = random.Random(f"{story.api.seed}-recruitment")
    start = story.start
    applicants = []
    for key, surname in enumerate(APPLICANTS):
        enquiry = daytime(rng, start + timedelta(days=10 + key * 17 + rng.randint(0, 8)))
        applicants.append(Applicant(key, surname, enquiry))
    # Who goes how far: the last two stop at the initial visit or never apply; one refused at panel.
    for a in applicants:
        _enquiry(story, a, rng, reply_late=a.key in (2, 6))
    for a in applicants[:7]:
        a.steps["initial_visit"] = daytime(rng, a.enquiry_at + timedelta(days=rng.randint(7, 20)))
        proceed = a.key != 6
        _step(story, a, "initial-visit", a.steps["initial_visit"], {"proceed": proceed, "notes": _NOTES[proceed]})
    for a in applicants[:6]:
        a.steps["application"] = daytime(rng, a.steps["initial_visit"] + timedelta(days=rng.randint(5, 15)))
        _step(story, a, "application", a.steps["application"], {"received_at": iso(a.steps["application"])})
        _stage1(story, a, rng, late=a.key == 3)
    # Form F assessments: due 4 months after the application; one late, one not finished by year end.
    for a in applicants[:5]:
        months = 4.5 if a.key == 1 else rng.uniform(2.8, 3.7)
        a.steps["assessment"] = daytime(rng, a.steps["application"] + timedelta(days=int(months * 30)))
        _step(story, a, "assessment", a.steps["assessment"], {"recommended_terms": TERMS})
    first, second = applicants[:2], applicants[2:5]
    _panel(story, first, max(a.steps["assessment"] for a in first) + timedelta(days=10), rng, refuse=None)
    _panel(story, second, max(a.steps["assessment"] for a in second) + timedelta(days=10), rng, refuse=second[1])
    _resignation(story, rng)
    _connected_person(story, rng)
    # A grandfather's temporary approval runs out before his full approval (late), without extension.
    _connected_person(story, random.Random(f"{story.api.seed}-kin"), KIN[1], days=190, late=True)


_NOTES = {
    True: "Spare room seen; the family's motivation discussed; invited to apply.",
    False: "The family decided fostering does not fit their work for now; not taken forward.",
}


def _enquiry(story: Story, a: Applicant, rng: random.Random, *, reply_late: bool) -> None:
    async def register() -> None:
        body = {
            "name": f"The {a.surname} household",
            "local_authority": LOCAL_AUTHORITY,
            "supervising_social_worker_id": "ssw-1",
        }
        made = await story.api.post("/v1/households", body)
        assert made is not None
        a.id = made["household_id"]
        member = {"name": f"{_name(rng).split()[0]} {a.surname}", "role": "applicant", "date_of_birth": "1984-05-02"}
        added = await story.api.post(f"/v1/households/{a.id}/members", member)
        assert added is not None
        a.member = added["member_id"]

    story.at(a.enquiry_at, register)
    body: dict[str, Any] = {"received_at": iso(a.enquiry_at), "channel": rng.choice(["phone", "web", "email"])}
    body["summary"] = "Asked about fostering teenagers and what support carers get."
    _step(story, a, "enquiry", a.enquiry_at + timedelta(minutes=10), body)
    replied = a.enquiry_at + (timedelta(days=rng.randint(3, 5)) if reply_late else timedelta(hours=rng.randint(2, 20)))
    _step(story, a, "enquiry-reply", replied, {"replied_at": iso(replied)})


def _step(story: Story, a: Applicant, name: str, when: datetime, body: dict[str, Any]) -> None:
    if name == "initial-visit":
        body = {**body, "occurred_at": iso(when)}
    story.at(when, story.post(lambda: f"/v1/households/{a.id}/journey/{name}", body, required=False))


def _stage1(story: Story, a: Applicant, rng: random.Random, *, late: bool) -> None:
    """The statutory checks and references come back over six weeks; stage 1 is decided within 10
    working days of the last (one applicant's decision is late)."""
    at = a.steps["application"]
    checks = ["dbs_enhanced", *STAGE1_CHECKS]
    for kind in checks:
        at = daytime(rng, at + timedelta(days=rng.randint(3, 9)))
        body = {"kind": kind, "result": "clear", "checked_at": at.date().isoformat()}
        story.at(at, story.post(lambda: f"/v1/households/{a.id}/members/{a.member}/checks", body, required=False))
    decided = add_working_days_at(at, 14 if late else rng.randint(2, 8))
    a.steps["stage1"] = decided
    _step(story, a, "stage1-decision", decided, {"decided_at": iso(decided), "proceed": True})


def _panel(story: Story, cases: list[Applicant], meets: datetime, rng: random.Random, refuse: Applicant | None) -> None:
    """A panel meeting: its agenda, a recommendation per case, the minutes; then the ADM decides
    (within 7 working days of the minutes, once late) and the applicants are told in writing."""
    meets = daytime(rng, meets)
    ids: dict[str, str] = {}

    async def convene() -> None:
        made = await story.api.post("/v1/panels", {"meets_on": meets.date().isoformat(), "members": PANEL_MEMBERS})
        assert made is not None
        ids["panel"] = made["panel_id"]
        for a in cases:
            await story.api.post(f"/v1/panels/{ids['panel']}/agenda", {"household_id": a.id, "case": "approval"})

    story.at(meets - timedelta(days=7), convene)
    for a in cases:
        no = a is refuse
        body: dict[str, Any] = {
            "household_id": "",
            "members_present": PRESENT,
            "recommendation": "not_approve" if no else "approve",
            "reasons": _REASONS[no],
        }
        if not no:
            body["terms"] = TERMS
        if a.key == 1:
            body["dissent"] = "The medical adviser would approve for one child at first."

        async def recommend(a: Applicant = a, body: dict[str, Any] = body) -> None:
            await story.api.post(f"/v1/panels/{ids['panel']}/recommendations", {**body, "household_id": a.id})

        story.at(meets + timedelta(hours=1, minutes=a.key), recommend)
    minutes_at = daytime(rng, meets + timedelta(days=rng.randint(5, 9)))
    minutes = {"minutes": "Cases heard in turn; recommendations and reasons as recorded; dissent noted."}
    story.at(minutes_at, story.post(lambda: f"/v1/panels/{ids['panel']}/minutes", minutes))
    for a in cases:
        late = a.key == 0
        decided = add_working_days_at(minutes_at, 9 if late else rng.randint(2, 5))
        no = a is refuse
        decision: dict[str, Any] = {
            "decided_at": iso(decided),
            "decision": "qualifying_determination" if no else "approve",
            "recommendation_considered": True,
        }
        if no:
            decision["reasons"] = "Proposes not to approve: the panel's concerns about the home's safety stand."
        _step(story, a, "agency-decision", decided, decision)
        told = add_working_days_at(decided, rng.randint(1, 3) if a.key != 3 else 7)  # one letter late
        _step(story, a, "applicant-notice", told, {"sent_at": iso(told), "method": "letter"})
        if no:  # the applicant asks for the IRM within the 28 days
            asked = told + timedelta(days=rng.randint(10, 20))
            irm = {"route": "irm", "summary": "The applicants applied to the Independent Review Mechanism."}
            story.at(
                asked,
                story.post(_path(a, "determinations/representations"), irm, required=False),
            )
        else:
            notice = daytime(random.Random(a.key), decided + timedelta(days=60))
            _supervised(story, a, decided, rng, stop=notice + timedelta(days=28) if a.key == 0 else story.end)
            if a.key == 0:  # finds fostering is not for them
                _resignation(story, rng, a, notice)
            agreed = daytime(rng, told + timedelta(days=rng.randint(3, 10)))
            body = {"signed_on": agreed.date().isoformat()}
            story.at(agreed, story.post(_path(a, "agreement"), body, required=False))


def _supervised(story: Story, a: Applicant, approved: datetime, rng: random.Random, stop: datetime) -> None:
    """Newly approved carers: supervised monthly by their SSW from approval (until `stop`)."""
    at = approved + timedelta(days=rng.randint(14, 28))
    while at < stop:
        when = daytime(rng, at)
        body = {
            "occurred_at": iso(when),
            "narrative": "Supervision of newly approved carers: preparing for a first child.",
        }
        story.at(when, story.post(_path(a, "supervisions"), body, required=False))
        at += timedelta(days=rng.randint(26, 31))


def _path(a: Applicant, step: str) -> Callable[[], str]:
    return lambda: f"/v1/households/{a.id}/{step}"


_REASONS = {
    False: "Insightful applicants with a stable home and a strong support network; room for two children.",
    True: "The panel was not satisfied the home could be made safe for children within a reasonable time.",
}


KIN = (
    ("June Fletcher", "1961-04-03", "Leo Fletcher", "Fletcher"),
    ("Arthur Doyle", "1958-11-20", "Mia Doyle", "Doyle"),
)


def _resignation(story: Story, rng: random.Random, new: Applicant | None = None, when: datetime | None = None) -> None:
    """An established household resigns: the notice, then approval ends as it takes effect 28 days
    later; or newly approved carers (`new`) find fostering is not for them, and their approval is
    ended days after the notice took effect (late)."""
    household = story.households[story.retiring]
    notice = when or daytime(rng, story.start + timedelta(days=240))
    for child in [] if new else household.children:  # no new placement after the notice
        if child.placed_at is not None and child.placed_at > notice:
            child.placed_at = None
    reason = "Fostering does not fit the family's work after all." if new else "Retiring after eleven years."
    body = {"received_at": iso(notice), "reason": reason}

    def path(step: str) -> Callable[[], str]:
        return lambda: f"/v1/households/{new.id if new else household.id}/{step}"

    story.at(notice + timedelta(hours=1), story.post(path("resignation"), body))
    ended = notice + timedelta(days=28) if new is None else add_working_days_at(notice + timedelta(days=28), 3)
    end = {"reason": "Resigned (reg 28(13)): notice took effect."}
    story.at(ended, story.post(path("approval/end"), end, required=False))


def _connected_person(
    story: Story, rng: random.Random, kin: tuple[str, str, str, str] = KIN[0], days: int = 150, late: bool = False
) -> None:
    """A grandmother approved temporarily for her grandson (reg 24, 16 weeks), extended by 6 weeks
    (reg 25), then approved in full through the journey before the extension runs out (or, `late`:
    not extended, approved in full a week after the temporary approval ran out)."""
    from bench.demo_story import Child, Household

    carer, born, grandchild, surname = kin
    kin_word = "Grandmother" if kin is KIN[0] else "Grandfather"
    granted = daytime(rng, story.start + timedelta(days=days))
    household = Household(len(story.households), granted, [(carer, datetime.fromisoformat(born).date())], "ssw-2", "")
    ids: dict[str, str] = {}
    child = Child(
        len(story.children),
        {
            "name": grandchild,
            "date_of_birth": "2016-09-12",
            "legal_status": "interim_care_order",
            "placing_authority": "Bedford Borough Council",
            "social_worker_id": "sw-3",
        },
        granted + timedelta(hours=2),
        None,
        False,
    )

    async def grant() -> None:
        made = await story.api.post(
            "/v1/households",
            {
                "name": f"The {surname} household",
                "local_authority": LOCAL_AUTHORITY,
                "connected_person": True,
                "supervising_social_worker_id": "ssw-2",
            },
        )
        assert made is not None
        household.id = made["household_id"]
        member = {"name": carer, "role": "applicant", "date_of_birth": born}
        added = await story.api.post(f"/v1/households/{household.id}/members", member)
        assert added is not None
        ids["member"] = added["member_id"]
        check = {"kind": "dbs_enhanced", "result": "clear", "checked_at": granted.date().isoformat()}
        await story.api.post(f"/v1/households/{household.id}/members/{ids['member']}/checks", check, required=False)
        registered = await story.api.post(
            "/v1/children", {**child.body, "looked_after_since": granted.date().isoformat()}
        )
        assert registered is not None
        child.id = registered["child_id"]
        body = {"granted_at": iso(granted), "child_ids": [child.id], "relationship": kin_word}
        await story.api.post(f"/v1/households/{household.id}/temporary-approval", body, required=False)
        place = {
            "child_id": child.id,
            "household_id": household.id,
            "start_date": granted.date().isoformat(),
            "placement_type": "short_term",
            "connected_person": True,
        }
        await story.api.post("/v1/placements", place, required=False)

    story.at(granted, grant)
    household.children.append(child)
    at = granted + timedelta(days=rng.randint(3, 6))
    while at < story.end:  # supervised monthly, the grandson seen each time
        when = daytime(rng, at)
        story.at(when, story.supervision(household, when, False, rng))
        at += timedelta(days=rng.randint(26, 31))
    extended = granted + timedelta(weeks=15)
    extension = {"weeks": 6, "reason": "The Form F assessment needs the paediatric report, delayed by the hospital."}
    if not late:
        story.at(
            extended,
            story.post(
                lambda: f"/v1/households/{household.id}/temporary-approval/extension", extension, required=False
            ),
        )
    approved = daytime(rng, granted + timedelta(weeks=17 if late else 19))
    approval = {
        "decision": "approved",
        "decided_at": iso(approved),
        "terms": {**TERMS, "max_children": 1},
        "panel_date": (approved - timedelta(days=5)).date().isoformat(),
        "agreement_signed_on": approved.date().isoformat(),
    }
    story.at(approved, story.post(lambda: f"/v1/households/{household.id}/approval", approval, required=False))
