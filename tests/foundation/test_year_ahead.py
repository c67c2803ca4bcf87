"""The tests whose answers turn on dates pass with the machine's clock a year ahead.

Every instant a record, clock or report depends on comes from the injected Clock
(tests/foundation/test_wall_clock.py proves services and shared read no other). This runs the
suites where months, clock timeliness and late entries are decided (the inspector's pages and the
KPI months that are provisional or official, the honest KPIs) again under faketime, a year ahead, so a test
that quietly depends on today's date fails here instead of on the first clean clone after that date.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]
DATE_BOUND = [
    "tests/investigations/test_api.py",
    "tests/investigations/test_honest_kpis.py",
]


def test_the_date_bound_suites_pass_a_year_ahead() -> None:
    faketime = shutil.which("faketime")
    require(faketime is not None, "faketime")
    assert faketime is not None
    done = subprocess.run(
        [
            faketime,
            "-f",
            "+365d",
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-n",
            "0",
            "-p",
            "no:cacheprovider",
            *DATE_BOUND,
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout
