"""What an operator watches (issue 16, acceptance 4): the worker's and the web app's /metrics,
scraped while one contact goes all the way through, as Prometheus would scrape them.

The worker (`worker.py`) and the web app (`reviewdesk web`) run as the processes an operator
starts, against a dev server of this test's own; logs as JSON lines, as a log collector reads
them.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from domain import contact_workflow_id
from settings import Settings
from starter.client import connect
from starter.devserver import DevServer
from store import Database
from tests.processes import BIN, ROOT, env_for, free_port, reply_token_from_mail
from tests.survive import WorkerProcess
from tests.world import World, make_world

pytestmark = [pytest.mark.devserver, pytest.mark.timeout(180)]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> tuple[set[str], Samples]:
    """The family names and every sample, with the Prometheus client library's own parser."""
    families = list(text_string_to_metric_families(text))
    samples: Samples = {}
    for family in families:
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return {f.name for f in families}, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@dataclass
class Stack:
    settings: Settings
    world: World
    web: str
    worker: str
    http: httpx.AsyncClient
    worker_process: WorkerProcess
    web_log: Path
    server: DevServer

    async def scrape(self, base: str) -> tuple[set[str], Samples]:
        answer = await self.http.get(f"{base}/metrics")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        return parse(answer.text)

    async def until(
        self, check: Callable[[], Awaitable[Any]], what: str, timeout: float = 40
    ) -> Any:
        give_up = time.monotonic() + timeout
        while not (found := await check()):
            assert time.monotonic() < give_up, f"{what}: not within {timeout}s"
            await asyncio.sleep(0.3)
        return found

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.world.keys[who]}"}


