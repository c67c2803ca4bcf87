"""The house keeps its shape: modules a reader can hold, functions that fit a screen, branching a
reviewer can follow. Measured with radon over services/ and shared/."""

from __future__ import annotations

from pathlib import Path

import pytest
from radon.complexity import cc_visit
from radon.metrics import mi_visit

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for folder in ("services", "shared") for p in (ROOT / folder).rglob("*.py"))

MAX_MODULE_LINES = 800
MAX_FUNCTION_LINES = 60
MAX_COMPLEXITY = 15
MIN_MAINTAINABILITY = 20  # radon's index, 0-100, for every module of services/


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_no_module_is_longer_than_800_lines() -> None:
    long = {_relative(p): n for p in SOURCES if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert long == {}


def test_no_function_is_longer_than_60_lines_or_branches_more_than_15_ways() -> None:
    too_long: dict[str, int] = {}
    too_complex: dict[str, int] = {}
    for path in SOURCES:
        for block in cc_visit(path.read_text()):
            name = f"{_relative(path)}:{block.lineno} {block.fullname}"
            if block.endline - block.lineno + 1 > MAX_FUNCTION_LINES and not hasattr(block, "methods"):
                too_long[name] = block.endline - block.lineno + 1
            if block.complexity > MAX_COMPLEXITY:
                too_complex[name] = block.complexity
    assert too_long == {}
    assert too_complex == {}


@pytest.mark.parametrize("path", [p for p in SOURCES if p.parts[len(ROOT.parts)] == "services"], ids=_relative)
def test_every_service_module_is_maintainable(path: Path) -> None:
    assert mi_visit(path.read_text(), multi=True) > MIN_MAINTAINABILITY
