"""Crypto-shredding (docs/architecture.md section 1, docs/domain.md section 5): each subject (a
child, a household, a member of staff) has its own data key; the personal fields of a payload are
stored encrypted under the key of the subject they belong to, and destroying that key makes them
unreadable for good while every hash, position and non-personal fact of the log stays as it was.

- Which fields are personal is declared on the contracts (`Personal(subject)` in
  shared/contracts/base.py); a sealed field is the text `enc1.<subject>.<nonce+ciphertext>`
  (base64url), AES-256-GCM with the subject as associated data, so it cannot be moved to another.
- The data keys live in `subject_keys`, wrapped (AES key wrap, RFC 3394) by the key-encryption key
  of the settings; a `KeyWrapper` with the same two methods can put a KMS behind it instead.
- The hash chain covers what is stored: the ciphertext. Reads open what they can: a field of a
  destroyed subject reads "[destroyed on <date> under <rule>]", before and after a restore alike.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import typing
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap
from pydantic import BaseModel

from shared.contracts.base import EVENT_TYPES, Personal, Subject
from shared.eventstore.model import NewEvent, RecordedEvent
from shared.settings import DEVELOPMENT_KEK  # refused in production

PREFIX = "enc"
# A sealed text, object or list: a destroyed one reads as the marker, {"destroyed": marker} or [].
TEXT, OBJECT, LIST = "enc1.", "encj.", "encl."
# A sealed value (a whole JSON string value, or a whole column read out of a payload).
SEALED = re.compile(r"enc([1jl])\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")
SEALED_JSON = re.compile(r'"enc([1jl])\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)"')
NONCE_BYTES = 12
DESTROYED = "[destroyed"  # how every destruction marker begins

# ---- statements on subject_keys -------------------------------------------------------------------
# New keys, and the state of those already there (inserted rows are not visible to the same
# statement's other half, so each subject comes back once). Inserted in subject order: two
# processes creating overlapping keys at once wait on each other in one order, never in a cycle.
ENSURE_KEYS = (
    "WITH offered AS (SELECT * FROM unnest($1::text[], $2::bytea[]) AS o(subject, wrapped)), "
    "ins AS (INSERT INTO subject_keys (subject, wrapped) SELECT subject, wrapped FROM offered ORDER BY subject "
    "ON CONFLICT (subject) DO NOTHING RETURNING subject, wrapped, destroyed_on, destroyed_under) "
    "SELECT subject, wrapped, destroyed_on, destroyed_under FROM ins UNION ALL "
    "SELECT subject, wrapped, destroyed_on, destroyed_under FROM subject_keys WHERE subject = ANY($1::text[]) "
    "AND subject NOT IN (SELECT subject FROM ins)"
)
LOAD_KEYS = "SELECT subject, wrapped, destroyed_on, destroyed_under FROM subject_keys WHERE subject = ANY($1::text[])"
LOAD_ALL_KEYS = "SELECT subject, wrapped, destroyed_on, destroyed_under FROM subject_keys"
# Destroyed, and announced to every process that listens (each drops the key it holds at once).
KEYS_CHANNEL = "carelog_keys"
DESTROY_KEY = (
    "WITH gone AS (UPDATE subject_keys SET wrapped = NULL, destroyed_on = $2, destroyed_under = $3 "
    "WHERE subject = $1 AND wrapped IS NOT NULL RETURNING subject) "
    f"SELECT subject, pg_notify('{KEYS_CHANNEL}', subject || ' ' || $2::date || ' ' || $3) FROM gone"
)


class KeyWrapper(Protocol):
    """Wraps data keys for storage and unwraps them for use (a KMS can stand behind it)."""

    def wrap(self, key: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes) -> bytes: ...


class LocalKeyWrapper:
    """AES key wrap (RFC 3394) under a 256-bit key-encryption key held by the process."""

    def __init__(self, kek: bytes) -> None:
        if len(kek) != 32:
            raise ValueError("the key-encryption key must be 32 bytes (256 bits)")
        self._kek = kek

    @classmethod
    def from_base64(cls, text: str) -> LocalKeyWrapper:
        return cls(base64.b64decode(text.strip(), validate=True))

    def wrap(self, key: bytes) -> bytes:
        return aes_key_wrap(self._kek, key)

    def unwrap(self, wrapped: bytes) -> bytes:
        return aes_key_unwrap(self._kek, wrapped)


def local_wrapper(kek: str | None, kek_file: Path | None) -> LocalKeyWrapper:
    """The wrapper of the settings: the key in `kek_file`, else `kek`, else the development key."""
    if kek_file is not None:
        return LocalKeyWrapper.from_base64(kek_file.read_text())
    return LocalKeyWrapper.from_base64(kek or DEVELOPMENT_KEK)


@dataclass(frozen=True, slots=True)
class Destroyed:
    """A subject whose key was destroyed: what its fields read as from then on."""

    on: date
    rule: str

    @property
    def marker(self) -> str:
        return f"{DESTROYED} on {self.on.isoformat()} under {self.rule}]"


# ---- subjects -------------------------------------------------------------------------------------
_STREAM_KINDS = {"child": "child", "household": "household", "worker": "staff"}
_PAYLOAD_KEYS: dict[str, str] = {"child": "child_id", "household": "household_id", "staff": "worker_id"}


def subject_name(kind: str, subject_id: object) -> str:
    """The key's name: `child:<id>`, `household:<id>`, `staff:<worker id>` or `stream:<stream id>`."""
    return f"{kind}:{subject_id}"


