"""notifications: loads the versioned rule files in `rules/` (the only I/O of the rules). Each event
type a file names is resolved to its contract here: a file naming an unknown type does not load."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from services.notifications.rules import RuleSet, check_followed, check_versions, parse_rule_set

RULES_DIR = Path(__file__).resolve().parent / "rules"


def load_rule_sets(directory: Path = RULES_DIR) -> tuple[RuleSet, ...]:
    rule_sets = []
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        with path.open(encoding="utf-8") as handle:
            rule_sets.append(parse_rule_set(yaml.safe_load(handle), origin=path.name))
    check_versions(rule_sets)
    check_followed(rule_sets)
    return tuple(rule_sets)


@lru_cache
def default_rule_sets() -> tuple[RuleSet, ...]:
    return load_rule_sets()
