"""notifications: pure rules. The Schedule 7 and LADO matrices are data (`rules/*.yaml`, loaded by
`rulebook.py`); here is how a rule set is read, which version applies, which rows an event raises,
when a notification is due, who receives a webhook and when a failed delivery is retried.

No I/O and no clock: callers pass the instants.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network
from typing import Any
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

# Who can be told (DOMAIN.md §3), plus the agency itself (`internal`: escalations).
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

# Message types a subscription can filter on.
NOTIFICATION_RAISED = "notifications.NotificationRaised"
ESCALATION_RAISED = "notifications.EscalationRaised"

# Ids derived from their cause, so a repeat is a no-op.
NAMESPACE = uuid.UUID("3a0c2f9e-5d71-4c3b-8f5e-9b2d7c1e4a60")


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
    on: str
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


def rule_id(rule_set: str, row: str) -> str:
    return f"{rule_set}.row{row}" if row.isdigit() else f"{rule_set}.{row}"


def parse_rule_set(raw: Mapping[str, Any], origin: str = "<rules>") -> RuleSet:
    """A rule set from its data file's content; refuses anything ambiguous."""
    try:
        name = str(raw["rule_set"])
        version = int(raw["version"])
        effective = raw["effective_from"]
        effective_from = effective if isinstance(effective, date) else date.fromisoformat(str(effective))
        source = str(raw["source"]).strip()
        rows_raw = raw["rows"]
        triggers_raw = raw["triggers"]
    except (KeyError, TypeError, ValueError) as exc:
        raise RuleError(f"{origin}: missing or invalid field ({exc})") from exc
    if not source:
        raise RuleError(f"{origin}: a rule set needs a source")
    rows: dict[str, Row] = {}
    for key, spec in dict(rows_raw).items():
        recipients = tuple(spec["recipients"])
        unknown = set(recipients) - set(RECIPIENTS)
        if unknown:
            raise RuleError(f"{origin}: row {key} names unknown recipients {sorted(unknown)}")
        rows[str(key)] = Row(
            key=str(key),
            title=str(spec["title"]),
            recipients=recipients,
            due=timedelta(hours=float(spec["due_hours"])),
            placed_child_only=bool(spec.get("placed_child_only", False)),
        )
    triggers: list[Trigger] = []
    seen: set[str] = set()
    for spec in triggers_raw:
        trigger = Trigger(
            id=str(spec["id"]),
            on=str(spec["event"]),
            row=str(spec["row"]),
            when=dict(spec.get("when") or {}),
            when_any=tuple(dict(c) for c in spec.get("when_any") or ()),
        )
        if trigger.row not in rows:
            raise RuleError(f"{origin}: trigger {trigger.id} names unknown row {trigger.row}")
        if trigger.id in seen:
            raise RuleError(f"{origin}: trigger id {trigger.id} is used twice")
        seen.add(trigger.id)
        triggers.append(trigger)
    return RuleSet(
        name=name,
        version=version,
        effective_from=effective_from,
        source=source,
        note=str(raw.get("note") or "").strip(),
        rows=rows,
        triggers=tuple(triggers),
    )


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


def local_date(instant: datetime) -> date:
    return instant.astimezone(LONDON).date()


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
    if trigger.on != event_type:
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


def due_by(at: datetime, row: Row) -> datetime:
    """Calendar time, weekends and bank holidays included (reg 36: "without delay", 24 hours)."""
    return at + row.due


def is_placed(placements: Sequence[tuple[date | None, date | None]], on: date) -> bool:
    """Whether any placement (start_date, end_date) covers the date `on`."""
    for start, end in placements:
        if (start is None or start <= on) and (end is None or on <= end):
            return True
    return False


def notification_id(cause_event_id: uuid.UUID, rule: str) -> uuid.UUID:
    return uuid.uuid5(cause_event_id, f"notification:{rule}")


def escalation_id_for_deadline(deadline_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"deadline:{deadline_id}")


def escalation_id_for_dead_letter(outbox_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"dead-letter:{outbox_id}")


