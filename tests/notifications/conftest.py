from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from shared.auth import Role
from tests.notifications.helpers import Receiver, Subscriptions


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def authority() -> str:
    """A placing authority of this test's own: subscriptions filter on it, so tests sharing the
    session's log never see each other's messages."""
    return f"Authority {uuid.uuid4().hex[:8]}"


@pytest.fixture
async def subs(client: httpx.AsyncClient, auth) -> AsyncIterator[Subscriptions]:  # type: ignore[no-untyped-def]
    helper = Subscriptions(client, auth(Role.ADMIN))
    yield helper
    await helper.close()
