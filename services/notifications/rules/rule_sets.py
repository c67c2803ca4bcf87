"""How a rule file is read (its event types resolved to their contracts), which version of a rule
set applies, and which rows an event raises. The matrices themselves are the YAML files here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from services.notifications.rules.facts import NOTIFIABLE, Notifiable, event_time
from shared.calendar import local_date
from shared.contracts.base import Event, event_class

# Who can be told (docs/domain.md §3), plus the agency itself (`internal`: escalations).
RECIPIENTS = (
    "ofsted",
    "placing_authority",
    "secretary_of_state",
    "area_authority",
    "police",
    "health",
    "lado",
    "internal",
)


class RuleError(ValueError):
    """A rule file is not valid."""


@dataclass(frozen=True)
class Row:
    key: str
    title: str
    recipients: tuple[str, ...]
    due: timedelta
    placed_child_only: bool


@dataclass(frozen=True)
class Trigger:
    id: str
    on: type[Event]
    row: str
    when: Mapping[str, Any]
    when_any: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class RuleSet:
    name: str
    version: int
    effective_from: date
    source: str
    note: str
    rows: Mapping[str, Row]
    triggers: tuple[Trigger, ...]


@dataclass(frozen=True)
class Match:
    """One notification an event raises: a row of a rule set, by one or more triggers."""

    rule_set: RuleSet
    row: Row
    trigger_ids: tuple[str, ...]

    @property
    def rule_id(self) -> str:
        return rule_id(self.rule_set.name, self.row.key)

    @property
    def row_number(self) -> int | None:
        return int(self.row.key) if self.row.key.isdigit() else None

    @property
    def label(self) -> str:
        return f"Schedule 7 row {self.row_number}" if self.row_number is not None else "LADO"

    @property
    def told(self) -> str:
        """The recipients, as a sentence names them."""
        return ", ".join(r.replace("_", " ") for r in self.row.recipients)


def rule_id(rule_set: str, row: str) -> str:
    return f"{rule_set}.row{row}" if row.isdigit() else f"{rule_set}.{row}"


# ---- reading a rule file ----------------------------------------------------------------------
def parse_rule_set(raw: Mapping[str, Any], origin: str = "<rules>") -> RuleSet:
    """A rule set from its data file's content; refuses anything ambiguous, and any event type no
    contract declares (a misspelt type would never match)."""
    try:
        name = str(raw["rule_set"])
        version = int(raw["version"])
        effective = raw["effective_from"]
        effective_from = effective if isinstance(effective, date) else date.fromisoformat(str(effective))
        source = str(raw["source"]).strip()
        rows_raw = dict(raw["rows"])
        triggers_raw = list(raw["triggers"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RuleError(f"{origin}: missing or invalid field ({exc})") from exc
    if not source:
        raise RuleError(f"{origin}: a rule set needs a source")
    rows = {str(key): _row(str(key), spec, origin) for key, spec in rows_raw.items()}
    return RuleSet(
        name=name,
        version=version,
        effective_from=effective_from,
        source=source,
        note=str(raw.get("note") or "").strip(),
        rows=rows,
        triggers=_triggers(triggers_raw, rows, origin),
    )


def _row(key: str, spec: Mapping[str, Any], origin: str) -> Row:
    recipients = tuple(spec["recipients"])
    unknown = set(recipients) - set(RECIPIENTS)
    if unknown:
        raise RuleError(f"{origin}: row {key} names unknown recipients {sorted(unknown)}")
    return Row(
        key=key,
        title=str(spec["title"]),
        recipients=recipients,
        due=timedelta(hours=float(spec["due_hours"])),
        placed_child_only=bool(spec.get("placed_child_only", False)),
    )


def _triggers(specs: Sequence[Mapping[str, Any]], rows: Mapping[str, Row], origin: str) -> tuple[Trigger, ...]:
    triggers: list[Trigger] = []
    for spec in specs:
        trigger_id, row = str(spec["id"]), str(spec["row"])
        if row not in rows:
            raise RuleError(f"{origin}: trigger {trigger_id} names unknown row {row}")
        if any(t.id == trigger_id for t in triggers):
            raise RuleError(f"{origin}: trigger id {trigger_id} is used twice")
        try:
            on = event_class(str(spec["event"]))
        except LookupError as exc:
            raise RuleError(f"{origin}: trigger {trigger_id} names unknown event type {spec['event']!r}") from exc
        when_any = tuple(dict(c) for c in spec.get("when_any") or ())
        triggers.append(Trigger(trigger_id, on, row, dict(spec.get("when") or {}), when_any))
    return tuple(triggers)


def check_versions(rule_sets: Sequence[RuleSet]) -> None:
    """Versions of a rule set must be unique and later versions take effect later."""
    by_name: dict[str, list[RuleSet]] = {}
    for rs in rule_sets:
        by_name.setdefault(rs.name, []).append(rs)
    for name, versions in by_name.items():
        ordered = sorted(versions, key=lambda r: r.version)
        numbers = [r.version for r in ordered]
        if len(set(numbers)) != len(numbers):
            raise RuleError(f"rule set {name}: version numbers repeat: {numbers}")
        for earlier, later in zip(ordered, ordered[1:], strict=False):
            if later.effective_from <= earlier.effective_from:
                raise RuleError(f"rule set {name}: version {later.version} must take effect after {earlier.version}")


def check_followed(rule_sets: Sequence[RuleSet], followed: Sequence[type[Event]] = NOTIFIABLE) -> None:
    """Every trigger names an event this service reacts to: any other would never fire."""
    for rule_set in rule_sets:
        for trigger in rule_set.triggers:
            if trigger.on not in followed:
                raise RuleError(
                    f"rule set {rule_set.name} v{rule_set.version}: trigger {trigger.id} names "
                    f"{trigger.on.event_type}, which notifications does not react to"
                )


# ---- which rows an event raises ---------------------------------------------------------------
def effective_version(rule_sets: Sequence[RuleSet], name: str, at: datetime) -> RuleSet | None:
    """The version of rule set `name` in force at `at` (England's calendar date)."""
    day = local_date(at)
    candidates = [rs for rs in rule_sets if rs.name == name and rs.effective_from <= day]
    return max(candidates, key=lambda rs: rs.effective_from, default=None)


def _value_matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, Mapping) and "present" in expected:
        return (actual is not None and actual != "" and actual != []) == bool(expected["present"])
    if isinstance(expected, list | tuple):
        return actual in expected
    return bool(actual == expected)


