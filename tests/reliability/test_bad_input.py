"""Bad input: hostile bodies and parameters each answered with a 4xx problem, and schemathesis
against `/openapi.json` for every operation with positive and negative data: no server errors, no
response outside the schema, no negative example accepted. Then every projection is rebuilt from
position 0 and compared with the live tables."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from services.app import create_app
from shared.auth import Role
from shared.db import as_role
from tests.builders import child_body
from tests.conftest import test_settings as make_settings
from tests.reliability.support import (
    JWT_SECRET,
    app_env,
    free_port,
    record,
    replay_and_compare,
    server_client,
    token,
    verify_chain,
    wait_projections_at_head,
)

pytestmark = pytest.mark.reliability

PROBLEM = "application/problem+json"


@contextlib.contextmanager
def serving(database_url: str) -> Iterator[str]:
    """The in-process app served by uvicorn on 127.0.0.1 in a thread of its own."""
    settings = make_settings(
        jwt_secret=JWT_SECRET, login_free_requests_per_minute=100_000, failed_authentications_per_minute=100_000
    )
    application = create_app(settings, database_url=as_role(database_url))
    port = free_port()
    config = uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "in-process server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
async def served(fresh_database_url: str) -> AsyncIterator[str]:
    context = serving(fresh_database_url)
    url = await asyncio.to_thread(context.__enter__)
    try:
        yield url
    finally:
        await asyncio.to_thread(context.__exit__, None, None, None)


def _is_problem(response: httpx.Response) -> bool:
    return 400 <= response.status_code < 500 and response.headers.get("content-type", "").startswith(PROBLEM)


async def test_hostile_requests_are_each_a_4xx_problem(served: str) -> None:
    auth = token(Role.REGISTERED_MANAGER, "rm-hostile")
    admin = token(Role.ADMIN, "admin-hostile")
    json_headers = {**auth, "content-type": "application/json"}
    deep = b'{"name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    deep_object = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
    cases: dict[str, tuple[str, str, dict[str, Any]]] = {
        "oversized body (2 MiB)": ("POST", "/v1/children", {"content": b'{"name": "' + b"x" * 2_097_152 + b'"}'}),
        "oversized body, chunked, no length": (
            "POST",
            "/v1/children",
            {"content": _chunks([b'{"name": "', *([b"x" * 65_536] * 32), b'"}'])},
        ),
        "deeply nested array": ("POST", "/v1/children", {"content": deep}),
        "deeply nested object": ("POST", "/v1/children", {"content": deep_object}),
        "invalid UTF-8": ("POST", "/v1/children", {"content": b'{"name": "\xff\xfe\xc3\x28", "x": "\xed\xa0\x80"}'}),
        "NUL in a string": ("POST", "/v1/children", {"content": b'{"name": "a\\u0000b"}'}),
        "not JSON": ("POST", "/v1/children", {"content": b"{name: 'x',"}),
        "JSON but an array": ("POST", "/v1/children", {"content": b"[1, 2, 3]"}),
        "text/plain": ("POST", "/v1/children", {"content": b"hello", "headers": {"content-type": "text/plain"}}),
        "xml": ("POST", "/v1/children", {"content": b"<child/>", "headers": {"content-type": "application/xml"}}),
        "form": (
            "POST",
            "/v1/children",
            {"content": b"name=x", "headers": {"content-type": "application/x-www-form-urlencoded"}},
        ),
        "multipart": ("POST", "/v1/children", {"files": {"f": ("a.txt", b"abc")}, "headers": {}}),
        "JSON as text/plain": (
            "POST",
            "/v1/children",
            {"content": child_body_bytes(), "headers": {"content-type": "text/plain"}},
        ),
        "huge limit": ("GET", "/v1/events?limit=1000000000000", {"auth": admin}),
        "limit beyond int64": ("GET", "/v1/events?limit=99999999999999999999999999", {"auth": admin}),
        "negative after": ("GET", "/v1/events?after=-1", {"auth": admin}),
        "after beyond int64": ("GET", "/v1/events?after=99999999999999999999999999", {"auth": admin}),
        "huge limit, escalations": ("GET", "/v1/escalations?limit=10000000000000", {}),
        "huge limit, notifications": ("GET", "/v1/notifications?limit=10000000000000", {}),
        "malformed uuid in path": ("GET", "/v1/children/not-a-uuid", {}),
        "huge Idempotency-Key": ("POST", "/v1/children", {"headers": {"idempotency-key": "k" * 10_000}}),
        "malformed If-Match": ("POST", "/v1/children", {"headers": {"if-match": "yesterday"}}),
    }
    outcomes: dict[str, int] = {}
    bad: dict[str, str] = {}
    async with server_client(served) as client:
        for name, (method, path, options) in cases.items():
            headers = {**(options.get("auth") or json_headers), **options.get("headers", {})}
            if "files" in options:
                headers.pop("content-type", None)
            response = None
            # A server that refuses a body mid-upload answers and closes; a client still sending
            # may then see the connection reset before it reads the answer: ask again.
            for _attempt in range(5):
                try:
                    content = options.get("content", child_body_bytes() if method == "POST" else None)
                    if name == "oversized body, chunked, no length":
                        content = _chunks([b'{"name": "', *([b"x" * 65_536] * 32), b'"}'])
                    response = await client.request(
                        method, path, content=content, files=options.get("files"), headers=headers
                    )
                    break
                except httpx.HTTPError as exc:
                    bad[name] = f"no response: {type(exc).__name__}"
            if response is None:
                continue
            bad.pop(name, None)
            outcomes[name] = response.status_code
            if not _is_problem(response):
                bad[name] = f"{response.status_code} {response.headers.get('content-type')} {response.text[:200]}"
        # Nothing of the above was written.
        events = await client.get("/v1/events", params={"limit": 1000}, headers=admin)
        written = len(events.json()["events"])
    record("hostile_requests", {"cases": len(cases), "statuses": outcomes, "not_a_4xx_problem": bad, "events": written})
    assert bad == {}
    assert written == 0


async def _chunks(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def child_body_bytes() -> bytes:
    import orjson

    return orjson.dumps(child_body())


# ---- schemathesis --------------------------------------------------------------------------------
def _fuzz(base_url: str, schema_doc: dict[str, Any], examples: int) -> dict[str, Any]:
    import schemathesis
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        negative_data_rejection,
        response_schema_conformance,
    )

    schema = schemathesis.openapi.from_dict(schema_doc)
    headers = token(Role.REGISTERED_MANAGER, "rm-fuzz")
    positive_checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    negative_checks = [not_a_server_error, negative_data_rejection]
    failures: dict[str, list[str]] = {}
    statuses: Counter[int | str] = Counter()
    operations = 0
    unsatisfiable: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode, checks in ((GenerationMode.POSITIVE, positive_checks), (GenerationMode.NEGATIVE, negative_checks)):
            try:
                _build(operation, mode, checks, examples, base_url, headers, failures, statuses)()
            except Unsatisfiable:  # nothing to negate (an operation without parameters or body)
                unsatisfiable.append(f"{operation.label} [{mode.value}]")
    return {
        "operations": operations,
        "calls": sum(n for status, n in statuses.items() if isinstance(status, int)),
        "statuses": dict(statuses),
        "failures": failures,
        "no_negative_data": unsatisfiable,
    }


def _build(
    operation: Any,
    mode: Any,
    checks: list[Any],
    examples: int,
    base_url: str,
    headers: dict[str, str],
    failures: dict[str, list[str]],
    statuses: Counter[int | str],
) -> Any:
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis import GenerationMode

    label = f"{operation.label} [{mode.value}]"

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        if mode == GenerationMode.NEGATIVE and any(v is None for v in (case.query or {}).values()):
            # A null query value is sent as no parameter at all: on the wire the case is not negative.
            statuses["not sent: null query value"] += 1
            return
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=checks)
        except (Exception, BaseExceptionGroup) as exc:  # every failure of every operation, not just the first
            message = " ".join(str(exc).strip().splitlines()[:8])[:600]
            failures.setdefault(label, []).append(
                f"{response.status_code} {case.method} {case.formatted_path} {response.request.url}: {message}"
            )

    return run


async def test_schemathesis_every_operation_positive_and_negative(fresh_database_url: str, full_size: bool) -> None:
    examples = 200 if full_size else 8
    started = time.monotonic()
    context = serving(fresh_database_url)
    url = await asyncio.to_thread(context.__enter__)
    try:
        async with server_client(url) as client:  # the first /openapi.json is built then
            schema_doc = (await client.get("/openapi.json")).json()
        outcome = await asyncio.to_thread(_fuzz, url, schema_doc, examples)
        await wait_projections_at_head(fresh_database_url)
        # Whatever the fuzzing wrote, every child's record still reads, whole and in order.
        unreadable = await _chronologies_that_fail(url)
    finally:
        await asyncio.to_thread(context.__exit__, None, None, None)
    verified = await asyncio.to_thread(verify_chain, app_env(fresh_database_url))
    replay = await replay_and_compare(fresh_database_url, app_env(fresh_database_url))
    server_errors = {k: v for k, v in outcome["failures"].items() if any(line.startswith("5") for line in v)}
    record(
        "schemathesis",
        {
            "examples_per_operation_and_mode": examples,
            "operations": outcome["operations"],
            "calls": outcome["calls"],
            "statuses": outcome["statuses"],
            "failing_operations": len(outcome["failures"]),
            "no_negative_data": outcome["no_negative_data"],
            "failures": {k: v[:2] for k, v in outcome["failures"].items()},
            "server_error_operations": len(server_errors),
            "seconds": round(time.monotonic() - started, 1),
            "replay_rows": replay.rows,
            "replay_differences": replay.differences,
            "verify": verified,
            "children": unreadable["children"],
            "chronologies_failing": unreadable["failing"],
        },
    )
    assert outcome["failures"] == {}
    assert verified["ok"] is True, verified
    assert unreadable["failing"] == [], unreadable
    assert replay.differences == 0, replay.detail


async def _chronologies_that_fail(url: str) -> dict[str, Any]:
    """Every registered child's chronology, page by page, as a registered manager."""
    headers = token(Role.REGISTERED_MANAGER, "rm-after-fuzz")
    admin = token(Role.ADMIN, "admin-after-fuzz")
    failing: list[str] = []
    async with server_client(url) as client:
        children, after = [], 0
        while True:
            page = await client.get(
                "/v1/events", params={"type": "visits.ChildRegistered", "after": after, "limit": 1000}, headers=admin
            )
            assert page.status_code == 200, page.text
            events = page.json()["events"]
            children += [e["data"]["child_id"] for e in events]
            if len(events) < 1000:
                break
            after = events[-1]["position"]
        for child in children:
            cursor: str | None = None
            while True:
                params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
                response = await client.get(f"/v1/children/{child}/chronology", params=params, headers=headers)
                if response.status_code != 200:
                    failing.append(f"{child}: {response.status_code} {response.text[:200]}")
                    break
                cursor = response.json()["next_cursor"]
                if cursor is None:
                    break
    return {"children": len(children), "failing": failing}
