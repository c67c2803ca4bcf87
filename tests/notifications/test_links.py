"""The acknowledgement link on its own (no database): which tokens are refused and why, read on the
clock given, and what the recipient's answer records. Followed end to end, through a real SMTP
relay, in test_acknowledgement_link.py."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import jwt
import pytest

from services.notifications import commands, links, rules
from shared.problems import Problem
from shared.settings import Settings
from tests.notifications.test_deciders import NOW, notification_stream, recorded, recorder

SETTINGS = Settings(_env_file=None, database_url=None)
NID, SID = uuid.uuid4(), uuid.uuid4()
FORM = "application/x-www-form-urlencoded"


def claims(**changed: object) -> dict[str, object]:
    good = jwt.decode(links.mint(SETTINGS, NID, "lado", SID, NOW), options={"verify_signature": False})
    return {**good, **changed}


def signed(payload: dict[str, object], key: str = SETTINGS.acknowledgement_link_secret) -> str:
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key, algorithm="HS256")


CASES: dict[str, tuple[Callable[[], str], str, str]] = {
    "the link as sent": (lambda: links.mint(SETTINGS, NID, "lado", SID, NOW), "lado", ""),
    "a day before it expires": (lambda: links.mint(SETTINGS, NID, "lado", SID, NOW - timedelta(days=13)), "lado", ""),
    "expired": (lambda: links.mint(SETTINGS, NID, "lado", SID, NOW - timedelta(days=15)), "lado", "expired"),
    "for another recipient": (lambda: links.mint(SETTINGS, NID, "police", SID, NOW), "lado", "another"),
    "for another notification": (lambda: links.mint(SETTINGS, uuid.uuid4(), "lado", SID, NOW), "lado", "another"),
    "signed with the API's token key": (lambda: signed(claims(), SETTINGS.jwt_secret), "lado", "not signed"),
    "the API's audience": (lambda: signed(claims(aud=SETTINGS.jwt_audience)), "lado", "not signed"),
    "another issuer": (lambda: signed(claims(iss="someone-else")), "lado", "not signed"),
    "no expiry": (lambda: signed(claims(exp=None)), "lado", "not signed"),
    "no subscription": (lambda: signed(claims(subscription=None)), "lado", "not signed"),
    "unsigned (alg none)": (lambda: jwt.encode(claims(), None, algorithm="none"), "lado", "not signed"),
    "far too long": (lambda: "x" * (links.MAX_TOKEN_CHARS + 1), "lado", "malformed"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_a_link_acknowledges_only_what_it_names_until_it_expires(case: str) -> None:
    token, recipient, refusal = CASES[case]
    if not refusal:
        named = links.verified(SETTINGS, token(), NID, recipient, NOW)
        assert (named.notification_id, named.recipient, named.subscription_id) == (NID, "lado", SID)
        return
    with pytest.raises(Problem) as refused:
        links.verified(SETTINGS, token(), NID, recipient, NOW)
    assert refused.value.status == 401 and refusal in str(refused.value.detail)


def test_the_recipients_answer_meets_their_clock_once_and_no_one_elses() -> None:
    stream = notification_stream(["lado", "ofsted"], NOW + timedelta(hours=1))
    state = commands.notification_state(stream)
    assert state.raised is not None
    nid = state.raised.notification_id
    named = links.LinkClaims(nid, "lado", SID, NOW + timedelta(days=14))
    answered = links.decide_link_acknowledgement(recorder(), state, named, links.LinkAnswerIn(), stream)
    acknowledged, met = answered
    assert acknowledged.data["via"] == "signed_link" and acknowledged.data["recorded_by"] == f"link:{SID}"
    assert acknowledged.data["acknowledged_by"] == "The lado"
    assert acknowledged.metadata["summary"].startswith("Notification acknowledged by The lado (lado) through the link")
    assert met.data["deadline_id"] == str(rules.acknowledgement_deadline_id(nid, "lado"))
    after = [*stream, *(recorded(e, stream[0].stream_id, len(stream) + 1 + i) for i, e in enumerate(answered))]
    with pytest.raises(Problem) as again:
        state = commands.notification_state(after)
        links.decide_link_acknowledgement(recorder(), state, named, links.LinkAnswerIn(), after)
    assert again.value.status == 409 and "already acknowledged for the lado on 25 Nov 2026" in str(again.value.detail)


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        pytest.param(FORM, b"outcome=Seen&action_taken=", {"outcome": "Seen"}, id="form"),
        pytest.param("application/json", b'{"acknowledged_by": "Duty"}', {"acknowledged_by": "Duty"}, id="json"),
        pytest.param("", b"", {}, id="nothing"),
    ],
)
def test_the_answer_is_read_from_the_form_or_json(content_type: str, body: bytes, expected: dict[str, str]) -> None:
    read = links.answer_of(content_type, body)
    assert {k: v for k, v in read.model_dump().items() if k in expected} == expected


@pytest.mark.parametrize(
    ("body", "status"),
    [pytest.param(b"{not json", 400, id="not-json"), pytest.param(b'{"late": true}', 422, id="unknown-field")],
)
def test_an_answer_that_is_not_one_is_refused(body: bytes, status: int) -> None:
    with pytest.raises(Problem) as refused:
        links.answer_of("application/json", body)
    assert refused.value.status == status
