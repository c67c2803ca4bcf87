"""Issue 18: a household's record can be corrected (as a child's can), and an adult who leaves the
household is recorded: from that day they are not one of its adults (no DBS check needed for a
placement) and their clocks stop. Through the HTTP API."""

from __future__ import annotations

import uuid

from fastapi import FastAPI

from tests.builders import get, post
from tests.carers.helpers import codes, events_of, household, place, register_child


async def test_an_adult_who_left_no_longer_blocks_a_placement_and_their_clocks_stop(client, auth, app: FastAPI) -> None:
    h = auth()
    hid = (await household(client, h))["household_id"]
    lodger = await post(
        client,
        h,
        f"/v1/households/{hid}/members",
        {"name": "Lodger", "role": "adult", "date_of_birth": "1995-06-01", "joined_on": "2026-03-01"},
    )
    child = await register_child(app)
    refused = await place(client, h, hid, child, "2026-11-25", placement_type="short_term")
    assert refused.status_code == 409 and codes(refused.json()) == {"adult_dbs_missing"}

    leave = f"/v1/households/{hid}/members/{lodger['member_id']}/leave"
    before = len(await events_of(app, stream_id=f"household-{hid}"))
    for bad, code in (({"left_on": "2026-02-01"}, "left_before_joining"), ({"left_on": "2027-01-01"}, "in_the_future")):
        problem = await post(client, h, leave, bad, status=422)
        assert code in codes(problem)
    assert len(await events_of(app, stream_id=f"household-{hid}")) == before  # nothing written

    left = await post(client, h, leave, {"left_on": "2026-11-20", "reason": "Moved out."})
    assert [(c["event"], c["kind"]) for c in left["clocks"]] == [("DeadlineCancelled", "carers.dbs_check")]
    await post(client, h, leave, {}, status=409)  # already left
    view = await get(client, h, f"/v1/households/{hid}")
    [member] = [m for m in view["members"] if m["member_id"] == lodger["member_id"]]
    assert member["left_on"] == "2026-11-20" and member["left_reason"] == "Moved out." and member["adult"] is False
    compliance = await get(client, h, f"/v1/households/{hid}/compliance")
    assert not [i for i in compliance["items"] if i.get("member_id") == lodger["member_id"]]
    placed = await place(client, h, hid, child, "2026-11-25", placement_type="short_term")
    assert placed.status_code == 201, placed.text


async def test_a_household_entry_is_corrected_beside_it_never_changed(client, auth, app: FastAPI) -> None:
    h = auth()
    hid = (await household(client, h))["household_id"]
    added = await post(
        client,
        h,
        f"/v1/households/{hid}/members",
        {"name": "Birth daugter", "role": "child", "date_of_birth": "2010-02-03"},
    )
    url = f"/v1/households/{hid}/amendments"
    body = {"amends_event_id": added["event_id"], "reason": "Name mistyped.", "correction": "Birth daughter."}
    amended = await post(client, h, url, body)
    assert amended["amendment_id"] and amended["household_id"] == hid
    view = await get(client, h, f"/v1/households/{hid}")
    [amendment] = view["amendments"]
    assert amendment["amends_event_id"] == added["event_id"] and amendment["amends_type"] == "carers.MemberAdded"
    assert amendment["correction"] == "Birth daughter."
    [entry] = [e for e in await events_of(app, stream_id=f"household-{hid}") if str(e.event_id) == added["event_id"]]
    assert entry.data["name"] == "Birth daugter"  # the entry itself stays as it was

    other = (await household(client, h))["household_id"]
    elsewhere = (await get(client, h, f"/v1/households/{other}"))["members"][0]
    events = await events_of(app, stream_id=f"household-{other}")
    foreign = next(e for e in events if str(e.data.get("member_id")) == elsewhere["member_id"])
    before = len(await events_of(app, stream_id=f"household-{hid}"))
    for wrong in (str(foreign.event_id), str(uuid.uuid4())):
        problem = await post(client, h, url, {**body, "amends_event_id": wrong}, status=422)
        assert codes(problem) == {"not_in_this_record"}
    assert len(await events_of(app, stream_id=f"household-{hid}")) == before


async def test_a_household_records_its_local_authority_and_a_correction_carries_the_right_code(
    client, auth, app: FastAPI
) -> None:
    """The household's local authority (the area authority of children placed there) is required at
    registration, an ONS code of the table; a wrong one is corrected beside the registration."""
    h = auth()
    before = len(await events_of(app))
    for bad in ({}, {"local_authority": "E99999999"}, {"local_authority": "E10000006"}):  # missing, unknown, ended
        await post(client, h, "/v1/households", {"name": "The Area household", **bad}, status=422)
    assert len(await events_of(app)) == before  # nothing written
    hid = (await household(client, h, local_authority="E09000012"))["household_id"]
    assert (await get(client, h, f"/v1/households/{hid}"))["local_authority"] == "E09000012"

    events = await events_of(app, stream_id=f"household-{hid}")
    registration = next(e for e in events if e.type == "carers.HouseholdRegistered")
    member = next(e for e in events if e.type == "carers.MemberAdded")
    url = f"/v1/households/{hid}/amendments"
    body = {"reason": "Wrong borough.", "correction": "They live in Leeds.", "local_authority": "E08000035"}
    problem = await post(client, h, url, {**body, "amends_event_id": str(member.event_id)}, status=422)
    assert codes(problem) == {"not_the_registration"}
    await post(client, h, url, {**body, "amends_event_id": str(registration.event_id)})
    assert (await get(client, h, f"/v1/households/{hid}"))["local_authority"] == "E08000035"
