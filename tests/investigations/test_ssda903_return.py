"""The DfE's SSDA903 return from the log, through the HTTP API, checked by the DfE's own validation
rules (csc-validator-be-903): a child with two episodes (a change of legal status), a placement
change, a missing episode, and a care leaver who went home before turning 18. The same as-of gives
the same bytes; a code outside the DfE's code sets is refused with nothing written."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta
from typing import Any

import httpx

from shared.auth import Role
from shared.clock import ManualClock
from tests.builders import post
from tests.carers.helpers import household, place
from tests.conftest import AuthHeaders
from tests.investigations.ssda903_check import Verdict, validate

YEAR = 2025  # 1 April 2025 to 31 March 2026: the validator's "2026" rules
WEST_NORTHANTS = "E06000062"


async def _child(client: httpx.AsyncClient, rm: dict[str, str], dob: str, since: str, **details: Any) -> str:
    child = await post(
        client,
        rm,
        "/v1/children",
        {
            "name": "Return Child",
            "date_of_birth": dob,
            "legal_status": "section_31_care_order",
            "placing_authority": "West Northamptonshire Council",
            "looked_after_since": since,
        },
    )
    body = {"ethnicity": "WBRI", "category_of_need": "N1", "home_postcode": "NN1 1DE", **details}
    await post(client, rm, f"/v1/children/{child['child_id']}/statutory-details", body)
    return str(child["child_id"])


async def _placed(
    client: httpx.AsyncClient,
    rm: dict[str, str],
    household_id: str,
    child: str,
    start: str,
    kind: str = "short_term",
    **codes: str,
) -> str:
    response = await place(client, rm, household_id, child, start, placement_type=kind)
    assert response.status_code == 201, response.text
    placement = str(response.json()["placement_id"])
    body = {"placement_id": placement, "provider": "PR4", **codes}  # PLACE from the placement: U6, U4
    await post(client, rm, f"/v1/children/{child}/placement-codes", body)
    return placement


async def _end(client: httpx.AsyncClient, rm: dict[str, str], placement: str, day: str) -> None:
    body = {"end_date": day, "reason": "Planned move", "narrative": "Moved as the care plan said."}
    await post(client, rm, f"/v1/placements/{placement}/end", body)


async def _record(client: httpx.AsyncClient, rm: dict[str, str]) -> tuple[str, str]:
    first = (await household(client, rm))["household_id"]
    second = (await household(client, rm))["household_id"]
    # A child with two episodes with the first carers (interim, then full care order), then a move.
    moved = await _child(client, rm, "2012-03-14", "2024-02-01", sex="M", upn="A123456789012")
    await post(client, rm, f"/v1/children/{moved}/legal-status", {"legal_status": "C1", "from_date": "2024-02-01"})
    await post(client, rm, f"/v1/children/{moved}/legal-status", {"legal_status": "C2", "from_date": "2025-04-20"})
    before = await _placed(client, rm, first, moved, "2024-02-01", placement_postcode="NN4 8EH")
    await _end(client, rm, before, "2025-06-10")
    await _placed(
        client, rm, second, moved, "2025-06-10", placement_postcode="NN3 6RW", kind="long_term",
        reason_place_change="CARPL",
    )  # fmt: skip
    missing = {"kind": "M", "started_on": "2025-09-03", "ended_on": "2025-09-04"}
    await post(client, rm, f"/v1/children/{moved}/missing-episodes", missing)
    review = {
        "held_at": "2025-08-01T10:00:00Z", "chaired_by": "iro-1", "child_attended": True,
        "child_views_given": True, "how_views_given": "attended and spoke", "decisions": "Stay put.",
    }  # fmt: skip
    await post(client, rm, f"/v1/children/{moved}/looked-after-reviews", review)
    for kind, at in (("dental_check", "2025-05-01"), ("review_health_assessment", "2025-07-01")):
        check = {"kind": kind, "occurred_at": f"{at}T10:00:00Z", "by": "Dr Test", "outcome": "Well."}
        await post(client, rm, f"/v1/children/{moved}/health-checks", check)
    outcomes = {
        "recorded_on": "2025-10-01", "immunisations_up_to_date": True, "sdq_score": 12,
        "convicted": False, "substance_misuse": False,
    }  # fmt: skip
    await post(client, rm, f"/v1/children/{moved}/health-outcomes", outcomes)
    # A care leaver: went home a week before their 18th birthday; the agency kept in touch.
    leaver = await _child(client, rm, "2007-05-01", "2023-07-01", sex="F", upn="A123456789013", mother=False)
    await post(client, rm, f"/v1/children/{leaver}/legal-status", {"legal_status": "V2", "from_date": "2023-07-01"})
    stayed = await _placed(client, rm, first, leaver, "2023-07-01", placement_postcode="NN4 8EH")
    await _end(client, rm, stayed, "2025-04-25")
    await post(client, rm, f"/v1/children/{leaver}/care-ended", {"ended_on": "2025-04-25", "reason": "E4A"})
    contact = {"contacted_on": "2025-05-20", "in_touch": "YES", "activity": "F2", "accommodation": "B1"}
    await post(client, rm, f"/v1/children/{leaver}/care-leaver-contacts", contact)
    return moved, leaver


def _files(body: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return {name[:-4]: archive.read(name) for name in archive.namelist() if name.endswith(".csv")}


def _tables(body: bytes) -> dict[str, list[dict[str, str]]]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return {
            name[:-4]: list(csv.DictReader(io.StringIO(archive.read(name).decode())))
            for name in archive.namelist()
            if name.endswith(".csv")
        }


async def test_the_ssda903_return_passes_the_dfe_validator_and_is_reproducible(
    client: httpx.AsyncClient, auth: AuthHeaders, clock: ManualClock
) -> None:
    rm = auth(Role.REGISTERED_MANAGER)
    moved, leaver = await _record(client, rm)
    as_of = clock.now() + timedelta(minutes=1)
    clock.advance(timedelta(minutes=2))
    inspector = auth(Role.INSPECTOR, "ofsted-1")
    params = {"year": YEAR, "as_of": as_of.isoformat()}
    first = await client.get("/v1/reports/ssda903", params=params, headers=inspector)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "application/zip"
    again = await client.get("/v1/reports/ssda903", params=params, headers=rm)
    assert again.content == first.content

    tables = _tables(first.content)
    episodes = [(e["CHILD"], e["DECOM"], e["RNE"], e["LS"], e["DEC"], e["REC"]) for e in tables["episodes"]]
    assert sorted(episodes) == sorted(
        [
            (moved, "01/02/2024", "S", "C1", "20/04/2025", "X1"),
            (moved, "20/04/2025", "L", "C2", "10/06/2025", "X1"),
            (moved, "10/06/2025", "P", "C2", "", ""),
            (leaver, "01/07/2023", "S", "V2", "25/04/2025", "E4A"),
        ]
    )
    assert [(m["CHILD"], m["MIS_START"], m["MIS_END"]) for m in tables["missing"]] == [
        (moved, "03/09/2025", "04/09/2025")
    ]
    assert [(o["CHILD"], o["IN_TOUCH"], o["ACCOM"]) for o in tables["oc3"]] == [(leaver, "YES", "B1")]
    assert [(o["CHILD"], o["SDQ_SCORE"], o["TEETH_CHECK"]) for o in tables["oc2"]] == [(moved, "12", "1")]
    one = await client.get("/v1/reports/ssda903", params={**params, "table": "episodes"}, headers=inspector)
    assert one.content == zipfile.ZipFile(io.BytesIO(first.content)).read("episodes.csv")

    before = await client.get("/v1/reports/ssda903", params={**params, "year": YEAR - 1}, headers=inspector)
    assert before.status_code == 200, before.text
    verdict = validate(
        _files(first.content), previous=_files(before.content), collection_year=YEAR + 1, local_authority=WEST_NORTHANTS
    )
    print(f"SSDA903 validator: {verdict.rules_run} rules run, {len(verdict.errors)} errors, "
          f"could not run: {verdict.failed_to_run}, skipped: {len(verdict.skipped)}")  # fmt: skip
    assert verdict.errors == []
    assert verdict.rules_run > 150


async def test_a_code_outside_the_dfe_code_sets_is_refused_with_nothing_written(
    client: httpx.AsyncClient, auth: AuthHeaders
) -> None:
    rm = auth(Role.REGISTERED_MANAGER)
    child = await _child(client, rm, "2012-03-14", "2024-02-01", sex="M")
    before = (await client.get(f"/v1/children/{child}", headers=rm)).json()["version"]
    for url, body in (
        ("legal-status", {"legal_status": "section_31", "from_date": "2024-02-01"}),
        ("statutory-details", {"sex": "1", "ethnicity": "WBRI", "category_of_need": "N1"}),
        ("care-ended", {"ended_on": "2025-05-01", "reason": "X1"}),
        ("placement-codes", {"placement_id": str(child), "provider": "PR4", "placement_postcode": "NN4 8EH"}),
        ("missing-episodes", {"kind": "M", "started_on": "2025-09-04", "ended_on": "2025-09-03"}),
    ):
        response = await client.post(f"/v1/children/{child}/{url}", json=body, headers=rm)
        assert response.status_code == 422, (url, response.text)
    assert (await client.get(f"/v1/children/{child}", headers=rm)).json()["version"] == before


async def validated_return(client: httpx.AsyncClient, headers: dict[str, str], year: int) -> tuple[int, Verdict]:
    """The return for `year` (as of now) checked by the DfE's rules: (children in it, the verdict)."""
    response = await client.get("/v1/reports/ssda903", params={"year": year}, headers=headers)
    assert response.status_code == 200, response.text
    children = len(_tables(response.content)["header"])
    return children, validate(_files(response.content), collection_year=year + 1, local_authority=WEST_NORTHANTS)
