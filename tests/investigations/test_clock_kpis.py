"""Every clock kind a service starts belongs to exactly one KPI (issue 18): the kinds are enumerated
from each service's own table of kinds and from every `kind="..."` written in the code, so a new
clock that no KPI counts fails here."""

from __future__ import annotations

import ast
from pathlib import Path

from services.carers.rules.clocks import Clock
from services.investigations import rules
from services.visits.rules import kinds as visit_kinds
from shared.contracts.notifications import ACKNOWLEDGEMENT_DEADLINE_KIND

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("visits.", "carers.", "notifications.", "access.", "investigations.")


def _declared() -> set[str]:
    """The kinds each service declares in its table of kinds."""
    visits = {v for v in vars(visit_kinds).values() if isinstance(v, str) and v.startswith("visits.")}
    visits |= set(visit_kinds.COMPLAINT_STAGE.values())
    return visits | {c.value for c in Clock} | {ACKNOWLEDGEMENT_DEADLINE_KIND}


def _written() -> set[str]:
    """Every `kind="<service>.<clock>"` keyword written in services/ and shared/ (a DeadlineSet, a Due)."""
    found: set[str] = set()
    for path in [*ROOT.joinpath("services").rglob("*.py"), *ROOT.joinpath("shared").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.keyword) and node.arg == "kind":
                value = node.value
                if (
                    isinstance(value, ast.Constant)
                    and isinstance(value.value, str)
                    and value.value.startswith(SERVICES)
                ):
                    found.add(value.value)
    return found


def test_the_enumeration_finds_the_clocks_of_every_service() -> None:
    kinds = _declared() | _written()
    assert {k.split(".")[0] for k in kinds} == {"visits", "carers", "notifications", "access"}
    assert "access.break_glass_review" in kinds and "visits.complaint_stage2_response" in kinds


def test_every_clock_kind_belongs_to_exactly_one_kpi() -> None:
    kinds = _declared() | _written()
    unmeasured = sorted(kinds - set(rules.CLOCK_KPI))
    assert unmeasured == [], f"clock kinds no KPI counts: {unmeasured}"
    assert sorted(set(rules.CLOCK_KPI) - kinds) == [], "KPIs counting clocks no service starts"
    assert {kpi for kpi in rules.CLOCK_KPI.values()} <= set(rules.KPI_BY_KEY)
    # A timeliness KPI's clocks are its own, never also counted as overdue work.
    for kpi, kind in rules.TIMELINESS_CLOCKS.items():
        assert rules.CLOCK_KPI[kind] == kpi and kind not in rules.OVERDUE_CATEGORIES
    assert rules.CLOCK_KPI[rules.COMPLAINT_STAGE1_KIND] == "complaints_stage1_within_10_working_days"


def test_every_overdue_kpi_counts_some_clock() -> None:
    counted = set(rules.OVERDUE_CATEGORIES.values())
    assert counted == set(rules.CATEGORIES)
    assert {f"overdue_{c}" for c in rules.CATEGORIES} == {k.key for k in rules.KPIS if k.key.startswith("overdue_")}
