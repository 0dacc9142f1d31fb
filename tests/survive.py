"""What the survival suites share: Reviewdesk as it runs for real, pieces that can be killed.

A Temporal dev server of the suite's own on a SQLite file in a temporary folder (so it can be
stopped and started again on the same file), ``worker.py`` as a separate process (so SIGKILL is
a real ``kill -9``), an SMTP server and a webhook receiver on loopback that record every copy they
are handed, and the service driven from the test process on the same store file.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from temporalio.client import Client, WorkflowHistory

from delivery.mail import message_id
from delivery.webhooks import event_id
from domain.enums import ReviewSource
from settings import Settings
from starter.client import connect
from starter.devserver import DevServer
from starter.inputs import WebhookBody
from starter.service import Reviewdesk
from store import Database, accounts, outbox, reviews
from store.accounts import hash_secret
from store.records import now
from tests.processes import ROOT, env_for, free_port

# --- receivers -------------------------------------------------------------------------------


class SmtpInbox:
    """Every message an SMTP server on loopback accepted, copies included, by Message-ID."""

    def __init__(self) -> None:
        self.copies: list[tuple[str, list[str], bytes]] = []
        self.arrivals: dict[str, list[float]] = {}  # Message-ID -> time.monotonic() of each copy
        self._lock = threading.Lock()  # aiosmtpd serves from a thread of its own
        # Called with each accepted message's Message-ID and recipients, before the 250.
        self.on_accept: Callable[[str, list[str]], None] | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content
        parsed = BytesParser(policy=policy.default).parsebytes(raw)
        mid = str(parsed["Message-ID"])
        with self._lock:
            self.copies.append((mid, list(envelope.rcpt_tos), raw))
            self.arrivals.setdefault(mid, []).append(time.monotonic())
        if self.on_accept is not None:
            self.on_accept(mid, list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def by_id(self) -> Counter[str]:
        with self._lock:
            return Counter(mid for mid, _, _ in self.copies)

    def first(self, mid: str) -> EmailMessage | None:
        with self._lock:
            for got, _, raw in self.copies:
                if got == mid:
                    return BytesParser(policy=policy.default).parsebytes(raw)
        return None


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = SmtpInbox()
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


def _verifies(secret: str | None, body: bytes, headers: dict[str, str]) -> bool:
    """The Standard Webhooks check a receiver makes, with the specification's library."""
    if secret is None:
        return False
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


class WebhookReceiver:
    """A business's help desk on loopback: answers 200 and keeps every request it was sent."""

    def __init__(self) -> None:
        self.copies: list[tuple[str, bytes, bool]] = []
        self.arrivals: dict[str, list[float]] = {}  # event id -> time.monotonic() of each copy
        self.secrets: dict[str, str] = {}  # business id -> signing secret
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                business = json.loads(body).get("business_id", "")
                signed = _verifies(receiver.secrets.get(business), body, dict(self.headers))
                with receiver._lock:
                    eid = self.headers["webhook-id"]
                    receiver.copies.append((eid, body, signed))
                    receiver.arrivals.setdefault(eid, []).append(time.monotonic())
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/hooks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def by_id(self) -> Counter[str]:
        with self._lock:
            return Counter(eid for eid, _, _ in self.copies)

    def unsigned(self) -> int:
        with self._lock:
            return sum(1 for _, _, signed in self.copies if not signed)


# --- processes -------------------------------------------------------------------------------


