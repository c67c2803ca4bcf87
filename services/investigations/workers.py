"""investigations: the follower started by `carelog serve` (ServiceSpec.workers).

- `span_follower`: keeps the KPI report's span snapshots (projections.follow_spans) up with the
  log's head, so a report as of any instant folds at most one span's worth of events after them,
  and a report after a restart reads them instead of the whole log.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from services.investigations import projections
from shared.tasks import wait_or_timeout

log = logging.getLogger(__name__)

# A span closes every projections.SPAN events: looking every few seconds is soon enough.
FOLLOW_EVERY = 2.0


async def span_follower(app_state: Any) -> None:
    """Follow the log until the app is stopping."""
    while not app_state.stopping.is_set():
        try:
            await projections.follow_spans(app_state.store)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("keeping the KPI spans failed; will retry")
        await wait_or_timeout(app_state.stopping, FOLLOW_EVERY)
