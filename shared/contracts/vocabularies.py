"""Vocabularies the contracts share, kept as data (shared/contracts/data): the local authorities of
England (ONS codes) and the DfE ethnicity codes. A record holds the code; these tables say what
it means."""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data"


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


# ---- local authorities ----------------------------------------------------------------------------
@dataclass(frozen=True)
class LocalAuthority:
    code: str
    name: str
    ended_on: date | None


@cache
def local_authorities() -> Mapping[str, LocalAuthority]:
    """Every local authority with children's services, by its ONS code (E06..., E08..., E09..., E10...)."""
    return {
        row["code"]: LocalAuthority(
            row["code"], row["name"], date.fromisoformat(row["ended_on"]) if row["ended_on"] else None
        )
        for row in _rows("local_authorities.csv")
    }


# Words a council's name carries that its table name does not ("West Northamptonshire Council",
# "London Borough of Hackney", "Bristol City Council" for "Bristol, City of").
_COUNCIL_WORDS = re.compile(
    r"\b(london borough of|royal borough of|metropolitan borough council|city and county council|"
    r"county borough council|borough council|county council|city council|district council|council|"
    r"city of|county of)\b"
)


def _plain(name: str) -> str:
    text = _COUNCIL_WORDS.sub(" ", name.casefold().replace("&", " and ").replace(",", " "))
    return " ".join(text.split())


def authority_named(named: str | None) -> LocalAuthority | None:
    """The local authority a record names, by its code or by its council's name (None: not known)."""
    if not named or not named.strip():
        return None
    table = local_authorities()
    found = table.get(named.strip().upper())
    if found is not None:
        return found
    wanted = _plain(named)
    return next((la for la in table.values() if _plain(la.name) == wanted), None)


def same_authority(code: str, named: str | None) -> bool:
    """Whether `named` (a placing authority as recorded: a code or a council's name) is the
    authority with ONS code `code`."""
    found = authority_named(named)
    return found is not None and found.code == code


# ---- ethnicity ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ethnicity:
    code: str
    group: str
    description: str


@cache
def ethnicities() -> Mapping[str, Ethnicity]:
    """The DfE ethnicity codes, in the table's order, with the main group each is counted under."""
    return {row["code"]: Ethnicity(row["code"], row["group"], row["description"]) for row in _rows("ethnicity.csv")}