def _of_stream(stream_id: str) -> str | None:
    prefix, _, rest = stream_id.partition("-")
    kind = _STREAM_KINDS.get(prefix)
    return subject_name(kind, rest) if kind and rest else None


def resolve(subject: Subject, data: Mapping[str, Any], stream_id: str, child_ids: Collection[uuid.UUID]) -> str:
    """Whose key seals a field marked `Personal(subject)` of this payload."""
    if subject != "record":
        key = data.get(_PAYLOAD_KEYS[subject])
        if isinstance(key, str | uuid.UUID) and str(key):
            return subject_name(subject, key)
        found = _of_stream(stream_id)
        if found and found.startswith(subject + ":"):
            return found
    else:
        found = _of_stream(stream_id)
        if found:
            return found
        key = data.get("child_id")
        if isinstance(key, str | uuid.UUID) and str(key):
            return subject_name("child", key)
        if len(child_ids) == 1:
            return subject_name("child", next(iter(child_ids)))
        key = data.get("household_id")
        if isinstance(key, str | uuid.UUID) and str(key):
            return subject_name("household", key)
    if len(child_ids) == 1:
        return subject_name("child", next(iter(child_ids)))
    return subject_name("stream", stream_id)


# ---- which fields are personal (from the contracts' markers) ----------------------------------
# A plan: field name -> a subject (the field is text), or ("list", plan) / ("model", {...}).
Plan = dict[str, Any]


def _node(annotation: object) -> Any:
    """What to seal in a value of `annotation`: a Subject, a nested node, or None (nothing)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        for marker in getattr(annotation, "__metadata__", ()):
            if isinstance(marker, Personal):
                return marker.subject
        return _node(typing.get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        inner = _plan_of(annotation)
        return ("model", inner) if inner else None
    if origin in (list, tuple, set, frozenset):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        item = _node(args[0]) if args else None
        return ("list", item) if item is not None else None
    for argument in typing.get_args(annotation):  # Optional / Union: the first that holds any
        found = _node(argument)
        if found is not None:
            return found
    return None


def _plan_of(model: type[BaseModel]) -> Plan:
    plan: Plan = {}
    for name, info in model.model_fields.items():
        subject = next((m.subject for m in info.metadata if isinstance(m, Personal)), None)
        node = subject if subject is not None else _node(info.annotation)
        if node is not None:
            plan[name] = node
    return plan


_PLANS: dict[str, Plan | None] = {}


def plan_for(event_type: str) -> Plan | None:
    """The personal fields of `event_type`'s contract (None: not a known contract)."""
    if event_type not in _PLANS:
        cls = EVENT_TYPES.get(event_type)
        _PLANS[event_type] = _plan_of(cls) if cls is not None else None
    return _PLANS[event_type]


