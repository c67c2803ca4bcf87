"""Optional OpenTelemetry tracing (`pip install 'carelog[otel]'`, CARELOG_OTEL_ENABLED=true).

Exporters are configured the standard way (OTEL_EXPORTER_OTLP_ENDPOINT, ...); with none set the
spans stay in process, which is what the tests observe.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from shared.ratelimit import SIGNED_LINK_PREFIX


def instrument(app: FastAPI, service_name: str, span_processor: Any | None = None) -> Any:
    try:
        from opentelemetry import trace
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
    except ImportError as exc:  # configured but not installed: say how to fix it at start-up
        raise RuntimeError(
            "tracing is enabled but OpenTelemetry is not installed: pip install 'carelog[otel]'"
        ) from exc
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if span_processor is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        span_processor = BatchSpanProcessor(OTLPSpanExporter())
    provider.add_span_processor(span_processor)
    trace.set_tracer_provider(provider)
    # A span records the full URL: an acknowledgement link's carries its credential, so none is traced.
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls=SIGNED_LINK_PREFIX)
    return provider
