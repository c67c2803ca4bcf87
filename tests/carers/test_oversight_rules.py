"""Issue 12 rules, table-driven: needs -> training, the supervision agenda, endings, unannounced
visits, caseload targets and workers' supervision."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from services.carers.rules import (
    NEEDS_TRAINING,
    ChildNeed,
    belongs_on_supervision_agenda,
    caseload_status,
    children_unaccounted,
    ending_parts_recorded,
    training_gaps,
    worker_supervision_due,
)
from shared.contracts.carers import TrainingRecorded
from shared.practice import CarersPractice

PRACTICE = CarersPractice()  # the defaults: local practice as shipped
ADA, BEN = uuid.UUID(int=1), uuid.UUID(int=2)
CARERS = [(ADA, "Ada"), (BEN, "Ben")]
ON = datetime(2026, 11, 25, tzinfo=UTC).date()


def trained(
    member: uuid.UUID, course: str, completed: str = "2026-01-01", expires: str | None = None
) -> TrainingRecorded:
    return TrainingRecorded(
        household_id=uuid.UUID(int=0),
        training_id=uuid.uuid4(),
        member_id=member,
        course=course,
        completed_on=date.fromisoformat(completed),
        expires_on=date.fromisoformat(expires) if expires else None,
    )


@pytest.mark.parametrize(
    ("needs", "trainings", "expected"),
    [
        pytest.param([], [], set(), id="no needs, nothing to train"),
        pytest.param(["unlisted_need"], [], set(), id="a need the table does not name calls for nothing"),
        pytest.param(
            ["epilepsy"],
            [],
            {("Ada", "epilepsy"), ("Ada", "first_aid"), ("Ben", "epilepsy"), ("Ben", "first_aid")},
            id="epilepsy: every carer needs epilepsy and first aid",
        ),
        pytest.param(
            ["epilepsy"],
            [trained(ADA, "epilepsy"), trained(ADA, "first_aid"), trained(BEN, "first_aid")],
            {("Ben", "epilepsy")},
            id="only what each carer lacks",
        ),
        pytest.param(
            ["complex_medication", "diabetes"],
            [],
            {("Ada", "medication"), ("Ada", "diabetes"), ("Ben", "medication"), ("Ben", "diabetes")},
            id="a course two needs share is asked for once",
        ),
        pytest.param(
            ["self_harm"],
            [trained(ADA, "self_harm", expires="2026-06-01"), trained(BEN, "self_harm", completed="2026-12-01")],
            {("Ada", "self_harm"), ("Ben", "self_harm")},
            id="expired training and training not yet done do not count",
        ),
    ],
)
def test_training_gaps(needs: list[str], trainings: list[TrainingRecorded], expected: set[tuple[str, str]]) -> None:
    assert {(g.member_name, g.course) for g in training_gaps(needs, CARERS, trainings, ON)} == expected


def test_every_need_names_a_course() -> None:
    assert set(NEEDS_TRAINING) == set(ChildNeed) and all(NEEDS_TRAINING.values())


@pytest.mark.parametrize(
    ("category", "police_called", "expected"),
    [
        pytest.param("assault_on_carer", False, True, id="a carer assaulted"),
        pytest.param("damage", False, True, id="damage to the home"),
        pytest.param("police_called", False, True, id="police called (category)"),
        pytest.param("missing", True, True, id="police called (flag) on another incident"),
        pytest.param("seizure", False, False, id="a health event is not behavioural"),
        pytest.param("self_harm", False, False, id="self-harm has its own clocks in the child's record"),
    ],
)
def test_what_goes_on_the_supervision_agenda(category: str, police_called: bool, expected: bool) -> None:
    assert belongs_on_supervision_agenda(category, police_called) is expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param({}, [], id="nothing recorded: flagged"),
        pytest.param({"child_wishes_contact": False}, ["child_wishes"], id="the child does not want contact"),
        pytest.param({"child_wishes": "cards at birthdays"}, ["child_wishes"], id="the child's wishes in words"),
        pytest.param({"carer_views": "sad"}, ["carer_views"], id="the carers' feelings"),
        pytest.param({"ending_meeting_held": False}, ["ending_meeting"], id="no meeting, but recorded as such"),
        pytest.param(
            {"child_wishes_contact": True, "carer_views": "ok", "ending_meeting_held": True},
            ["child_wishes", "carer_views", "ending_meeting"],
            id="a complete ending",
        ),
    ],
)
def test_ending_parts(given: dict, expected: list[str]) -> None:
    assert ending_parts_recorded(**given) == expected


C1, C2 = uuid.UUID(int=11), uuid.UUID(int=12)


@pytest.mark.parametrize(
    ("placed", "seen", "not_seen", "expected"),
    [
        pytest.param(set(), set(), {}, [], id="no children placed"),
        pytest.param({C1, C2}, {C1, C2}, {}, [], id="every child seen"),
        pytest.param({C1, C2}, {C1}, {C2: "child_refused"}, [], id="one seen, one refused"),
        pytest.param({C1, C2}, {C1}, {C2: "inappropriate_for_age_or_understanding"}, [], id="a baby"),
        pytest.param({C1, C2}, {C1}, {}, [C2], id="one child neither seen nor explained"),
        pytest.param({C1}, set(), {C1: "was at school"}, [C1], id="free text is not one of the three reasons"),
        pytest.param({C1}, set(), {C1: "unable"}, [], id="unable"),
    ],
)
def test_children_unaccounted(placed: set, seen: set, not_seen: dict, expected: list) -> None:
    assert children_unaccounted(placed, seen, not_seen) == expected


@pytest.mark.parametrize(
    ("children", "households", "local", "over"),
    [
        pytest.param(20, 0, PRACTICE, [], id="20 children: at target"),
        pytest.param(21, 0, PRACTICE, ["children"], id="21 children: over"),
        pytest.param(0, 16, PRACTICE, [], id="16 households: at target"),
        pytest.param(0, 17, PRACTICE, ["households"], id="17 households: over"),
        pytest.param(
            3,
            3,
            CarersPractice(caseload_children_target=2, caseload_households_target=2),
            ["children", "households"],
            id="configurable targets",
        ),  # fmt: skip
    ],
)
def test_caseload_status(children: int, households: int, local: CarersPractice, over: list[str]) -> None:
    status = caseload_status(children, households, local)
    assert status.over_target_in == over and status.over_target is bool(over)


T = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("last", "first", "local", "due"),
    [
        pytest.param(None, None, PRACTICE, None, id="no caseload, never supervised: nothing due"),
        pytest.param(T, None, PRACTICE, datetime(2026, 2, 28, 9, 0, tzinfo=UTC), id="a month after (short month)"),
        pytest.param(None, T, PRACTICE, datetime(2026, 2, 28, 9, 0, tzinfo=UTC), id="from the first allocation"),
        pytest.param(
            T,
            None,
            CarersPractice(worker_supervision_months=2),
            datetime(2026, 3, 31, 9, 0, tzinfo=UTC),
            id="configurable interval",
        ),  # fmt: skip
    ],
)
def test_worker_supervision_due(last, first, local: CarersPractice, due) -> None:  # type: ignore[no-untyped-def]
    assert worker_supervision_due(last, first, local) == due
