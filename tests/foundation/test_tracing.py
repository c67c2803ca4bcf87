"""Tracing is optional: off by default; when enabled, each request becomes a span."""

from __future__ import annotations

import uuid

import httpx
import pytest

from services.app import create_app
from shared.clock import ManualClock
from tests.conftest import test_settings


async def test_requests_become_spans_when_tracing_is_enabled(app_url: str, clock: ManualClock) -> None:
    pytest.importorskip("opentelemetry.instrumentation.fastapi", reason="the otel extra is not installed")
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from shared import tracing

    app = create_app(test_settings(), database_url=app_url, clock=clock)
    spans = InMemorySpanExporter()
    tracing.instrument(app, "carelog-test", SimpleSpanProcessor(spans))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://carelog.test") as client:
            assert (await client.get("/healthz")).status_code == 200
            link = f"/v1/acknowledgements/{uuid.uuid4()}/lado"
            assert (await client.get(link, params={"token": "the.link.credential"})).status_code == 401
    finished = spans.get_finished_spans()
    assert any("/healthz" in span.name for span in finished)
    # An acknowledgement link's token is a credential: no span keeps it.
    assert not any("the.link.credential" in str(dict(span.attributes or {})) for span in finished)


def test_enabling_tracing_without_opentelemetry_says_how_to_fix_it(
    app_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_otel(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("opentelemetry"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_otel)
    with pytest.raises(RuntimeError, match=r"carelog\[otel\]"):
        create_app(test_settings(otel_enabled=True), database_url=app_url)
