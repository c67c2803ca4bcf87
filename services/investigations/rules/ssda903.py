"""The DfE's SSDA903 return (children looked after) for one collection year, from the log: the
header, episodes, reviews, missing, OC2 and OC3 tables as the collection's CSV files define them
(columns as the DfE's validator reads them; dates dd/mm/yyyy). A pure function of the events as
the agency knew them at an instant, in a fixed order: the same as-of, the same bytes.

Episodes are the child's time in this agency's placements: each placement (carers) coded by
visits.PlacementCodesRecorded, cut where visits.LegalStatusChanged changes the legal status. A
child with no statutory details, no legal status or no coded placement is left out."""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from shared.calendar import local_date
from shared.contracts.base import Event
from shared.contracts.carers import PlacementEnded, PlacementStarted
from shared.contracts.visits import (
    CareEnded,
    CareLeaverContactRecorded,
    ChildRegistered,
    HealthCheckKind,
    HealthCheckRecorded,
    HealthOutcomesRecorded,
    LegalStatusChanged,
    LookedAfterReviewRecorded,
    MissingEpisodeRecorded,
    PlacementCodesRecorded,
    StatutoryDetailsRecorded,
)

SSDA903_SOURCES: tuple[type[Event], ...] = (
    ChildRegistered,
    StatutoryDetailsRecorded,
    LegalStatusChanged,
    PlacementStarted,
    PlacementEnded,
    PlacementCodesRecorded,
    CareEnded,
    MissingEpisodeRecorded,
    HealthOutcomesRecorded,
    CareLeaverContactRecorded,
    HealthCheckRecorded,
    LookedAfterReviewRecorded,
)
COLUMNS: dict[str, list[str]] = {
    "header": ["CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"],
    "episodes": [
        "CHILD",
        "DECOM",
        "RNE",
        "LS",
        "CIN",
        "PLACE",
        "PLACE_PROVIDER",
        "DEC",
        "REC",
        "REASON_PLACE_CHANGE",
        "HOME_POST",
        "PL_POST",
        "URN",
    ],  # fmt: skip
    "reviews": ["CHILD", "DOB", "REVIEW", "REVIEW_CODE"],
    "missing": ["CHILD", "DOB", "MISSING", "MIS_START", "MIS_END"],
    "oc2": [
        "CHILD",
        "DOB",
        "SDQ_SCORE",
        "SDQ_REASON",
        "CONVICTED",
        "HEALTH_CHECK",
        "IMMUNISATIONS",
        "TEETH_CHECK",
        "HEALTH_ASSESSMENT",
        "SUBSTANCE_MISUSE",
        "INTERVENTION_RECEIVED",
        "INTERVENTION_OFFERED",
    ],  # fmt: skip
    "oc3": ["CHILD", "DOB", "IN_TOUCH", "ACTIV", "ACCOM"],
}
NO_URN = "XXXXXXX"  # foster placements have no Ofsted URN of their own
ENDED_BY_CHANGE = "X1"  # the episode ceased and a new one began the same day
ASSESSMENTS = {HealthCheckKind.INITIAL_HEALTH_ASSESSMENT, HealthCheckKind.REVIEW_HEALTH_ASSESSMENT}
Row = dict[str, str]


def ssda903_year(year: int) -> tuple[date, date]:
    """Collection year `year`: 1 April `year` to 31 March `year`+1 (the validator names it `year`+1)."""
    return date(year, 4, 1), date(year + 1, 3, 31)


@dataclass
class _Placement:
    start: date
    end: date | None = None
    codes: PlacementCodesRecorded | None = None


@dataclass
class _Child:
    dob: date
    details: StatutoryDetailsRecorded | None = None
    statuses: list[tuple[date, str]] = field(default_factory=list)
    placements: dict[uuid.UUID, _Placement] = field(default_factory=dict)
    care_ended: CareEnded | None = None
    missing: list[MissingEpisodeRecorded] = field(default_factory=list)
    outcomes: list[HealthOutcomesRecorded] = field(default_factory=list)
    contacts: list[CareLeaverContactRecorded] = field(default_factory=list)
    checks: list[tuple[date, HealthCheckKind]] = field(default_factory=list)
    reviews: list[LookedAfterReviewRecorded] = field(default_factory=list)


