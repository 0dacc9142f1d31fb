"""The moderation plan's run: ``python bench/run.py --plan moderation`` (see README).

Starts the embedded default as the lifecycle plan does (``bench/stack.py``), then measures, in
one run, the cases of ``bench/moderation.py``: on the bare engine, on Reviewdesk through its
HTTP API and link pages, and on the bare engine again (its figures over both runs, so the
machine's drift weighs on both systems alike); same server, same worker options, same
concurrency. Cases per second from the first request to the last final state, the latency of
each kind of request, the CPU time each process spent per case, and the ratio Reviewdesk / bare.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.bare_activities import BARE_TASK_QUEUE_SUFFIX
from bench.bare_workflows.delivery import BareDeliveryWorkflow
from bench.drivers import Recorder, drained, run_all
from bench.measure import (
    Phase,
    http_limits,
    machine,
    measured,
    store_used,
    throughput,
    throughput_rows,
)
from bench.moderation import BareModeration, Case, ReviewdeskModeration, make_cases, step_names
from bench.stack import Stack, bench_stack, log
from bench.world import World, seed
from starter.client import connect
from store import Store, open_store

DELIVERY = "MessageDeliveryWorkflow"
TARGETS = {"moderation_ratio_reviewdesk_to_bare": (">=", 0.7)}
# (name in the figures, words in the table), in the order a case makes them.
REQUESTS = (
    ("flag", "flag (201)"),
    ("notice", "notice (202)"),
    ("reviewer_edit", "reviewer's edit, link page"),
    ("escalate", "business escalates"),
    ("decision", "moderator decision"),
    ("appeal", "appeal"),
    ("appeal_decision", "appeal decision"),
)


def _warmup_cases(n: int) -> list[Case]:
    """Every kind but the silent flag, which would only wait for its window."""
    return [c for c in make_cases(n * 2, 0.5, seed=3) if c.kind != "silent"][:n]


async def _bare(
    stack: Stack, args: argparse.Namespace, cases: list[Case], run_id: str, *, first: bool
) -> Phase:
    client = await connect(stack.settings())
    task_queue = stack.task_queue + BARE_TASK_QUEUE_SUFFIX
    delivery = BareDeliveryWorkflow.__name__

    def driver(rec: Recorder, run: str) -> BareModeration:
        return BareModeration(
            client,
            task_queue,
            run_id=f"{run_id}-{run}",
            reviewer_window=timedelta(seconds=args.window),
            concurrency=args.concurrency,
            recorder=rec,
        )

    warm_rec = Recorder()
    warm, warm_cases = driver(warm_rec, "warmup"), _warmup_cases(args.warmup)
    await run_all(len(warm_cases), lambda i: warm.case(i, warm_cases[i]), warm_rec)
    if warm_rec.errors:
        raise RuntimeError(f"bare warm-up failed: {warm_rec.errors[:3]}")
    await drained(client, delivery, task_queue)
    when = "before Reviewdesk" if first else "again, after Reviewdesk"
    log(f"bare engine, {when}: {len(cases)} moderation cases at concurrency {args.concurrency}")
    rec = Recorder()
    main = driver(rec, "run")
    return await measured(
        stack,
        len(cases),
        lambda i: main.case(i, cases[i]),
        rec,
        delivery,
        task_queue,
        args.profile if first else None,
        ("bare_worker",),
        "moderation-bare-",
    )


async def _reviewdesk(
    stack: Stack, args: argparse.Namespace, world: World, store: Store, cases: list[Case]
) -> dict[str, Any]:
    client = await connect(stack.settings())
    async with httpx.AsyncClient(
        base_url=stack.base_url, limits=http_limits(args.concurrency), timeout=120
    ) as http:

        def driver(rec: Recorder) -> ReviewdeskModeration:
            return ReviewdeskModeration(
                http,
                store,
                settings=stack.settings(),
                business_keys=world.business_keys,
                moderator_key=world.moderator_key,
                second_moderator_key=world.second_moderator_key,
                concurrency=args.concurrency,
                recorder=rec,
            )

        warm_rec = Recorder()
        warm, warm_cases = driver(warm_rec), _warmup_cases(args.warmup)
        warm_reviews = world.reviews["warmup"]
        await run_all(
            len(warm_cases), lambda i: warm.case(*warm_reviews[i], warm_cases[i]), warm_rec
        )
        if warm_rec.errors:
            raise RuntimeError(f"warm-up failed: {warm_rec.errors[:3]}")
        await drained(client, DELIVERY, stack.task_queue)

        log(f"Reviewdesk: {len(cases)} moderation cases over HTTP at {args.concurrency}")
        rec = Recorder()
        main = driver(rec)
        reviews = world.reviews["moderation"]
        phase = await measured(
            stack,
            len(cases),
            lambda i: main.case(*reviews[i], cases[i]),
            rec,
            DELIVERY,
            stack.task_queue,
            args.profile,
            ("worker", "web"),
            "moderation-",
        )
    return throughput([phase], unit="cases", per="case")


def _windows(args: argparse.Namespace) -> dict[str, str]:
    """The settings of the run's worker and web app: the reviewer's window of a flag is short,
    so a silent reviewer's case waits seconds, not days."""
    return {"reviewer_step_window": str(args.window)}