def condition_matches(condition: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    return all(_value_matches(expected, data.get(field)) for field, expected in condition.items())


def trigger_matches(trigger: Trigger, event_type: str, data: Mapping[str, Any]) -> bool:
    if trigger.on.event_type != event_type:
        return False
    if not condition_matches(trigger.when, data):
        return False
    return not trigger.when_any or any(condition_matches(c, data) for c in trigger.when_any)


def matches(rule_sets: Sequence[RuleSet], event_type: str, data: Mapping[str, Any], at: datetime) -> list[Match]:
    """Every notification an event raises, one per (rule set, row), each from the version in force at `at`."""
    found: list[Match] = []
    for name in sorted({rs.name for rs in rule_sets}):
        rule_set = effective_version(rule_sets, name, at)
        if rule_set is None:
            continue
        by_row: dict[str, list[str]] = {}
        for trigger in rule_set.triggers:
            if trigger_matches(trigger, event_type, data):
                by_row.setdefault(trigger.row, []).append(trigger.id)
        for row_key, trigger_ids in by_row.items():
            found.append(Match(rule_set, rule_set.rows[row_key], tuple(trigger_ids)))
    return found


def matches_fact(rule_sets: Sequence[RuleSet], fact: Notifiable) -> list[Match]:
    """`matches` for a typed fact: the rule files name its fields as its contract stores them."""
    return matches(rule_sets, fact.event_type, fact.model_dump(mode="json"), event_time(fact))


def due_by(at: datetime, row: Row) -> datetime:
    """Calendar time, weekends and bank holidays included (reg 36: "without delay", 24 hours)."""
    return at + row.due
