"""Optional OpenTelemetry tracing, on when `otlp_endpoint` is set.

One contact request is one trace: the web app's request span is the root; Temporal's tracing
interceptor, on the client, carries its context into the workflow and the workflow's activities
(workers built from that client inherit the interceptor). Off, nothing here imports
OpenTelemetry and nothing is wrapped: no cost.

A process calls `traced(settings, "reviewdesk-web")` (or `-worker`) around its run, before it
connects or builds its app; `connect`, `create_app` and `build_worker` then ask this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from temporalio.client import Interceptor

# One per process, as the OpenTelemetry SDK's own global provider would be; not that global,
# so that a test can start and stop tracing without leaving it on for the next.
_provider: TracerProvider | None = None

# Scrapes and probes come every few seconds and say nothing about a request's path.
_NOT_TRACED = r"^[a-z]+://[^/]+/(metrics|healthz|readyz)$"


def traces_url(endpoint: str) -> str:
    """As with OTEL_EXPORTER_OTLP_ENDPOINT, the setting names the collector; traces go to its
    /v1/traces."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"


def start(settings: Settings, service: str, exporter: SpanExporter | None = None) -> bool:
    """Turns tracing on for this process when an endpoint is set or an exporter is given (tests
    give an in-memory one); answers whether it is on."""
    global _provider
    if exporter is None:
        if not settings.otlp_endpoint:
            return False
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=traces_url(settings.otlp_endpoint))
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from starter.span_privacy import RouteOnly

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    # In batches, from a thread of its own: a slow collector never holds a request or a step.
    provider.add_span_processor(BatchSpanProcessor(RouteOnly(exporter)))
    _provider = provider
    return True


def flush() -> None:
    """Sends the spans still waiting, for a process about to end without calling `stop`."""
    if _provider is not None:
        _provider.force_flush(timeout_millis=5000)


def stop() -> None:
    """Sends the spans still waiting, then turns tracing off."""
    global _provider
    if _provider is not None:
        _provider.shutdown()
        _provider = None


@contextmanager
def traced(
    settings: Settings, service: str, exporter: SpanExporter | None = None
) -> Iterator[bool]:
    on = start(settings, service, exporter)
    try:
        yield on
    finally:
        stop()


def client_interceptors() -> list[Interceptor]:
    if _provider is None:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor(_provider.get_tracer("reviewdesk"))]


def worker_options() -> dict[str, Any]:
    """The workflow interceptor runs in the sandbox: OpenTelemetry passes through it, as
    Temporal's own OpenTelemetry plugin arranges, rather than being imported again for every
    workflow run."""
    if _provider is None:
        return {}
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

    restrictions = SandboxRestrictions.default.with_passthrough_modules("opentelemetry")
    return {"workflow_runner": SandboxedWorkflowRunner(restrictions=restrictions)}


def instrument(app: FastAPI) -> None:
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.metrics import NoOpMeterProvider

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=_provider,
        # The web app's request metrics are Prometheus's, not this instrumentation's.
        meter_provider=NoOpMeterProvider(),
        excluded_urls=_NOT_TRACED,
        # A span for every ASGI message sent or received says nothing a request span does not.
        exclude_spans=["receive", "send"],
    )
