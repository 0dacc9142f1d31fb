"""The desk plan's run: ``python bench/run.py --plan desk`` (see README; issue 19, acceptance 9).

Starts the embedded default as the other plans do (``bench/stack.py``), then measures, in one
run, on one business:

1. reviews in: ``--reviews`` reviews posted through ``POST /api/v1/reviews`` with the
   platform's key at ``--concurrency`` in flight, each stored with its ticket and starting the
   ticket's workflow; reviews per second from the first request until every ticket's workflow
   has run its first task (the server's history says when), and the requests' latency; beside
   the bare engine's figure for the same shape (a workflow with a ticket's timers started per
   review by a plain Temporal client, nothing stored), run before Reviewdesk and again after
   it, its figures over both, so the machine's drift weighs on both alike;
2. open tickets and contacts: a Find Reviewer contact opened on ``--open-contacts`` of those
   reviews (each ticket then ``pending``), all left in their five-day window: the worker's
   resident memory with that many tickets and contacts open;
3. the inbox at ``--inbox-tickets`` tickets (the rest written straight into the store, as
   tickets of reviews that came in before): the first page of ``GET /api/v1/tickets`` and of
   the ``/desk`` page, median and p99 of ``--inbox-samples`` requests each.

The web app runs with the platform's request limit raised (``REVIEWDESK_PLATFORM_RATE_LIMIT``)
and the misuse guard's caps off (``bench.stack.GUARD_OFF``): a review feed at full speed and a
business opening thousands of contacts are what is measured, not what the guards refuse.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from bench.bare_activities import BARE_TASK_QUEUE_SUFFIX
from bench.desk import (
    BareTickets,
    DeskWorld,
    PlatformDriver,
    fill_inbox,
    first_tasks_done,
    seed_desk,
)
from bench.drivers import (
    Recorder,
    ReviewdeskDriver,
    drained,
    run_all,
    summary,
    time_gets,
)
from bench.measure import (
    count_rows,
    cpu_per,
    http_limits,
    machine,
    row,
    store_used,
    verdict_lines,
    verdicts,
)
from bench.stack import CpuMeter, Stack, bench_stack, log, rss_mb
from starter.client import connect
from store import Store, open_store

DELIVERY = "MessageDeliveryWorkflow"
TICKET = "TicketWorkflow"
# The platform's feed is one key sending as fast as the stack answers.
WEB = {"platform_rate_limit": "1000000000/minute"}
TARGETS = {
    "worker_rss_mb": ("<", 350.0),
    "inbox_api_p50_ms": ("<", 50.0),
    "inbox_api_p99_ms": ("<", 50.0),
    "inbox_page_p50_ms": ("<", 50.0),
    "inbox_page_p99_ms": ("<", 50.0),
}


async def _posted(
    stack: Stack,
    client: Client,
    n: int,
    post: Callable[[int], Awaitable[None]],
    rec: Recorder,
    workflow_ids: Callable[[], list[str]],
) -> dict[str, Any]:
    """One measured run: ``n`` reviews in, until every ticket's workflow ran its first task."""
    meter = CpuMeter(stack)
    began = time.time()
    await run_all(n, post, rec)
    opened = await first_tasks_done(client, workflow_ids())
    # Until every ticket is found open: the server's share includes answering those reads.
    cpu = meter.read()
    seconds = max(opened - began, 1e-6)
    return {
        "reviews": n,
        "seconds": round(seconds, 2),
        "seconds_answered": round(rec.elapsed, 2),
        "per_second": round(n / seconds, 2),
        "latency": summary(rec.latencies.get("review", [])),
        "latencies_ms": rec.latencies.get("review", []),
        "cpu_per_review": cpu_per(cpu, n),
        "errors": len(rec.errors),
        "first_errors": rec.errors[:5],
    }


