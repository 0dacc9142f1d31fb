"""Optional OpenTelemetry tracing (issue 16, acceptance 5): one contact request is one trace,
from the HTTP request through the workflow to its steps, and no span says who or what."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from temporalio.testing import WorkflowEnvironment

from delivery.links import Links, Purpose
from settings import Settings
from starter import tracing
from starter.client import connect
from starter.service import Reviewdesk
from starter.web.app import create_app
from store import Database
from tests.processes import BIN, ROOT, cli, env_for, free_port
from tests.web import as_
from tests.world import make_world
from worker import build_worker

MESSAGE = "Could you share your order number, Robin?"
ASK = {"message": MESSAGE, "requested": ["order_reference"]}


def _said(span: ReadableSpan) -> str:
    """Everything a span carries that a tracing backend would show."""
    parts: list[Any] = [span.name, dict(span.attributes or {}), span.resource.attributes]
    parts += [(event.name, dict(event.attributes or {})) for event in span.events]
    return repr(parts)


async def test_one_contact_request_is_one_trace_from_the_http_request_to_the_workflow_step(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings
) -> None:
    settings = settings.model_copy(
        update={"temporal_address": dev_env.client.service_client.config.target_host}
    )
    world = await make_world(db)
    exporter = InMemorySpanExporter()
    with tracing.traced(settings, "reviewdesk-test", exporter=exporter):
        # Through the same calls as `reviewdesk up`: the client carries the interceptor, the
        # worker built from it inherits it, the app is instrumented when it is created.
        client = await connect(settings)
        app = create_app(settings, Reviewdesk(client, db, settings))
        transport = httpx.ASGITransport(app=app)
        async with (
            build_worker(client, db, settings),
            httpx.AsyncClient(transport=transport, base_url="http://reviewdesk.test") as api,
        ):
            opened = await api.post(
                f"/api/v1/reviews/{world.review['organic']}/contacts",
                json=ASK,
                headers=as_(world.keys[world.business]),
            )
            assert opened.status_code == 201, opened.text
            contact_id = opened.json()["id"]
            token = Links.of(settings).token(Purpose.REPLY, contact_id)
            assert (await api.get(f"/reply/{token}")).status_code == 200
            # Probed every few seconds: no trace (whether or not this app serves it yet).
            await api.get("/healthz")
    spans = exporter.get_finished_spans()

    requests = [s for s in spans if s.kind is SpanKind.SERVER and s.parent is None]
    assert sorted(s.name for s in requests) == [
        "GET /reply/{token}",
        "POST /api/v1/reviews/{review_id}/contacts",
    ]
    [request] = [s for s in spans if s.name == "POST /api/v1/reviews/{review_id}/contacts"]
    assert request.kind is SpanKind.SERVER and request.parent is None
    assert request.resource.attributes["service.name"] == "reviewdesk-test"
    trace = [s for s in spans if s.context.trace_id == request.context.trace_id]
    names = {s.name for s in trace}
    assert "RunWorkflow:ReviewerContactWorkflow" in names, names
    assert "RunActivity:open_and_request" in names, names
    # Every span of the trace hangs, through its parents, from the request.
    by_id = {s.context.span_id: s for s in trace}
    for span in trace:
        while span.parent is not None:
            span = by_id[span.parent.span_id]
        assert span is request

    # The reply link's GET is a trace of its own, named for its route, without the token.
    [reply] = [s for s in spans if s.name == "GET /reply/{token}"]
    assert reply.attributes is not None and reply.attributes["http.target"] == "/reply/{token}"
    for span in spans:
        said = _said(span)
        for secret in (token, world.reviewer_email, world.business_email, MESSAGE):
            assert secret not in said, (span.name, said)
        assert "python-httpx" not in said and "127.0.0.1" not in said, said


def test_without_an_endpoint_tracing_stays_off_and_wraps_nothing(settings: Settings) -> None:
    assert settings.otlp_endpoint is None
    with tracing.traced(settings, "reviewdesk-web") as on:
        assert on is False
        assert tracing.client_interceptors() == []
        assert tracing.worker_options() == {}
        app = create_app(settings)
        assert not getattr(app, "_is_instrumented_by_opentelemetry", False)


@dataclass(frozen=True)
class Exported:
    path: str
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str


class _Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP collector on loopback: what it is sent, decoded as a backend would."""

    received: list[Exported] = []

    def do_POST(self) -> None:
        assert self.headers["Content-Type"] == "application/x-protobuf"
        sent = ExportTraceServiceRequest()
        sent.ParseFromString(self.rfile.read(int(self.headers["Content-Length"])))
        for batch in sent.resource_spans:
            [service] = [
                a.value.string_value for a in batch.resource.attributes if a.key == "service.name"
            ]
            for scope in batch.scope_spans:
                for span in scope.spans:
                    self.received.append(
                        Exported(
                            self.path,
                            service,
                            span.name,
                            span.trace_id.hex(),
                            span.span_id.hex(),
                            span.parent_span_id.hex(),
                        )
                    )
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[str]:
    _Collector.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_an_otlp_endpoint_receives_the_web_apps_spans_over_http(
    settings: Settings, collector: str
) -> None:
    settings = settings.model_copy(update={"otlp_endpoint": collector})
    with tracing.traced(settings, "reviewdesk-web") as on:
        assert on is True
        transport = httpx.ASGITransport(app=create_app(settings))
        async with httpx.AsyncClient(transport=transport, base_url="http://reviewdesk.test") as web:
            assert (await web.get("/api/v1/openapi.json")).status_code == 200
    # Leaving `traced` sends what is still batched.
    assert [(e.path, e.service, e.name) for e in _Collector.received] == [
        ("/v1/traces", "reviewdesk-web", "GET /api/v1/openapi.json")
    ]