def outbox_id(message_event_id: uuid.UUID, subscription_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(message_event_id, f"deliver:{subscription_id}")


# ---- webhooks -------------------------------------------------------------------------------
def type_filter_matches(filters: Sequence[str], message_type: str) -> bool:
    """No filter: every message. `notifications.*` matches by prefix."""
    if not filters:
        return True
    for f in filters:
        if f == message_type or f == "*" or (f.endswith("*") and message_type.startswith(f[:-1])):
            return True
    return False


def subscription_matches(
    *,
    recipient: str,
    event_types: Sequence[str],
    placing_authority: str | None,
    message_type: str,
    message_recipients: Sequence[str],
    message_placing_authorities: Sequence[str],
) -> bool:
    if recipient not in message_recipients:
        return False
    if not type_filter_matches(event_types, message_type):
        return False
    if placing_authority:
        wanted = placing_authority.strip().casefold()
        return any(wanted == (p or "").strip().casefold() for p in message_placing_authorities)
    return True


def next_attempt_delay(schedule: Sequence[float], attempts_made: int) -> float | None:
    """Seconds until the next try after `attempts_made` failed tries; None: dead-letter.

    `schedule[i]` is the wait before try i+1 (schedule[0] before the first, usually 0).
    """
    if attempts_made < len(schedule):
        return float(schedule[attempts_made])
    return None


def is_delivered(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


def is_gone(status_code: int | None) -> bool:
    return status_code == 410


# What a delivery attempt's outcome means to someone waiting for it: the error text and status code
# are for those who may read the raw log (they say what is listening where).
ATTEMPT_STATUSES = {"delivered": "delivered", "failed": "retrying", "dead_lettered": "failed", "gone": "failed"}


def attempt_status(outcome: str) -> str:
    return ATTEMPT_STATUSES.get(outcome, "failed")


# ---- where a webhook may go (SSRF) -----------------------------------------------------------
Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

# Addresses a webhook never reaches unless CARELOG_WEBHOOK_ALLOWED_NETWORKS names them: the
# agency's own machines and networks, cloud metadata services, broadcast. The first kind that
# applies is the reason given (IANA special-purpose registries, RFC 6890).
REFUSED_ADDRESS_KINDS: tuple[tuple[str, Callable[[Address], bool]], ...] = (
    ("unspecified", lambda a: a.is_unspecified),
    ("loopback", lambda a: a.is_loopback),
    ("link-local", lambda a: a.is_link_local),
    ("multicast", lambda a: a.is_multicast),
    ("reserved", lambda a: a.is_reserved),
    ("private", lambda a: a.is_private),
    ("not publicly routable", lambda a: not a.is_global),
)
# IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64, RFC 6052).
NAT64_PREFIX = IPv6Network("64:ff9b::/96")


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ip_network(v, strict=False) for v in values)


def reached_addresses(address: Address) -> tuple[Address, ...]:
    """The address and any IPv4 address it leads to: an IPv4-mapped address *is* that IPv4
    address; a 6to4 or NAT64 address is routed on to the one it embeds."""
    if isinstance(address, IPv4Address):
        return (address,)
    if address.ipv4_mapped is not None:
        return (address.ipv4_mapped,)
    embedded = address.sixtofour
    if embedded is None and address in NAT64_PREFIX:
        embedded = IPv4Address(int(address) & 0xFFFFFFFF)
    return (address,) if embedded is None else (address, embedded)


def refused_address(address: Address, allowed: Sequence[Network]) -> str | None:
    """Why a webhook may not be sent to `address` (a kind of address, e.g. "loopback"); None if it may."""
    for reached in reached_addresses(address):
        if any(reached.version == n.version and reached in n for n in allowed):
            continue
        for kind, applies in REFUSED_ADDRESS_KINDS:
            if applies(reached):
                return kind
    return None


def notification_status(*, acknowledged: bool, outbox_statuses: Sequence[str]) -> str:
    """acknowledged > dead_lettered > pending (something still to send) > delivered > raised."""
    if acknowledged:
        return "acknowledged"
    if "dead" in outbox_statuses:
        return "dead_lettered"
    if "pending" in outbox_statuses:
        return "pending"
    if "delivered" in outbox_statuses:
        return "delivered"
    return "raised"


NOTIFICATION_STATUSES = ("raised", "pending", "delivered", "dead_lettered", "acknowledged")
