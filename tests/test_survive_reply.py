"""The worker killed in the middle of publishing a public reply (issue 20, acceptance 1).

``worker.py`` as a separate process kills itself with SIGKILL inside the publish step: right
after its transaction committed (the reply is in the store, its ``reply.published`` event not
handed over, Temporal not answered), or inside that transaction (the reply inserted, nothing
committed). A fresh worker then finishes the step; the sends made meanwhile and after (the same
send retried with its Idempotency-Key, another without one) leave exactly one reply, one
``reply.published`` event delivered once, and one ``reply_published`` in the ticket's history.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from delivery.webhooks import event_id
from domain import ticket_workflow_id
from domain.enums import TicketEventKind, WebhookEvent
from domain.refusals import Refusal, Refused
from starter.desk import TicketDetail
from starter.inputs import WebhookBody
from starter.reply_inputs import ReplyIn
from starter.service import Reviewdesk
from store import members, outbox, replies
from store.records import Member, OutboxMessage, Reply, fetch_one
from tests import ticket_flows
from tests.survive import Stack, eventually, histories_holding, start_stack
from tests.world import World, make_world

pytestmark = [pytest.mark.devserver, pytest.mark.survive, pytest.mark.timeout(240)]

FIRST = "REPLYWORDS sorry about the soup, we will do better"
OTHER = "REPLYOTHER a second reply that must never be published"
EVENT = WebhookEvent.REPLY_PUBLISHED.value


@pytest_asyncio.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    running = await start_stack(tmp_path_factory.mktemp("reply"))
    try:
        yield running
    finally:
        await running.close()


@dataclass
class Desk:
    """A business with a webhook endpoint, its agent, and the service as the web app calls it."""

    world: World
    agent: Member
    service: Reviewdesk

    def send(self, ticket_id: str, text: str, key: str | None) -> asyncio.Future[TicketDetail]:
        return asyncio.ensure_future(
            self.service.replies.reply(
                self.world.business, self.agent, ticket_id, ReplyIn(text=text), idempotency_key=key
            )
        )


async def desk_of(stack: Stack) -> Desk:
    world = await make_world(stack.db)
    service = stack.service()
    made = await service.webhooks.register(world.business, WebhookBody(url=stack.hooks.url))
    stack.hooks.secrets[world.business] = made.secret
    async with stack.db.read() as conn:
        agent = await members.get_member(conn, world.agent)
    assert agent is not None
    return Desk(world, agent, service)


async def worker_dying(stack: Stack, mode: str) -> None:
    """Replaces the running worker, stopped cleanly between steps, with one that kills itself
    in its first publish step (``tests/dying_worker.py``)."""
    stack.worker.stop()
    stack.worker.start(dying_after=f"{mode}:1")
    await stack.worker.wait_polling()


async def fresh_worker(stack: Stack) -> None:
    """After the kill: a new ``worker.py``, as a supervisor would start."""
    stack.worker.start()
    await stack.worker.wait_polling()


async def replies_of(stack: Stack, ticket_id: str) -> int:
    async with stack.db.read() as conn:
        row = await fetch_one(
            conn,
            "SELECT CAST(COUNT(*) AS INTEGER) AS n FROM replies WHERE ticket_id = ?",
            (ticket_id,),
        )
    assert row is not None
    return int(row["n"])


async def published(stack: Stack, ticket_id: str) -> Reply | None:
    async with stack.db.read() as conn:
        return await replies.reply_of_ticket(conn, ticket_id)


async def events_of(stack: Stack, ticket_id: str) -> list[OutboxMessage]:
    """The ticket's ``reply.published`` rows in the outbox (one per webhook endpoint)."""
    async with stack.db.read() as conn:
        return [m for m in await outbox.messages_about(conn, [ticket_id]) if m.event_type == EVENT]


async def refusal_of(send: asyncio.Future[TicketDetail]) -> Refused:
    with pytest.raises(Refused) as refused:
        await send
    return refused.value


