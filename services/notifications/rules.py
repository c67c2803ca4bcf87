"""notifications: pure rules. The Schedule 7 and LADO matrices are data (`rules/*.yaml`, loaded by
`rulebook.py`); here is how a rule set is read, which version applies, which rows an event raises,
whom and which placements it concerns, when a notification is due, who receives a webhook, when a
failed delivery is retried and where a webhook may go.

No I/O and no clock: callers pass the instants.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network
from typing import Any, assert_never

from shared.calendar import local_date as local_date
from shared.contracts.base import Event, event_class
from shared.contracts.carers import AllegationOutcomeRecorded, AllegationReceived
from shared.contracts.notifications import DeliveryOutcome
from shared.contracts.visits import ComplaintReceived, IncidentRecorded

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

# The facts a rule file may name: the events this service reacts to.
NOTIFIABLE: tuple[type[Event], ...] = (IncidentRecorded, ComplaintReceived, AllegationReceived, AllegationOutcomeRecorded)
Notifiable = IncidentRecorded | ComplaintReceived | AllegationReceived | AllegationOutcomeRecorded

# Ids derived from their cause, so a repeat is a no-op.
NAMESPACE = uuid.UUID("3a0c2f9e-5d71-4c3b-8f5e-9b2d7c1e4a60")

# The rule every acknowledgement clock and escalation cites.
REGULATION_36 = "Fostering Services (England) Regulations 2011 reg 36; NMS 29"


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


def event_time(fact: Notifiable) -> datetime:
    """When the notifiable thing happened: a notification's clock runs from it."""
    match fact:
        case IncidentRecorded():
            return fact.occurred_at
        case ComplaintReceived() | AllegationReceived():
            return fact.received_at
        case AllegationOutcomeRecorded():
            return fact.decided_at
        case _:
            assert_never(fact)


def due_by(at: datetime, row: Row) -> datetime:
    """Calendar time, weekends and bank holidays included (reg 36: "without delay", 24 hours)."""
    return at + row.due


# ---- whom a notification concerns -------------------------------------------------------------
@dataclass(frozen=True)
class AllegationOnFile:
    """An allegation as this service keeps it: its outcome names neither household nor children."""

    household_id: uuid.UUID | None
    child_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class ChildOnFile:
    name: str | None
    placing_authority: str | None


@dataclass(frozen=True)
class PlacementOnFile:
    household_id: uuid.UUID | None
    start_date: date | None
    end_date: date | None
    placing_authority: str | None

    def covers(self, day: date) -> bool:
        return is_placed([(self.start_date, self.end_date)], day)


@dataclass(frozen=True)
class Subjects:
    """The children an event concerns (in order, once each) and the household it is about."""

    child_ids: tuple[uuid.UUID, ...]
    household_id: uuid.UUID | None


@dataclass(frozen=True)
class OnFile:
    """What this service knows of the subjects' children: their registration and placements."""

    children: Mapping[uuid.UUID, ChildOnFile | None]
    placements: Mapping[uuid.UUID, Sequence[PlacementOnFile]]

    def placed(self, child_ids: Sequence[uuid.UUID], day: date) -> list[uuid.UUID]:
        return [c for c in child_ids if any(p.covers(day) for p in self.placements.get(c, ()))]

    def household_of(self, placed: Sequence[uuid.UUID], day: date) -> uuid.UUID | None:
        """The household the placed children live in on `day` (the last one found)."""
        found = None
        for child_id in placed:
            for p in self.placements.get(child_id, ()):
                if p.covers(day) and p.household_id:
                    found = p.household_id
        return found

    def placing_authorities(self, child_ids: Sequence[uuid.UUID], day: date) -> list[str]:
        """Each child's placing authority on `day` (its placement's, else its registration's), once each."""
        found: list[str] = []
        for child_id in child_ids:
            names = [p.placing_authority for p in self.placements.get(child_id, ()) if p.covers(day)]
            current = [n for n in names if n]
            child = self.children.get(child_id)
            if not current and child is not None and child.placing_authority:
                current = [child.placing_authority]
            found.extend(n for n in current if n not in found)
        return found


def subjects_of(
    fact: Notifiable, event_child_ids: Sequence[uuid.UUID], allegation: AllegationOnFile | None = None
) -> Subjects:
    """The children and household of a notifiable fact; an allegation's outcome is about those of
    the allegation (`allegation`, as received)."""
    household: uuid.UUID | None
    match fact:
        case IncidentRecorded():
            ids, household = [fact.child_id], fact.household_id
        case ComplaintReceived():
            ids, household = [fact.child_id], fact.about_household_id
        case AllegationReceived():
            ids, household = list(fact.child_ids), fact.household_id
        case AllegationOutcomeRecorded():
            ids = list(allegation.child_ids if allegation else event_child_ids)
            household = fact.household_id or (allegation.household_id if allegation else None)
        case _:
            assert_never(fact)
    return Subjects(tuple(dict.fromkeys(ids)), household)


def is_placed(placements: Sequence[tuple[date | None, date | None]], on: date) -> bool:
    """Whether any placement (start_date, end_date) covers the date `on`."""
    for start, end in placements:
        if (start is None or start <= on) and (end is None or on <= end):
            return True
    return False


# ---- ids ---------------------------------------------------------------------------------------
def notification_id(cause_event_id: uuid.UUID, rule: str) -> uuid.UUID:
    return uuid.uuid5(cause_event_id, f"notification:{rule}")


def acknowledgement_deadline_id(notification_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(notification_id, "acknowledgement")


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


@dataclass(frozen=True)
class AttemptOutcome:
    outcome: DeliveryOutcome
    next_attempt_at: datetime | None = None


def attempt_outcome(
    status_code: int | None, attempt: int, schedule: Sequence[float], attempted_at: datetime
) -> AttemptOutcome:
    """What the `attempt`-th try's answer means: delivered, gone (410), retried later, or dead."""
    if is_delivered(status_code):
        return AttemptOutcome("delivered")
    if is_gone(status_code):
        return AttemptOutcome("gone")
    delay = next_attempt_delay(schedule, attempt)
    if delay is None:
        return AttemptOutcome("dead_lettered")
    return AttemptOutcome("failed", attempted_at + timedelta(seconds=delay))


# Where an outbox row stands after an attempt with that outcome.
OUTBOX_STATUS_AFTER: dict[DeliveryOutcome, str] = {
    "delivered": "delivered",
    "failed": "pending",
    "dead_lettered": "dead",
    "gone": "cancelled",
}

# What a delivery attempt's outcome means to someone waiting for it: the error text and status code
# are for those who may read the raw log (they say what is listening where).
ATTEMPT_STATUSES = {"delivered": "delivered", "failed": "retrying", "dead_lettered": "failed", "gone": "failed"}


def attempt_status(outcome: str) -> str:
    return ATTEMPT_STATUSES.get(outcome, "failed")


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
