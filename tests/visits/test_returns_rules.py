"""How a foster placement is coded for the SSDA903 return (DfE PLACE U1-U6), and which codes
contradict the placement they code."""

from __future__ import annotations

import pytest

from services.visits.rules.returns import foster_placement_code, placement_code_refusals

DEFAULTS = {
    "relative or friend, long term": (True, True, "U1"),
    "relative or friend, not long term": (True, False, "U3"),
    "other carer, long term": (False, True, "U4"),
    "other carer, not long term": (False, False, "U6"),
}


@pytest.mark.parametrize("connected, long_term, code", list(DEFAULTS.values()), ids=list(DEFAULTS))
def test_the_code_a_placement_gets_by_default(connected: bool, long_term: bool, code: str) -> None:
    assert foster_placement_code(connected_person=connected, long_term=long_term) == code
    assert placement_code_refusals(code, connected_person=connected, long_term=long_term) == []


CHECKS = {
    "fostering for adoption with other carers": ("U5", False, False, set()),
    "fostering for adoption with a relative": ("U2", True, False, set()),
    "a relative's code for other carers": ("U3", False, False, {"placement_type_mismatch"}),
    "other carers' code for a relative": ("U6", True, False, {"placement_type_mismatch"}),
    "long term code for a short placement": ("U4", False, False, {"placement_term_mismatch"}),
    "short code for a long-term placement": ("U6", False, True, {"placement_term_mismatch"}),
    "both wrong": ("U1", False, False, {"placement_type_mismatch", "placement_term_mismatch"}),
}


@pytest.mark.parametrize("code, connected, long_term, refused", list(CHECKS.values()), ids=list(CHECKS))
def test_codes_that_contradict_the_placement(code: str, connected: bool, long_term: bool, refused: set[str]) -> None:
    reasons = placement_code_refusals(code, connected_person=connected, long_term=long_term)
    assert {r.code for r in reasons} == refused
