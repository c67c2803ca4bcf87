"""How the SSDA903 return cuts a child's time in care into episodes and codes why each began and
ended (a pure function of the events), and how a review's participation is coded."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from services.investigations.rules import ssda903_tables
from shared.contracts.base import Event
from shared.contracts.carers import PlacementEnded, PlacementStarted
from shared.contracts.visits import (
    CareEnded,
    ChildRegistered,
    LegalStatusChanged,
    LookedAfterReviewRecorded,
    PlacementCodesRecorded,
    StatutoryDetailsRecorded,
)

CHILD = uuid.UUID(int=1)
HOUSEHOLD = uuid.UUID(int=2)
YEAR = 2025


def _child(dob: date = date(2012, 3, 14)) -> list[Event]:
    return [
        ChildRegistered(child_id=CHILD, name="A", date_of_birth=dob, legal_status="care order", placing_authority="LA"),
        StatutoryDetailsRecorded(
            child_id=CHILD, sex="M", ethnicity="WBRI", category_of_need="N1", home_postcode="NN1 1DE"
        ),
    ]


def _status(code: str, day: str) -> Event:
    return LegalStatusChanged(child_id=CHILD, legal_status=code, from_date=date.fromisoformat(day))


def _placement(n: int, start: str, end: str | None = None, reason: str | None = None) -> list[Event]:
    placement = uuid.UUID(int=100 + n)
    events: list[Event] = [
        PlacementStarted(
            placement_id=placement, child_id=CHILD, household_id=HOUSEHOLD, start_date=date.fromisoformat(start),
            long_term=False, connected_person=False, placing_authority="LA",
        ),
        PlacementCodesRecorded(
            child_id=CHILD, placement_id=placement, placement_type="U6", provider="PR4",
            placement_postcode="NN4 8EH", reason_place_change=reason,
        ),
    ]  # fmt: skip
    if end:
        events.append(
            PlacementEnded(
                placement_id=placement, child_id=CHILD, household_id=HOUSEHOLD, end_date=date.fromisoformat(end),
                reason="moved", narrative="moved",
            )
        )  # fmt: skip
    return events


CASES = {
    "one placement, one legal status: one open episode": (
        [_status("C2", "2025-05-01"), *_placement(1, "2025-05-01")],
        [("01/05/2025", "S", "C2", "", "", "")],
    ),
    "a change of legal status cuts the placement (L)": (
        [_status("C1", "2025-05-01"), _status("C2", "2025-08-01"), *_placement(1, "2025-05-01")],
        [("01/05/2025", "S", "C1", "01/08/2025", "X1", ""), ("01/08/2025", "L", "C2", "", "", "")],
    ),
    "a move to other carers (P), with the reason on the episode that ceased": (
        [_status("C2", "2025-05-01"), *_placement(1, "2025-05-01", "2025-07-01"),
         *_placement(2, "2025-07-01", None, "CARPL")],
        [("01/05/2025", "S", "C2", "01/07/2025", "X1", "CARPL"), ("01/07/2025", "P", "C2", "", "", "")],
    ),
    "a move and a new legal status the same day (T)": (
        [_status("C1", "2025-05-01"), _status("C2", "2025-07-01"), *_placement(1, "2025-05-01", "2025-07-01"),
         *_placement(2, "2025-07-01", None, "CARPL")],
        [("01/05/2025", "S", "C1", "01/07/2025", "X1", "CARPL"), ("01/07/2025", "T", "C2", "", "", "")],
    ),
    "the end of care gives the reason the last episode ceased": (
        [_status("V2", "2025-05-01"), *_placement(1, "2025-05-01", "2025-09-01"),
         CareEnded(child_id=CHILD, ended_on=date(2025, 9, 1), reason="E4A")],
        [("01/05/2025", "S", "V2", "01/09/2025", "E4A", "")],
    ),
    "an episode still open at 31 March is reported open": (
        [_status("C2", "2025-05-01"), *_placement(1, "2025-05-01", "2026-06-01")],
        [("01/05/2025", "S", "C2", "", "", "")],
    ),
    "episodes that ended before the year are not reported": (
        [_status("C2", "2024-01-01"), *_placement(1, "2024-01-01", "2024-06-01"), *_placement(2, "2024-06-01")],
        [("01/06/2024", "P", "C2", "", "", "")],
    ),
    "a child with no legal status recorded is left out": (_placement(1, "2025-05-01"), []),
}  # fmt: skip


@pytest.mark.parametrize("events, expected", list(CASES.values()), ids=list(CASES))
def test_episodes(events: list[Event], expected: list[tuple[str, ...]]) -> None:
    episodes = ssda903_tables([*_child(), *events], YEAR)["episodes"]
    assert [(e["DECOM"], e["RNE"], e["LS"], e["DEC"], e["REC"], e["REASON_PLACE_CHANGE"]) for e in episodes] == expected


REVIEWS = {
    "under 4 at the review": (date(2023, 1, 1), True, True, "PN0"),
    "attended and spoke": (date(2012, 1, 1), True, True, "PN1"),
    "attended, gave no views": (date(2012, 1, 1), True, False, "PN4"),
    "absent, views conveyed": (date(2012, 1, 1), False, True, "PN6"),
    "absent, no views": (date(2012, 1, 1), False, False, "PN7"),
}


@pytest.mark.parametrize("dob, attended, views, code", list(REVIEWS.values()), ids=list(REVIEWS))
def test_review_participation(dob: date, attended: bool, views: bool, code: str) -> None:
    review = LookedAfterReviewRecorded(
        review_id=uuid.UUID(int=9), child_id=CHILD, number=1, held_at=datetime(2025, 8, 1, 10, tzinfo=UTC),
        chaired_by="iro", child_attended=attended, child_views_given=views, decisions="-",
    )  # fmt: skip
    events = [*_child(dob), _status("C2", "2025-05-01"), *_placement(1, "2025-05-01"), review]
    assert [r["REVIEW_CODE"] for r in ssda903_tables(events, YEAR)["reviews"]] == [code]
