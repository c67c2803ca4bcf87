"""The injectable clock: production reads the wall clock, tests move time by hand."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock for tests: starts at a given instant and moves only when told, or, once `run()`,
    also as real time passes (for what waits on real durations: a webhook's retry schedule)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        self._running_since: float | None = None

    def now(self) -> datetime:
        if self._running_since is None:
            return self._now
        return self._now + timedelta(seconds=time.monotonic() - self._running_since)

    def run(self) -> None:
        """From here on the clock also moves with real time."""
        self._now = self.now()
        self._running_since = time.monotonic()

    def set(self, instant: datetime) -> None:
        self._now = instant
        if self._running_since is not None:
            self._running_since = time.monotonic()

    def advance(self, delta: timedelta) -> None:
        self._now += delta
