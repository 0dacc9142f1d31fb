"""Two workers and two web apps on one dev server and one PostgreSQL; one worker dies by SIGKILL.

Operators scale out by running more worker and web app processes against one Temporal and one
store. Here every business action and every reviewer's answer goes over HTTP, each case's steps
alternating between the two web apps, while worker A is killed with SIGKILL in the middle of the
mix and worker B carries on alone. Then every contact and report must be in its right final
state, every expected email and webhook event must exist once in the outbox and have been
delivered once (one .eml file per email, its webhook id at the receiver), the store and Temporal
must agree, and both web apps must have answered every read throughout.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client

from delivery.mail import FileMailer
from delivery.webhooks import event_id
from domain.enums import REVIEWER_CONTACTED_LABEL, ReviewSource
from settings import Settings
from starter.client import connect
from starter.devserver import DevServer
from store import Store, accounts, contacts, history, open_store, outbox, reports, reviews
from store.accounts import hash_secret
from store.records import now
from tests import consistency
from tests.processes import BIN, ROOT, env_for, free_port, reply_token_from_mail
from tests.survive import (
    Case,
    WebhookReceiver,
    WorkerProcess,
    eventually,
    gather_limited,
    histories_holding,
)
from tests.test_survive_crash import PLANS, expected_final, removal_statement

pytestmark = [pytest.mark.devserver, pytest.mark.survive, pytest.mark.timeout(240)]

# Each plan ends with every contact closed or reported and every report decided, so that the
# world settles within the test; the crash suite covers the windows that run out.
USED_PLANS = [
    "reply_report_uphold",
    "reply_report_reject",
    "decline_report_uphold",
    "reply_close",
    "close_while_waiting",
]
PER_PLAN = 8
BUSINESSES = 4
CONCURRENCY = 12
BUSINESS_MESSAGE = "Many-processes suite: which order was this?"
HTTP_TIMEOUT = 150.0  # beyond temporal_call_timeout, so the web app answers first


class WebApp:
    """``reviewdesk web`` as an operator runs it, one of several behind a load balancer."""

    def __init__(self, name: str, env: dict[str, str], port: int, log_path: Path) -> None:
        self.name = name
        self.env = {**env, "REVIEWDESK_WEB_PORT": str(port)}
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.http = httpx.AsyncClient(base_url=self.url, timeout=HTTP_TIMEOUT)

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(BIN / "reviewdesk"), "web"], cwd=ROOT, env=self.env, stdout=log, stderr=log
            )

    async def wait_ready(self, timeout: float = 60) -> None:
        give_up = time.monotonic() + timeout
        while True:
            assert self.process is not None and self.process.poll() is None, self.log()
            try:
                if (await self.http.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < give_up, self.log()
            await asyncio.sleep(0.2)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def stop(self) -> None:
        await self.http.aclose()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text()[-4000:] if self.log_path.exists() else ""


@dataclass
class Many:
    settings: Settings
    server: DevServer
    workers: list[WorkerProcess]
    worker_urls: list[str]
    apps: list[WebApp]
    hooks: WebhookReceiver
    db: Store
    client: Client


@pytest_asyncio.fixture
async def many(tmp_path: Path, pg_url: str) -> AsyncIterator[Many]:
    data_dir = tmp_path / "data"
    base = {
        "temporal_address": f"127.0.0.1:{free_port()}",
        "temporal_ui_port": "0",
        "task_queue": f"many-{secrets.token_hex(4)}",
        "database_url": pg_url,
        "public_base_url": "http://reviewdesk.test",
        # A killed worker's delivery attempt is retried after this, not after the default 30s.
        "delivery_attempt_timeout": "PT6S",
        "smtp_timeout": "PT3S",
        "webhook_timeout": "PT3S",
        # A call waits out the killed worker's tasks in one go, as in the other survival suites.
        "temporal_call_timeout": "PT120S",
        "webhook_allow_private": "true",
        # Nobody repairs drift here: what the consistency check finds is the product's own.
        "drift_check_every": "0",
    }
    settings = Settings(_env_file=None, data_dir=data_dir, **base)  # type: ignore[arg-type]
    hooks = WebhookReceiver()
    hooks.start()
    server = DevServer(settings)
    await server.start()
    db = await open_store(settings).connect()
    env = env_for(data_dir, **base)
    worker_ports = [free_port(), free_port()]
    workers = [
        WorkerProcess(
            {**env, "REVIEWDESK_WORKER_HTTP_PORT": str(port)}, tmp_path / f"worker-{name}.log"
        )
        for name, port in zip("AB", worker_ports, strict=True)
    ]
    apps = [WebApp(n, env, free_port(), tmp_path / f"web-{n}.log") for n in ("1", "2")]
    client = await connect(settings)
    found = Many(
        settings,
        server,
        workers,
        [f"http://127.0.0.1:{p}" for p in worker_ports],
        apps,
        hooks,
        db,
        client,
    )
    try:
        for worker in workers:
            worker.start()
        for app in apps:
            app.start()
        await asyncio.gather(*(w.wait_polling(60) for w in workers))
        await asyncio.gather(*(a.wait_ready() for a in apps))
        yield found
    finally:
        for worker in workers:
            worker.stop()
        for app in apps:
            await app.stop()
        await db.close()
        await server.stop()
        hooks.stop()


@dataclass
class World:
    moderator_key: str
    keys: dict[str, str]  # business id -> its API key
    webhooks: dict[str, str] = field(default_factory=dict)  # business id -> endpoint id
    cases: list[Case] = field(default_factory=list)


async def seed(db: Store, reviews_count: int) -> World:
    """Businesses and a moderator with API keys, one reviewer and review per case."""
    tag = secrets.token_hex(3)
    at = now()
    world = World(accounts.new_api_key("mod"), {})
    async with db.tx() as conn:
        for b in range(BUSINESSES):
            business = f"biz_{tag}_{b}"
            world.keys[business] = accounts.new_api_key("biz")
            await accounts.add_business(
                conn,
                id=business,
                name=f"Shop {b}",
                email=f"owner.{business}@business.example",
                api_key_hash=hash_secret(world.keys[business]),
                created_at=at,
            )
        await accounts.add_moderator(
            conn,
            id=f"mod_{tag}",
            name="Mo",
            api_key_hash=hash_secret(world.moderator_key),
            created_at=at,
        )
        businesses = list(world.keys)
        for i in range(reviews_count):
            case = Case(
                review_id=f"rv_{tag}_{i}",
                business_id=businesses[i % BUSINESSES],
                reviewer_email=f"reviewer.{tag}.{i}@private.example",
                plan=USED_PLANS[i % len(USED_PLANS)],
            )
            await accounts.add_reviewer(
                conn,
                id=f"rvr_{tag}_{i}",
                display_name=f"Reviewer {i}",
                email=case.reviewer_email,
                created_at=at,
            )
            await reviews.add_review(
                conn,
                id=case.review_id,
                business_id=case.business_id,
                reviewer_id=f"rvr_{tag}_{i}",
                rating=1,
                title=f"Review {i}",
                text=f"Text of review {i}",
                source=ReviewSource.ORGANIC if i % 2 else ReviewSource.EXTERNAL_INVITATION,
                created_at=at - timedelta(days=1),
            )
            world.cases.append(case)
    return world


def step_of(method: str, path: str) -> str:
    """Which step a client's call is, for the report of what was in flight at the kill."""
    if method == "GET":
        return "read"
    if path.startswith("/reply/"):
        return "answer"
    last = path.rsplit("/", 1)[-1]
    return {"contacts": "request", "webhooks": "webhook"}.get(last, last)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def scrape(url: str) -> dict[str, float]:
    """The worker's own counters, summed over their labels."""
    async with httpx.AsyncClient(timeout=10) as http:
        text = (await http.get(f"{url}/metrics")).text
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("reviewdesk_") and sample.name.endswith("_total"):
                totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
    return totals


