"""The desk plan's parts (``bench/desk_run.py``): the platform posting reviews through the HTTP
API, the bare engine starting one workflow per review, when each ticket's workflow has run its
first task (read from the server's history), and tickets written straight into the store to
fill a business's inbox.

Every review goes to one business: the one whose inbox is timed at its fullest, the worst case
for its first page and its counts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from bench.bare_workflows.desk import BareTicketWorkflow
from bench.desk_bare import BareTicketInput
from bench.drivers import Recorder
from bench.world import REVIEWS_PER_REVIEWER, World, seed
from domain import desk, ticket_workflow_id
from domain.enums import MemberRole, ReviewSource, TicketStatus
from store import Store, accounts, members, reviews, tickets
from store.accounts import hash_secret, new_api_key
from store.connection import Connection
from store.records import Ticket, now

# How long every ticket's first task may take to run once the last review was posted.
FIRST_TASKS_TIMEOUT = 600
TEXT = "The order arrived late and the staff did not answer the phone."


@dataclass
class DeskWorld:
    world: World  # the business and moderators (for the contact driver)
    business: str
    platform_key: str
    agent: str
    agent_key: str

    @property
    def business_key(self) -> str:
        return self.world.business_keys[self.business]


async def seed_desk(store: Store) -> DeskWorld:
    """One business with an agent, the moderators, and the platform's key."""
    world = await seed(store, businesses=1, counts={})
    business = world.businesses[0]
    platform_key, agent_key = new_api_key("pf"), new_api_key("agt")
    agent = "mb_agent_bench"
    async with store.tx() as conn:
        await accounts.add_platform(
            conn,
            id="pf_bench",
            name="Bench Platform",
            api_key_hash=hash_secret(platform_key),
            created_at=now(),
        )
        await members.add_member(
            conn,
            id=agent,
            business_id=business,
            name="Bench Agent",
            handle="bench.agent",
            email="agent@bench.example",
            role=MemberRole.AGENT,
            api_key_hash=hash_secret(agent_key),
            created_at=now(),
        )
    return DeskWorld(world, business, platform_key, agent, agent_key)


def review_body(run: str, i: int, business_id: str) -> dict[str, Any]:
    """A realistic mix: every rating, a quarter anonymous, a third without a title; sources a
    contact may be asked for (organic, external invitation), so each can open one later."""
    reviewer = f"{run}_{i // REVIEWS_PER_REVIEWER}"
    return {
        "external_id": f"ext-{run}-{i}",
        "business_id": business_id,
        "reviewer": {
            "id": f"rvr_desk_{reviewer}",
            "display_name": None if i % 4 == 3 else f"Reviewer {reviewer}",
            "email": f"reviewer.{reviewer}@bench.example",
        },
        "rating": 1 + i % 5,
        "title": None if i % 3 == 0 else f"Review {i}",
        "text": TEXT,
        "source": ReviewSource.ORGANIC.value if i % 2 else ReviewSource.EXTERNAL_INVITATION.value,
    }


