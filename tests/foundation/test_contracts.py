"""The published contracts as a whole: every text field says whether it is personal data and whose,
every event type a service reacts to is one a service records, and every event of a demo log loads
back into its class."""

from __future__ import annotations

import ast
import typing
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from pydantic import BaseModel
from pydantic.fields import FieldInfo

import shared.contracts.access
import shared.contracts.carers
import shared.contracts.deadlines
import shared.contracts.notifications
import shared.contracts.visits  # noqa: F401  (importing registers the events)
from shared.contracts.base import EVENT_TYPES, Event, NotPersonal, Personal, load
from tests.conftest import test_settings


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> Iterator[type[BaseModel]]:
    if model in seen:
        return
    seen.add(model)
    yield model
    for field in model.model_fields.values():
        for inner in _inner_types(field.annotation):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                yield from _models(inner, seen)


def _inner_types(annotation: object) -> Iterator[object]:
    yield annotation
    for argument in typing.get_args(annotation):
        yield from _inner_types(argument)


def _holds_text(annotation: object) -> bool:
    """A str or a date (a date of birth is as personal as a name), or one inside an Optional, a
    list or a dict. Instants (datetime) are the log's and the clocks' own, never a person's."""
    return any(inner is str or inner is date for inner in _inner_types(annotation))


def _marked(field: FieldInfo) -> bool:
    if any(isinstance(m, Personal | NotPersonal) for m in field.metadata):
        return True
    # Optional[Annotated[str, marker]] and list[Annotated[...]] keep the marker one level down.
    return all(_marker_in(argument) for argument in _text_arguments(field.annotation))


def _text_arguments(annotation: object) -> Iterator[object]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        yield annotation
        return
    if annotation is str or annotation is date:
        yield annotation
        return
    for argument in typing.get_args(annotation):
        if _holds_text(argument):
            yield from _text_arguments(argument)


def _marker_in(annotation: object) -> bool:
    return typing.get_origin(annotation) is typing.Annotated and any(
        isinstance(m, Personal | NotPersonal) for m in getattr(annotation, "__metadata__", ())
    )


def _unmarked_text() -> list[str]:
    seen: set[type[BaseModel]] = set()
    unmarked = []
    for event_class in EVENT_TYPES.values():
        for model in _models(event_class, seen):
            for name, field in model.model_fields.items():
                if _holds_text(field.annotation) and not _marked(field):
                    unmarked.append(f"{model.__module__}.{model.__qualname__}.{name}")
    return sorted(unmarked)


def test_every_text_field_of_every_contract_says_whether_it_is_personal_and_whose() -> None:
    assert _unmarked_text() == []


def test_the_check_finds_an_unmarked_field() -> None:
    class Probe(BaseModel):
        marked: shared.contracts.base.Code
        optional: shared.contracts.base.ChildText | None = None
        bare: str | None = None
        born: shared.contracts.base.ChildDate
        reviewed_on: shared.contracts.base.ClockDate | None = None
        bare_date: date | None = None

    seen: set[type[BaseModel]] = set()
    names = [n for m in _models(Probe, seen) for n, f in m.model_fields.items() if not _marked(f)]
    assert names == ["bare", "bare_date"]


def test_the_registry_holds_every_service_s_events() -> None:
    prefixes = {name.split(".", 1)[0] for name in EVENT_TYPES if "." in name}
    assert {"visits", "carers", "notifications", "access"} <= prefixes
    # The clocks' events were shipped without a prefix; stored names never change.
    assert {"DeadlineSet", "DeadlineMet", "DeadlineCancelled"} <= set(EVENT_TYPES)
    assert all(isinstance(cls.schema_version, int) and cls.schema_version >= 1 for cls in EVENT_TYPES.values())


async def test_every_event_of_a_demo_log_loads_into_its_class(app_url: str, database_url: str) -> None:
    from bench.demo import run_demo
    from shared.db import create_engine
    from shared.eventstore.reader import EventFilter, LogReader

    await run_demo(test_settings(), app_url, children=4, households=2)
    engine = create_engine(database_url, pool_size=1)
    kinds = set()
    try:
        async for page in LogReader(engine).iterate(EventFilter()):
            for event in page:
                assert load(event).event_type == event.type
                kinds.add(event.type)
    finally:
        await engine.dispose()
    assert len(kinds) >= 20, sorted(kinds)


def test_every_event_class_of_a_contract_module_is_the_registered_one() -> None:
    modules = (shared.contracts.visits, shared.contracts.carers, shared.contracts.notifications)
    classes = [
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, Event) and "event_type" in value.__dict__
    ]
    assert len(classes) >= 40
    assert all(EVENT_TYPES[cls.event_type] is cls for cls in classes)


def _constructed_names(root: Path) -> set[str]:
    """Every name called like a constructor (`Name(...)` or `module.Name(...)`) in the code."""
    names: set[str] = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                if isinstance(node.func, ast.Name):
                    names.add(node.func.id)
                elif isinstance(node.func, ast.Attribute):
                    names.add(node.func.attr)
    return names


def test_every_event_a_projector_consumes_is_produced_by_some_service() -> None:
    from services.app import all_projectors

    consumed: set[str] = set()
    for projector in all_projectors(test_settings()):
        assert projector.types is not None, f"{projector.name} follows every event: name what it reads"
        consumed |= projector.types
    assert len(consumed) >= 30
    repository = Path(__file__).resolve().parents[2]
    built = _constructed_names(repository / "services") | _constructed_names(repository / "shared")
    unknown = sorted(t for t in consumed if t not in EVENT_TYPES)
    never_built = sorted(t for t in consumed if t in EVENT_TYPES and EVENT_TYPES[t].__name__ not in built)
    assert unknown == [] and never_built == []
