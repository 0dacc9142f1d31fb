"""How close Reviewdesk runs to the limit of its engine: ``python bench/run.py`` (see README).

Starts the embedded default (the Temporal dev server on a SQLite file with the WAL pragmas,
``python worker.py``, ``reviewdesk web``) on free loopback ports with its data in a temporary
folder, then measures, in one run:

1. the bare engine: the lifecycle plans below on workflows with the same activities, timers,
   updates and separately started workflows as Reviewdesk but none of its logic
   (``bench/bare_workflows/``), started by a plain Temporal client; once before Reviewdesk's
   run and once after it, its figures over both, so the machine's drift weighs on both alike;
2. lifecycle throughput: the same plans on Reviewdesk through its HTTP API, half replied
   through the reply page, half left to a short window, each then reported or closed, a share
   of the reports decided by a moderator; contacts per second from the first request to the
   last final state, and the ratio Reviewdesk / bare (same server, same worker options, same
   concurrency);
3. latency of the contact request, the reply and the decision at that concurrency (from 2), and
   where the contact request's time went, from the server's history of a sample of them;
4. open contacts: contacts waiting in their (default, five-day) window: the worker's resident
   memory, the server's database size, and how long the first page of the business dashboard
   and of the moderation queue take to answer.

Prints a table and writes the figures as JSON, with the machine's core count and the CPU time
each process spent, which says where the time goes.

``--plan moderation`` runs the moderation plan instead (flags, notices, decisions, appeals,
beside the bare engine running the same cases): ``bench/moderation_run.py``. ``--plan desk``
runs the response desk's (reviews in, each opening its ticket; open tickets and contacts; the
inbox at its fullest): ``bench/desk_run.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as `python bench/run.py`: the repository root holds the packages it imports.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench.anatomy import opening_parts
from bench.bare_activities import BARE_TASK_QUEUE_SUFFIX
from bench.bare_workflows.delivery import BareDeliveryWorkflow
from bench.desk_run import desk_bench, desk_table
from bench.desk_run import failed as desk_failed
from bench.drivers import (
    BareDriver,
    Plan,
    Recorder,
    ReviewdeskDriver,
    drained,
    make_plans,
    run_all,
    summarised,
    summary,
    time_gets,
)
from bench.measure import (
    Phase,
    count_rows,
    cpu_per,
    http_limits,
    machine,
    measured,
    row,
    store_used,
    throughput,
    throughput_rows,
    verdict_lines,
    verdicts,
)
from bench.moderation_run import failed as moderation_failed
from bench.moderation_run import moderation_bench, moderation_table
from bench.stack import CpuMeter, Profiler, Stack, bench_stack, file_mb, log, rss_mb
from bench.world import World, seed
from domain import contact_workflow_id
from starter.client import connect
from starter.loop import run_main
from store import Store, open_store

DELIVERY = "MessageDeliveryWorkflow"
TARGETS = {
    "ratio_reviewdesk_to_bare": (">=", 0.7),
    "contact_p99_ms": ("<", 150.0),
    "worker_rss_mb": ("<", 400.0),
    "dashboard_ms": ("<", 100.0),
    "moderation_queue_ms": ("<", 100.0),
}
# Kept back from the time budget for what follows the opening of contacts: waiting for their
# emails to be delivered, reading memory and sizes, timing the pages, stopping everything.
RESERVE = 45.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Reviewdesk against the bare Temporal engine, on the embedded default."
    )
    p.add_argument(
        "--plan",
        choices=("lifecycle", "moderation", "desk"),
        default="lifecycle",
        help="lifecycle: contacts, reports and decisions, then contacts left open (default);"
        " moderation: flags, notices, decisions and appeals (bench/moderation.py), beside the"
        " bare engine running the same cases; desk: reviews in through the platform's API,"
        " each opening its ticket, then open tickets and contacts, then the inbox"
        " (bench/desk_run.py)",
    )
    p.add_argument(
        "--reviews", type=int, default=10_000, help="reviews posted (--plan desk; 10000)"
    )
    p.add_argument(
        "--inbox-tickets",
        type=int,
        default=20_000,
        help="tickets in the business's inbox when it is timed, the rest written straight into"
        " the store (--plan desk; 20000)",
    )
    p.add_argument(
        "--inbox-samples", type=int, default=50, help="requests per inbox page timed (50)"
    )
    p.add_argument(
        "--cases", type=int, default=500, help="moderation cases per system (--plan moderation)"
    )
    p.add_argument(
        "--appeal-share",
        type=float,
        default=0.5,
        help="moderation decisions appealed (--plan moderation; 0.5)",
    )
    p.add_argument(
        "--store",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="Reviewdesk's store: the SQLite file (default), or PostgreSQL in a throwaway cluster"
        " the run starts (Debian's postgresql package); the bare engine has none",
    )
    p.add_argument("--contacts", type=int, default=1000, help="lifecycles per system (1000)")
    p.add_argument(
        "--open-contacts",
        type=int,
        default=10_000,
        help="contacts left open (10000; --plan desk: on as many of its reviews)",
    )
    p.add_argument(
        "--budget",
        type=float,
        default=570.0,
        help="seconds the whole run may take (570); opening contacts stops early to keep to it,"
        " and the figures say how many were open. 0: no limit",
    )
    p.add_argument("--concurrency", type=int, default=20, help="requests in flight (20)")
    p.add_argument(
        "--open-concurrency", type=int, default=50, help="requests in flight opening contacts (50)"
    )
    p.add_argument(
        "--window", type=float, default=10.0, help="reply window of the lifecycles, seconds (10)"
    )
    p.add_argument(
        "--paced-rate",
        type=float,
        default=20.0,
        help="contact requests per second the clients (--concurrency of them) send together,"
        " below saturation, for the latency at a steady load (20)",
    )
    p.add_argument(
        "--paced-contacts",
        type=int,
        default=400,
        help="contacts opened at --paced-rate, from those left open (400)",
    )
    p.add_argument("--report-share", type=float, default=0.5, help="contacts reported (0.5)")
    p.add_argument("--decide-share", type=float, default=0.5, help="reports decided (0.5)")
    p.add_argument("--businesses", type=int, default=5, help="businesses owning the reviews (5)")
    p.add_argument("--warmup", type=int, default=20, help="unmeasured lifecycles first (20)")
    p.add_argument(
        "--unloaded",
        type=int,
        default=20,
        help="lifecycles then driven one request at a time, for the latency alone (20)",
    )
    p.add_argument("--page-samples", type=int, default=20, help="requests per page timed (20)")
    p.add_argument(
        "--out",
        type=Path,
        help="JSON file (bench/results.json; bench/results-moderation.json for --plan moderation)",
    )
    p.add_argument("--data-dir", type=Path, help="keep the run's data here (default: temporary)")
    p.add_argument(
        "--profile",
        type=Path,
        help="py-spy the worker and web app while lifecycles run and while contacts open, and"
        " the bare engine's worker while its lifecycles run, into this folder",
    )
    args = p.parse_args(argv)
    if args.paced_rate <= 0:
        p.error("--paced-rate must be above 0")
    if args.out is None:
        name = "results.json" if args.plan == "lifecycle" else f"results-{args.plan}.json"
        args.out = Path("bench") / name
    return args


async def bare_lifecycles(
    stack: Stack, args: argparse.Namespace, plans: list[Plan], run_id: str, *, first: bool
) -> tuple[Phase, dict[str, Any]]:
    """One measured run of the plans on the bare engine, after a warm-up; the first run also
    times lifecycles driven one request at a time (returned beside it) and is the one profiled.
    """
    client = await connect(stack.settings())
    task_queue = stack.task_queue + BARE_TASK_QUEUE_SUFFIX
    delivery = BareDeliveryWorkflow.__name__

    def driver(rec: Recorder, run: str, concurrency: int) -> BareDriver:
        return BareDriver(
            client,
            task_queue,
            run_id=f"{run_id}-{run}",
            reply_window=timedelta(seconds=args.window),
            concurrency=concurrency,
            recorder=rec,
        )

    quick = make_plans(1, 0, 0)[0]  # replied, then closed: no window to wait for
    warm_rec, alone_rec = Recorder(), Recorder()
    warm, alone = driver(warm_rec, "warmup", args.concurrency), driver(alone_rec, "alone", 1)
    await run_all(args.warmup, lambda i: warm.lifecycle(i, quick), warm_rec)
    if first:
        await run_all(args.unloaded, lambda i: alone.lifecycle(i, quick), alone_rec)
    if warm_rec.errors or alone_rec.errors:
        raise RuntimeError(f"bare warm-up failed: {(warm_rec.errors + alone_rec.errors)[:3]}")
    await drained(client, delivery, task_queue)

    when = "before Reviewdesk" if first else "again, after Reviewdesk"
    log(f"bare engine, {when}: {args.contacts} lifecycles at concurrency {args.concurrency}")
    rec = Recorder()
    main = driver(rec, "run", args.concurrency)
    phase = await measured(
        stack,
        args.contacts,
        lambda i: main.lifecycle(i, plans[i]),
        rec,
        delivery,
        task_queue,
        args.profile if first else None,
        ("bare_worker",),
        "bare-",
    )
    return phase, summarised(alone_rec.latencies)


def _reviewdesk_driver(
    http: httpx.AsyncClient,
    stack: Stack,
    store: Store,
    world: World,
    rec: Recorder,
    concurrency: int,
) -> ReviewdeskDriver:
    return ReviewdeskDriver(
        http,
        store,
        settings=stack.settings(),
        business_keys=world.business_keys,
        moderator_key=world.moderator_key,
        concurrency=concurrency,
        recorder=rec,
    )


async def reviewdesk_lifecycles(
    stack: Stack, args: argparse.Namespace, world: World, store: Store, plans: list[Plan]
) -> dict[str, Any]:
    client = await connect(stack.settings())
    limits = http_limits(args.concurrency)
    async with httpx.AsyncClient(base_url=stack.base_url, limits=limits, timeout=120) as http:

        def driver(rec: Recorder, concurrency: int) -> ReviewdeskDriver:
            return _reviewdesk_driver(http, stack, store, world, rec, concurrency)

        quick = make_plans(1, 0, 0)[0]  # replied, then closed: no window to wait for
        warm_rec, alone_rec = Recorder(), Recorder()
        warm, alone = driver(warm_rec, args.concurrency), driver(alone_rec, 1)
        warm_reviews, alone_reviews = world.reviews["warmup"], world.reviews["alone"]
        await run_all(args.warmup, lambda i: warm.lifecycle(*warm_reviews[i], quick), warm_rec)
        await run_all(args.unloaded, lambda i: alone.lifecycle(*alone_reviews[i], quick), alone_rec)
        if warm_rec.errors or alone_rec.errors:
            raise RuntimeError(f"warm-up failed: {(warm_rec.errors + alone_rec.errors)[:3]}")
        await drained(client, DELIVERY, stack.task_queue)

        log(f"Reviewdesk: {args.contacts} lifecycles over HTTP at concurrency {args.concurrency}")
        rec = Recorder()
        main = driver(rec, args.concurrency)
        reviews = world.reviews["lifecycle"]
        phase = await measured(
            stack,
            args.contacts,
            lambda i: main.lifecycle(*reviews[i], plans[i]),
            rec,
            DELIVERY,
            stack.task_queue,
            args.profile,
        )
        ids = [contact_workflow_id(review_id) for review_id, _ in reviews]
        parts = await opening_parts(client, ids)
    result = throughput([phase])
    result["contact_parts"] = summarised(parts)
    result["latency_alone"] = summarised(alone_rec.latencies)
    return result


async def _signed_in(http: httpx.AsyncClient, api_key: str) -> None:
    form = await http.get("/login")
    csrf = form.cookies.get("rd_login_csrf") or ""
    response = await http.post("/login", data={"api_key": api_key, "csrf": csrf})
    if response.status_code != 303 or "rd_session" not in http.cookies:
        raise RuntimeError(f"sign-in failed: {response.status_code}")


async def _store_mb(stack: Stack, store: Store) -> float:
    if store.dialect == "postgresql":
        size = await count_rows(store, "SELECT pg_database_size(current_database())")
        return size / (1024 * 1024)
    path = stack.settings().store_path
    return file_mb(*(path.with_name(path.name + end) for end in ("", "-wal", "-shm")))


async def paced_contacts(
    driver: ReviewdeskDriver, reviews: list[tuple[str, str]], rate: float, clients: int
) -> dict[str, Any]:
    """Contact requests at a steady ``rate`` from ``clients`` clients, each on its own beat.

    Client j sends its k-th request at (k * clients + j) / rate seconds from the start, or at
    once when its last answer came later than that: together, ``rate`` requests per second,
    as long as the system keeps up.
    """
    rec = driver.rec
    started = time.perf_counter()

    async def client(j: int) -> None:
        for k, i in enumerate(range(j, len(reviews), clients)):
            due = started + (k * clients + j) / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            try:
                await driver.open_contact(*reviews[i])
            except Exception as err:
                rec.error(f"open {reviews[i][0]}: {err}")

    await asyncio.gather(*(client(j) for j in range(clients)))
    took = time.perf_counter() - started
    return {
        "clients": clients,
        "rate_asked": rate,
        "rate_done": round(len(reviews) / took, 2) if took else 0.0,
        "contact_latency": summary(rec.latencies.get("contact", [])),
        "errors": len(rec.errors),
        "first_errors": rec.errors[:5],
    }


async def open_contacts(
    stack: Stack,
    args: argparse.Namespace,
    world: World,
    store: Store,
    worker_pid: int,
    deadline: float | None,
) -> dict[str, Any]:
    """Opens contacts that stay open, until all are or the time budget says stop."""
    client = await connect(stack.settings())
    reviews = world.reviews["open"]
    log(
        f"opening up to {len(reviews)} contacts that stay open (five-day window)"
        + (f", for at most {deadline - time.perf_counter():.0f} s" if deadline else "")
    )
    limits = http_limits(max(args.open_concurrency, args.concurrency))
    async with httpx.AsyncClient(base_url=stack.base_url, limits=limits, timeout=120) as http:

        def driver_for(rec: Recorder, concurrency: int) -> ReviewdeskDriver:
            return _reviewdesk_driver(http, stack, store, world, rec, concurrency)

        # First the latency at a steady load below saturation, on a system with nothing else to
        # do; then the rest as fast as the clients can open them.
        first = min(args.paced_contacts, len(reviews))
        paced_driver = driver_for(Recorder(), args.concurrency)
        paced = await paced_contacts(
            paced_driver, reviews[:first], args.paced_rate, args.concurrency
        )
        log(
            f"{first} contacts at {args.paced_rate}/s from {args.concurrency} clients: contact p99"
            f" {paced['contact_latency'].get('p99_ms')} ms; opening the rest at full speed"
        )
        rec = Recorder()
        profiler = (
            Profiler(stack, args.profile, ("worker", "web"), "open-") if args.profile else None
        )
        meter = CpuMeter(stack)
        driver = driver_for(rec, args.open_concurrency)
        queue = iter(range(first, len(reviews)))

        async def client_loop() -> None:
            # One of open_concurrency clients, each opening the next contact until none are
            # left or the budget is spent.
            for i in queue:
                if deadline is not None and time.perf_counter() > deadline:
                    return
                try:
                    await driver.open_contact(*reviews[i])
                    rec.final()
                except Exception as err:
                    rec.error(f"open {reviews[i][0]}: {err}")

        await asyncio.gather(*(client_loop() for _ in range(args.open_concurrency)))
    opening = meter.read()
    if profiler is not None:
        await profiler.stop()
    drained_at = await drained(client, DELIVERY, stack.task_queue)
    if rec.errors:
        log(f"{len(rec.errors)} contacts failed to open, e.g. {rec.errors[0]}")
    opened = len(rec.latencies.get("contact", []))
    rss, peak = rss_mb(worker_pid)
    data = stack.data_dir
    result: dict[str, Any] = {
        "requested": len(reviews),
        "contacts": await count_rows(
            store, "SELECT count(*) FROM contacts WHERE status = 'awaiting_reply'"
        ),
        "opened_now": opened + first - paced["errors"],
        "stopped_by_budget": first + opened + len(rec.errors) < len(reviews),
        "paced": paced,
        "opened_per_second": round(opened / rec.elapsed, 2) if rec.elapsed else 0.0,
        "concurrency": args.open_concurrency,
        "contact_latency": summary(rec.latencies.get("contact", [])),
        "cpu_per_contact": cpu_per(opening, max(opened, 1)),
        "seconds_until_delivered": round(drained_at - (rec.first_start or drained_at), 2),
        "errors": len(rec.errors) + paced["errors"],
        "first_errors": (paced["first_errors"] + rec.errors)[:5],
        "worker_rss_mb": round(rss, 1),
        "worker_peak_rss_mb": round(peak, 1),
        "temporal_db_mb": round(
            file_mb(data / "temporal.db", data / "temporal.db-wal", data / "temporal.db-shm"), 1
        ),
        "store_db_mb": round(await _store_mb(stack, store), 1),
    }
    business = world.businesses[0]
    async with (
        httpx.AsyncClient(base_url=stack.base_url, timeout=60) as biz,
        httpx.AsyncClient(base_url=stack.base_url, timeout=60) as mod,
    ):
        await _signed_in(biz, world.business_keys[business])
        await _signed_in(mod, world.moderator_key)
        result["dashboard"] = await time_gets(biz, "/dashboard", args.page_samples)
        result["moderation_queue"] = await time_gets(mod, "/moderation", args.page_samples)
        mod.headers["Authorization"] = f"Bearer {world.moderator_key}"
        result["reports_api"] = await time_gets(
            mod, "/api/v1/reports?status=pending", args.page_samples
        )
    result["dashboard_business_open_contacts"] = await count_rows(
        store,
        "SELECT count(*) FROM contacts WHERE business_id = ? AND status = 'awaiting_reply'",
        business,
    )
    result["pending_reports"] = await count_rows(
        store, "SELECT count(*) FROM reports WHERE status = 'pending'"
    )
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
    return verdicts(figures, TARGETS)


def table(results: dict[str, Any]) -> str:
    rd, bare, opened = results["reviewdesk"], results["bare"], results["open_contacts"]
    cfg, machine = results["config"], results["machine"]

    lines = [
        f"Reviewdesk bench: {machine['cpu_count']} cores, load average at start "
        f"{machine['loadavg_at_start'][0]}, at end {machine['loadavg_at_end'][0]}, "
        f"event loop {machine['event_loop']}",
        f"Reviewdesk's store: {results['store']}",
        "",
        *throughput_rows(
            results,
            plan="lifecycle",
            unit="lifecycle",
            count_key="contacts",
            cpu_key="cpu_per_lifecycle",
        ),
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
            f"  {label:<28}{s['count']:>6}{s['p50_ms']:>10}{s['p95_ms']:>10}{s['p99_ms']:>10}"
            f"{b!s:>10}"
        )
    parts = rd.get("contact_parts", {})
    if parts.get("in_worker", {}).get("count"):
        lines += [
            f"  where the contact request's time went ({parts['in_worker']['count']} sampled,"
            " from the server's history):",
        ]
        for name, label in (
            ("waiting_for_worker", "  waiting for the worker"),
            ("in_worker", "  in the worker until open"),
        ):
            s = parts[name]
            lines.append(f"  {label:<28}{'':>6}{s['p50_ms']:>10}{s['p95_ms']:>10}{s['p99_ms']:>10}")
    lines += [
        "",
        f"{'latency, one request in flight':<30}"
        f"{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'bare p50':>10}",
    ]
    for name, label in (("contact", "contact request (201)"), ("reply", "reply POST")):
        s = rd["latency_alone"].get(name)
        if s is None:
            continue
        b = bare["latency_alone"].get(name, {}).get("p50_ms", "")
        lines.append(
            f"  {label:<28}{s['count']:>6}{s['p50_ms']:>10}{s['p95_ms']:>10}{s['p99_ms']:>10}"
            f"{b!s:>10}"
        )
    paced = opened["paced"]
    s = paced["contact_latency"]
    if s["count"]:
        lines += [
            "",
            f"{'latency, ' + str(paced['clients']) + ' clients at a steady load':<30}"
            f"{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'per s':>10}",
            f"  {'contact request (201)':<28}{s['count']:>6}{s['p50_ms']:>10}{s['p95_ms']:>10}"
            f"{s['p99_ms']:>10}{paced['rate_done']:>10}",
            f"  (asked for {paced['rate_asked']} requests per second in all; nothing else running)",
        ]
    budget = " (stopped by --budget)" if opened["stopped_by_budget"] else ""
    lines += [
        "",
        f"open contacts: {opened['contacts']} waiting in their window{budget}",
        row("opened per second", opened["opened_per_second"]),
        row("worker resident memory, MiB", opened["worker_rss_mb"]),
        row("worker resident memory at its peak, MiB", opened["worker_peak_rss_mb"]),
        row("server database (temporal.db + WAL), MiB", opened["temporal_db_mb"]),
        row(
            "store (PostgreSQL database), MiB"
            if results["store"].startswith("PostgreSQL")
            else "store (reviewdesk.db + WAL), MiB",
            opened["store_db_mb"],
        ),
    ]
    for key, label in (
        ("dashboard", "business dashboard, first page"),
        ("moderation_queue", "moderation queue, first page"),
        ("reports_api", "GET /api/v1/reports?status=pending"),
    ):
        page = opened[key]
        lines.append(row(f"{label}, ms p50 / p95", f"{page['p50_ms']} / {page['p95_ms']}"))
    lines += [
        f"  (the dashboard's business has {opened['dashboard_business_open_contacts']} open"
        f" contacts; {opened['pending_reports']} reports are pending)",
    ]
    lines += verdict_lines(results, cfg["out"])
    return "\n".join(lines)


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    deadline = started + args.budget - RESERVE if args.budget > 0 else None
    results: dict[str, Any] = {
        "machine": machine(),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    plans = make_plans(args.contacts, args.report_share, args.decide_share)
    async with bench_stack(args.data_dir, args.store) as stack:
        log(f"starting the dev server, worker and web app (data in {stack.data_dir})")
        await stack.start_server()
        async with open_store(stack.settings()) as store:
            results["store"] = await store_used(store)
            world = await seed(
                store,
                businesses=args.businesses,
                counts={
                    "warmup": args.warmup,
                    "alone": args.unloaded,
                    "lifecycle": args.contacts,
                    "open": args.open_contacts,
                },
            )
            worker = await stack.start_worker()
            # The bare engine runs the plans before Reviewdesk and again after it, and its
            # figures are over both runs: this machine's speed drifts by up to a fifth within
            # minutes, and a steady drift then weighs on both systems alike.
            await stack.start_bare_worker()
            before, alone = await bare_lifecycles(stack, args, plans, "before", first=True)
            await stack.stop("bare_worker")

            await stack.start_web(reply_window=str(args.window))
            results["reviewdesk"] = await reviewdesk_lifecycles(stack, args, world, store, plans)
            await stack.stop("web")

            await stack.start_bare_worker()
            after, _ = await bare_lifecycles(stack, args, plans, "after", first=False)
            await stack.stop("bare_worker")
            results["bare"] = {**throughput([before, after]), "latency_alone": alone}
            rd, bare = results["reviewdesk"], results["bare"]
            results["ratio_reviewdesk_to_bare"] = round(rd["per_second"] / bare["per_second"], 3)
            results["ratio_until_delivered"] = round(
                rd["per_second_until_delivered"] / bare["per_second_until_delivered"], 3
            )
            # The same comparison in CPU time, which other load on the machine disturbs less.
            results["ratio_by_cpu"] = round(
                bare["cpu_per_lifecycle"]["total_ms"] / rd["cpu_per_lifecycle"]["total_ms"], 3
            )
            # New contacts take their window from the web app's settings: start it again with
            # the default (five days), so these stay open.
            await stack.start_web()
            results["open_contacts"] = await open_contacts(
                stack, args, world, store, worker.pid, deadline
            )
    results["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["targets"] = _targets(results)
    results["took_seconds"] = round(time.perf_counter() - started, 1)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.plan == "desk":
        results = run_main(desk_bench(args))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        print(desk_table(results))
        return 1 if desk_failed(results) else 0
    if args.plan == "moderation":
        # Its own run: its cases would otherwise eat the budget of the contacts left open.
        results = run_main(moderation_bench(args))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        print(moderation_table(results))
        return 1 if moderation_failed(results) else 0
    results = run_main(bench(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    failed = results["reviewdesk"]["errors"] + results["bare"]["errors"]
    return 1 if failed or results["open_contacts"]["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