async def moderation_bench(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    cases = make_cases(args.cases, args.appeal_share)
    results: dict[str, Any] = {
        "plan": "moderation",
        "machine": machine(),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "cases": step_names(cases),
    }
    async with bench_stack(args.data_dir, args.store) as stack:
        log(f"starting the dev server and worker (data in {stack.data_dir})")
        await stack.start_server()
        async with open_store(stack.settings()) as store:
            results["store"] = await store_used(store)
            world = await seed(
                store,
                businesses=args.businesses,
                counts={"warmup": args.warmup, "moderation": args.cases},
            )
            await stack.start_worker(**_windows(args))

            async def bare(run_id: str, first: bool) -> Phase:
                await stack.start_bare_worker()
                try:
                    return await _bare(stack, args, cases, run_id, first=first)
                finally:
                    await stack.stop("bare_worker")

            before = await bare("mod-before", True)
            await stack.start_web(**_windows(args))
            results["reviewdesk"] = await _reviewdesk(stack, args, world, store, cases)
            await stack.stop("web")
            after = await bare("mod-after", False)
            results["bare"] = throughput([before, after], unit="cases", per="case")
    rd, bare_ = results["reviewdesk"], results["bare"]
    results["ratio_reviewdesk_to_bare"] = _ratio(rd["per_second"], bare_["per_second"])
    results["ratio_until_delivered"] = _ratio(
        rd["per_second_until_delivered"], bare_["per_second_until_delivered"]
    )
    # The same comparison in CPU time, which other load on the machine disturbs less.
    results["ratio_by_cpu"] = _ratio(
        bare_["cpu_per_case"]["total_ms"], rd["cpu_per_case"]["total_ms"]
    )
    results["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["targets"] = _targets(results)
    results["took_seconds"] = round(time.perf_counter() - started, 1)
    return results


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else 0.0


def _targets(results: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, (op, limit) in TARGETS.items():
        value = results["ratio_reviewdesk_to_bare"]
        met = value >= limit if op == ">=" else value < limit
        out[name] = {"value": value, "target": f"{op} {limit:g}", "met": met}
    return out


def moderation_table(results: dict[str, Any]) -> str:
    rd, bare = results["reviewdesk"], results["bare"]
    cfg, host = results["config"], results["machine"]
    shape = results["cases"]

    lines = [
        f"Reviewdesk bench, moderation plan: {host['cpu_count']} cores, load average at start "
        f"{host['loadavg_at_start'][0]}, at end {host['loadavg_at_end'][0]}, "
        f"event loop {host['event_loop']}",
        f"Reviewdesk's store: {results['store']}",
        f"{cfg['cases']} cases, each on its own review: "
        + ", ".join(f"{shape.get(name, 0)} {name.replace('_', ' ')}" for name, _ in REQUESTS)
        + f"; a silent reviewer's window {cfg['window']:g} s",
        "",
        *throughput_rows(
            results, plan="moderation", unit="case", count_key="cases", cpu_key="cpu_per_case"
        ),
    ]
    for name, label in REQUESTS:
        s = rd["latency"].get(name)
        if s is None:
            continue
        b = bare["latency"].get(name, {}).get("p99_ms", "")
        lines.append(
            f"  {label:<28}{s['count']:>6}{s['p50_ms']:>10}{s['p95_ms']:>10}{s['p99_ms']:>10}"
            f"{b!s:>10}"
        )
    lines += ["", "targets"]
    for name, t in results["targets"].items():
        verdict = "met" if t["met"] else "MISSED"
        lines.append(f"  {name:<38}{t['value']!s:>10}  {t['target']:<8} {verdict}")
    lines.append(f"\ntook {results['took_seconds']} s; JSON in {cfg['out']}")
    return "\n".join(lines)


def failed(results: dict[str, Any]) -> bool:
    return bool(results["reviewdesk"]["errors"] or results["bare"]["errors"])
