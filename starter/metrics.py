"""Every Prometheus metric Reviewdesk exposes, in two registries: the worker's and the web app's.

Each registry is served at its process's /metrics (starter/health.py). `up` runs both in one
process, and each endpoint still shows its own. Counters count what this process did since it
started (Prometheus sums them over processes); the `reviewdesk_reports` gauge is the store's
count, the same from every worker. Labels are reasons, channels and route templates only:
never an id, an address or a token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from domain.enums import Decision, ReportStatus
from domain.refusals import Refusal
from store import Store, gauges

log = logging.getLogger("reviewdesk.metrics")

WORKER = CollectorRegistry()
WEB = CollectorRegistry()
ProcessCollector(registry=WORKER)
ProcessCollector(registry=WEB)
CONTENT_TYPE = CONTENT_TYPE_LATEST

# --- the worker: what the workflows' steps did ---------------------------------------------------

CONTACTS_OPENED = Counter(
    "reviewdesk_contacts_opened", "Contacts opened: the reviewer was asked.", registry=WORKER
)
CONTACTS_REFUSED = Counter(
    "reviewdesk_contacts_refused",
    "Contact requests the opening step refused, by reason. (An unknown review, or one with a "
    "contact running, is refused by the web app before any step: see its 404s and 409s.)",
    ["reason"],
    registry=WORKER,
)
REPORTS_DECIDED = Counter(
    "reviewdesk_reports_decided", "Moderators' decisions applied.", ["decision"], registry=WORKER
)
ESCALATIONS = Counter(
    "reviewdesk_escalations", "Reports escalated past their moderation SLA.", registry=WORKER
)
DELIVERY_ATTEMPTS = Counter(
    "reviewdesk_delivery_attempts",
    "Attempts to send an email or a webhook event.",
    ["channel"],
    registry=WORKER,
)
DELIVERY_FAILURES = Counter(
    "reviewdesk_delivery_failures",
    "Attempts that failed (each is retried until the message is given up).",
    ["channel"],
    registry=WORKER,
)
DELIVERY_GIVEN_UP = Counter(
    "reviewdesk_delivery_given_up",
    "Messages marked failed: retries ran out, or the receiver refused them for good.",
    ["channel"],
    registry=WORKER,
)
REPORTS = Gauge(
    "reviewdesk_reports",
    "Reports in the store by status (pending: waiting for a moderator), read at each scrape.",
    ["status"],
    registry=WORKER,
)

# Every series exists from the start, at 0: a rate needs a first sample to count from.
for _refusal in (
    Refusal.REVIEW_NOT_FOUND,
    Refusal.NOT_ELIGIBLE_SOURCE,
    Refusal.ALREADY_REPORTED,
    Refusal.REVIEW_NOT_VISIBLE,
    Refusal.OPEN_CONTACT,
):
    CONTACTS_REFUSED.labels(_refusal.value)
for _decision in Decision:
    REPORTS_DECIDED.labels(_decision.value)
for _channel in ("email", "webhook"):
    DELIVERY_ATTEMPTS.labels(_channel)
    DELIVERY_FAILURES.labels(_channel)
    DELIVERY_GIVEN_UP.labels(_channel)


def contact_decided(refusal: str | None) -> None:
    """The opening step recorded its decision: the contact opened, or was refused."""
    if refusal is None:
        CONTACTS_OPENED.inc()
    else:
        CONTACTS_REFUSED.labels(str(refusal)).inc()


class _Drift(Collector):
    """What the worker's last drift check found (`starter.reconcile.watch`)."""

    def collect(self) -> Iterable[Metric]:
        from starter.reconcile import LAST

        found = GaugeMetricFamily(
            "reviewdesk_drift_records",
            "Records the store holds open whose workflow is not running, at the last check.",
            labels=["kind"],
        )
        found.add_metric(["contact"], LAST.contacts)
        found.add_metric(["report"], LAST.reports)
        yield found
        yield CounterMetricFamily(
            "reviewdesk_drift_checks", "Drift checks this worker has made.", value=LAST.checks
        )


WORKER.register(_Drift())

# How long a scrape waits for the store's counts before it serves the others without them.
_STORE_READ_SECONDS = 2.0


async def refresh_store_gauges(db: Store) -> None:
    try:
        async with asyncio.timeout(_STORE_READ_SECONDS), db.read() as conn:
            counts = await gauges.reports_by_status(conn)
    except Exception as err:  # a scrape must answer; readiness says why the store is not there
        log.warning("metrics: store counts not read: %s", type(err).__name__)
        return
    for status in ReportStatus:
        REPORTS.labels(status.value).set(counts.get(status.value, 0))


# --- the web app: requests -----------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "reviewdesk_http_requests",
    "Requests answered, by route template (never the path with its ids) and status.",
    ["method", "route", "status"],
    registry=WEB,
)
HTTP_LATENCY = Histogram(
    "reviewdesk_http_request_duration_seconds",
    "Time to answer a request, by route template.",
    ["method", "route"],
    registry=WEB,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
# A path that matched no route, or a method no route has: their text is whatever a client sent.
UNMATCHED = "<unmatched>"
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


RATE_LIMITED = Counter(
    "reviewdesk_rate_limited",
    "Requests refused with 429 rate_limited, by limit: an API key's, or the notice form's "
    "per client address.",
    ["limit"],
    registry=WEB,
)
for _limit in ("key", "notice"):
    RATE_LIMITED.labels(_limit)


def rate_limited(limit: str) -> None:
    RATE_LIMITED.labels(limit).inc()


def request_answered(method: str, route: str | None, status: int, seconds: float) -> None:
    method = method if method in _METHODS else "OTHER"
    route = route or UNMATCHED
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(method, route).observe(seconds)


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