async def _bare(stack: Stack, client: Client, args: argparse.Namespace, run: str) -> dict[str, Any]:
    task_queue = stack.task_queue + BARE_TASK_QUEUE_SUFFIX
    await stack.start_bare_worker()
    try:
        warm = BareTickets(
            client, task_queue, run=f"{run}-warm", concurrency=args.concurrency, recorder=Recorder()
        )
        await run_all(args.warmup, warm.post, warm.rec)
        await first_tasks_done(client, warm.workflow_ids(args.warmup))
        log(f"bare engine, {run}: {args.reviews} ticket workflows at {args.concurrency} in flight")
        rec = Recorder()
        bare = BareTickets(client, task_queue, run=run, concurrency=args.concurrency, recorder=rec)
        return await _posted(
            stack, client, args.reviews, bare.post, rec, lambda: bare.workflow_ids(args.reviews)
        )
    finally:
        await stack.stop("bare_worker")


async def _reviewdesk(
    stack: Stack, client: Client, args: argparse.Namespace, world: DeskWorld
) -> tuple[dict[str, Any], list[str]]:
    """Reviews in through the HTTP API; the figures, and the review ids in order."""
    async with httpx.AsyncClient(
        base_url=stack.base_url, limits=http_limits(args.concurrency), timeout=120
    ) as http:

        def driver(run: str, rec: Recorder) -> PlatformDriver:
            return PlatformDriver(
                http,
                world.platform_key,
                world.business,
                run=run,
                concurrency=args.concurrency,
                recorder=rec,
            )

        warm = driver("warm", Recorder())
        await run_all(args.warmup, warm.post, warm.rec)
        if warm.rec.errors:
            raise RuntimeError(f"warm-up failed: {warm.rec.errors[:3]}")
        await first_tasks_done(client, warm.workflow_ids())
        log(f"Reviewdesk: {args.reviews} reviews over HTTP at {args.concurrency} in flight")
        rec = Recorder()
        main = driver("run", rec)
        figures = await _posted(stack, client, args.reviews, main.post, rec, main.workflow_ids)
    review_ids = [r for _, r in sorted(main.review_ids.items())]
    return figures, list(warm.review_ids.values()) + review_ids


async def _open_contacts(
    stack: Stack,
    client: Client,
    store: Store,
    args: argparse.Namespace,
    world: DeskWorld,
    review_ids: list[str],
    worker_pid: int,
) -> dict[str, Any]:
    """A contact on each of the first ``--open-contacts`` reviews, left open; then memory."""
    chosen = review_ids[: args.open_contacts]
    log(f"opening {len(chosen)} contacts on the tickets' reviews (five-day window)")
    rec = Recorder()
    async with httpx.AsyncClient(
        base_url=stack.base_url, limits=http_limits(args.open_concurrency), timeout=120
    ) as http:
        driver = ReviewdeskDriver(
            http,
            store,
            settings=stack.settings(),
            business_keys=world.world.business_keys,
            moderator_key=world.world.moderator_key,
            concurrency=args.open_concurrency,
            recorder=rec,
        )
        queue = iter(chosen)

        async def client_loop() -> None:
            for review_id in queue:
                try:
                    await driver.open_contact(review_id, world.business)
                    rec.final()
                except Exception as err:
                    rec.error(f"open {review_id}: {err}")

        await run_all(args.open_concurrency, lambda _: client_loop(), rec)
    await drained(client, DELIVERY, stack.task_queue)
    rss, peak = rss_mb(worker_pid)
    running = await client.count_workflows(
        f'WorkflowType="{TICKET}" AND TaskQueue="{stack.task_queue}" AND ExecutionStatus="Running"'
    )
    return {
        "contacts": await count_rows(
            store, "SELECT count(*) FROM contacts WHERE status = 'awaiting_reply'"
        ),
        "tickets_running": running.count,
        "tickets_pending": await count_rows(
            store, "SELECT count(*) FROM tickets WHERE status = 'pending'"
        ),
        "opened_per_second": round(len(chosen) / rec.elapsed, 2) if rec.elapsed else 0.0,
        "contact_latency": summary(rec.latencies.get("contact", [])),
        "worker_rss_mb": round(rss, 1),
        "worker_peak_rss_mb": round(peak, 1),
        "errors": len(rec.errors),
        "first_errors": rec.errors[:5],
    }


