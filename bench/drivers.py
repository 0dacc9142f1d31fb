"""Driving lifecycles: Reviewdesk through its HTTP API, the bare engine through a Temporal client.

Both drivers run every lifecycle as its own task and hold at most ``concurrency`` requests in
flight at once (``Slots``: a limit around each request, never around a whole lifecycle, so
waiting for a window holds no slot; the next step of an open lifecycle goes before a new
contact). A latency is measured from the moment a request holds its slot to its answer: what one
of ``concurrency`` clients, each sending its next request as soon as it may, would see.

Both wait for a window's outcome the same way: from the deadline on, they read the contact's
status (Reviewdesk: ``GET /api/v1/contacts/{id}``; bare: a query) until it has changed.
"""

from __future__ import annotations

import asyncio
import heapq
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from temporalio.client import Client, WorkflowUpdateFailedError

from bench.bare_activities import BareInput, BareState, report_id_of
from bench.bare_workflows.lifecycle import BareLifecycleWorkflow
from bench.bare_workflows.report import BareReportWorkflow
from delivery.links import Links, Purpose, secret_key
from settings import Settings
from store import Store, outbox

# How long a client waits to look (again) once a window should have closed.
POLL = 0.25
# Deliveries of a run that are still going this long after its last request are a failure.
DRAIN_TIMEOUT = 300


@dataclass(frozen=True)
class Plan:
    """What happens to one contact: the same plans drive Reviewdesk and the bare engine."""

    reply: bool
    report: bool
    decide: bool
    uphold: bool


class Slots:
    """At most ``size`` requests in flight; a lifecycle's next step goes before a new contact.

    Twenty clients working through a thousand contacts answer the replies, reports and
    decisions that are due before they open more contacts; a plain FIFO semaphore would queue a
    reply behind every contact requested before it, until its window had closed.
    """

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = 0

    @asynccontextmanager
    async def hold(self, priority: int) -> AsyncIterator[None]:
        if self._free > 0 and not self._waiting:
            self._free -= 1
        else:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._seq += 1
            heapq.heappush(self._waiting, (priority, self._seq, future))
            await future  # the slot is handed over by the holder that releases it
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        while self._waiting:
            _, _, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)
                return
        self._free += 1


NEW, NEXT = 1, 0  # priorities: a new contact, the next step of one already open


def make_plans(n: int, report_share: float, decide_share: float, seed: int = 7) -> list[Plan]:
    """Half replied, half left to the window; a share of each reported, the rest closed."""
    rng = random.Random(seed)
    plans = []
    for i in range(n):
        report = rng.random() < report_share
        decide = report and rng.random() < decide_share
        plans.append(Plan(reply=i % 2 == 0, report=report, decide=decide, uphold=i % 3 == 0))
    return plans


@dataclass
class Recorder:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    first_start: float | None = None
    last_final: float = 0.0

    def started(self) -> None:
        now = time.perf_counter()
        if self.first_start is None or now < self.first_start:
            self.first_start = now

    def final(self) -> None:
        self.last_final = max(self.last_final, time.perf_counter())

    def add(self, name: str, seconds: float) -> None:
        self.latencies.setdefault(name, []).append(seconds * 1000)

    def error(self, what: str) -> None:
        self.errors.append(what)

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    @property
    def elapsed(self) -> float:
        return self.last_final - (self.first_start or self.last_final)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p% of the values at or below."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


async def time_gets(http: httpx.AsyncClient, path: str, samples: int) -> dict[str, Any]:
    """``samples`` GETs of a page or a list, one after another: p50, p95, p99 and the largest,
    in ms, and the answer's size. The first answer warms the app's caches; not counted."""
    await http.get(path)
    times: list[float] = []
    size = 0
    for _ in range(samples):
        started = time.perf_counter()
        response = await http.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code}")
        size = len(response.content)
    return {
        "samples": samples,
        "p50_ms": round(percentile(times, 50), 1),
        "p95_ms": round(percentile(times, 95), 1),
        "p99_ms": round(percentile(times, 99), 1),
        "max_ms": round(max(times), 1),
        "bytes": size,
    }


def summary(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "p50_ms": round(percentile(values, 50), 1),
        "p95_ms": round(percentile(values, 95), 1),
        "p99_ms": round(percentile(values, 99), 1),
    }


