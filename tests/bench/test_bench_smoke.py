"""Smoke test of the benchmark: `python -m bench --quick` at a tiny size produces the full table
and JSON, with a number for every metric. Speed is never asserted here (2 noisy cores)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.bench

EXPECTED = (
    "append: API POST visits",
    "append: raw ceiling, 10 events/txn",
    "append: raw ceiling, 100 events/txn",
    "append: load client CPU",
    "chronology p50 at",
    "chronology p99 at",
    "chronology p99 growth",
    "replay all projections at",
    "replay: its rows written by PostgreSQL alone",
    "replay peak RSS growth",
    "event -> signed webhook p99",
    "append: API at",
    "serve cold start",
    "server CPU per request, append",
    "server CPU per request, chronology",
    "worklist p99 growth",
    "household compliance p99 growth",
    "caseloads p99 growth",
    "subject-access export (JSON) p99 growth",
    "subject-access export (PDF) p99 growth",
    "monthly KPI report p99 growth",
    "as of a past instant: a child's compliance (API)",
    "as of a past instant: the monthly KPI report (API)",
    "peer: eventsourcing recorder append",
    "peer append: carelog EventStore.append vs eventsourcing",
    "peer append: carelog API POST visits vs eventsourcing",
    "peer read: carelog replay read path vs eventsourcing",
    "peer read p99: child's chronology (API) vs eventsourcing",
)


@pytest.mark.skipif(not os.environ.get("CARELOG_TEST_DATABASE_URL"), reason="needs CARELOG_TEST_DATABASE_URL")
def test_quick_bench_produces_every_metric(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--events", "3000", "--seconds", "1.5", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,  # a slow machine; speed is the table's business, not this test's
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "| metric" in done.stdout and "verdict" in done.stdout
    document = json.loads(out.read_text())
    rows = document["rows"]
    for prefix in EXPECTED:
        assert any(r["metric"].startswith(prefix) for r in rows), f"no row for {prefix!r}"
    for row in rows:
        assert set(row) >= {"metric", "carelog", "baseline", "ratio", "target", "verdict", "unit"}
        assert isinstance(row["carelog"], int | float), f"{row['metric']} produced no number: {row['note']}"
        assert row["verdict"] in ("met", "MISSED", "info")
    assert document["sizes"]["large_events_actual"] >= 3000
