"""The carers' demographics section of Ofsted's annual fostering data collection: the applicants
and carers of the households approved on the last day of the collection year, counted by sex, age
band, ethnicity (each DfE code, and its main group), disability and connected-person status, as
they declared them (the latest declaration recorded by the as-of instant). Every category is
written, with 0 where there is none, so two years' returns line up row for row."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from shared.contracts.base import Event
from shared.contracts.carers import MemberAdded, MemberDemographicsRecorded, MemberLeft, MemberRole
from shared.contracts.vocabularies import ethnicities

DEMOGRAPHIC_SOURCES: tuple[type[Event], ...] = (MemberAdded, MemberLeft, MemberDemographicsRecorded)

SEXES = ("female", "male", "not_known")
DISABILITY = ("yes", "no", "not_declared")
NOT_RECORDED = "not_recorded"  # no declaration on the record (or it was destroyed)
# Age on the last day of the year: (band, youngest age in it); the last band has no upper end.
AGE_BANDS = (
    ("18_to_24", 18),
    ("25_to_34", 25),
    ("35_to_44", 35),
    ("45_to_54", 45),
    ("55_to_64", 55),
    ("65_and_over", 65),
)
CARER_ROLES = (MemberRole.APPLICANT, MemberRole.CARER)


@dataclass
class _Member:
    household_id: uuid.UUID
    date_of_birth: date | None  # None once the household's record is destroyed
    left_on: date | None = None
    declared: MemberDemographicsRecorded | None = None


@dataclass
class Carers:
    """The applicants and carers on record, as the events left them."""

    members: dict[uuid.UUID, _Member] = field(default_factory=dict)

    def follow(self, payload: Event) -> None:
        if isinstance(payload, MemberAdded) and payload.role in CARER_ROLES:
            self.members[payload.member_id] = _Member(payload.household_id, payload.date_of_birth)
            return
        member = self.members.get(getattr(payload, "member_id", None))  # type: ignore[arg-type]
        if member is None:
            return
        if isinstance(payload, MemberLeft):
            member.left_on = payload.left_on
        elif isinstance(payload, MemberDemographicsRecorded):
            member.declared = payload

    def rows(self, approved: set[uuid.UUID], last: date) -> list[tuple[str, str, int]]:
        carers = [
            m for m in self.members.values() if m.household_id in approved and (m.left_on is None or m.left_on > last)
        ]
        return [("carers", "approved_at_end", len(carers)), *_counted(carers, last)]


def age_band(born: date | None, on: date) -> str:
    if born is None:
        return NOT_RECORDED
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    found = [band for band, youngest in AGE_BANDS if age >= youngest]
    return found[-1] if found else "under_18"


def _declared(value: str | None, known: tuple[str, ...] | list[str]) -> str:
    return value if value is not None and value in known else NOT_RECORDED


def _section(section: str, categories: Iterable[str], counts: Counter[str]) -> list[tuple[str, str, int]]:
    return [(section, category, counts[category]) for category in categories]


def _sex(m: _Member) -> str:
    return _declared(m.declared.sex if m.declared else None, SEXES)


def _ethnicity(m: _Member) -> str:
    return _declared(m.declared.ethnicity if m.declared else None, list(ethnicities()))


def _disability(m: _Member) -> str:
    return _declared(m.declared.disability if m.declared else None, DISABILITY)


def _group(code: str) -> str:
    found = ethnicities().get(code)
    return found.group if found is not None else NOT_RECORDED


def _counted(carers: list[_Member], last: date) -> list[tuple[str, str, int]]:
    table = ethnicities()
    ethnicity = Counter(map(_ethnicity, carers))
    groups = dict.fromkeys(e.group for e in table.values())
    return [
        *_section("carers_by_sex", (*SEXES, NOT_RECORDED), Counter(map(_sex, carers))),
        *_section(
            "carers_by_age_band",
            ("under_18", *(band for band, _ in AGE_BANDS), NOT_RECORDED),
            Counter(age_band(m.date_of_birth, last) for m in carers),
        ),
        *_section("carers_by_ethnic_group", (*groups, NOT_RECORDED), Counter(map(_group, ethnicity.elements()))),
        *_section("carers_by_ethnicity", (*table, NOT_RECORDED), ethnicity),
        *_section("carers_by_disability", (*DISABILITY, NOT_RECORDED), Counter(map(_disability, carers))),
        (
            "carers",
            "connected_persons",
            sum(1 for m in carers if m.declared is not None and m.declared.connected_person),
        ),
    ]
