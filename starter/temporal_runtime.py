"""The Temporal SDK's runtime for a Reviewdesk process: its logs through ours, its metrics to ours.

The SDK's core (Rust) writes its own log lines to stderr unless they are forwarded: forwarded,
they are formatted and redacted as every other line (starter/logs.py), JSON included.

Its metrics (polls, task slots, schedule-to-start and execution latencies, requests by RPC)
go to a ``MetricBuffer`` that the worker's /metrics drains into the worker's registry, rather
than to the SDK's own Prometheus listener: that would be a second port per worker process to
pick, open and merge, where several workers share a machine; drained here, everything a
worker measures is one scrape of one port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from temporalio.runtime import (
    BUFFERED_METRIC_KIND_COUNTER,
    BUFFERED_METRIC_KIND_GAUGE,
    LogForwardingConfig,
    LoggingConfig,
    MetricBuffer,
    MetricBufferDurationFormat,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from starter import metrics

# Updates held between drains; a busy worker makes a few hundred a second.
_BUFFER_SIZE = 200_000
_DRAIN_EVERY = 5.0
# Seconds, for the SDK's latencies; the upper ones for long polls and whole workflows.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)

Labels = tuple[tuple[str, str], ...]


@dataclass
class _Histogram:
    buckets: list[int] = field(default_factory=lambda: [0] * len(_BUCKETS))
    count: int = 0
    total: float = 0.0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(_BUCKETS):
            if value <= bound:
                self.buckets[i] += 1
        self.count += 1
        self.total += value


@dataclass
class _Series:
    name: str
    kind: int
    help: str
    values: dict[Labels, float] = field(default_factory=dict)
    histograms: dict[Labels, _Histogram] = field(default_factory=dict)


class SdkMetrics(Collector):
    """The SDK's metrics as Prometheus families, kept from every update the buffer held."""

    def __init__(self, buffer: MetricBuffer) -> None:
        self.buffer = buffer
        self._series: dict[str, _Series] = {}

    def drain(self) -> None:
        for update in self.buffer.retrieve_updates():
            metric = update.metric
            series = self._series.get(metric.name)
            if series is None:
                name = metric.name + ("_seconds" if metric.unit == "s" else "")
                if metric.kind == BUFFERED_METRIC_KIND_COUNTER:
                    name = name.removesuffix("_total")  # the exposition adds it to counters
                series = _Series(name, metric.kind, metric.description or metric.name)
                self._series[metric.name] = series
            labels = _labels(update.attributes)
            if series.kind == BUFFERED_METRIC_KIND_COUNTER:
                series.values[labels] = series.values.get(labels, 0) + update.value
            elif series.kind == BUFFERED_METRIC_KIND_GAUGE:
                series.values[labels] = update.value
            else:
                series.histograms.setdefault(labels, _Histogram()).observe(update.value)

    def collect(self) -> Iterable[Metric]:
        self.drain()
        for series in self._series.values():
            if series.kind == BUFFERED_METRIC_KIND_COUNTER:
                family: Metric = CounterMetricFamily(series.name, series.help)
                for labels, value in series.values.items():
                    family.add_sample(f"{series.name}_total", dict(labels), value)
            elif series.kind == BUFFERED_METRIC_KIND_GAUGE:
                family = GaugeMetricFamily(series.name, series.help)
                for labels, value in series.values.items():
                    family.add_sample(series.name, dict(labels), value)
            else:
                family = HistogramMetricFamily(series.name, series.help)
                for labels, h in series.histograms.items():
                    for bound, count in zip(_BUCKETS, h.buckets, strict=True):
                        le = {**dict(labels), "le": str(float(bound))}
                        family.add_sample(f"{series.name}_bucket", le, count)
                    inf = {**dict(labels), "le": "+Inf"}
                    family.add_sample(f"{series.name}_bucket", inf, h.count)
                    family.add_sample(f"{series.name}_count", dict(labels), h.count)
                    family.add_sample(f"{series.name}_sum", dict(labels), h.total)
            yield family

    @asynccontextmanager
    async def draining(self) -> AsyncIterator[None]:
        """Drains the buffer every few seconds while the block runs, scraped or not: a full
        buffer drops updates."""

        async def drain_forever() -> None:
            while True:
                await asyncio.sleep(_DRAIN_EVERY)
                self.drain()

        task = asyncio.create_task(drain_forever())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _labels(attributes: Mapping[str, str | int | float | bool]) -> Labels:
    return tuple(
        sorted(
            (key, str(value).lower() if isinstance(value, bool) else str(value))
            for key, value in attributes.items()
        )
    )


# One runtime per process: each has its own threads, and every client made after `install`
# uses it.
_installed = False
_sdk: SdkMetrics | None = None


def install(*, metrics_on: bool) -> SdkMetrics | None:
    """Makes the process's default Temporal runtime one that forwards the SDK's logs to ours
    and, with ``metrics_on``, records its metrics for the worker's registry. Call it before the
    first client connects; the collector it returns is drained by the worker's HTTP server."""
    global _installed, _sdk
    if _installed and (_sdk is not None or not metrics_on):
        return _sdk
    buffer = MetricBuffer(_BUFFER_SIZE, MetricBufferDurationFormat.SECONDS) if metrics_on else None
    runtime = Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
            ),
            metrics=buffer,
        )
    )
    Runtime.set_default(runtime, error_if_already_set=False)
    _installed = True
    if buffer is not None:
        _sdk = SdkMetrics(buffer)
        metrics.WORKER.register(_sdk)
    return _sdk