@dataclass(frozen=True)
class Episode:
    start: date
    end: date | None
    rne: str
    legal_status: str
    placement: PlacementCodesRecorded
    rec: str = ""
    reason_place_change: str = ""


def _follow(children: dict[uuid.UUID, _Child], payload: Event) -> None:
    if isinstance(payload, ChildRegistered):
        # A record destroyed under its retention rule has no date of birth left to return.
        if payload.date_of_birth is not None:
            children[payload.child_id] = _Child(payload.date_of_birth)
        return
    child = children.get(getattr(payload, "child_id", None))  # type: ignore[arg-type]
    if child is None:
        return
    if isinstance(payload, PlacementStarted):
        child.placements[payload.placement_id] = _Placement(payload.start_date)
    elif isinstance(payload, PlacementEnded) and payload.placement_id in child.placements:
        child.placements[payload.placement_id].end = payload.end_date
    elif isinstance(payload, PlacementCodesRecorded) and payload.placement_id in child.placements:
        child.placements[payload.placement_id].codes = payload
    else:
        _follow_record(child, payload)


def _follow_record(child: _Child, payload: Event) -> None:
    if isinstance(payload, StatutoryDetailsRecorded):
        child.details = payload
    elif isinstance(payload, LegalStatusChanged):
        child.statuses.append((payload.from_date, payload.legal_status))
    elif isinstance(payload, CareEnded):
        child.care_ended = payload
    elif isinstance(payload, MissingEpisodeRecorded):
        child.missing.append(payload)
    elif isinstance(payload, HealthOutcomesRecorded):
        child.outcomes.append(payload)
    elif isinstance(payload, CareLeaverContactRecorded):
        child.contacts.append(payload)
    elif isinstance(payload, HealthCheckRecorded):
        child.checks.append((local_date(payload.occurred_at), payload.kind))
    elif isinstance(payload, LookedAfterReviewRecorded):
        child.reviews.append(payload)


def _status_on(statuses: list[tuple[date, str]], day: date) -> str:
    """The legal status on `day` (before the first change recorded: that first status)."""
    known = [code for since, code in sorted(statuses) if since <= day]
    return known[-1] if known else sorted(statuses)[0][1]


def _segments(child: _Child) -> list[tuple[date, date | None, str, PlacementCodesRecorded, bool]]:
    """(start, end, legal status, placement codes, starts a placement) in date order."""
    coded = sorted((p for p in child.placements.values() if p.codes is not None), key=lambda p: p.start)
    out: list[tuple[date, date | None, str, PlacementCodesRecorded, bool]] = []
    for placement in coded:
        assert placement.codes is not None
        cuts = sorted(
            {placement.start}
            | {d for d, _ in child.statuses if d > placement.start and (placement.end is None or d < placement.end)}
        )
        for i, start in enumerate(cuts):
            end = cuts[i + 1] if i + 1 < len(cuts) else placement.end
            out.append((start, end, _status_on(child.statuses, start), placement.codes, i == 0))
    return out


def episodes(child: _Child) -> list[Episode]:
    """The child's episodes of care in this agency, each with its reasons for starting and ending."""
    if child.details is None or not child.statuses:
        return []
    segments = _segments(child)
    found: list[Episode] = []
    for i, (start, end, status, codes, new_placement) in enumerate(segments):
        if i == 0:
            rne = "S"
        else:
            changed = status != segments[i - 1][2]
            rne = ("T" if changed else "P") if new_placement else "L"
        found.append(Episode(start, end, rne, status, codes))
    return _ended(child, found)


def _ended(child: _Child, found: list[Episode]) -> list[Episode]:
    """Each episode's end: the next one's start (X1), or the end of care with its reason."""
    closed: list[Episode] = []
    for i, episode in enumerate(found):
        following = found[i + 1] if i + 1 < len(found) else None
        if following is not None:
            reason = following.placement.reason_place_change or "" if following.rne in ("P", "T") else ""
            closed.append(_replace(episode, following.start, ENDED_BY_CHANGE, reason))
        elif child.care_ended is not None:
            closed.append(_replace(episode, child.care_ended.ended_on, child.care_ended.reason, ""))
        else:
            closed.append(_replace(episode, episode.end, ENDED_BY_CHANGE if episode.end else "", ""))
    return closed