@pytest_asyncio.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    data = tmp_path / "data"
    web_port, worker_port = free_port(), free_port()
    values = {
        "temporal_address": f"127.0.0.1:{free_port()}",
        "temporal_ui_port": "0",
        "task_queue": f"metrics-{secrets.token_hex(4)}",
        "web_port": str(web_port),
        "worker_http_port": str(worker_port),
        "public_base_url": f"http://127.0.0.1:{web_port}",
        "log_format": "json",
        # Short windows, so that one contact goes through a report and an escalation in seconds.
        "reply_window": "PT3S",
        "moderation_sla": "PT2S",
        "drift_check_every": "PT1S",
    }
    settings = Settings(_env_file=None, data_dir=data, **values)  # type: ignore[arg-type]
    server = DevServer(settings)
    await server.start()
    async with Database(settings.store_path) as db:
        world = await make_world(db)
    env = env_for(data, **values)
    worker = WorkerProcess(env, tmp_path / "worker.log")
    web_log = tmp_path / "web.log"
    with web_log.open("ab") as log:
        web = subprocess.Popen(
            [str(BIN / "reviewdesk"), "web"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    try:
        worker.start()
        await worker.wait_polling()
        async with httpx.AsyncClient(timeout=30) as http:
            running = Stack(
                settings,
                world,
                f"http://127.0.0.1:{web_port}",
                f"http://127.0.0.1:{worker_port}",
                http,
                worker,
                web_log,
                server,
            )

            async def web_up() -> bool:
                assert web.poll() is None, web_log.read_text()[-3000:]
                try:
                    return (await http.get(f"{running.web}/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await running.until(web_up, "the web app ready")
            yield running
    finally:
        web.terminate()
        web.wait(30)
        worker.stop()
        await server.stop()


async def test_worker_and_web_metrics_hold_the_named_series_and_move_with_one_contact(
    stack: Stack,
) -> None:
    w = stack.world
    _, worker_before = await stack.scrape(stack.worker)
    _, web_before = await stack.scrape(stack.web)

    opened = await stack.http.post(
        f"{stack.web}/api/v1/reviews/{w.review['organic']}/contacts",
        json={"message": "Which order was this?"},
        headers=stack.as_(w.business),
    )
    assert opened.status_code == 201, opened.text
    contact_id = opened.json()["id"]
    refused = await stack.http.post(
        f"{stack.web}/api/v1/reviews/{w.review['platform']}/contacts",
        json={"message": "And this one?"},
        headers=stack.as_(w.business),
    )
    assert refused.status_code == 422 and "not_eligible_source" in refused.text
    token = reply_token_from_mail(stack.settings.mail_dir, contact_id)
    assert (await stack.http.get(f"{stack.web}/reply/{token}")).status_code == 200

    async def no_response() -> bool:
        got = await stack.http.get(
            f"{stack.web}/api/v1/contacts/{contact_id}", headers=stack.as_(w.business)
        )
        return bool(got.json()["status"] == "no_response")

    await stack.until(no_response, "the reply window closed")
    reported = await stack.http.post(
        f"{stack.web}/api/v1/contacts/{contact_id}/report",
        json={"grounds": "no_response"},
        headers=stack.as_(w.business),
    )
    assert reported.status_code == 202, reported.text
    report_id = reported.json()["id"]
    _, pending = await stack.scrape(stack.worker)
    assert value(pending, "reviewdesk_reports", status="pending") == 1

    async def escalated() -> bool:
        _, now = await stack.scrape(stack.worker)
        return value(now, "reviewdesk_escalations_total") >= 1

    await stack.until(escalated, "the report escalated past its 2s SLA")
    decided = await stack.http.post(
        f"{stack.web}/api/v1/reports/{report_id}/decision",
        json={"decision": "uphold", "note": "Not a customer."},
        headers=stack.as_(w.moderator),
    )
    assert decided.status_code == 200, decided.text

    # A contact whose workflow someone terminated: the worker's drift check counts it.
    other = await stack.http.post(
        f"{stack.web}/api/v1/reviews/{w.review['organic2']}/contacts",
        json={"message": "Was this you?"},
        headers=stack.as_(w.business),
    )
    assert other.status_code == 201, other.text
    client = await connect(stack.settings)
    await client.get_workflow_handle(contact_workflow_id(w.review["organic2"])).terminate()

    async def drift_found() -> tuple[set[str], Samples] | None:
        names, now = await stack.scrape(stack.worker)
        drift = value(now, "reviewdesk_drift_records", kind="contact") == 1
        applied = value(now, "reviewdesk_reports_decided_total", decision="uphold") == 1
        return (names, now) if drift and applied else None

    names, after = await stack.until(drift_found, "the decision applied and the drift counted")

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(worker_before, name, **labels)

    assert moved("reviewdesk_contacts_opened_total") == 2
    assert moved("reviewdesk_contacts_refused_total", reason="not_eligible_source") == 1
    assert moved("reviewdesk_contacts_refused_total", reason="open_contact") == 0
    assert moved("reviewdesk_escalations_total") == 1
    assert moved("reviewdesk_reports_decided_total", decision="uphold") == 1
    assert value(after, "reviewdesk_reports", status="pending") == 0
    assert value(after, "reviewdesk_reports", status="upheld") == 1
    # The request, its no-response, the report to both sides, the escalation, the decision to
    # both sides, the second request: emails, each tried once and accepted (.eml files).
    assert moved("reviewdesk_delivery_attempts_total", channel="email") >= 8
    assert moved("reviewdesk_delivery_failures_total", channel="email") == 0
    assert value(after, "reviewdesk_drift_checks_total") >= 1
    # The Temporal SDK's own, drained into the same scrape.
    assert {
        "temporal_request",
        "temporal_num_pollers",
        "temporal_workflow_task_schedule_to_start_latency_seconds",
        # The steps run as local activities.
        "temporal_local_activity_execution_latency_seconds",
    } <= names
    assert value(after, "temporal_workflow_completed_total", **_sdk_labels(after)) >= 1

    web_names, web_after = await stack.scrape(stack.web)
    assert {"reviewdesk_http_requests", "reviewdesk_http_request_duration_seconds"} <= web_names

    def web_moved(name: str, **labels: str) -> float:
        return value(web_after, name, **labels) - value(web_before, name, **labels)

    contacts_route = "/api/v1/reviews/{review_id}/contacts"
    requests = "reviewdesk_http_requests_total"
    assert web_moved(requests, method="POST", route=contacts_route, status="201") == 2
    assert web_moved(requests, method="POST", route=contacts_route, status="422") == 1
    assert web_moved(requests, method="GET", route="/reply/{token}", status="200") == 1
    latency = "reviewdesk_http_request_duration_seconds_count"
    assert web_moved(latency, method="POST", route=contacts_route) == 3
    assert web_moved(latency, method="POST", route="/api/v1/reports/{report_id}/decision") == 1
    web_text = (await stack.http.get(f"{stack.web}/metrics")).text
    for raw in (token, contact_id, report_id, w.review["organic"], w.business):
        assert raw not in web_text

    # Both processes logged JSON lines only, and not one address or token among them.
    worker_lines = stack.worker_process.log_path.read_text().splitlines()
    web_lines = stack.web_log.read_text().splitlines()
    for line in [*worker_lines, *web_lines]:
        parsed = json.loads(line)
        assert {"level", "logger", "message", "timestamp"} <= parsed.keys(), line
    everything = "\n".join([*worker_lines, *web_lines])
    assert "worker polling task queue" in everything and "/reply/<token>" in everything
    for secret in (token, w.reviewer_email, w.business_email, stack.world.keys[w.business]):
        assert secret not in everything


def _sdk_labels(samples: Samples) -> dict[str, str]:
    """The labels of the SDK's completed-workflows counter for the contact workflow."""
    for name, labels in samples:
        found = dict(labels)
        if name == "temporal_workflow_completed_total" and found.get("workflow_type") == (
            "ReviewerContactWorkflow"
        ):
            return found
    raise AssertionError("no completed ReviewerContactWorkflow in the SDK's metrics")
