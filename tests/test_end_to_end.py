"""The real thing: dev server, worker.py in its own process, the CLI as a user types it (9)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.processes import BIN, ROOT, cli, cli_json, env_for, free_port, reply_token_from_mail


@pytest.fixture
def service_env(dev_env: WorkflowEnvironment, tmp_path: Path) -> Iterator[dict[str, str]]:
    address = dev_env.client.service_client.config.target_host
    env = env_for(
        tmp_path / "data",
        temporal_address=address,
        task_queue=f"e2e-{tmp_path.name}",
        reply_window="PT8S",  # short: the silent contact below runs into it for real
        report_window="PT1H",
    )
    cli(env, "seed", "--demo")
    worker = subprocess.Popen(
        [sys.executable, "worker.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    env["REVIEWDESK_WEB_PORT"] = str(free_port())
    web = subprocess.Popen(
        [str(BIN / "reviewdesk"), "web"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield env
    web.terminate()
    web.wait(timeout=30)
    worker.terminate()
    _, errors = worker.communicate(timeout=30)
    assert worker.returncode == 0, errors


def test_cli_drives_a_contact_through_reply_report_and_decision_on_the_dev_server(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    env = service_env
    opened = cli_json(
        env,
        "contact",
        "rv_bakery_organic_1",
        "--business",
        "biz_harbour_bakery",
        "--message",
        "We can't find your order, can you help?",
        "--request",
        "order_reference",
    )
    contact_id = opened["contact"]["id"]
    assert opened["contact"]["status"] == "awaiting_reply"

    token = reply_token_from_mail(tmp_path / "data" / "mail", contact_id)
    replied = cli_json(env, "reply", token, "--order-reference", "HB-2291")
    assert replied["status"] == "replied"

    reported = cli_json(
        env,
        "report",
        contact_id,
        "--business",
        "biz_harbour_bakery",
        "--grounds",
        "insufficient_information",
    )
    report_id = reported["report"]["id"]
    assert reported["review"]["visibility"] == "hidden"

    decided = cli_json(env, "decide", report_id, "uphold", "--note", "Order not in our system")
    assert decided["report"]["status"] == "upheld"
    assert decided["review"]["visibility"] == "removed"

    # `reviewdesk web`, on its own, shows the outcome on the public page: the review is gone.
    base = f"http://127.0.0.1:{env['REVIEWDESK_WEB_PORT']}"
    give_up = time.monotonic() + 30
    while True:
        try:
            page = httpx.get(f"{base}/businesses/biz_harbour_bakery")
            break
        except httpx.TransportError:
            assert time.monotonic() < give_up, "reviewdesk web never answered"
            time.sleep(0.2)
    assert page.status_code == 200 and "Cake arrived late" in page.text
    assert "Stale bread, rude staff" not in page.text

    shown = cli(env, "show", contact_id).stdout
    assert f"contact {contact_id}" in shown and "status reported" in shown
    assert "reply: order reference='HB-2291'" in shown
    assert "upheld" in cli(env, "show", report_id).stdout


def test_cli_refusals_exit_non_zero_with_their_reason_and_silence_ends_the_window(
    service_env: dict[str, str],
) -> None:
    env = service_env
    refused = cli(
        env,
        "contact",
        "rv_bakery_platform_1",
        "--business",
        "biz_harbour_bakery",
        "--message",
        "Hello",
        check=False,
    )
    assert refused.returncode == 2
    assert "refused: not_eligible_source" in refused.stderr
    bad = cli(
        env,
        "contact",
        "rv_bakery_organic_2",
        "--business",
        "biz_harbour_bakery",
        "--message",
        "",
        check=False,
    )
    assert bad.returncode == 2 and "invalid input" in bad.stderr

    opened = cli_json(
        env,
        "contact",
        "rv_bakery_organic_2",
        "--business",
        "biz_harbour_bakery",
        "--message",
        "Do you have a receipt?",
    )
    contact_id = opened["contact"]["id"]
    early = cli(
        env,
        "report",
        contact_id,
        "--business",
        "biz_harbour_bakery",
        "--grounds",
        "no_response",
        check=False,
    )
    assert early.returncode == 2 and "refused: window_open" in early.stderr

    give_up = time.monotonic() + 40
    while cli_json(env, "show", contact_id)["contact"]["status"] != "no_response":
        assert time.monotonic() < give_up, "the 8-second window never closed"
        time.sleep(0.5)
    reported = cli_json(
        env, "report", contact_id, "--business", "biz_harbour_bakery", "--grounds", "no_response"
    )
    assert reported["report"]["status"] == "pending"