class WorkerProcess:
    """``python worker.py`` with settings from the environment, as an operator runs it."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0

    def start(self, *, dying_after: str | None = None) -> None:
        """Starts ``worker.py``; with ``dying_after`` (``apply_decision:N``) the variant that
        kills itself right after that step's N-th write (``tests/dying_worker.py``)."""
        command = [sys.executable, "worker.py"]
        env = self.env
        if dying_after is not None:
            command = [sys.executable, "-m", "tests.dying_worker"]
            env = {**env, "SURVIVE_DIE_AFTER": dying_after}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        log.close()
        self.started += 1

    async def wait_polling(self, timeout: float = 30) -> None:
        """Until this run of the worker logs that it polls its task queue."""
        give_up = time.monotonic() + timeout
        while self.log_path.read_text().count("worker polling task queue") < self.started:
            assert self.process is not None and self.process.poll() is None, self.log()
            assert time.monotonic() < give_up, self.log()
            await asyncio.sleep(0.1)

    def kill9(self) -> None:
        assert self.process is not None and self.process.poll() is None, self.log()
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        assert self.process.returncode == -signal.SIGKILL

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    async def died(self, timeout: float) -> int | None:
        """Waits for the process to end by itself; its return code (None if it did not)."""
        assert self.process is not None
        try:
            return await asyncio.to_thread(self.process.wait, timeout)
        except subprocess.TimeoutExpired:
            return None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text()[-4000:] if self.log_path.exists() else ""


@dataclass
class Stack:
    """Dev server, worker process, receivers, and the service in this process on one store."""

    data_dir: Path
    settings: Settings
    server: DevServer
    worker: WorkerProcess
    smtp: SmtpServer
    hooks: WebhookReceiver
    db: Database
    client: Client

    def service(self, **windows: timedelta) -> Reviewdesk:
        """The service with windows of its own: they are fixed in each contact when it opens."""
        return Reviewdesk(self.client, self.db, self.settings.model_copy(update=windows))

    async def close(self) -> None:
        self.worker.stop()
        await self.db.close()
        await self.server.stop()
        self.smtp.stop()
        self.hooks.stop()


async def start_stack(tmp_path: Path, **worker_settings: str) -> Stack:
    data_dir = tmp_path / "data"
    address = f"127.0.0.1:{free_port()}"
    task_queue = f"survive-{secrets.token_hex(4)}"
    base = {
        "temporal_address": address,
        # No Web UI: a port picked free can be taken by the time a restarted server binds it.
        "temporal_ui_port": "0",
        "task_queue": task_queue,
        "public_base_url": "http://reviewdesk.test",
        # A killed worker's delivery attempt is retried after this, not after the default 30s.
        "delivery_attempt_timeout": "PT6S",
        # Within the attempt, as long as it allows: on a loaded 2-core CI machine the test's own
        # mail server once took over 3 s to answer a message it had taken, the sender timed out
        # and sent it again with no kill between (a resend the crash suite counts as a fault).
        "smtp_timeout": "PT5S",
        "webhook_timeout": "PT5S",
        # The suites' callers wait out a killed worker or a restarting server in one call, where
        # a client of the web app would get a 503 and retry; tests of the 503 set their own.
        "temporal_call_timeout": "PT120S",
        # The webhook receiver is on loopback.
        "webhook_allow_private": "true",
        **worker_settings,
    }
    smtp = SmtpServer()
    hooks = WebhookReceiver()
    smtp.start()
    hooks.start()
    env = env_for(
        data_dir,
        smtp_host="127.0.0.1",
        smtp_port=str(smtp.port),
        smtp_security="none",
        **base,
    )
    settings = Settings(
        _env_file=None,
        data_dir=data_dir,
        **base,  # type: ignore[arg-type]
    )
    server = DevServer(settings)
    await server.start()
    db = await Database(settings.store_path).connect()
    worker = WorkerProcess(env, tmp_path / "worker.log")
    worker.start()
    await worker.wait_polling()
    client = await connect(settings)
    return Stack(data_dir, settings, server, worker, smtp, hooks, db, client)


# --- seeded world ----------------------------------------------------------------------------


@dataclass
class Case:
    """One review and the contact a suite drives on it."""

    review_id: str
    business_id: str
    reviewer_email: str
    plan: str = ""
    contact_id: str = ""
    report_id: str = ""
    token: str = ""
    shared: str = ""
    note: str = ""


