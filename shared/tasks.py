"""Stopping background tasks: first asked (each worker watches the app's `stopping` event and ends
after the step it is in), then for certain (cancelled)."""

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


async def wait_or_timeout(event: asyncio.Event, seconds: float) -> None:
    """Wait for `event` at most `seconds`. Not `asyncio.wait_for`: on Python 3.11 it can swallow a
    cancellation that arrives as the event is set, and the worker would then never stop."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


async def stop_tasks(tasks: list[asyncio.Task[Any]], stopping: asyncio.Event, grace_seconds: float) -> None:
    """A graceful stop: set `stopping`, let each task finish the step it is in for at most
    `grace_seconds`, then cancel what is still running. A webhook already sent is recorded as sent
    (cancelled, its transaction would roll back and the message go out again after the restart)."""
    stopping.set()
    if tasks:
        await asyncio.wait(tasks, timeout=grace_seconds)
    for task in tasks:
        await stop_task(task)
