"""Typed event contracts: each published event is one class holding its type name, its schema
version and its payload. A stored event loads back into its class, upcast first when it was written
under an older version, so a handler reads typed fields whatever year the event was recorded in.

A shipped version is never changed incompatibly: a new version adds `upcast_vN_vM` (a pure function
of the old payload) and raises `schema_version`, the way the `eventsourcing` library does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:  # the log's envelope; the contracts sit below the event store
    from shared.eventstore.model import RecordedEvent

EVENT_TYPES: dict[str, type[Event]] = {}

Subject = Literal["child", "household", "staff", "record"]


@dataclass(frozen=True)
class Personal:
    """Marks a field holding personal data (a name, a date of birth, an address, a narrative, free
    text): it belongs to `subject`, whose record's retention decides how long it may be read:
    `child` (the payload's child_id), `household` (its household_id), `staff` (the worker it is
    about) or `record` (the child or household whose record the event is in)."""

    subject: Subject


@dataclass(frozen=True)
class NotPersonal:
    """Marks a text or date field that is not personal data: a code, a kind, an organisation, the
    date a clock or a statutory rule turns on."""


# The field types of contracts, each saying whose data it is (one marker per field).
ChildText = Annotated[str, Personal("child")]
HouseholdText = Annotated[str, Personal("household")]
StaffText = Annotated[str, Personal("staff")]
RecordText = Annotated[str, Personal("record")]
Code = Annotated[str, NotPersonal()]
# A personal date (a date of birth) is sealed like a text; once its subject's key is destroyed it
# reads as None, since a date cannot hold the marker.
ChildDate = Annotated[date | None, Personal("child")]
HouseholdDate = Annotated[date | None, Personal("household")]
StaffDate = Annotated[date | None, Personal("staff")]
# A date a clock, a KPI or a retention rule turns on (approval, review, placement, expiry): in clear.
ClockDate = Annotated[date, NotPersonal()]

E = TypeVar("E", bound="Event")


class Event(BaseModel):
    """Subclass with `event_type` ("<service>.<PastTense>") and the payload's fields."""

    # Fields a later version adds are ignored by a process still on the earlier one.
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        name = cls.__dict__.get("event_type")
        if name is None:
            return  # a shared base of several events, not an event of its own
        known = EVENT_TYPES.get(name)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise TypeError(f"{name} is already the type of {known.__module__}.{known.__qualname__}")
        EVENT_TYPES[name] = cls

    @classmethod
    def upcast(cls, data: dict[str, Any], version: int) -> dict[str, Any]:
        """The payload of `version` as this class's current version reads it."""
        for old in range(version, cls.schema_version):
            step: Callable[[dict[str, Any]], dict[str, Any]] | None = getattr(cls, f"upcast_v{old}_v{old + 1}", None)
            if step is None:
                raise TypeError(f"{cls.event_type} has no upcast_v{old}_v{old + 1}")
            data = step(data)
        return data

    def payload(self) -> dict[str, Any]:
        """What is stored: the payload as JSON values."""
        return self.model_dump(mode="json")


def event_class(event_type: str) -> type[Event]:
    try:
        return EVENT_TYPES[event_type]
    except KeyError:
        raise LookupError(f"no event contract for {event_type!r}") from None


def load(event: RecordedEvent) -> Event:
    """The stored event as an instance of its class (upcast to the current version)."""
    cls = event_class(event.type)
    return cls.model_validate(cls.upcast(event.data, event.schema_version))


def load_as(cls: type[E], event: RecordedEvent) -> E:
    if event.type != cls.event_type:
        raise TypeError(f"{event.type} is not {cls.event_type}")
    return cls.model_validate(cls.upcast(event.data, event.schema_version))