async def assert_published_once(stack: Stack, desk: Desk, ticket_id: str, reply: Reply) -> None:
    """One reply, one event delivered once, one entry in the ticket's history, the run ended."""
    assert await replies_of(stack, ticket_id) == 1
    review_id = reply.review_id
    await asyncio.wait_for(
        stack.client.get_workflow_handle(ticket_workflow_id(review_id)).result(), 60
    )

    async def event_sent() -> Any:
        rows = await events_of(stack, ticket_id)
        return rows if rows and all(m.status == "sent" for m in rows) else None

    [row] = await eventually(event_sent, 60, "the reply.published event sent")
    assert stack.hooks.by_id()[event_id(row.key)] == 1
    detail = await desk.service.desk.ticket(desk.world.business, ticket_id)
    assert detail.reply is not None and detail.reply.id == reply.id
    kinds = [e.kind for e in detail.history]
    assert kinds.count(TicketEventKind.REPLY_PUBLISHED) == 1, kinds


async def test_a_worker_killed_after_publishing_commits_leaves_exactly_one_reply(
    stack: Stack,
) -> None:
    desk = await desk_of(stack)
    await worker_dying(stack, "publish_committed")
    ticket = (await desk.service.intake.post(ticket_flows.review_of(desk.world, 1))).ticket

    first = desk.send(ticket.id, FIRST, "send-1")
    assert await stack.worker.died(90) == -signal.SIGKILL, stack.worker.log()
    # The step's transaction committed before the worker died: the store holds the reply, and
    # answers sends made while no worker runs.
    reply = await published(stack, ticket.id)
    assert reply is not None and reply.text == FIRST
    assert [m.status for m in await events_of(stack, ticket.id)] == ["pending"]
    retried = await desk.send(ticket.id, FIRST, "send-1")
    assert retried.reply is not None and retried.reply.id == reply.id
    edited = await refusal_of(desk.send(ticket.id, OTHER, "send-1"))
    assert edited.reason is Refusal.IDEMPOTENCY_KEY_REUSED  # its key, other words: told so
    other = await refusal_of(desk.send(ticket.id, OTHER, None))
    assert other.reason is Refusal.REPLY_ALREADY_PUBLISHED and other.reason.http_status == 409
    assert not first.done()  # its update waits for a worker to finish the step

    await fresh_worker(stack)
    answered = await asyncio.wait_for(first, 90)
    assert answered.reply is not None and answered.reply.id == reply.id

    # Sent again once a worker runs, and after the workflow ended.
    again = await desk.send(ticket.id, FIRST, "send-1")
    assert again.reply is not None and again.reply.id == reply.id
    late = await refusal_of(desk.send(ticket.id, OTHER, "another-key"))
    assert late.reason is Refusal.REPLY_ALREADY_PUBLISHED
    await assert_published_once(stack, desk, ticket.id, reply)


async def test_a_worker_killed_before_publishing_commits_publishes_once_after_restart(
    stack: Stack,
) -> None:
    desk = await desk_of(stack)
    await worker_dying(stack, "publish_uncommitted")
    ticket = (await desk.service.intake.post(ticket_flows.review_of(desk.world, 1))).ticket

    first = desk.send(ticket.id, FIRST, "send-1")
    assert await stack.worker.died(90) == -signal.SIGKILL, stack.worker.log()
    # Killed inside the step's transaction: nothing of it landed.
    assert await replies_of(stack, ticket.id) == 0
    # The client retries the same send meanwhile: the same draft, the same update.
    retried = desk.send(ticket.id, FIRST, "send-1")

    await fresh_worker(stack)
    answered = await asyncio.wait_for(first, 90)
    again = await asyncio.wait_for(retried, 90)
    reply = await published(stack, ticket.id)
    assert reply is not None and reply.text == FIRST
    assert answered.reply is not None and answered.reply.id == reply.id
    assert again.reply is not None and again.reply.id == reply.id
    other = await refusal_of(desk.send(ticket.id, OTHER, None))
    assert other.reason is Refusal.REPLY_ALREADY_PUBLISHED
    await assert_published_once(stack, desk, ticket.id, reply)

    # Acceptance 7 on live histories: the reply's words, the reviewer's name and address never
    # entered one (every workflow this suite ran, the killed attempts' included; every
    # reviewer's address is at private.example).
    secrets = [FIRST, "REPLYWORDS", OTHER, "REPLYOTHER", ticket_flows.REVIEWER_NAME, "Quintana"]
    scanned, leaks = await histories_holding(
        stack.client, stack.settings.task_queue, [*secrets, "@private.example"]
    )
    assert scanned >= 2 and not leaks, leaks
