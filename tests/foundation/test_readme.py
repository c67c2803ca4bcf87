"""The README is what a new user reads first: it names every role a token may carry and every
command, so neither can be added without being explained there."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from services.cli import cli
from shared.auth import Role

README = Path(__file__).resolve().parents[2] / "README.md"


def section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def first_cells(table: str) -> list[str]:
    """The first column of every row of the section's markdown table, without its backticks."""
    cells = []
    for line in table.splitlines():
        match = re.match(r"\|\s*`([^`]+)`\s*\|", line)
        if match:
            cells.append(match.group(1))
    return cells


def test_the_readme_lists_every_role_once_and_no_other() -> None:
    listed = first_cells(section("Roles"))
    assert sorted(listed) == sorted(role.value for role in Role)
    assert len(listed) == len(set(listed))


def test_the_readme_lists_every_command() -> None:
    commands = typer.main.get_command(cli).commands  # type: ignore[attr-defined]
    listed = {cell.split()[1] for cell in first_cells(section("Commands")) if cell.startswith("carelog ")}
    assert set(commands) <= listed, set(commands) - listed


def test_the_readme_has_a_section_for_front_end_developers() -> None:
    text = section("For front-end developers")
    for topic in ("Idempotency-Key", "If-Match", "412", "problem", "openapi.json", "cursor", "Sync"):
        assert topic in text
