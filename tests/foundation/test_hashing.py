"""The fast canonical JSON is RFC 8785, byte for byte: the hash chain must never change."""

from __future__ import annotations

import math
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.eventstore.hashing import canonical_json

SAFE = 2**53 - 1

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-SAFE, max_value=SAFE)
    | st.text()  # every code point, control characters, U+2028/9, astral planes
    | st.floats(allow_nan=False, allow_infinity=False)
)
keys = st.text(max_size=12)  # non-ASCII keys too: those go to the reference library
documents = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(keys, inner, max_size=6), max_leaves=40
)


@settings(max_examples=2000, deadline=None)
@given(documents)
def test_canonical_json_is_rfc8785(document: Any) -> None:
    try:
        expected = rfc8785.dumps(document)
    except rfc8785.CanonicalizationError:
        with pytest.raises(rfc8785.CanonicalizationError):
            canonical_json(document)
        return
    assert canonical_json(document) == expected


@pytest.mark.parametrize(
    "document",
    [
        {"b": 1, "a": {"z": [True, False, None], "y": ""}, "A": -SAFE},
        {"k": '\x00\x1f\x7f " \\ / \b\t\n\f\r \u2028\u2029 é 中 😀'},
        {"\u00e9": 1, "e": 2, "\U0001f600": 3, "\uffff": 4},  # key order by UTF-16 code units
        {"n": 1.0, "m": 1e21, "s": 5e-324, "x": -0.0, "t": math.pi},
        {"big": SAFE},
        [],
        {},
    ],
)
def test_canonical_json_cases(document: Any) -> None:
    assert canonical_json(document) == rfc8785.dumps(document)


def test_integers_beyond_doubles_are_refused_as_the_reference_does() -> None:
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical_json({"n": SAFE + 1})
