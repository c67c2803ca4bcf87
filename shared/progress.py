"""Progress of a long command (replay, verify, retention, an export, a report) for a person at a
terminal: a bar per phase on stderr, redrawn at most once a second. When stderr is not a terminal
nothing is written at all, so a log collector reading stderr sees only the JSON lines of
shared/logs.py, and stdout (a document, a JSON result) is never touched.

    with CommandProgress() as progress:
        advance = progress.phase("verifying the chain", total=head)
        ...
        advance(done)            # or advance(done, total) when the total is learnt late
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

Advance = Callable[..., None]  # (done: int, total: int | None = None) -> None
# Redraws a second: enough to see it move, too few to slow the work or flood a slow terminal.
REFRESHES_PER_SECOND = 1.0


def _nothing(done: int, total: int | None = None) -> None:
    """The callback when nobody is watching."""


class CommandProgress:
    """One display for a command's phases; shown only when `stream` (stderr) is a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.shown = self.stream.isatty()
        self._bar: Progress | None = None

    def __enter__(self) -> CommandProgress:
        if self.shown:
            self._bar = Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                refresh_per_second=REFRESHES_PER_SECOND,
                # Leave stdout and stderr alone: the command's own output and log lines are its own.
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()  # the last state stays on the screen
            self._bar = None

    def phase(self, description: str, total: int | None = None) -> Advance:
        """A bar for one phase of the work and the callback that moves it (`total` None: unknown)."""
        bar = self._bar
        if bar is None:
            return _nothing
        task = bar.add_task(description, total=total)

        def advance(done: int, total: int | None = None) -> None:
            if total is None:
                bar.update(task, completed=done)
            else:
                bar.update(task, completed=done, total=total)

        return advance
