"""Stopping background tasks for certain."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def stop_task(task: asyncio.Task[Any] | None) -> None:
    """Cancel `task` and wait until it has ended, cancelling again every second: on Python 3.11 a
    cancellation that meets an `asyncio.timeout` expiring at the same moment can be lost, and a
    shutdown that waited on such a task would wait forever."""
    if task is None:
        return
    task.cancel()
    while not task.done():
        await asyncio.wait([task], timeout=1.0)
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()