def _walk(node: Any, value: Any) -> Iterator[tuple[Subject, Any, Any]]:
    """(subject, container, key) of every personal text in `value`, per `node`."""
    if isinstance(node, tuple):
        kind, inner = node
        if kind == "list" and isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(inner, str):
                    if item is not None:
                        yield typing.cast(Subject, inner), value, index
                else:
                    yield from _walk(inner, item)
        elif kind == "model" and isinstance(value, dict):
            yield from _walk_plan(inner, value)


def _walk_plan(plan: Plan, data: dict[str, Any]) -> Iterator[tuple[Subject, Any, Any]]:
    for name, node in plan.items():
        value = data.get(name)
        if value is None:
            continue
        if isinstance(node, str):  # a personal field: a text, or a whole object or list
            yield typing.cast(Subject, node), data, name
        else:
            yield from _walk(node, value)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    # What base64.urlsafe_b64decode does, at 60% of its cost (it is called once a sealed field).
    return binascii.a2b_base64(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4))


_SUBJECTS: dict[str, str] = {}  # a sealed text's subject part -> the subject it names
_SEALING_NAMES: dict[str, tuple[bytes, str]] = {}  # a subject -> its bytes (associated data), its part


def _subject_of(encoded: str) -> str:
    found = _SUBJECTS.get(encoded)
    if found is None:
        found = _unb64(encoded).decode()
        if len(_SUBJECTS) > 200_000:
            _SUBJECTS.clear()
        _SUBJECTS[encoded] = found
    return found


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


class MissingKeys(Exception):
    def __init__(self, subjects: set[str]) -> None:
        self.subjects = subjects
        super().__init__(f"{len(subjects)} data keys not loaded")


