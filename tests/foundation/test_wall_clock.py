"""No code path reads the wall clock where the agency's Clock is injected.

Every instant a record, a clock or a report depends on comes from `shared.clock.Clock` (tests move
a ManualClock), never from the machine or the database server. The few places that must use the
machine's time are listed here with the reason; anything else is a test that depends on today's
date waiting to happen. `.ci/run` also runs the suite with the machine a year ahead (faketime).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# module -> why it may read the machine's time
ALLOWED: dict[str, str] = {
    "shared/clock.py": "SystemClock is the wall clock, injected everywhere else",
    "shared/auth.py": "a token's iat/exp are the issuer's wall-clock promise, checked as such",
    "shared/idempotency.py": "a claim's lease is between processes, on the database's own time",
    "services/notifications/workers.py": "a webhook signature's timestamp is checked by the receiver's clock",
}

_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("date", "today"), ("time", "time")}
_SQL_NOW = re.compile(r"\b(now\(\)|current_timestamp|current_date|localtimestamp|clock_timestamp\(\))", re.I)


def _wall_clock_reads(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else ""
            if (name, node.func.attr) in _CALLS:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}.{node.func.attr}()")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _SQL_NOW.search(node.value):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} SQL {_SQL_NOW.search(node.value)[0]}")  # type: ignore[index]
    return found


def test_only_the_listed_modules_read_the_wall_clock() -> None:
    reads = [
        read
        for folder in ("services", "shared")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if str(path.relative_to(ROOT)) not in ALLOWED
        for read in _wall_clock_reads(path)
    ]
    assert reads == [], "read the injected Clock (ctx.now(), rec.now(), store.clock) instead"


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    sample = ROOT / "tests" / "foundation" / "_wall_clock_sample.py"
    sample.write_text(
        "import time\nfrom datetime import date, datetime\n"
        "a = datetime.now()\nb = date.today()\nc = time.time()\nd = 'SELECT now()'\n"
    )
    try:
        assert len(_wall_clock_reads(sample)) == 4
    finally:
        sample.unlink()


def test_every_allowed_module_still_reads_it() -> None:
    """An allowance nobody needs any more is removed, so the list stays the truth."""
    for module in ALLOWED:
        assert _wall_clock_reads(ROOT / module), f"{module} no longer reads the wall clock: drop it from ALLOWED"
