"""The statutory returns' code sets, held as data (ssda903_codes.yaml): the commands that record
what a return needs check codes against them, and the returns write them."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Literal

import yaml

from shared.contracts.vocabularies import ethnicities

Ssda903Table = Literal[
    "sex",
    "ethnicity",
    "legal_status",
    "category_of_need",
    "placement_type",
    "placement_provider",
    "reason_new_episode",
    "reason_episode_ceased",
    "reason_place_change",
    "missing",
    "review_participation",
    "sdq_reason",
    "in_touch",
    "activity",
    "accommodation",
]


@cache
def ssda903_codes() -> dict[str, dict[str, str]]:
    """Every SSDA903 code set: table -> code -> meaning."""
    text = files("shared.returns").joinpath("ssda903_codes.yaml").read_text(encoding="utf-8")
    loaded: dict[str, dict[str, str]] = yaml.safe_load(text)
    tables = {table: {str(code): meaning for code, meaning in codes.items()} for table, codes in loaded.items()}
    tables["ethnicity"] = {code: found.description for code, found in ethnicities().items()}
    return tables


def ssda903_code(table: Ssda903Table, value: str) -> str:
    """`value` if it is a code of `table`; ValueError (a 422 in a request body) otherwise."""
    codes = ssda903_codes()[table]
    if value not in codes:
        raise ValueError(f"{value!r} is not an SSDA903 {table.replace('_', ' ')} code ({', '.join(codes)})")
    return value