class KeyRing:
    """The data keys this process has seen and the subjects it knows destroyed. Keys are read
    from the table wrapped and unwrapped at their first use (a replay reads every key at once)."""

    def __init__(self, wrapper: KeyWrapper | None = None) -> None:
        self.wrapper: KeyWrapper = wrapper or LocalKeyWrapper.from_base64(DEVELOPMENT_KEK)
        self._keys: dict[str, AESGCM | Destroyed] = {}
        self._wrapped: dict[str, bytes] = {}  # read, not yet unwrapped
        self._unknown: set[str] = set()  # named in a payload but in no row of subject_keys
        self._complete = False  # every key of the table has been read once

    # ---- keys --------------------------------------------------------------------------------
    def _remember(self, rows: Iterable[Any]) -> None:
        for row in rows:
            subject = row["subject"]
            self._unknown.discard(subject)
            if row["wrapped"] is None:
                self._keys[subject] = Destroyed(row["destroyed_on"], row["destroyed_under"])
                self._wrapped.pop(subject, None)
            elif subject not in self._keys:
                self._wrapped[subject] = bytes(row["wrapped"])

    def _key(self, subject: str) -> AESGCM | Destroyed | None:
        key = self._keys.get(subject)
        if key is not None:
            return key
        wrapped = self._wrapped.pop(subject, None)
        if wrapped is None:
            return None
        try:
            key = self._keys[subject] = AESGCM(self.wrapper.unwrap(wrapped))
        except InvalidUnwrap as exc:
            raise RuntimeError(f"the data key of {subject} does not unwrap with this key-encryption key") from exc
        return key

    def _known(self, subject: str) -> bool:
        return subject in self._keys or subject in self._wrapped

    async def ensure(self, conn: Any, subjects: Collection[str]) -> None:
        """Create the keys of `subjects` not yet known (another process may create them first)."""
        new = [s for s in subjects if not self._known(s)]
        if not new:
            return
        wrapped = [self.wrapper.wrap(AESGCM.generate_key(bit_length=256)) for _ in new]
        self._remember(await conn.fetch(ENSURE_KEYS, new, wrapped))
        # A key another process was creating at the same moment is committed by now, but was not
        # in that statement's snapshot: read it in a new one.
        late = [s for s in new if not self._known(s)]
        if late:
            self._remember(await conn.fetch(LOAD_KEYS, late))

    async def load(self, conn: Any, subjects: Collection[str]) -> None:
        wanted = [s for s in subjects if not self._known(s) and s not in self._unknown]
        if not wanted:
            return
        rows = await conn.fetch(LOAD_KEYS, wanted)
        self._remember(rows)
        self._unknown.update(set(wanted) - {r["subject"] for r in rows})

    @property
    def complete(self) -> bool:
        return self._complete

    async def load_all(self, conn: Any) -> None:
        """Every key of the table in one query (wrapped: unwrapping waits for a key's first use).
        A fresh process would otherwise miss keys page after page of a replay."""
        self._remember(await conn.fetch(LOAD_ALL_KEYS))
        self._complete = True

    async def after_miss(self, conn: Any, values: Callable[[], Iterable[Any]]) -> None:
        """Load what a read missed: the whole table the first time, then the keys `values` name."""
        if not self._complete:
            await self.load_all(conn)
        else:
            await self.load(conn, self.missing(values()))

    def forget(self) -> None:
        """Drop every key held (e.g. after a restore): the next reads load them again."""
        self._keys.clear()
        self._wrapped.clear()
        self._unknown.clear()
        self._complete = False

    async def destroy(self, conn: Any, subject: str, on: date, rule: str) -> bool:
        """Destroy the key of `subject` for good (False: it was destroyed already, or never made)."""
        done = await conn.fetch(DESTROY_KEY, subject, on, rule)
        self.destroyed(subject, on, rule)
        return bool(done)

    def destroyed(self, subject: str, on: date, rule: str) -> None:
        """What a process learns from a RecordDestroyed: the key it may hold is gone."""
        self._keys[subject] = Destroyed(on, rule)
        self._wrapped.pop(subject, None)
        self._unknown.discard(subject)

    def heard(self, payload: str) -> None:
        """A destruction announced by another process: `<subject> <date> <rule>`."""
        subject, on, rule = payload.split(" ", 2)
        self.destroyed(subject, date.fromisoformat(on), rule)

    def state(self, subject: str) -> AESGCM | Destroyed | None:
        return self._key(subject)

    # ---- sealing (before the append) ------------------------------------------------------------
    def subjects_of(self, stream_id: str, event: NewEvent) -> set[str]:
        plan = plan_for(event.type)
        found = {resolve(s, event.data, stream_id, event.child_ids) for s, _, _ in _walk_plan(plan or {}, event.data)}
        if isinstance(event.metadata.get("summary"), str):
            found.add(resolve("record", event.data, stream_id, event.child_ids))
        return found

    def _seal_one(self, subject: str, value: Any) -> Any:
        """A text sealed as `enc1.`, an object as `encj.`, a list as `encl.`."""
        key = self._keys.get(subject) or self._key(subject)
        if key is None:
            raise MissingKeys({subject})  # the append ensures them, then seals again
        if isinstance(key, Destroyed):  # written after the destruction: nothing of it is kept
            return _destroyed_as("1" if isinstance(value, str) else "l" if isinstance(value, list) else "j", key)
        if isinstance(value, str):
            prefix, plain = TEXT, value.encode()
        else:
            prefix, plain = (LIST if isinstance(value, list) else OBJECT), orjson.dumps(value)
        named = _SEALING_NAMES.get(subject)
        if named is None:
            named = _SEALING_NAMES[subject] = (subject.encode(), _b64(subject.encode()))
            if len(_SEALING_NAMES) > 200_000:
                _SEALING_NAMES.clear()
        nonce = os.urandom(NONCE_BYTES)
        return f"{prefix}{named[1]}.{_b64(nonce + key.encrypt(nonce, plain, named[0]))}"

    def seal(self, stream_id: str, event: NewEvent) -> NewEvent:
        """`event` with its personal fields (and its chronology line) sealed; keys must be ensured."""
        data, metadata = self.seal_payloads(stream_id, event.type, event.data, event.metadata, event.child_ids)
        if data is event.data and metadata is event.metadata:
            return event
        return replace(event, data=data, metadata=metadata)

    def seal_payloads(
        self,
        stream_id: str,
        event_type: str,
        data: dict[str, Any],
        metadata: dict[str, Any],
        child_ids: Collection[uuid.UUID],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """An event's data and metadata with the personal fields sealed (the same objects when
        there are none); raises MissingKeys for a subject whose key is not ensured."""
        plan = plan_for(event_type)
        summary = metadata.get("summary")
        if not plan and not isinstance(summary, str):
            return data, metadata
        sealed = _copy(data) if plan else data
        owners: dict[Subject, str] = {}  # a payload's fields of one subject share its owner
        for subject, container, key in list(_walk_plan(plan or {}, sealed)):
            owner = owners.get(subject)
            if owner is None:
                owner = owners[subject] = resolve(subject, data, stream_id, child_ids)
            container[key] = self._seal_one(owner, container[key])
        if isinstance(summary, str):
            owner = resolve("record", data, stream_id, child_ids)
            metadata = {**metadata, "summary": self._seal_one(owner, summary)}
        return sealed, metadata

    # ---- opening (after a read) --------------------------------------------------------------
    def _open_token(self, kind: str, subject_b64: str, blob_b64: str) -> Any:
        """The sealed value (a text, or the JSON value of `encj.`), the marker, or None: unknown."""
        try:
            subject = _subject_of(subject_b64)
        except (ValueError, UnicodeDecodeError):
            return None
        key = self._keys.get(subject) or self._key(subject)
        if key is None:
            if subject in self._unknown:
                return None
            raise MissingKeys({subject})
        if isinstance(key, Destroyed):
            return _destroyed_as(kind, key)
        raw = _unb64(blob_b64)
        plain = key.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], subject.encode())
        return plain.decode() if kind == "1" else orjson.loads(plain)

    def open_value(self, value: Any) -> Any:
        """A value as read: a sealed text opened (or the destruction marker); anything else as is."""
        if isinstance(value, str):
            if value.startswith(PREFIX):
                match = SEALED.fullmatch(value)
                if match:
                    opened = self._open_token(match[1], match[2], match[3])
                    return value if opened is None else opened
            return value
        if isinstance(value, dict):
            return {k: self.open_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.open_value(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.open_value(v) for v in value)
        return value

    def open_json(self, text: str) -> str:
        """A payload's JSON text with each sealed string opened (the JSON stays valid)."""
        if '"enc' not in text:
            return text
        # split, not sub: no match object a token (a chronology page opens hundreds).
        parts = SEALED_JSON.split(text)  # text, then each token's 3 groups and the text after it
        opened_text = [parts[0]]
        for i in range(1, len(parts), 4):
            kind, subject_b64, blob_b64 = parts[i], parts[i + 1], parts[i + 2]
            opened = self._open_token(kind, subject_b64, blob_b64)
            opened_text.append(
                f'"enc{kind}.{subject_b64}.{blob_b64}"' if opened is None else orjson.dumps(opened).decode()
            )
            opened_text.append(parts[i + 3])
        return "".join(opened_text)

    def missing(self, values: Iterable[Any]) -> set[str]:
        """The subjects named by sealed texts in `values` whose keys this process has not loaded."""
        found: set[str] = set()
        for value in values:
            text = value if isinstance(value, str) else _scan_text(value)
            if PREFIX not in text:
                continue
            for match in SEALED.finditer(text):
                try:
                    subject = _unb64(match[2]).decode()
                except (ValueError, UnicodeDecodeError):
                    continue
                if not self._known(subject) and subject not in self._unknown:
                    found.add(subject)
        return found


def _destroyed_as(kind: str, destroyed: Destroyed) -> Any:
    """What a destroyed text, object or list reads as (its shape kept, so contracts still load)."""
    return destroyed.marker if kind == "1" else [] if kind == "l" else {"destroyed": destroyed.marker}


def _with(event: RecordedEvent, data: dict[str, Any], metadata: dict[str, Any]) -> RecordedEvent:
    """`event` with other payloads (what dataclasses.replace does, at a fraction of its cost)."""
    e = event
    return RecordedEvent(
        e.position, e.event_id, e.stream_id, e.stream_version, e.type, e.schema_version, data, metadata,
        e.child_ids, e.occurred_at, e.recorded_at, e.prev_hash, e.hash,
    )  # fmt: skip


_FIELDS: dict[tuple[str, int], tuple[tuple[str, ...], frozenset[str]] | None] = {}


def _is_date(annotation: object) -> bool:
    return annotation is date or any(_is_date(a) for a in typing.get_args(annotation))


def _sealable(event_type: str, schema_version: int) -> tuple[tuple[str, ...], frozenset[str]] | None:
    """The fields sealing may have touched and which of them are dates (None: not a contract of
    this version, so any field may hold a sealed value)."""
    key = (event_type, schema_version)
    if key not in _FIELDS:
        cls = EVENT_TYPES.get(event_type)
        plan = plan_for(event_type) if cls is not None and cls.schema_version == schema_version else None
        if plan is None or cls is None:
            _FIELDS[key] = None
        else:
            dates = frozenset(n for n in plan if _is_date(cls.model_fields[n].annotation))
            _FIELDS[key] = (tuple(plan), dates)
    return _FIELDS[key]


def open_event(ring: KeyRing, event: RecordedEvent) -> RecordedEvent:
    """`event` as read: its sealed fields opened, or the marker of their destruction (None for a
    date, which cannot hold it)."""
    metadata = event.metadata
    summary = metadata.get("summary")
    if isinstance(summary, str) and summary.startswith(PREFIX):
        metadata = {**metadata, "summary": ring.open_value(summary)}
    sealable = _sealable(event.type, event.schema_version)
    if sealable is None:  # not a contract, or stored under an earlier version: look at every value
        return _with(event, ring.open_value(event.data), metadata)
    fields, dates = sealable
    data = event.data
    for name in fields:  # sealing touched only the fields the contract marks personal
        value = data.get(name)
        if value is None or (isinstance(value, str) and not value.startswith(PREFIX)):
            continue
        if data is event.data:
            data = dict(data)
        opened = ring.open_value(value)
        data[name] = None if name in dates and isinstance(opened, str) and opened.startswith(DESTROYED) else opened
    if data is event.data and metadata is event.metadata:
        return event
    return _with(event, data, metadata)


async def readable(ring: KeyRing, conn: Any, events: list[RecordedEvent]) -> list[RecordedEvent]:
    """`events` opened, loading on `conn` the keys this process has not seen yet."""
    for _ in range(2):
        try:
            return [open_event(ring, e) for e in events]
        except MissingKeys:
            await ring.after_miss(conn, lambda: (v for e in events for v in (e.data, e.metadata.get("summary"))))
    return [open_event(ring, e) for e in events]


def _scan_text(value: Any) -> str:
    """Every string inside `value`, joined (for finding sealed texts)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return " ".join(_scan_text(v) for v in value.values())
    if isinstance(value, list | tuple):
        return " ".join(_scan_text(v) for v in value)
    return ""


_ACTIVE = KeyRing()


def active() -> KeyRing:
    """The key ring of this process (installed by the store opened last)."""
    return _ACTIVE


def install(ring: KeyRing) -> None:
    global _ACTIVE
    _ACTIVE = ring
