"""The agency's local practice reaches the reactions too: the visits reactor is built with the app's
settings, not with whatever the environment held when its module was imported."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi import FastAPI

from shared.practice import VisitsPractice
from shared.settings import Settings
from tests.conftest import settle, test_settings
from tests.visits.conftest import Visits


@pytest.fixture
def settings() -> Settings:
    return test_settings(visits=VisitsPractice(follow_up_working_days=4))


async def test_an_allegation_s_visit_clock_follows_the_agency_s_practice(visits: Visits, app: FastAPI) -> None:
    child = await visits.register()
    friday = datetime(2026, 11, 20, 10, tzinfo=UTC)
    await visits.allegation(child, received_at=friday, summary="Allegation of physical chastisement.")
    await settle(app)
    [follow_up] = (await visits.get(f"/v1/children/{child}/compliance"))["open_follow_ups"]
    # Four working days, not the shipped two (which would be Tuesday the 24th).
    assert datetime.fromisoformat(follow_up["due_at"]) == datetime(2026, 11, 26, 10, tzinfo=UTC)