async def test_two_workers_two_web_apps_one_killed_lose_nothing_and_duplicate_nothing(
    many: Many,
) -> None:
    started = time.monotonic()
    world = await seed(many.db, PER_PLAN * len(USED_PLANS))
    cases = world.cases
    apps = many.apps
    mail = FileMailer(many.settings.mail_dir)
    requests: Counter[str] = Counter()  # "web app: status" of every call the clients made
    flying: Counter[str] = Counter()  # the steps clients are waiting on, by kind
    retried = 0

    async def call(app: WebApp, method: str, path: str, ok: int, **kw: Any) -> httpx.Response:
        """One client's call; a 503 is retried with the same Idempotency-Key, as DESIGN asks."""
        nonlocal retried
        key = secrets.token_urlsafe(12)
        headers = {"Idempotency-Key": key, **kw.pop("headers", {})}
        if "data" in kw:  # a page's form carries its key as a field
            kw["data"] = {**kw["data"], "idempotency_key": key}
        step = step_of(method, path)
        flying[step] += 1
        try:
            for _ in range(5):
                got = await app.http.request(method, path, headers=headers, **kw)
                requests[f"{app.name}: {got.status_code}"] += 1
                if got.status_code != 503:
                    break
                retried += 1
                await asyncio.sleep(1)
        finally:
            flying[step] -= 1
        assert got.status_code == ok, f"{method} {path} on {app.name}: {got.status_code} {got.text}"
        return got

    # Businesses 0 and 2 send their events to a webhook too, registered through web app 1.
    for business in list(world.keys)[::2]:
        made = await call(
            apps[0],
            "POST",
            "/api/v1/webhooks",
            201,
            json={"url": many.hooks.url},
            headers=bearer(world.keys[business]),
        )
        many.hooks.secrets[business] = made.json()["secret"]
        world.webhooks[business] = made.json()["endpoint"]["id"]

    # Both web apps answer a read all along, the kill included.
    reads: dict[str, Counter[int | str]] = {app.name: Counter() for app in apps}
    reading = True

    async def keep_reading(app: WebApp) -> None:
        business = next(iter(world.keys))
        while reading:
            try:
                got = await app.http.get(f"/api/v1/businesses/{business}/reviews", timeout=10)
                reads[app.name][got.status_code] += 1
            except httpx.HTTPError as err:
                reads[app.name][type(err).__name__] += 1
            await asyncio.sleep(0.3)

    readers = [asyncio.create_task(keep_reading(app)) for app in apps]

    async def drive(i: int, case: Case) -> None:
        """One case from its contact request to its end, each step on the other web app."""
        answer, after, decision = PLANS[case.plan]
        business = bearer(world.keys[case.business_id])
        first, second = apps[i % 2], apps[(i + 1) % 2]
        opened = await call(
            first,
            "POST",
            f"/api/v1/reviews/{case.review_id}/contacts",
            201,
            json={"message": BUSINESS_MESSAGE},
            headers=business,
        )
        case.contact_id = opened.json()["id"]
        if answer:
            case.token = await asyncio.to_thread(
                reply_token_from_mail, many.settings.mail_dir, case.contact_id, 90
            )
            form = {"action": answer}
            if answer == "reply":
                case.shared = f"ORDER-{case.review_id}"
                form |= {"order_reference": case.shared, "message": "It was me."}
            await call(second, "POST", f"/reply/{case.token}", 200, data=form)
        if after == "close":
            await call(
                second, "POST", f"/api/v1/contacts/{case.contact_id}/close", 200, headers=business
            )
            return

        async def window_closed() -> bool:
            got = await call(
                first, "GET", f"/api/v1/contacts/{case.contact_id}", 200, headers=business
            )
            return bool(got.json()["status"] != "awaiting_reply")

        await eventually(window_closed, 60, f"{case.contact_id}: the answer recorded")
        grounds = "insufficient_information" if answer == "reply" else "no_response"
        filed = await call(
            first,
            "POST",
            f"/api/v1/contacts/{case.contact_id}/report",
            202,
            json={"grounds": grounds},
            headers=business,
        )
        case.report_id = filed.json()["id"]
        case.note = f"Moderator note on {case.review_id}"
        decided = await call(
            second,
            "POST",
            f"/api/v1/reports/{case.report_id}/decision",
            200,
            json={"decision": decision, "note": case.note},
            headers=bearer(world.moderator_key),
        )
        assert decided.json()["status"] != "pending"

    failed: dict[str, str] = {}

    finished: list[str] = []

    async def guarded(i: int, case: Case) -> None:
        try:
            await drive(i, case)
            finished.append(case.review_id)
        except Exception as err:
            failed[case.review_id] = f"{case.plan}: {type(err).__name__}: {err}"

    driving = asyncio.ensure_future(
        gather_limited(CONCURRENCY, (guarded(i, c) for i, c in enumerate(cases)))
    )

    # Worker A dies with a third of the cases through and clients waiting on steps of several
    # kinds: contact requests, answers, reports and decisions.
    async def mid_mix() -> bool:
        waiting = {step for step, n in flying.items() if n > 0 and step != "read"}
        return len(finished) >= len(cases) / 3 and len(waiting) >= 2

    # Killed all the same if that moment never comes; the assertion on what was in flight tells.
    with contextlib.suppress(AssertionError):
        await eventually(mid_mix, 90, "the middle of the mix", poll=0.02)
    worker_a, worker_b = many.workers
    done_by_a = {k: v for k, v in (await scrape(many.worker_urls[0])).items() if v}
    in_flight_at_kill = {step: n for step, n in flying.items() if n > 0}
    worker_a.kill9()
    killed_at = time.monotonic()
    cases_through = len(finished)
    async with many.db.read() as conn:
        at_kill = Counter(m.status for m in await outbox.all_messages(conn))
    await driving

    async def settled() -> bool:
        async with many.db.read() as conn:
            for case in cases:
                contact = await contacts.get_contact(conn, case.contact_id)
                if contact is None or contact.status.is_open:
                    return False
            return all(m.status != "pending" for m in await outbox.all_messages(conn))

    if not failed:
        await eventually(settled, 60, "every contact ended and every message sent")
    reading = False
    await asyncio.gather(*readers)

    # --- what the world sees -------------------------------------------------------------------
    right, wrong, want = 0, [], set()
    async with many.db.read() as conn:
        for case in cases:
            removal = await removal_statement(conn, case.report_id)
            state, keys = expected_final(case, world.webhooks, removal)
            want |= keys
            contact = await contacts.get_contact(conn, case.contact_id)
            report = await reports.get_report(conn, case.report_id) if case.report_id else None
            review = await reviews.get_review(conn, case.review_id)
            events = await history.history_of(conn, [case.contact_id, case.report_id])
            got = {
                "contact": contact.status if contact else None,
                "report": report.status if report else None,
                "visibility": review.visibility if review else None,
                "history": Counter(e.type for e in events),
            }
            if got == state and review is not None and REVIEWER_CONTACTED_LABEL in review.labels:
                right += 1
            else:
                wrong.append(f"{case.plan} {case.contact_id}: {got} != {state}")
        rows = {m.key: m for m in await outbox.all_messages(conn)}

    def is_email(key: str) -> bool:
        return rows[key].channel == "email" if key in rows else ":webhook:" not in key

    files = {p.name for p in many.settings.mail_dir.glob("*.eml")}
    file_of = {mail.path_for(k).name: k for k in want if is_email(k)}
    hook_of = {event_id(k): k for k in want if not is_email(k)}
    received = many.hooks.by_id()
    delivered = {
        k
        for k in want
        if k in rows
        and rows[k].status == "sent"
        and (mail.path_for(k).name in files if is_email(k) else event_id(k) in received)
    }
    lost = sorted(want - delivered)
    # A duplicate: a second outbox row for one event, or a file or webhook event nobody expects.
    extra_rows = sorted(set(rows) - want)
    extra_files = sorted(files - set(file_of))
    extra_hooks = sorted(set(received) - set(hook_of))
    duplicated = len(extra_rows) + len(extra_files) + len(extra_hooks)
    # The same event handed over again under its own id (the receiver drops it by that id):
    # only a kill between the receiver's 200 and the outbox's "sent" can do that.
    resent_without_kill = [
        eid
        for eid, times in many.hooks.arrivals.items()
        if len(times) > 1 and not times[0] <= killed_at <= times[-1]
    ]
    secrets_ = [BUSINESS_MESSAGE]
    for case in cases:
        secrets_ += [case.reviewer_email, case.token, case.shared, case.note]
    scanned, leaks = await histories_holding(
        many.client, many.settings.task_queue, [s for s in secrets_ if s]
    )
    broken = await consistency.wait_consistent(
        many.db, many.client, task_queue=many.settings.task_queue, timeout=15
    )
    reports_filed = sum(1 for c in cases if c.report_id)
    print(
        f"\nmany processes: 2 workers, 2 web apps, one PostgreSQL; worker A killed with SIGKILL"
        f" at {killed_at - started:.0f}s, {cases_through} cases through,"
        f" clients waiting on {in_flight_at_kill},"
        f" outbox {dict(at_kill)}, after it had counted {done_by_a}"
        f"\n  calls by web app and status:   {dict(sorted(requests.items()))}, {retried} retried"
        f"\n  reads by web app and status:   { {k: dict(v) for k, v in reads.items()} }"
        f"\n  contacts {len(cases)}, reports {reports_filed}, messages {len(want)},"
        f" lost {len(lost)}, duplicated {duplicated}"
        f"\n  right final state: {right} of {len(cases)}; {len(files)} .eml files,"
        f" {sum(received.values())} webhook copies ({sum(received.values()) - len(received)}"
        " resent under the same id around the kill, which the receiver drops);"
        f" consistency violations: {len(broken)}"
        f"\n  histories scanned for addresses and words: {scanned}, finds: {len(leaks)}"
        f"\n  done in {time.monotonic() - started:.0f}s"
    )
    assert not failed, consistency.summary(f"{k}: {v}" for k, v in failed.items())
    assert done_by_a.get("reviewdesk_contacts_opened_total", 0) > 0, "worker A had done nothing"
    assert set(in_flight_at_kill) - {"read"}, "nothing was in flight at the kill"
    assert not wrong, consistency.summary(wrong)
    assert right == len(cases)
    assert duplicated == 0, (extra_rows[:5], extra_files[:5], extra_hooks[:5])
    assert not lost, lost[:10]
    assert not resent_without_kill, resent_without_kill[:10]
    assert many.hooks.unsigned() == 0
    assert not broken, consistency.summary(broken)
    assert not leaks, leaks[:10]
    for app in apps:
        assert app.alive(), app.log()
        assert set(reads[app.name]) == {200} and reads[app.name][200] > 10, reads
    assert worker_b.alive(), worker_b.log()