def test_the_web_app_and_worker_processes_send_one_trace_per_contact_request(
    dev_env: WorkflowEnvironment, tmp_path: Path, collector: str
) -> None:
    """`reviewdesk web` and `worker.py` as an operator runs them, with only the endpoint set."""
    env = env_for(
        tmp_path / "data",
        temporal_address=dev_env.client.service_client.config.target_host,
        task_queue=f"traced-{tmp_path.name}",
        otlp_endpoint=collector,
        web_port=str(free_port()),
    )
    cli(env, "seed", "--demo")
    key = json.loads((tmp_path / "data" / "demo.json").read_text())["api_keys"][
        "biz_harbour_bakery"
    ]
    worker, web = (
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for command in ([sys.executable, "worker.py"], [str(BIN / "reviewdesk"), "web"])
    )
    try:
        base = f"http://127.0.0.1:{env['REVIEWDESK_WEB_PORT']}"
        give_up = time.monotonic() + 30
        while True:
            try:
                opened = httpx.post(
                    f"{base}/api/v1/reviews/rv_bakery_organic_1/contacts",
                    json=ASK,
                    headers=as_(key),
                    timeout=30,
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < give_up, "reviewdesk web never answered"
                time.sleep(0.2)
        assert opened.status_code == 201, opened.text
    finally:
        # Stopped as an operator would: the last spans still go out.
        for process in (web, worker):
            process.terminate()
            process.wait(timeout=30)

    [request] = [e for e in _Collector.received if e.name.startswith("POST /api/v1/reviews/")]
    assert (request.service, request.parent_id) == ("reviewdesk-web", "")
    trace = {(e.service, e.name) for e in _Collector.received if e.trace_id == request.trace_id}
    assert {
        ("reviewdesk-web", "StartUpdateWithStartWorkflow:ReviewerContactWorkflow"),
        ("reviewdesk-worker", "RunWorkflow:ReviewerContactWorkflow"),
        ("reviewdesk-worker", "RunActivity:open_and_request"),
    } <= trace, trace
