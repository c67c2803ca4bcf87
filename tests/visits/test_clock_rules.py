"""The rules of the child's clocks and record that commands and SQL used to hold, as tables: which
placement is the current one, which clocks a visit meets and whose next visit it starts, and what
a record must name."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from services.visits import rules
from services.visits.rules import OpenClock, Placement
from shared.contracts.visits import VisitorRole
from shared.refusals import Reason

P = pytest.param
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def placement(start: date, position: int, *, ended: date | None = None) -> Placement:
    return Placement(uuid.uuid4(), uuid.uuid4(), start, False, False, "Council", ended, position)


def clock(kind: str, started: datetime, of: Placement | None = None) -> OpenClock:
    return OpenClock(uuid.uuid4(), kind, started, started + timedelta(weeks=6), of)


# ---- whether the child is looked after, and which clocks start -----------------------------------
ENDED_ON = date(2026, 10, 20)


@pytest.mark.parametrize(
    ("care_ended_on", "placement_starts", "looked_after"),
    [
        P(None, [], True, id="never ended, never placed"),
        P(None, [date(2026, 1, 5)], True, id="never ended"),
        P(ENDED_ON, [], False, id="ended"),
        P(ENDED_ON, [date(2026, 1, 5)], False, id="ended, placed before"),
        P(ENDED_ON, [ENDED_ON], False, id="ended the day a placement started"),
        P(ENDED_ON, [date(2026, 1, 5), date(2026, 11, 2)], True, id="placed again after it ended"),
    ],
)
def test_whether_the_child_is_looked_after(
    care_ended_on: date | None, placement_starts: list[date], looked_after: bool
) -> None:
    assert rules.looked_after(care_ended_on, placement_starts) is looked_after


@pytest.mark.parametrize(
    ("kind", "looked_after", "starts"),
    [
        P(rules.STATUTORY_VISIT, True, True, id="a visit, looked after"),
        P(rules.STATUTORY_VISIT, False, False, id="a visit, care ended"),
        P(rules.DENTAL_CHECK, False, False, id="a dental check, care ended"),
        P(rules.LAC_REVIEW, False, False, id="a review, care ended"),
        P(rules.RISK_REVIEW_AFTER_INCIDENT, False, False, id="a risk review, care ended"),
        P(rules.PLAN_ACKNOWLEDGEMENT, False, False, id="a plan's acknowledgement, care ended"),
        P(rules.COMPLAINT_ACK, False, True, id="a complaint, care ended"),
        P(rules.CONCERN_RESPONSE, False, True, id="a concern, care ended"),
    ],
)
def test_which_clocks_start_once_care_has_ended(kind: str, looked_after: bool, starts: bool) -> None:
    assert rules.starts(kind, looked_after) is starts


# ---- the current placement -----------------------------------------------------------------------
EARLIER = placement(date(2026, 1, 5), 10)
LATER = placement(date(2026, 6, 1), 20)
SAME_DAY_LATER = placement(date(2026, 6, 1), 30)
ENDED = placement(date(2026, 9, 1), 40, ended=date(2026, 10, 1))


@pytest.mark.parametrize(
    ("placements", "current"),
    [
        P([], None, id="never placed"),
        P([EARLIER], EARLIER, id="the one placement"),
        P([LATER, EARLIER], LATER, id="the one that started last"),
        P([EARLIER, SAME_DAY_LATER, LATER], SAME_DAY_LATER, id="same day: the one recorded last"),
        P([EARLIER, ENDED], EARLIER, id="an ended placement is not current, however recent"),
        P([ENDED], None, id="every placement ended"),
    ],
)
def test_the_current_placement(placements: list[Placement], current: Placement | None) -> None:
    assert rules.current_placement(placements) == current


def test_only_statutory_visit_clocks_follow_a_placement() -> None:
    assert rules.follows_placement(rules.STATUTORY_VISIT)
    assert not any(rules.follows_placement(k) for k in (rules.FOLLOW_UP_VISIT, rules.LAC_REVIEW, rules.COMPLAINT_ACK))


# ---- what a visit meets --------------------------------------------------------------------------
PLACED = placement(date(2026, 10, 1), 1)
OVER = placement(date(2026, 3, 1), 2, ended=date(2026, 9, 30))
STATUTORY = clock(rules.STATUTORY_VISIT, NOW - timedelta(days=10), PLACED)
STATUTORY_AGAIN = clock(rules.STATUTORY_VISIT, NOW - timedelta(days=3), PLACED)
OF_ENDED = clock(rules.STATUTORY_VISIT, NOW - timedelta(days=60), OVER)
FOLLOW_UP = clock(rules.FOLLOW_UP_VISIT, NOW - timedelta(days=1))
LATER_CLOCK = clock(rules.FOLLOW_UP_VISIT, NOW + timedelta(hours=1))
REVIEW = clock(rules.LAC_REVIEW, NOW - timedelta(days=1))
SW, SSW = VisitorRole.CHILD_SOCIAL_WORKER, VisitorRole.SUPERVISING_SOCIAL_WORKER


@pytest.mark.parametrize(
    ("clocks", "role", "seen", "met"),
    [
        P([STATUTORY], SW, True, [(STATUTORY, PLACED)], id="statutory: met, and the placement's next started"),
        P([STATUTORY], SSW, True, [], id="another worker's visit is not the statutory visit"),
        P([STATUTORY], SW, False, [], id="a visit that did not see the child meets nothing"),
        P([FOLLOW_UP], SSW, True, [(FOLLOW_UP, None)], id="anyone's visit meets a follow-up"),
        P([LATER_CLOCK], SW, True, [], id="a clock started after the visit is not met by it"),
        P([REVIEW], SW, True, [], id="a review is not a visit"),
        P([OF_ENDED], SW, True, [(OF_ENDED, None)], id="met, but an ended placement has no next visit"),
        P(
            [STATUTORY, STATUTORY_AGAIN],
            SW,
            True,
            [(STATUTORY, PLACED), (STATUTORY_AGAIN, None)],
            id="two clocks of one placement: one next visit",
        ),
    ],
)
def test_what_a_visit_meets(
    clocks: list[OpenClock], role: VisitorRole, seen: bool, met: list[tuple[OpenClock, Placement | None]]
) -> None:
    assert rules.clocks_a_visit_meets(clocks, occurred_at=NOW, child_seen=seen, visitor_role=role) == met


def test_the_next_statutory_visit_starts_with_the_visit() -> None:
    due = rules.next_statutory_visit(PLACED.terms, NOW)
    assert (due.kind, due.started_at, due.description) == (rules.STATUTORY_VISIT, NOW, "Next statutory visit")
    assert due.due_at.date() == date(2027, 1, 6)  # 6 weeks in the first year, at the end of the day
    assert due.source == rules.STATUTORY["first_year_interval"].source


# ---- what a record must name ---------------------------------------------------------------------
HOUSEHOLD, ELSEWHERE, CHILD = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


@pytest.mark.parametrize(
    ("codes", "reasons"),
    [
        P([], rules.household_refusals(None, HOUSEHOLD), id="incident: no household named"),
        P([], rules.household_refusals(HOUSEHOLD, HOUSEHOLD), id="incident: the child's household"),
        P(["household_not_placement"], rules.household_refusals(ELSEWHERE, HOUSEHOLD), id="incident: another's"),
        P([], rules.complaint_about_refusals(HOUSEHOLD, {HOUSEHOLD}), id="complaint: a household the child lived with"),
        P(["household_never_placed"], rules.complaint_about_refusals(ELSEWHERE, {HOUSEHOLD}), id="complaint: never"),
        P([], rules.sharing_refusals(2, 2, HOUSEHOLD), id="plan shared with the child's carers"),
        P(["not_placed"], rules.sharing_refusals(1, 2, None), id="plan: the child is not placed"),
        P(["no_such_version"], rules.sharing_refusals(3, 2, HOUSEHOLD), id="plan: a version it does not have"),
        P(["carers_only"], rules.acknowledger_refusals(False), id="a worker acknowledging for the carers"),
        P(["extension_out_of_range"], rules.extension_refusals(1, 21), id="stage 1 beyond 20 working days"),
        P([], rules.extension_refusals(2, 65), id="stage 2 to 65 working days"),
        P(["no_response"], rules.closing_refusals(1, "acknowledged"), id="closing a complaint with no response"),
        P(["how_views_given_missing"], rules.views_refusals(True, " "), id="views given, but not how"),
        P([], rules.views_refusals(False, None), id="no views given"),
    ],
)
def test_what_a_record_must_name(codes: list[str], reasons: list[Reason]) -> None:
    assert [r.code for r in reasons] == codes


@pytest.mark.parametrize(
    ("of_children", "refused"),
    [
        P(None, True, id="no such entry"),
        P((uuid.uuid4(),), True, id="another child's entry"),
        P((CHILD,), False, id="this child's entry"),
    ],
)
def test_a_correction_names_an_entry_of_this_childs_record(
    of_children: tuple[uuid.UUID, ...] | None, refused: bool
) -> None:
    reasons = rules.amendment_refusals(uuid.uuid4(), of_children, CHILD)
    assert [r.code for r in reasons] == (["not_in_this_record"] if refused else [])


def test_a_step_of_a_complaint_happens_after_it_was_received() -> None:
    received, since = NOW - timedelta(days=2), "the complaint was received"
    at = received - timedelta(hours=1)
    before = rules.occurrence_refusals("responded_at", at, NOW, not_before=received, since=since)
    assert [r.code for r in before] == ["before_it_began"]
    assert before[0].detail == "responded_at is before the complaint was received."