def summarised(by_name: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """``summary`` of each named list of milliseconds, in name order."""
    return {name: summary(values) for name, values in sorted(by_name.items())}


async def run_all(n: int, lifecycle: Callable[[int], Awaitable[None]], recorder: Recorder) -> None:
    async def one(i: int) -> None:
        try:
            await lifecycle(i)
        except Exception as err:
            recorder.error(f"lifecycle {i}: {type(err).__name__}: {err}")

    await asyncio.gather(*(one(i) for i in range(n)))


def _seconds_until(moment: datetime) -> float:
    return (moment - datetime.now(UTC)).total_seconds()


class ReviewdeskDriver:
    """A business, its reviewers and a moderator, each doing what the product lets them do."""

    # The requests that start a new case: they wait behind those that carry one further.
    OPENING: frozenset[str] = frozenset({"contact"})

    def __init__(
        self,
        http: httpx.AsyncClient,
        store: Store,
        *,
        settings: Settings,
        business_keys: dict[str, str],
        moderator_key: str,
        concurrency: int,
        recorder: Recorder,
    ) -> None:
        self.http = http
        self.store = store
        # The worker puts each reply link into its email from the key it keeps in the data folder.
        self.links = Links(secret_key(settings), "")
        self.business_keys = business_keys
        self.moderator_key = moderator_key
        self.slots = Slots(concurrency)
        self.rec = recorder

    async def _request(
        self, name: str | None, method: str, url: str, key: str | None = None, **kw: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        async with self.slots.hold(NEW if name in self.OPENING else NEXT):
            started = time.perf_counter()
            response = await self.http.request(method, url, headers=headers, **kw)
            if name is not None:
                self.rec.add(name, time.perf_counter() - started)
        return response

    @staticmethod
    def _expect(response: httpx.Response, status: int, what: str) -> dict[str, Any]:
        if response.status_code != status:
            raise RuntimeError(f"{what}: {response.status_code} {response.text[:300]}")
        body: dict[str, Any] = (
            response.json() if "json" in response.headers.get("content-type", "") else {}
        )
        return body

    async def open_contact(self, review_id: str, business_id: str) -> dict[str, Any]:
        self.rec.started()
        response = await self._request(
            "contact",
            "POST",
            f"/api/v1/reviews/{review_id}/contacts",
            self.business_keys[business_id],
            json={
                "message": "We cannot find your order; could you tell us more?",
                "requested": ["order_reference", "experience_details"],
            },
        )
        return self._expect(response, 201, f"contact on {review_id}")

    async def lifecycle(self, review_id: str, business_id: str, plan: Plan) -> None:
        key = self.business_keys[business_id]
        contact = await self.open_contact(review_id, business_id)
        contact_id = contact["id"]
        if plan.reply:
            token = await self._token(contact_id)
            response = await self._request(
                "reply",
                "POST",
                f"/reply/{token}",
                data={
                    "action": "reply",
                    "order_reference": "HB-2291",
                    "contact_details": "call me on weekdays",
                    "message": "I bought a cake there in March.",
                },
            )
            self._expect(response, 200, f"reply to {contact_id}")
            grounds = "insufficient_information"
        else:
            await self._until_window_closed(contact_id, key, contact)
            grounds = "no_response"
        if not plan.report:
            response = await self._request(
                "close", "POST", f"/api/v1/contacts/{contact_id}/close", key
            )
            self._expect(response, 200, f"close {contact_id}")
            self.rec.final()
            return
        while True:
            response = await self._request(
                "report",
                "POST",
                f"/api/v1/contacts/{contact_id}/report",
                key,
                json={"grounds": grounds},
            )
            # The store shows the window's outcome a moment before the workflow has taken it in
            # (the activity writes it, then returns): a report in that moment is refused as
            # "window_open", and a client tries again.
            if response.status_code != 409 or "window_open" not in response.text:
                break
            self.rec.count("report retried after window_open")
            await asyncio.sleep(POLL)
        report = self._expect(response, 202, f"report {contact_id}")
        if plan.decide:
            response = await self._request(
                "decision",
                "POST",
                f"/api/v1/reports/{report['id']}/decision",
                self.moderator_key,
                json={
                    "decision": "uphold" if plan.uphold else "reject",
                    "note": "Checked against the order system.",
                },
            )
            self._expect(response, 200, f"decide {report['id']}")
        self.rec.final()

    async def _token(self, contact_id: str) -> str:
        """The link in the reviewer's email, recorded before the 201 (the outbox row), as the
        worker puts it in when it sends the email."""
        async with self.store.read() as conn:
            message = await outbox.get_message(conn, f"{contact_id}:contact.requested:reviewer")
        if message is None:
            raise RuntimeError(f"no request email for {contact_id} after its 201")
        if message.link_purpose != Purpose.REPLY:
            raise RuntimeError(f"no reply link in the email for {contact_id}")
        return self.links.token(Purpose.REPLY, contact_id)

    async def _until_window_closed(
        self, contact_id: str, key: str, contact: dict[str, Any]
    ) -> None:
        """The business looks again once the deadline has passed, until the outcome is in."""
        deadline = datetime.fromisoformat(contact["deadline"])
        await asyncio.sleep(max(0.0, _seconds_until(deadline)) + POLL)
        while True:
            self.rec.count("status reads after the window")
            response = await self._request(None, "GET", f"/api/v1/contacts/{contact_id}", key)
            status = self._expect(response, 200, f"read {contact_id}")["status"]
            if status != "awaiting_reply":
                return
            await asyncio.sleep(POLL)


class BareDriver:
    """The same plans against the bare engine, through a plain Temporal client."""

    OPENING: frozenset[str] = ReviewdeskDriver.OPENING

    def __init__(
        self,
        client: Client,
        task_queue: str,
        *,
        run_id: str,
        reply_window: timedelta,
        concurrency: int,
        recorder: Recorder,
    ) -> None:
        self.client = client
        self.task_queue = task_queue
        self.run_id = run_id
        self.reply_window = reply_window
        self.slots = Slots(concurrency)
        self.rec = recorder

    async def _timed(self, name: str | None, call: Callable[[], Awaitable[Any]]) -> Any:
        async with self.slots.hold(NEW if name in self.OPENING else NEXT):
            started = time.perf_counter()
            result = await call()
            if name is not None:
                self.rec.add(name, time.perf_counter() - started)
        return result

    async def lifecycle(self, i: int, plan: Plan) -> None:
        instance = f"{self.run_id}-{i}"

        async def start() -> BareState:
            handle = await self.client.start_workflow(
                BareLifecycleWorkflow.run,
                BareInput(
                    instance=instance,
                    reply_window=self.reply_window,
                    report_window=timedelta(days=14),
                    moderation_sla=timedelta(days=2),
                ),
                id=f"bare-{instance}",
                task_queue=self.task_queue,
            )
            state: BareState = await handle.execute_update(BareLifecycleWorkflow.opened)
            return state

        self.rec.started()
        state: BareState = await self._timed("contact", start)
        handle = self.client.get_workflow_handle_for(BareLifecycleWorkflow.run, f"bare-{instance}")
        if plan.reply:
            await self._timed("reply", lambda: handle.execute_update(BareLifecycleWorkflow.answer))
        else:
            assert state.deadline is not None
            await asyncio.sleep(max(0.0, _seconds_until(state.deadline)) + POLL)
            while True:
                self.rec.count("status reads after the window")
                now: BareState = await self._timed(
                    None, lambda: handle.query(BareLifecycleWorkflow.state)
                )
                if now.status != "awaiting_reply":
                    break
                await asyncio.sleep(POLL)
        if not plan.report:
            await self._timed("close", lambda: handle.execute_update(BareLifecycleWorkflow.close))
            self.rec.final()
            return
        try:
            await self._timed("report", lambda: handle.execute_update(BareLifecycleWorkflow.report))
        except WorkflowUpdateFailedError as err:
            raise RuntimeError(f"bare report {instance}: {err.cause}") from None
        if plan.decide:
            report = self.client.get_workflow_handle_for(
                BareReportWorkflow.run, report_id_of(instance)
            )
            await self._timed("decision", lambda: report.execute_update(BareReportWorkflow.decide))
        self.rec.final()


async def running_workflows(client: Client, workflow_type: str, task_queue: str) -> int:
    found = await client.count_workflows(
        f'WorkflowType="{workflow_type}" AND TaskQueue="{task_queue}" AND ExecutionStatus="Running"'
    )
    return found.count


async def drained(client: Client, workflow_type: str, task_queue: str) -> float:
    """Waits until no delivery workflow of the run is still running; returns when that was."""
    try:
        async with asyncio.timeout(DRAIN_TIMEOUT):
            while True:
                if not await running_workflows(client, workflow_type, task_queue):
                    return time.perf_counter()
                await asyncio.sleep(0.25)
    except TimeoutError:
        raise RuntimeError(f"{workflow_type} still running after {DRAIN_TIMEOUT}s") from None