def _replace(episode: Episode, end: date | None, rec: str, reason: str) -> Episode:
    return Episode(episode.start, end, episode.rne, episode.legal_status, episode.placement, rec, reason)


def _day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _flag(value: bool | None) -> str:
    return "" if value is None else "1" if value else "0"


def _age_on(dob: date, day: date) -> int:
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def _episode_rows(key: str, child: _Child, first: date, last: date) -> list[Row]:
    assert child.details is not None
    rows = []
    for e in episodes(child):
        if e.start > last or (e.end is not None and e.end < first):
            continue
        after = e.end is not None and e.end > last  # the year closes with the episode open
        rows.append(
            {
                "CHILD": key, "DECOM": _day(e.start), "RNE": e.rne, "LS": e.legal_status,
                "CIN": child.details.category_of_need, "PLACE": e.placement.placement_type,
                "PLACE_PROVIDER": e.placement.provider, "DEC": "" if after else _day(e.end),
                "REC": "" if after else e.rec, "REASON_PLACE_CHANGE": "" if after else e.reason_place_change,
                "HOME_POST": child.details.home_postcode or "", "PL_POST": e.placement.placement_postcode,
                "URN": NO_URN,
            }
        )  # fmt: skip
    return rows


def _header_row(key: str, child: _Child) -> Row:
    assert child.details is not None
    mother = _flag(child.details.mother) if child.details.sex == "F" else ""
    return {
        "CHILD": key, "SEX": child.details.sex, "DOB": _day(child.dob), "ETHNIC": child.details.ethnicity,
        "UPN": child.details.upn or "", "MOTHER": mother, "MC_DOB": "",
    }  # fmt: skip


def _review_code(child: _Child, review: LookedAfterReviewRecorded) -> str:
    if _age_on(child.dob, local_date(review.held_at)) < 4:
        return "PN0"
    if review.child_attended:
        return "PN1" if review.child_views_given else "PN4"
    return "PN6" if review.child_views_given else "PN7"


def _reviews(key: str, child: _Child, first: date, last: date) -> list[Row]:
    held = sorted(child.reviews, key=lambda r: r.held_at)
    return [
        {
            "CHILD": key,
            "DOB": _day(child.dob),
            "REVIEW": _day(local_date(r.held_at)),
            "REVIEW_CODE": _review_code(child, r),
        }
        for r in held
        if first <= local_date(r.held_at) <= last
    ]


def _missing(key: str, child: _Child, first: date, last: date) -> list[Row]:
    return [
        {
            "CHILD": key,
            "DOB": _day(child.dob),
            "MISSING": m.kind,
            "MIS_START": _day(m.started_on),
            "MIS_END": _day(m.ended_on) if m.ended_on and m.ended_on <= last else "",
        }  # fmt: skip
        for m in sorted(child.missing, key=lambda m: (m.started_on, str(m.missing_id)))
        if m.started_on <= last and (m.ended_on is None or m.ended_on >= first)
    ]


def _latest(outcomes: list[HealthOutcomesRecorded], first: date, last: date) -> HealthOutcomesRecorded | None:
    within = [o for o in outcomes if first <= o.recorded_on <= last]
    return max(within, key=lambda o: o.recorded_on) if within else None


def _looked_after_a_year(child: _Child, first: date, last: date) -> bool:
    """Looked after on 31 March and continuously for the 12 months before (the OC2 cohort)."""
    found = episodes(child)
    return bool(found) and found[0].start <= first and (found[-1].end is None or found[-1].end > last)