async def _signed_in(http: httpx.AsyncClient, api_key: str) -> None:
    form = await http.get("/login")
    csrf = form.cookies.get("rd_login_csrf") or ""
    response = await http.post("/login", data={"api_key": api_key, "csrf": csrf})
    if response.status_code != 303 or "rd_session" not in http.cookies:
        raise RuntimeError(f"sign-in failed: {response.status_code}")


async def _inbox(
    stack: Stack, store: Store, args: argparse.Namespace, world: DeskWorld
) -> dict[str, Any]:
    business = "SELECT count(*) FROM tickets WHERE business_id = ?"
    missing = args.inbox_tickets - await count_rows(store, business, world.business)
    if missing > 0:
        log(f"writing {missing} earlier tickets into the store")
        await fill_inbox(store, world.business, world.agent, missing)
    result: dict[str, Any] = {"tickets": await count_rows(store, business, world.business)}
    log(f"timing the inbox's first page at {result['tickets']} tickets")
    samples = args.inbox_samples
    async with (
        httpx.AsyncClient(base_url=stack.base_url, timeout=60) as owner,
        httpx.AsyncClient(base_url=stack.base_url, timeout=60) as agent,
    ):
        await _signed_in(owner, world.business_key)
        result["page"] = await time_gets(owner, "/desk", samples)
        owner.headers["Authorization"] = f"Bearer {world.business_key}"
        agent.headers["Authorization"] = f"Bearer {world.agent_key}"
        result["api"] = await time_gets(owner, "/api/v1/tickets", samples)
        result["api_unanswered_negative"] = await time_gets(
            owner, "/api/v1/tickets?view=unanswered_negative", samples
        )
        result["api_assigned_to_me"] = await time_gets(
            agent, "/api/v1/tickets?view=assigned_to_me", samples
        )
        first = (await owner.get("/api/v1/tickets")).json()
    result["counts"] = first.get("counts", {})
    return result


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else 0.0


