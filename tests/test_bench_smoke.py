"""`bench/run.py` on a small scale, so the benchmark cannot rot (the full run is not a test)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.pgcluster import find_bin_dir
from tests.processes import ROOT


def _bench(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Runs ``bench/run.py`` with ``args`` on its own dev server, worker and web app (free
    loopback ports, never 7233, 8000, 8233), without this shell's settings; asserts it ended
    well, with the servers' logs when it did not, and gives its output and its figures."""
    out = tmp_path / "results.json"
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVIEWDESK_")}
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            *args,
            *("--out", str(out), "--data-dir", str(data)),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
    )
    logs = "".join(f"\n--- {p.name}\n{p.read_text()[-2000:]}" for p in data.glob("*.log"))
    assert done.returncode == 0, done.stdout + done.stderr + logs
    results: dict[str, Any] = json.loads(out.read_text())
    return done, results


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_bench_small_run_prints_and_writes_every_figure(tmp_path: Path, store: str) -> None:
    if (
        store == "postgres"
        and find_bin_dir() is None
        and not os.environ.get("REVIEWDESK_REQUIRE_POSTGRES")
    ):
        pytest.skip("PostgreSQL is not installed (Debian's postgresql; .ci/run installs it)")
    done, results = _bench(
        tmp_path,
        *("--contacts", "20", "--open-contacts", "50", "--window", "5", "--warmup", "4"),
        *("--page-samples", "3", "--budget", "0"),
        *("--paced-contacts", "10", "--paced-rate", "10", "--store", store),
    )
    assert results["machine"]["cpu_count"] == os.cpu_count()
    # The table and the figures say which database the store was on.
    used = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[store]
    assert results["store"].startswith(used), results["store"]
    assert f"Reviewdesk's store: {used} " in done.stdout, done.stdout
    # The PostgreSQL server's processes are the stack's too: their CPU counts.
    postgres_cpu = results["reviewdesk"]["cpu_per_lifecycle"].get("postgres_ms", 0)
    assert (postgres_cpu > 0) == (store == "postgres"), results["reviewdesk"]["cpu_per_lifecycle"]
    # The bare engine runs the plans twice, before Reviewdesk and after it.
    bare_runs = results["bare"]["runs"]
    assert [r["contacts"] for r in bare_runs] == [20, 20], bare_runs
    assert all(r["per_second"] > 0 for r in bare_runs), bare_runs
    for system, lifecycles in (("reviewdesk", 20), ("bare", 40)):
        run = results[system]
        assert run["contacts"] == lifecycles and run["errors"] == 0, run
        assert run["per_second"] > 0 and run["cpu_per_lifecycle"]["total_ms"] > 0
        for request in ("contact", "reply", "decision"):
            latency = run["latency"][request]
            assert latency["count"] > 0
            assert 0 < latency["p50_ms"] <= latency["p95_ms"] <= latency["p99_ms"]
    assert results["ratio_reviewdesk_to_bare"] > 0
    # The server's history splits the contact request's time: waiting for the worker, in it.
    parts = results["reviewdesk"]["contact_parts"]
    assert parts["waiting_for_worker"]["count"] == parts["in_worker"]["count"] == 20, parts
    assert 0 < parts["in_worker"]["p50_ms"] < results["reviewdesk"]["latency"]["contact"]["p99_ms"]
    opened = results["open_contacts"]
    assert opened["contacts"] == 50 and opened["errors"] == 0
    assert opened["worker_rss_mb"] > 0 and opened["temporal_db_mb"] > 0
    assert opened["store_db_mb"] > 0
    # On PostgreSQL no process of the stack fell back to a SQLite file in the data folder.
    assert (tmp_path / "data" / "reviewdesk.db").exists() == (store == "sqlite")
    paced = opened["paced"]
    assert paced["errors"] == 0 and paced["contact_latency"]["count"] == 10, paced
    assert 0 < paced["contact_latency"]["p50_ms"] <= paced["contact_latency"]["p99_ms"]
    # Ten requests at ten per second take about a second, never much less.
    assert 0 < paced["rate_done"] <= 12, paced
    for page in ("dashboard", "moderation_queue", "reports_api"):
        assert opened[page]["p50_ms"] > 0, page
    assert set(results["targets"]) == {
        "ratio_reviewdesk_to_bare",
        "contact_p99_ms",
        "worker_rss_mb",
        "dashboard_ms",
        "moderation_queue_ms",
    }

    printed = done.stdout
    for figure in (
        "ratio Reviewdesk / bare",
        "bare engine before / after Reviewdesk",
        "where the contact request's time went",
        "contact request (201)",
        "reply POST",
        "moderator decision",
        "worker resident memory",
        "server database",
        "business dashboard, first page",
        "moderation queue, first page",
        "50 waiting in their window",
        "clients at a steady load",
    ):
        assert figure in printed, printed


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_bench_moderation_plan_prints_its_throughput_beside_the_bare_engines(
    tmp_path: Path, store: str
) -> None:
    """Issue 17, acceptance 7: flags, notices, decisions and appeals, on Reviewdesk and on the
    bare engine running the same cases."""
    if (
        store == "postgres"
        and find_bin_dir() is None
        and not os.environ.get("REVIEWDESK_REQUIRE_POSTGRES")
    ):
        pytest.skip("PostgreSQL is not installed (Debian's postgresql; .ci/run installs it)")
    done, results = _bench(
        tmp_path,
        *("--plan", "moderation", "--cases", "16", "--warmup", "3", "--window", "3"),
        *("--store", store),
    )
    assert results["plan"] == "moderation"
    used = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[store]
    assert results["store"].startswith(used), results["store"]
    # Four kinds in turn, every report decided, half of the decisions appealed (seeded).
    shape = results["cases"]
    assert shape["flag"] == 12 and shape["notice"] == 4 and shape["decision"] == 16, shape
    assert shape["reviewer_edit"] == 4 and shape["escalate"] == 8, shape
    assert 0 < shape["appeal"] == shape["appeal_decision"] < 16, shape
    assert [r["cases"] for r in results["bare"]["runs"]] == [16, 16]
    for system, cases in (("reviewdesk", 16), ("bare", 32)):
        run = results[system]
        assert run["cases"] == cases and run["errors"] == 0, run
        assert run["per_second"] > 0 and run["cpu_per_case"]["total_ms"] > 0, run
        for request in shape:
            latency = run["latency"][request]
            assert latency["count"] == shape[request] * cases // 16, (system, request)
            assert 0 < latency["p50_ms"] <= latency["p95_ms"] <= latency["p99_ms"]
    assert results["ratio_reviewdesk_to_bare"] > 0 and results["ratio_by_cpu"] > 0
    assert set(results["targets"]) == {"moderation_ratio_reviewdesk_to_bare"}

    printed = done.stdout
    for figure in (
        "moderation plan",
        "cases / s",
        "ratio Reviewdesk / bare (moderation)",
        "bare engine before / after Reviewdesk",
        "CPU ms per case",
        "flag (201)",
        "notice (202)",
        "reviewer's edit, link page",
        "business escalates",
        "moderator decision",
        "appeal decision",
    ):
        assert figure in printed, printed


