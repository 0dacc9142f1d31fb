"""What a span may say about an HTTP request: never a reply token, an address or a browser.

The ASGI instrumentation records the request's path and full URL (a reply link's path is its
token), the client's IP address and its user agent, and sets them again after the span has
started, past any sampler. So spans are cleaned where they leave the process: the exporter
keeps only the attributes of an HTTP request that describe its route, and puts the route's
template where the path was. Temporal's spans carry workflow, run and activity ids only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.util.types import AttributeValue

_ROUTE = "http.route"
_PATHS = frozenset({"http.target", "url.path"})
# Any of these makes a span an HTTP request's; old and stable semantic conventions' names.
_OF_A_REQUEST = _PATHS | {"http.url", "url.full", "url.query"}
_ABOUT_THE_ROUTE = frozenset(
    {
        _ROUTE,
        "http.method",
        "http.request.method",
        "http.request.method_original",
        "http.status_code",
        "http.response.status_code",
        "http.scheme",
        "url.scheme",
        "http.flavor",
        "network.protocol.version",
        "http.host",
        "http.server_name",
        "server.address",
        "server.port",
        "net.host.name",
        "net.host.port",
        "error.type",
    }
)


def route_only(attributes: Mapping[str, AttributeValue]) -> dict[str, AttributeValue]:
    kept = {key: value for key, value in attributes.items() if key in _ABOUT_THE_ROUTE}
    route = attributes.get(_ROUTE)
    if route is not None:
        kept.update({key: route for key in _PATHS & attributes.keys()})
    return kept


def cleaned(span: ReadableSpan) -> ReadableSpan:
    attributes = span.attributes or {}
    if _OF_A_REQUEST.isdisjoint(attributes):
        return span
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=route_only(attributes),
        events=span.events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class RouteOnly(SpanExporter):
    """Hands ``exporter`` every span with its HTTP attributes reduced to ``route_only``."""

    def __init__(self, exporter: SpanExporter) -> None:
        self._exporter = exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._exporter.export([cleaned(span) for span in spans])

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._exporter.force_flush(timeout_millis)
