"""The progress of a long command: drawn only on a terminal, never written anywhere else.
(The commands themselves are run under a pseudo-terminal in test_cli.py.)"""

from __future__ import annotations

import io

from shared.progress import CommandProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_each_phase_is_drawn_on_a_terminal() -> None:
    screen = Terminal()
    with CommandProgress(screen) as progress:
        keys = progress.phase("destroying keys", total=3)
        for done in (1, 2, 3):
            keys(done)
        rebuilt = progress.phase("rebuilding projections")  # total learnt as it goes
        rebuilt(500, 1000)
        rebuilt(1000, 1000)
    drawn = screen.getvalue()
    assert "destroying keys" in drawn and "3/3" in drawn
    assert "rebuilding projections" in drawn and "1000/1000" in drawn and "100%" in drawn


def test_nothing_is_written_when_the_stream_is_not_a_terminal() -> None:
    piped = io.StringIO()
    with CommandProgress(piped) as progress:
        advance = progress.phase("verifying the hash chain", total=10)
        advance(10)
    assert piped.getvalue() == ""