def _over_both(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The bare engine's figures over its two runs, as if they were one."""
    n = before["reviews"] + after["reviews"]
    seconds = before["seconds"] + after["seconds"]
    latencies = before.pop("latencies_ms") + after.pop("latencies_ms")
    return {
        "reviews": n,
        "seconds": round(seconds, 2),
        "per_second": round(n / seconds, 2) if seconds else 0.0,
        "latency": summary(latencies),
        "runs": [before, after],
        "errors": before["errors"] + after["errors"],
    }


def _targets(results: dict[str, Any]) -> dict[str, Any]:
    inbox = results["inbox"]
    figures = {
        "worker_rss_mb": results["open"]["worker_rss_mb"],
        "inbox_api_p50_ms": inbox["api"]["p50_ms"],
        "inbox_api_p99_ms": inbox["api"]["p99_ms"],
        "inbox_page_p50_ms": inbox["page"]["p50_ms"],
        "inbox_page_p99_ms": inbox["page"]["p99_ms"],
    }
    return verdicts(figures, TARGETS)


async def desk_bench(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    results: dict[str, Any] = {
        "plan": "desk",
        "machine": machine(),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    async with bench_stack(args.data_dir, args.store) as stack:
        log(f"starting the dev server and worker (data in {stack.data_dir})")
        await stack.start_server()
        async with open_store(stack.settings()) as store:
            results["store"] = await store_used(store)
            world = await seed_desk(store)
            worker = await stack.start_worker()
            client = await connect(stack.settings())
            before = await _bare(stack, client, args, "before")
            await stack.start_web(**WEB)
            results["reviewdesk"], review_ids = await _reviewdesk(stack, client, args, world)
            del results["reviewdesk"]["latencies_ms"]  # in the summary; too many to keep
            after = await _bare(stack, client, args, "after")
            results["bare"] = _over_both(before, after)
            results["ratio_reviewdesk_to_bare"] = _ratio(
                results["reviewdesk"]["per_second"], results["bare"]["per_second"]
            )
            results["open"] = await _open_contacts(
                stack, client, store, args, world, review_ids, worker.pid
            )
            results["inbox"] = await _inbox(stack, store, args, world)
    results["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["targets"] = _targets(results)
    results["took_seconds"] = round(time.perf_counter() - started, 1)
    return results


def desk_table(results: dict[str, Any]) -> str:
    rd, bare, opened, inbox = (
        results["reviewdesk"],
        results["bare"],
        results["open"],
        results["inbox"],
    )
    host, cfg = results["machine"], results["config"]
    runs = bare["runs"]
    lines = [
        f"Reviewdesk bench, desk plan: {host['cpu_count']} cores, load average at start "
        f"{host['loadavg_at_start'][0]}, at end {host['loadavg_at_end'][0]}, "
        f"event loop {host['event_loop']}",
        f"Reviewdesk's store: {results['store']}",
        f"platform request limit raised ({WEB['platform_rate_limit']}), misuse guard's caps off",
        "",
        f"{'reviews in, each opening its ticket':<48}{'Reviewdesk':>12}{'bare engine':>14}",
        row("reviews", rd["reviews"], " + ".join(str(r["reviews"]) for r in runs)),
        row(
            "seconds, first request to last ticket's first task",
            rd["seconds"],
            " + ".join(str(r["seconds"]) for r in runs),
        ),
        row("reviews / s", rd["per_second"], bare["per_second"]),
        row(
            "  bare engine before / after Reviewdesk",
            "",
            " / ".join(str(r["per_second"]) for r in runs),
        ),
        row("ratio Reviewdesk / bare", results["ratio_reviewdesk_to_bare"]),
        row(
            f"request p50 / p99 ms, {cfg['concurrency']} in flight",
            _p50_p99(rd["latency"]),
            _p50_p99(bare["latency"]),
        ),
        row(
            "CPU ms per review, all processes",
            rd["cpu_per_review"]["total_ms"],
            " / ".join(str(r["cpu_per_review"]["total_ms"]) for r in runs),
        ),
        row("errors", rd["errors"], bare["errors"]),
        "",
        f"open: {opened['tickets_running']} ticket workflows running,"
        f" {opened['contacts']} contacts waiting in their window,"
        f" {opened['tickets_pending']} tickets pending",
        row("contacts opened per second", opened["opened_per_second"]),
        row("contact request p50 / p99 ms", _p50_p99(opened["contact_latency"])),
        row("worker resident memory, MiB", opened["worker_rss_mb"]),
        row("worker resident memory at its peak, MiB", opened["worker_peak_rss_mb"]),
        "",
        f"the inbox's first page at {inbox['tickets']} tickets (ms p50 / p99)",
        row("/desk page (signed in)", _p50_p99(inbox["page"])),
        row("GET /api/v1/tickets", _p50_p99(inbox["api"])),
        row(
            "GET /api/v1/tickets?view=unanswered_negative",
            _p50_p99(inbox["api_unanswered_negative"]),
        ),
        row("  ?view=assigned_to_me, as the agent", _p50_p99(inbox["api_assigned_to_me"])),
        f"  (views: {', '.join(f'{k} {v}' for k, v in inbox['counts'].items())})",
    ]
    lines += verdict_lines(results, cfg["out"])
    return "\n".join(lines)


def _p50_p99(s: dict[str, Any]) -> str:
    return f"{s.get('p50_ms')} / {s.get('p99_ms')}"


def failed(results: dict[str, Any]) -> bool:
    return bool(
        results["reviewdesk"]["errors"] or results["bare"]["errors"] or results["open"]["errors"]
    )