@dataclass
class Seeded:
    moderator: str
    businesses: list[str]
    webhooks: dict[str, str]
    """Business id to the id of its webhook endpoint."""
    cases: list[Case] = field(default_factory=list)


async def seed(stack: Stack, reviews_count: int, *, businesses: int = 4) -> Seeded:
    """Businesses (every other one with a webhook), a moderator, one reviewer and review each."""
    tag = secrets.token_hex(3)
    at = now()
    seeded = Seeded(f"mod_{tag}", [f"biz_{tag}_{b}" for b in range(businesses)], {})
    async with stack.db.tx() as conn:
        for business in seeded.businesses:
            await accounts.add_business(
                conn,
                id=business,
                name=f"Shop {business}",
                email=f"owner.{business}@business.example",
                api_key_hash=hash_secret(secrets.token_urlsafe(16)),
                created_at=at,
            )
        await accounts.add_moderator(
            conn, id=seeded.moderator, name="Mo", api_key_hash=None, created_at=at
        )
        for i in range(reviews_count):
            case = Case(
                review_id=f"rv_{tag}_{i}",
                business_id=seeded.businesses[i % businesses],
                reviewer_email=f"reviewer.{tag}.{i}@private.example",
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
            seeded.cases.append(case)
    for business in seeded.businesses[::2]:
        made = await stack.service().webhooks.register(business, WebhookBody(url=stack.hooks.url))
        stack.hooks.secrets[business] = made.secret
        seeded.webhooks[business] = made.endpoint.id
    return seeded


# --- reading what the world sees -------------------------------------------------------------


def receiver_id(key: str, channel: str) -> str:
    """How a receiver names one outbox message: its Message-ID, or its webhook event id."""
    return message_id(key) if channel == "email" else event_id(key)


async def reply_token(stack: Stack, contact_id: str, timeout: float = 90) -> str:
    """The token in the link of the email the reviewer received, as they would click it."""
    mid = message_id(f"{contact_id}:contact.requested:reviewer")
    give_up = time.monotonic() + timeout
    while (mail := stack.smtp.inbox.first(mid)) is None:
        assert time.monotonic() < give_up, f"no request email for {contact_id}"
        await asyncio.sleep(0.2)
    body = mail.get_body(("plain",))
    assert body is not None
    match = re.search(r"/reply/([A-Za-z0-9_\-]+)", str(body.get_content()))
    assert match, body
    return match.group(1)


async def outbox_status(db: Database) -> Counter[str]:
    async with db.read() as conn:
        return Counter(m.status for m in await outbox.all_messages(conn))


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout: float, what: str, poll: float = 0.25
) -> Any:
    give_up = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > give_up:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(poll)


async def gather_limited(limit: int, jobs: Iterable[Awaitable[Any]]) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(job: Awaitable[Any]) -> Any:
        async with gate:
            return await job

    return await asyncio.gather(*(one(j) for j in jobs))


# --- privacy ---------------------------------------------------------------------------------


def raw_history(history: WorkflowHistory) -> bytes:
    # Payloads are raw bytes inside the serialized events: search them, not a base64 rendering.
    return b"".join(event.SerializeToString() for event in history.events)


async def histories_holding(
    client: Client, task_queue: str, secrets_: Iterable[str], *, limit: int = 16
) -> tuple[int, list[str]]:
    """Scans the raw history of every workflow run on the task queue for any of ``secrets_``.

    Returns how many histories were scanned and ``workflow id: secret`` for every find.
    """
    needles = [s.encode() for s in set(secrets_) if s]
    runs = [
        (w.id, w.run_id)
        async for w in client.list_workflows(f'TaskQueue = "{task_queue}"', page_size=1000)
    ]

    async def scan(workflow_id: str, run_id: str) -> list[str]:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        raw = raw_history(history)
        return [f"{workflow_id}: {n.decode()}" for n in needles if n in raw]

    found = await gather_limited(limit, (scan(w, r) for w, r in runs))
    return len(runs), [f for finds in found for f in finds]
