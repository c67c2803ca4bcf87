"""Issue 18, `carelog demo`: it refuses to load into a log that already holds records (unless
forced). Its progress, and the same log from the same seed and last day: test_demo_year.py."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from bench.demo import DemoRefused, run_demo
from shared.db import as_role
from tests.builders import register_child
from tests.conftest import test_settings


async def test_the_demo_refuses_a_log_that_already_holds_records(fresh_app: FastAPI, fresh_database_url: str) -> None:
    await register_child(fresh_app)
    head = (await fresh_app.state.store.head())[0]
    told: list[str] = []
    with pytest.raises(DemoRefused, match=f"already holds {head} events"):
        await run_demo(test_settings(), as_role(fresh_database_url), children=2, households=1, progress=told.append)
    assert (await fresh_app.state.store.head())[0] == head and told == []