def _oc2(key: str, child: _Child, first: date, last: date) -> list[Row]:
    if not _looked_after_a_year(child, first, last):
        return []
    age = _age_on(child.dob, last)
    latest = _latest(child.outcomes, first, last)
    kinds = {kind for day, kind in child.checks if first <= day <= last}
    sdq = latest if latest is not None and 4 <= age <= 16 else None
    return [
        {
            "CHILD": key, "DOB": _day(child.dob),
            "SDQ_SCORE": "" if sdq is None or sdq.sdq_score is None else str(sdq.sdq_score),
            "SDQ_REASON": (sdq.sdq_reason or "") if sdq else "",
            "CONVICTED": _flag(latest.convicted) if latest and age >= 10 else "",
            "HEALTH_CHECK": _flag(bool(kinds & ASSESSMENTS)) if age < 5 else "",
            "IMMUNISATIONS": _flag(latest.immunisations_up_to_date) if latest else "",
            "TEETH_CHECK": _flag(HealthCheckKind.DENTAL_CHECK in kinds),
            "HEALTH_ASSESSMENT": _flag(bool(kinds & ASSESSMENTS)),
            "SUBSTANCE_MISUSE": _flag(latest.substance_misuse) if latest else "",
            "INTERVENTION_RECEIVED": "", "INTERVENTION_OFFERED": "",
        }
    ]  # fmt: skip


def _birthday_in(dob: date, first: date, last: date) -> date:
    """The child's birthday within the collection year (29 February: the 28th in other years)."""
    year = first.year if (dob.month, dob.day) >= (first.month, first.day) else last.year
    try:
        return dob.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def _oc3(key: str, child: _Child, first: date, last: date) -> list[Row]:
    """A care leaver whose 17th to 21st birthday falls in the year, after they left care: the
    contact nearest the birthday."""
    if child.care_ended is None or child.care_ended.ended_on > last:
        return []
    birthday = _birthday_in(child.dob, first, last)
    contacts = [c for c in child.contacts if first <= c.contacted_on <= last]
    # Leaving care on or after that birthday: the return does not ask (DfE rule 1016).
    if not 17 <= _age_on(child.dob, birthday) <= 21 or child.care_ended.ended_on >= birthday or not contacts:
        return []
    nearest = min(contacts, key=lambda c: (abs((c.contacted_on - birthday).days), c.contacted_on))
    return [
        {
            "CHILD": key, "DOB": _day(child.dob), "IN_TOUCH": nearest.in_touch,
            "ACTIV": nearest.activity or "", "ACCOM": nearest.accommodation or "",
        }
    ]  # fmt: skip


def ssda903_tables(events: Iterable[Event], year: int) -> dict[str, list[Row]]:
    """Every table of the return for collection year `year`, from the payloads in log order."""
    first, last = ssda903_year(year)
    children: dict[uuid.UUID, _Child] = {}
    for payload in events:
        _follow(children, payload)
    tables: dict[str, list[Row]] = {name: [] for name in COLUMNS}
    for child_id in sorted(children, key=str):
        child, key = children[child_id], str(child_id)
        if child.details is None:
            continue
        rows = {
            "episodes": _episode_rows(key, child, first, last),
            "oc3": _oc3(key, child, first, last),
        }
        if not rows["episodes"] and not rows["oc3"]:
            continue
        tables["header"].append(_header_row(key, child))
        tables["episodes"] += rows["episodes"]
        tables["oc3"] += rows["oc3"]
        if rows["episodes"]:
            tables["reviews"] += _reviews(key, child, first, last)
            tables["missing"] += _missing(key, child, first, last)
            tables["oc2"] += _oc2(key, child, first, last)
    return tables


def table_csv(name: str, rows: list[Row]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS[name], lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


# A fixed instant inside the zip: the same return, the same bytes.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def ssda903_zip(tables: dict[str, list[Row]], year: int, as_of: datetime) -> bytes:
    """The return's six CSV files in one zip, in a fixed order, with a note of the year and as-of."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in COLUMNS:
            archive.writestr(zipfile.ZipInfo(f"{name}.csv", ZIP_TIME), table_csv(name, tables[name]))
        first, last = ssda903_year(year)
        note = f"SSDA903 {first.isoformat()}/{last.isoformat()} as of {as_of.isoformat()}\r\n"
        archive.writestr(zipfile.ZipInfo("README.txt", ZIP_TIME), note.encode())
    return buffer.getvalue()
