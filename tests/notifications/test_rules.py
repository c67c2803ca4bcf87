"""The rules as data: which row each event raises, which version applies, retries and routing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest

from services.notifications import rules
from services.notifications.rulebook import RULES_DIR, load_rule_sets

AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
RULE_SETS = load_rule_sets()

INCIDENT = "visits.IncidentRecorded"


def rows(event_type: str, **data: object) -> set[str]:
    return {m.rule_id for m in rules.matches(RULE_SETS, event_type, data, AT)}


@pytest.mark.parametrize(
    ("case", "event_type", "data", "expected"),
    [
        ("death", INCIDENT, {"category": "death"}, {"schedule7.row1"}),
        ("serious illness", INCIDENT, {"category": "serious_illness"}, {"schedule7.row3"}),
        ("serious accident", INCIDENT, {"category": "serious_accident"}, {"schedule7.row3"}),
        ("overdose is always row 3", INCIDENT, {"category": "overdose"}, {"schedule7.row3"}),
        (
            "self-harm needing hospital",
            INCIDENT,
            {"category": "self_harm", "needed_hospital_treatment": True},
            {"schedule7.row3"},
        ),
        ("self-harm without hospital", INCIDENT, {"category": "self_harm", "needed_hospital_treatment": False}, set()),
        ("infectious disease", INCIDENT, {"category": "infectious_disease"}, {"schedule7.row4"}),
        ("offence allegation", INCIDENT, {"category": "offence_allegation"}, {"schedule7.row5"}),
        ("sexual exploitation", INCIDENT, {"category": "sexual_exploitation"}, {"schedule7.row6"}),
        ("police called category", INCIDENT, {"category": "police_called"}, {"schedule7.row7"}),
        ("police called flag", INCIDENT, {"category": "substance_misuse", "police_called": True}, {"schedule7.row7"}),
        (
            "missing and police",
            INCIDENT,
            {"category": "missing", "police_called": True},
            {
                "schedule7.row7",
                "schedule7.row8",
            },
        ),
        ("missing", INCIDENT, {"category": "missing"}, {"schedule7.row8"}),
        ("cp enquiry started", INCIDENT, {"category": "child_protection_enquiry_started"}, {"schedule7.row10"}),
        ("cp enquiry outcome", INCIDENT, {"category": "child_protection_enquiry_outcome"}, {"schedule7.row10"}),
        ("seizure is not notifiable", INCIDENT, {"category": "seizure"}, set()),
        (
            "serious complaint about carer",
            "visits.ComplaintReceived",
            {"made_by": "parent", "schedule7_row9": True, "about_household_id": None},
            {"schedule7.row9"},
        ),
        (
            "complaint by child about carer",
            "visits.ComplaintReceived",
            {"made_by": "child", "schedule7_row9": True, "about_household_id": "h", "lado_consultation": True},
            {"schedule7.row9", "lado.lado"},
        ),
        (
            "LADO consultation flag",
            "visits.ComplaintReceived",
            {"made_by": "parent", "schedule7_row9": False, "lado_consultation": True},
            {"lado.lado"},
        ),
        (
            "complaint by a parent, not about a carer",
            "visits.ComplaintReceived",
            {"made_by": "parent", "schedule7_row9": False, "about_household_id": None},
            set(),
        ),
        ("every allegation", "carers.AllegationReceived", {"child_ids": []}, {"lado.lado"}),
        ("DBS referral", "carers.AllegationOutcomeRecorded", {"dbs_referral_made": True}, {"schedule7.row2"}),
        ("outcome without DBS referral", "carers.AllegationOutcomeRecorded", {"dbs_referral_made": False}, set()),
    ],
    ids=lambda v: v if isinstance(v, str) and " " in v else "",
)
def test_which_rows_an_event_raises(case: str, event_type: str, data: dict[str, object], expected: set[str]) -> None:
    assert rows(event_type, **data) == expected, case


@pytest.mark.parametrize(
    ("row", "recipients"),
    [
        ("1", {"ofsted", "placing_authority", "secretary_of_state", "area_authority", "health"}),
        ("2", {"ofsted", "placing_authority"}),
        ("3", {"ofsted", "placing_authority"}),
        ("4", {"ofsted", "placing_authority", "health"}),
        ("5", {"placing_authority", "police"}),
        ("6", {"ofsted", "placing_authority", "area_authority", "police"}),
        ("7", {"ofsted", "placing_authority", "police"}),
        ("8", {"placing_authority", "police"}),
        ("9", {"ofsted", "placing_authority"}),
        ("10", {"ofsted", "placing_authority", "area_authority"}),
    ],
)
def test_the_schedule_7_matrix(row: str, recipients: set[str]) -> None:
    schedule7 = rules.effective_version(RULE_SETS, "schedule7", AT)
    assert schedule7 is not None
    assert set(schedule7.rows[row].recipients) == recipients
    assert schedule7.rows[row].due == (timedelta(0) if row == "1" else timedelta(hours=24))


def test_due_times_include_weekends() -> None:
    saturday = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    schedule7 = rules.effective_version(RULE_SETS, "schedule7", saturday)
    assert schedule7 is not None
    assert rules.due_by(saturday, schedule7.rows["3"]) == datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    assert rules.due_by(saturday, schedule7.rows["1"]) == saturday


def test_every_rule_file_has_a_version_effective_date_and_source() -> None:
    for rule_set in RULE_SETS:
        assert rule_set.version >= 1
        assert rule_set.effective_from <= date(2026, 11, 25)
        assert rule_set.source
    assert sorted(p.name for p in RULES_DIR.glob("*.yaml")) == ["lado-v1.yaml", "schedule7-v1.yaml"]


def test_a_rule_change_is_a_new_version_picked_by_the_event_date(tmp_path: Path) -> None:
    for path in RULES_DIR.glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text())
    v2 = (RULES_DIR / "schedule7-v1.yaml").read_text()
    v2 = v2.replace("version: 1", "version: 2").replace("effective_from: 2011-04-01", "effective_from: 2027-01-01")
    v2 = v2.replace(
        "    title: Serious illness or serious accident of a placed child\n    recipients: [ofsted, placing_authority]",
        "    title: Serious illness or serious accident of a placed child\n"
        "    recipients: [ofsted, placing_authority, health]",
    )
    (tmp_path / "schedule7-v2.yaml").write_text(v2)
    rule_sets = load_rule_sets(tmp_path)

    before = rules.matches(rule_sets, INCIDENT, {"category": "overdose"}, datetime(2026, 12, 31, 23, 0, tzinfo=UTC))
    after = rules.matches(rule_sets, INCIDENT, {"category": "overdose"}, datetime(2027, 1, 1, 9, 0, tzinfo=UTC))
    assert [(m.rule_set.version, set(m.row.recipients)) for m in before] == [(1, {"ofsted", "placing_authority"})]
    assert [(m.rule_set.version, set(m.row.recipients)) for m in after] == [
        (2, {"ofsted", "placing_authority", "health"})
    ]
    # England's date decides: 00:30 on 1 July 2027 in London is still 30 June in UTC.
    assert rules.local_date(datetime(2027, 6, 30, 23, 30, tzinfo=UTC)) == date(2027, 7, 1)


@pytest.mark.parametrize(
    ("case", "content", "message"),
    [
        ("unknown recipient", {"rows": {"1": {"title": "x", "recipients": ["press"], "due_hours": 0}}}, "unknown"),
        ("trigger names no row", {"triggers": [{"id": "t", "event": "x", "row": "99"}]}, "unknown row"),
        ("no source", {"source": ""}, "source"),
        (
            "misspelt event type",
            {"triggers": [{"id": "t", "event": "visits.IncidentRecroded", "row": "1"}]},
            "unknown event type 'visits.IncidentRecroded'",
        ),
    ],
)
def test_invalid_rule_files_are_refused(case: str, content: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "rule_set": "t",
        "version": 1,
        "effective_from": "2020-01-01",
        "source": "reg 36",
        "rows": {"1": {"title": "x", "recipients": ["ofsted"], "due_hours": 0}},
        "triggers": [],
    }
    with pytest.raises(rules.RuleError, match=message):
        rules.parse_rule_set({**base, **content})


@pytest.mark.parametrize(
    ("case", "replace", "message"),
    [
        ("an event type no contract declares", ("event: visits.IncidentRecorded", "event: visits.Incident"), "unknown"),
        (
            "an event notifications does not react to",
            ("event: carers.AllegationReceived", "event: visits.VisitRecorded"),
            "does not react",
        ),
    ],
)
def test_a_rule_file_naming_an_event_it_cannot_follow_does_not_load(
    case: str, replace: tuple[str, str], message: str, tmp_path: Path
) -> None:
    for path in RULES_DIR.glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text().replace(*replace))
    with pytest.raises(rules.RuleError, match=message):
        load_rule_sets(tmp_path)


def test_triggers_name_their_events_contract() -> None:
    on = {t.on for rs in RULE_SETS for t in rs.triggers}
    assert {c.event_type for c in on} == {
        "visits.IncidentRecorded",
        "visits.ComplaintReceived",
        "carers.AllegationReceived",
        "carers.AllegationOutcomeRecorded",
    }


def test_two_versions_must_take_effect_in_order() -> None:
    one = rules.parse_rule_set(
        {"rule_set": "t", "version": 1, "effective_from": "2020-01-01", "source": "s", "rows": {}, "triggers": []}
    )
    two = rules.parse_rule_set(
        {"rule_set": "t", "version": 2, "effective_from": "2019-01-01", "source": "s", "rows": {}, "triggers": []}
    )
    with pytest.raises(rules.RuleError):
        rules.check_versions([one, two])


@pytest.mark.parametrize(
    ("attempts_made", "delay"),
    [(0, 0.0), (1, 5.0), (2, 300.0), (6, 36000.0), (7, None)],
)
def test_retry_schedule_then_dead_letter(attempts_made: int, delay: float | None) -> None:
    assert rules.next_attempt_delay([0, 5, 300, 1800, 7200, 18000, 36000], attempts_made) == delay


@pytest.mark.parametrize(
    ("case", "sub", "expected"),
    [
        ("recipient in the notification", {"recipient": "ofsted"}, True),
        ("recipient not in it", {"recipient": "police"}, False),
        ("type filter matches", {"recipient": "ofsted", "event_types": ["notifications.NotificationRaised"]}, True),
        ("type filter by prefix", {"recipient": "ofsted", "event_types": ["notifications.*"]}, True),
        ("type filter excludes", {"recipient": "ofsted", "event_types": ["notifications.EscalationRaised"]}, False),
        ("authority matches", {"recipient": "placing_authority", "placing_authority": " northamptonshire "}, True),
        ("other authority", {"recipient": "placing_authority", "placing_authority": "Kent"}, False),
    ],
)
def test_which_subscriptions_receive_a_message(case: str, sub: dict[str, object], expected: bool) -> None:
    assert (
        rules.subscription_matches(
            recipient=str(sub["recipient"]),
            event_types=list(sub.get("event_types", [])),  # type: ignore[call-overload]
            placing_authority=sub.get("placing_authority"),  # type: ignore[arg-type]
            message_type="notifications.NotificationRaised",
            message_recipients=["ofsted", "placing_authority"],
            message_placing_authorities=["Northamptonshire"],
        )
        is expected
    ), case


TWO = ["ofsted", "placing_authority"]


@pytest.mark.parametrize(
    ("answered", "statuses", "expected"),
    [
        pytest.param([], [], "raised", id="nothing sent, no answer"),
        pytest.param([], ["pending", "delivered"], "pending", id="something still to send"),
        pytest.param([], ["delivered", "delivered"], "delivered", id="all delivered, no answer"),
        pytest.param([], ["dead", "delivered"], "dead_lettered", id="one dead letter"),
        pytest.param(["ofsted"], ["delivered"], "partly_acknowledged", id="one of two answered"),
        pytest.param(["ofsted", "placing_authority"], ["dead"], "acknowledged", id="every recipient answered"),
    ],
)
def test_notification_status(answered: list[str], statuses: list[str], expected: str) -> None:
    assert rules.notification_status(recipients=TWO, answered=answered, outbox_statuses=statuses) == expected


@pytest.mark.parametrize(
    ("recipients", "acknowledgements", "answered"),
    [
        pytest.param(["ofsted"], [{"recipient": None}], {"ofsted"}, id="unnamed answer of the sole recipient"),
        pytest.param(TWO, [{"recipient": None}], set(), id="unnamed answer stands for no one of two"),
        pytest.param(TWO, [{"recipient": "ofsted"}], {"ofsted"}, id="named answer"),
        pytest.param(TWO, [{"recipient": "police"}], set(), id="a stranger's answer"),
    ],
)
def test_answered_by(recipients: list[str], acknowledgements: list[dict[str, Any]], answered: set[str]) -> None:
    assert rules.answered_by(recipients, acknowledgements) == answered


@pytest.mark.parametrize(
    ("answered", "has_destination", "statuses", "expected"),
    [
        pytest.param(False, False, [], "no_destination", id="no receiver for it"),
        pytest.param(True, False, [], "acknowledged", id="told another way and answered"),
        pytest.param(False, True, ["delivered"], "delivered", id="delivered"),
        pytest.param(False, True, ["dead"], "dead_lettered", id="dead letter"),
    ],
)
def test_recipient_status(answered: bool, has_destination: bool, statuses: list[str], expected: str) -> None:
    assert (
        rules.recipient_status(answered=answered, has_destination=has_destination, outbox_statuses=statuses) == expected
    )


@pytest.mark.parametrize(
    ("household", "placing", "told"),
    [
        pytest.param("E06000062", ["West Northamptonshire Council"], False, id="same authority by council name"),
        pytest.param("E06000062", ["E06000062"], False, id="same authority by code"),
        pytest.param("E06000062", ["Leeds City Council"], True, id="another authority placed the child"),
        pytest.param("E06000062", ["Leeds", "West Northamptonshire"], False, id="one of the placers is the area"),
        pytest.param("E06000062", [], True, id="no placing authority on file"),
        pytest.param(None, ["Leeds City Council"], True, id="where the household is not recorded"),
        pytest.param("E06000023", ["Bristol City Council"], False, id="Bristol, City of"),
        pytest.param("E09000012", ["London Borough of Hackney"], False, id="a London borough"),
    ],
)
def test_area_authority_is_told_when_it_differs(household: str | None, placing: list[str], told: bool) -> None:
    area = rules.area_of(household, placing)
    assert area.told is told and area.code == household


@pytest.mark.parametrize(
    ("placements", "on", "placed"),
    [
        ([], date(2026, 11, 25), False),
        ([(date(2026, 1, 1), None)], date(2026, 11, 25), True),
        ([(date(2026, 1, 1), date(2026, 6, 1))], date(2026, 11, 25), False),
        ([(date(2026, 12, 1), None)], date(2026, 11, 25), False),
        ([(date(2026, 1, 1), date(2026, 11, 25))], date(2026, 11, 25), True),
    ],
)
def test_placed_on_a_date(placements: list[tuple[date, date | None]], on: date, placed: bool) -> None:
    assert rules.is_placed(placements, on) is placed


# ---- where a webhook may go ------------------------------------------------------------------
ADDRESSES = {
    "a public IPv4 address": ("8.8.8.8", [], None),
    "a public IPv6 address": ("2606:4700:4700::1111", [], None),
    "loopback": ("127.0.0.1", [], "loopback"),
    "loopback, allowed for a local receiver": ("127.0.0.1", ["127.0.0.0/8"], None),
    "IPv6 loopback, allowed": ("::1", ["::1/128"], None),
    "an IPv4 network does not allow IPv6 loopback": ("::1", ["127.0.0.0/8"], "loopback"),
    "unspecified": ("0.0.0.0", [], "unspecified"),
    "private": ("172.16.5.4", [], "private"),
    "private, another network allowed": ("172.16.5.4", ["10.0.0.0/8"], "private"),
    "private, its own host allowed": ("10.20.0.5", ["10.20.0.5/32"], None),
    "cloud metadata": ("169.254.169.254", [], "link-local"),
    "multicast": ("239.1.2.3", [], "multicast"),
    "broadcast": ("255.255.255.255", [], "reserved"),
    "carrier-grade NAT": ("100.64.0.1", [], "not publicly routable"),
    "documentation range": ("192.0.2.10", [], "private"),
    "IPv4-mapped loopback is loopback": ("::ffff:127.0.0.1", [], "loopback"),
    "IPv4-mapped loopback, allowed as IPv4": ("::ffff:127.0.0.1", ["127.0.0.0/8"], None),
    "6to4 wrapping a private address": ("2002:a00:1::1", [], "private"),
    "NAT64 wrapping a private address": ("64:ff9b::a00:1", [], "reserved"),
    "NAT64 wrapping a public address, prefix allowed": ("64:ff9b::808:808", ["64:ff9b::/96"], None),
    "NAT64 prefix allowed, private address inside": ("64:ff9b::a00:1", ["64:ff9b::/96"], "private"),
    "IPv6 unique local": ("fd12::1", [], "private"),
    "IPv6 link-local": ("fe80::1", [], "link-local"),
}


@pytest.mark.parametrize("case", list(ADDRESSES), ids=list(ADDRESSES))
def test_which_addresses_a_webhook_may_reach(case: str) -> None:
    address, allowed, refused = ADDRESSES[case]
    assert rules.refused_address(ip_address(address), rules.parse_networks(allowed)) == refused


@pytest.mark.parametrize(
    ("outcome", "status"),
    [("delivered", "delivered"), ("failed", "retrying"), ("dead_lettered", "failed"), ("gone", "failed")],
)
def test_an_attempt_shows_its_status_not_its_reason(outcome: str, status: str) -> None:
    assert rules.attempt_status(outcome) == status
