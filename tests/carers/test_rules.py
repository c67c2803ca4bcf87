"""Placement eligibility, table-tested: every reason alone and combined (pure, no database)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from services.carers.rules import (
    AllegationRef,
    CheckState,
    HoldState,
    HouseholdState,
    HouseholdStatus,
    MemberRole,
    MemberState,
    PlacementRef,
    PlacementRequest,
    PlacementType,
    Terms,
    add_months,
    age_on,
    compliance,
    evolve,
    lado_referral_due,
    placement_eligibility,
)
from services.carers.rules.household import TemporaryApproval
from shared.contracts.carers import HouseholdRegistered, MemberAdded
from shared.practice import CarersPractice

ON = date(2026, 11, 25)
CHILD = uuid.UUID(int=99)


def member(name: str, dob: date, *checks: CheckState, role: str = "carer") -> MemberState:
    return MemberState(
        member_id=uuid.uuid4(), name=name, role=role, date_of_birth=dob, joined_on=date(2020, 1, 1), checks=list(checks)
    )


def dbs(result: str = "clear", checked: date = date(2026, 1, 1), expires: date | None = date(2029, 1, 1)) -> CheckState:
    return CheckState(check_id=uuid.uuid4(), kind="dbs_enhanced", result=result, checked_at=checked, expires_on=expires)


def eligible() -> HouseholdState:
    carer = member("Carer", date(1980, 1, 1), dbs())
    return HouseholdState(
        household_id=uuid.uuid4(),
        name="H",
        status=HouseholdStatus.APPROVED,
        approved_at=datetime(2026, 6, 1, tzinfo=UTC),
        terms=Terms(age_min=0, age_max=17, max_children=2, placement_types=["short_term", "long_term"]),
        members={str(carer.member_id): carer},
        agreement_signed_on=date(2026, 6, 1),
    )


def request(
    dob: date = date(2016, 5, 1), start: date = ON, kind: PlacementType = PlacementType.SHORT_TERM
) -> PlacementRequest:
    return PlacementRequest(CHILD, dob, start, kind)


Change = Callable[[HouseholdState], None]


def not_approved(s: HouseholdState) -> None:
    s.status, s.terms, s.approved_at = HouseholdStatus.ASSESSMENT, None, None


def ended(s: HouseholdState) -> None:
    s.status = HouseholdStatus.ENDED


def no_agreement(s: HouseholdState) -> None:
    s.agreement_signed_on = None


def resigned(s: HouseholdState) -> None:
    s.resignation_takes_effect_at = datetime(2026, 12, 20, tzinfo=UTC)


def temporarily_approved_until(expires: datetime, children: tuple[uuid.UUID, ...] = (CHILD,)) -> Change:
    def change(s: HouseholdState) -> None:
        not_approved(s)
        s.agreement_signed_on = None  # the agreement is full approval's (reg 27(5)(b))
        s.temporary_approval = TemporaryApproval(
            approval_id=uuid.uuid4(),
            granted_at=datetime(2026, 11, 1, tzinfo=UTC),
            expires_at=expires,
            child_ids=list(children),
        )

    return change


def on_hold(s: HouseholdState) -> None:
    h = HoldState(hold_id=uuid.uuid4(), reason="risk assessment", placed_at=datetime(2026, 11, 1, tzinfo=UTC))
    s.holds[str(h.hold_id)] = h


def lifted_hold(s: HouseholdState) -> None:
    on_hold(s)
    for h in s.holds.values():
        h.lifted_at, h.lift_reason = datetime(2026, 11, 2, tzinfo=UTC), "assessed"


def allegation_without_hold_yet(s: HouseholdState) -> None:
    a = AllegationRef(allegation_id=uuid.uuid4(), received_at=datetime(2026, 11, 24, tzinfo=UTC))
    s.allegations[str(a.allegation_id)] = a


def adult_without_dbs(s: HouseholdState) -> None:
    m = member("Lodger", date(1990, 1, 1), role="adult")
    s.members[str(m.member_id)] = m


def adult_with_concerns(s: HouseholdState) -> None:
    m = member("Partner", date(1985, 1, 1), dbs("concerns"), role="adult")
    s.members[str(m.member_id)] = m


def adult_with_expired_dbs(s: HouseholdState) -> None:
    m = member("Partner", date(1985, 1, 1), dbs(checked=date(2023, 1, 1), expires=date(2026, 1, 1)), role="adult")
    s.members[str(m.member_id)] = m


def child_member_turned_18(s: HouseholdState) -> None:
    m = member("Birth son", date(2008, 11, 20), role="child")
    s.members[str(m.member_id)] = m


def child_member_aged_17(s: HouseholdState) -> None:
    m = member("Birth daughter", date(2009, 11, 26), role="child")
    s.members[str(m.member_id)] = m


def child_member_turning_18_on_28_november(s: HouseholdState) -> None:
    m = member("Birth son", date(2008, 11, 28), role="child")
    s.members[str(m.member_id)] = m


def review_overdue(s: HouseholdState) -> None:
    s.approved_at = datetime(2025, 11, 1, tzinfo=UTC)


def reviewed_recently(s: HouseholdState) -> None:
    s.approved_at = datetime(2025, 11, 1, tzinfo=UTC)
    s.last_review_at = datetime(2026, 10, 1, tzinfo=UTC)


def full(s: HouseholdState) -> None:
    for _ in range(2):
        p = PlacementRef(placement_id=uuid.uuid4(), child_id=uuid.uuid4(), start_date=date(2026, 7, 1))
        s.placements[str(p.placement_id)] = p


def one_place_left(s: HouseholdState) -> None:
    p = PlacementRef(placement_id=uuid.uuid4(), child_id=uuid.uuid4(), start_date=date(2026, 7, 1))
    s.placements[str(p.placement_id)] = p


def only_teenagers(s: HouseholdState) -> None:
    assert s.terms is not None
    s.terms.age_min = 13


def only_under_fives(s: HouseholdState) -> None:
    assert s.terms is not None
    s.terms.age_max = 5


CASES: list[tuple[str, list[Change], PlacementRequest, set[str]]] = [
    ("eligible", [], request(), set()),
    ("not approved", [not_approved], request(), {"not_approved"}),
    ("approval ended", [ended], request(), {"not_approved"}),
    ("on hold", [on_hold], request(), {"on_hold"}),
    ("hold lifted", [lifted_hold], request(), set()),
    ("allegation before its hold is recorded", [allegation_without_hold_yet], request(), {"on_hold"}),
    ("adult without DBS", [adult_without_dbs], request(), {"adult_dbs_missing"}),
    ("adult with DBS concerns", [adult_with_concerns], request(), {"adult_dbs_concerns"}),
    ("adult with expired DBS", [adult_with_expired_dbs], request(), {"adult_dbs_expired"}),
    ("child member who has turned 18", [child_member_turned_18], request(), {"adult_dbs_missing"}),
    ("child member aged 17", [child_member_aged_17], request(), set()),
    ("child member turning 18 after the start date", [child_member_turning_18_on_28_november], request(), set()),
    (
        "child member turning 18 before the start date",
        [child_member_turning_18_on_28_november],
        request(start=date(2026, 12, 1)),
        {"adult_dbs_missing"},
    ),
    ("annual review overdue", [review_overdue], request(), {"annual_review_overdue"}),
    ("reviewed within the year", [reviewed_recently], request(), set()),
    ("at the maximum number of children", [full], request(), {"exceeds_max_children"}),
    ("one place left", [one_place_left], request(), set()),
    ("child too young for the terms", [only_teenagers], request(), {"outside_age_range"}),
    ("child too old for the terms", [only_under_fives], request(), {"outside_age_range"}),
    ("placement type not approved", [], request(kind=PlacementType.REMAND), {"placement_type_not_approved"}),
    ("placement type approved", [], request(kind=PlacementType.LONG_TERM), set()),
    ("no foster care agreement on record", [no_agreement], request(), {"no_foster_care_agreement"}),
    ("resignation notice received", [resigned], request(), {"resignation_given"}),
    (
        "temporary approval, the child named",
        [temporarily_approved_until(datetime(2027, 2, 21, tzinfo=UTC))],
        request(),
        set(),
    ),
    (
        "temporary approval ended before the start",
        [temporarily_approved_until(datetime(2026, 11, 27, tzinfo=UTC))],
        request(start=date(2026, 11, 28)),
        {"temporary_approval_expired"},
    ),
    (
        "temporary approval for another child",
        [temporarily_approved_until(datetime(2027, 2, 21, tzinfo=UTC), (uuid.uuid4(),))],
        request(),
        {"not_named_in_temporary_approval"},
    ),
    (
        "every reason of an approved household at once",
        [on_hold, adult_without_dbs, review_overdue, full, only_teenagers],
        request(kind=PlacementType.REMAND),
        {
            "on_hold",
            "adult_dbs_missing",
            "annual_review_overdue",
            "exceeds_max_children",
            "outside_age_range",
            "placement_type_not_approved",
        },
    ),
    (
        "not approved, on hold and an unchecked adult",
        [not_approved, on_hold, adult_with_expired_dbs],
        request(),
        {"not_approved", "on_hold", "adult_dbs_expired"},
    ),
]


@pytest.mark.parametrize(("changes", "req", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_placement_eligibility(changes: list[Change], req: PlacementRequest, expected: set[str]) -> None:
    state = eligible()
    for change in changes:
        change(state)
    reasons = placement_eligibility(state, req, max(ON, req.start_date))
    assert {r.code for r in reasons} == expected
    assert all(r.detail for r in reasons)


def test_every_reason_is_listed_once_per_cause() -> None:
    state = eligible()
    adult_without_dbs(state)
    adult_with_concerns(state)
    reasons = placement_eligibility(state, request(), ON)
    assert sorted(r.code for r in reasons) == ["adult_dbs_concerns", "adult_dbs_missing"]


def test_re_placing_a_child_already_here_does_not_count_twice() -> None:
    state = eligible()
    one_place_left(state)
    p = PlacementRef(placement_id=uuid.uuid4(), child_id=CHILD, start_date=date(2026, 7, 1))
    state.placements[str(p.placement_id)] = p
    assert placement_eligibility(state, request(), ON) == []


@pytest.mark.parametrize(
    ("dob", "on", "age"),
    [
        (date(2008, 11, 25), date(2026, 11, 25), 18),
        (date(2008, 11, 26), date(2026, 11, 25), 17),
        (date(2008, 2, 29), date(2026, 2, 28), 17),
        (date(2008, 2, 29), date(2026, 3, 1), 18),
    ],
    ids=["18th birthday", "day before 18", "leap-day birthday not yet", "leap-day birthday passed"],
)
def test_age_on(dob: date, on: date, age: int) -> None:
    assert age_on(dob, on) == age


@pytest.mark.parametrize(
    ("start", "months", "due"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 11, 25), 12, date(2027, 11, 25)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
    ],
    ids=["end of month clamps", "a year", "over the new year", "leap day"],
)
def test_add_months(start: date, months: int, due: date) -> None:
    assert add_months(start, months) == due


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (datetime(2026, 11, 25, 12, tzinfo=UTC), datetime(2026, 11, 26, 12, tzinfo=UTC)),
        (datetime(2026, 11, 27, 16, tzinfo=UTC), datetime(2026, 11, 30, 16, tzinfo=UTC)),
        (datetime(2026, 12, 24, 9, tzinfo=UTC), datetime(2026, 12, 29, 9, tzinfo=UTC)),
    ],
    ids=["midweek", "friday to monday", "over christmas bank holidays"],
)
def test_lado_referral_due_in_one_working_day(received: datetime, due: datetime) -> None:
    assert lado_referral_due(received) == due


def test_fold_and_compliance_of_an_unchecked_adult() -> None:
    hid = uuid.uuid4()
    stream = f"household-{hid}"
    state = evolve(None, HouseholdRegistered(household_id=hid, name="H"), stream_id=stream, stream_version=1)
    lodger = MemberAdded(
        household_id=hid,
        member_id=uuid.uuid4(),
        name="Lodger",
        role=MemberRole.ADULT,
        date_of_birth=date(1990, 1, 1),
        joined_on=date(2026, 11, 1),
    )
    state = evolve(state, lodger, stream_id=stream, stream_version=2)
    assert state is not None and state.version == 2
    report = compliance(state, datetime(2026, 11, 25, tzinfo=UTC), CarersPractice())
    assert [(i.kind, i.dbs, i.status) for i in report.items] == [("carers.dbs_check", "missing", "required")]
    state.status = HouseholdStatus.APPROVED
    report = compliance(state, datetime(2026, 11, 25, tzinfo=UTC), CarersPractice())
    assert [(i.kind, i.dbs, i.status) for i in report.items] == [("carers.dbs_check", "missing", "overdue")]
    assert report.overdue_count == 1 and report.compliant is False