class PlatformDriver:
    """The platform: ``POST /api/v1/reviews`` with its key, at most ``concurrency`` in flight."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        key: str,
        business_id: str,
        *,
        run: str,
        concurrency: int,
        recorder: Recorder,
    ) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {key}"}
        self.business_id = business_id
        self.run = run
        self.slots = asyncio.Semaphore(concurrency)
        self.rec = recorder
        self.review_ids: dict[int, str] = {}

    async def post(self, i: int) -> None:
        body = review_body(self.run, i, self.business_id)
        async with self.slots:
            self.rec.started()
            started = time.perf_counter()
            response = await self.http.post("/api/v1/reviews", json=body, headers=self.headers)
            self.rec.add("review", time.perf_counter() - started)
        if response.status_code != 201:
            raise RuntimeError(f"review {i}: {response.status_code} {response.text[:300]}")
        self.review_ids[i] = response.json()["review"]["id"]
        self.rec.final()

    def workflow_ids(self) -> list[str]:
        return [ticket_workflow_id(r) for _, r in sorted(self.review_ids.items())]


class BareTickets:
    """The bare engine's figure for the same shape: a workflow with a ticket's timers started
    per review by a plain Temporal client, with nothing stored."""

    def __init__(
        self, client: Client, task_queue: str, *, run: str, concurrency: int, recorder: Recorder
    ) -> None:
        self.client = client
        self.task_queue = task_queue
        self.run = run
        self.slots = asyncio.Semaphore(concurrency)
        self.rec = recorder

    def workflow_id(self, i: int) -> str:
        return f"bare-ticket-{self.run}-{i}"

    async def post(self, i: int) -> None:
        at = datetime.now(UTC)
        target = timedelta(days=2 if 1 + i % 5 <= 2 else 7)
        inp = BareTicketInput(
            instance=f"{self.run}-{i}",
            remind_at=at + target * desk.REMINDER_AT,
            target_at=at + target,
        )
        async with self.slots:
            self.rec.started()
            started = time.perf_counter()
            await self.client.start_workflow(
                BareTicketWorkflow.run,
                inp,
                id=self.workflow_id(i),
                task_queue=self.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
            self.rec.add("review", time.perf_counter() - started)
        self.rec.final()

    def workflow_ids(self, n: int) -> list[str]:
        return [self.workflow_id(i) for i in range(n)]


async def first_tasks_done(client: Client, workflow_ids: list[str], concurrency: int = 20) -> float:
    """When the last of these workflows completed its first task (wall-clock seconds, as the
    server stamped it): the moment every ticket was opened and its timers set.

    The server's stamps make the figure, not when this finds them; but reading histories loads
    the server that is still working through the tasks. So this waits on the last workflow
    started alone (tasks are taken about in order) and only then reads every history, once,
    going back, slowly, to the few not done yet."""
    if not workflow_ids:
        return time.time()
    async with asyncio.timeout(FIRST_TASKS_TIMEOUT):
        await _done_at(client, workflow_ids[-1], pause=0.5)
        slots = asyncio.Semaphore(concurrency)

        async def one(workflow_id: str) -> float:
            async with slots:
                return await _done_at(client, workflow_id, pause=1.0)

        times = await asyncio.gather(*(one(w) for w in workflow_ids))
    return max(times)


async def _done_at(client: Client, workflow_id: str, *, pause: float) -> float:
    while True:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        done = _first_task_completed(history.events)
        if done is not None:
            return done.event_time.ToMicroseconds() / 1e6
        await asyncio.sleep(pause)


def _first_task_completed(events: Sequence[HistoryEvent]) -> HistoryEvent | None:
    kind = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    return next((e for e in events if e.event_type == kind), None)


async def fill_inbox(
    store: Store, business_id: str, agent_id: str, count: int, batch: int = 500
) -> None:
    """``count`` older tickets, written with their reviews straight into the store, as those of
    reviews that came in before: the inbox reads the store alone. A mix of statuses (a quarter
    solved, a quarter open), a third assigned to the agent, every rating."""
    oldest = now() - timedelta(days=30)
    for first in range(0, count, batch):
        async with store.tx() as conn:
            for i in range(first, min(count, first + batch)):
                if i % REVIEWS_PER_REVIEWER == 0:
                    await accounts.add_reviewer(
                        conn,
                        id=f"rvr_desk_old_{i // REVIEWS_PER_REVIEWER}",
                        display_name=f"Earlier reviewer {i // REVIEWS_PER_REVIEWER}",
                        email=f"earlier.{i // REVIEWS_PER_REVIEWER}@bench.example",
                        created_at=oldest,
                    )
                await _old_ticket(conn, business_id, agent_id, i, oldest - timedelta(minutes=i))


async def _old_ticket(
    conn: Connection, business_id: str, agent_id: str, i: int, at: datetime
) -> None:
    rating = 1 + i % 5
    review_id = f"rv_desk_old_{i}"
    await reviews.add_review(
        conn,
        id=review_id,
        business_id=business_id,
        reviewer_id=f"rvr_desk_old_{i // REVIEWS_PER_REVIEWER}",
        rating=rating,
        title=f"Earlier review {i}",
        text=TEXT,
        source=ReviewSource.ORGANIC,
        created_at=at,
        external_id=f"ext-old-{i}",
    )
    target = desk.target_for(at, rating, [])
    status = (TicketStatus.SOLVED, TicketStatus.OPEN, TicketStatus.NEW, TicketStatus.NEW)[i % 4]
    ticket = Ticket(
        id=f"tk_desk_old_{i}",
        review_id=review_id,
        business_id=business_id,
        subject=f"Earlier review {i}",
        requester=f"Earlier reviewer {i // REVIEWS_PER_REVIEWER}",
        rating=rating,
        status=status,
        priority=desk.priority_for(rating),
        tags=desk.tags_for(rating),
        assignee_id=agent_id if i % 3 == 0 else None,
        policy_name=target.policy_name,
        target_at=target.target_at,
        remind_at=target.remind_at,
        created_at=at,
        updated_at=at,
    )
    await tickets.add_ticket(conn, ticket, negative=desk.is_negative(rating))