def test_bench_desk_plan_prints_reviews_in_open_tickets_and_the_inbox(tmp_path: Path) -> None:
    """Issue 19, acceptance 9, small: reviews in through the platform's API beside the bare
    engine, the worker's memory with tickets and contacts open, the inbox's first page."""
    done, results = _bench(
        tmp_path,
        *("--plan", "desk", "--reviews", "30", "--open-contacts", "20", "--warmup", "3"),
        *("--inbox-tickets", "80", "--inbox-samples", "3"),
    )
    assert results["plan"] == "desk"
    rd, bare = results["reviewdesk"], results["bare"]
    assert rd["reviews"] == 30 and rd["errors"] == 0 and rd["per_second"] > 0, rd
    assert 0 < rd["latency"]["p50_ms"] <= rd["latency"]["p99_ms"], rd
    assert [r["reviews"] for r in bare["runs"]] == [30, 30] and bare["errors"] == 0, bare
    assert results["ratio_reviewdesk_to_bare"] > 0
    opened = results["open"]
    # Every ticket's workflow runs (the warm-up's too), and each contact made its ticket pending.
    assert opened["tickets_running"] == 33, opened
    assert opened["contacts"] == opened["tickets_pending"] == 20, opened
    assert opened["worker_rss_mb"] > 0 and opened["errors"] == 0, opened
    inbox = results["inbox"]
    assert inbox["tickets"] == 80 and inbox["counts"]["all"] == 80, inbox
    for page in ("page", "api", "api_unanswered_negative", "api_assigned_to_me"):
        assert 0 < inbox[page]["p50_ms"] <= inbox[page]["p99_ms"], page
    assert set(results["targets"]) == {
        "worker_rss_mb",
        "inbox_api_p50_ms",
        "inbox_api_p99_ms",
        "inbox_page_p50_ms",
        "inbox_page_p99_ms",
    }

    printed = done.stdout
    for figure in (
        "desk plan",
        "platform request limit raised",
        "reviews / s",
        "ratio Reviewdesk / bare",
        "bare engine before / after Reviewdesk",
        "20 contacts waiting in their window, 20 tickets pending",
        "worker resident memory",
        "the inbox's first page at 80 tickets",
        "GET /api/v1/tickets",
        "/desk page",
    ):
        assert figure in printed, printed
