"""investigations keeps no read models: everything is computed from the log on request, so an
export or a report is a pure function of the log as of an instant (and nothing to rebuild)."""

from __future__ import annotations

from shared.eventstore import Projector

PROJECTORS: list[Projector] = []
