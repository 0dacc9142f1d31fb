"""Sending what the outbox holds. A message marked sent is never sent again.

The one gap: the process dies after the server accepted a message and before it is marked
sent. The retry then sends it again, with the same ``Message-ID`` or event id, so the receiver
can drop the copy (README, "Delivery guarantees").
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from datetime import timedelta

from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from activities._webhook import destination
from delivery.egress import Egress
from delivery.failures import DeliveryError
from delivery.links import Links
from delivery.mail import Mailer, build_email
from delivery.sealing import Sealer, sealer_for
from delivery.webhooks import NO_WEBHOOK, Destination, WebhookSender
from domain import message_workflow_id
from domain.messages import DeliveryPolicy, DispatchInput, MessageInput
from settings import Settings
from starter import metrics
from store import Store, outbox
from store.errors import StoreUnavailable
from store.records import OutboxMessage, now

# After a first attempt failed, messages by the same route (email, or one webhook endpoint) go
# straight to their workflows for this long.
FIRST_ATTEMPT_PAUSE = 60.0
# What an attempt cut short records: a fixed word, never a server's text.
TIMED_OUT = "timed out"


class DeliveryActivities:
    def __init__(
        self,
        db: Store,
        settings: Settings,
        mailer: Mailer,
        client: Client,
        webhooks: WebhookSender | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.mailer = mailer
        self.client = client
        self.webhooks = webhooks or WebhookSender(
            settings.webhook_timeout, Egress(allow_private=settings.webhook_allow_private)
        )
        self._sealer: Sealer | None = None
        # Per route, not for all: one business's failing endpoint must not slow everyone's email.
        self._paused_until: dict[tuple[str, str], float] = {}

    @activity.defn
    async def dispatch(self, inp: DispatchInput) -> None:
        """Tries each message once, right now; hands each one not sent to a delivery workflow.

        Nearly every message is accepted at its first try, and then it costs Temporal nothing
        beyond this step: a MessageDeliveryWorkflow per message was half of the engine's work
        while contacts opened. A message that fails is retried by its own workflow, so the
        contact or report still never waits on a mail server that is down. A retry of this step
        finds sent messages sent and started workflows started, and does neither twice.
        """
        await self.hand_over(inp.keys, inp.delivery)

    async def hand_over(self, keys: list[str], policy: DeliveryPolicy) -> None:
        """``dispatch``'s work, which a step that records messages does itself from v3 on."""
        from workflows.delivery import MessageDeliveryWorkflow

        # Every first try ends before this step may fail: a retry of the step must not start a
        # message again while its first try is still sending it.
        tried = await asyncio.gather(
            *(self._first_attempt(key) for key in keys), return_exceptions=True
        )
        for outcome in tried:
            if isinstance(outcome, BaseException):
                raise outcome
        handed_over = [outcome for outcome in tried if not isinstance(outcome, BaseException)]
        for key, channel in zip(keys, handed_over, strict=True):
            if channel is None:
                continue
            with contextlib.suppress(WorkflowAlreadyStartedError):
                await self.client.start_workflow(
                    MessageDeliveryWorkflow.run,
                    # A webhook endpoint is retried longer than a mail server (at least a day).
                    MessageInput(key=key, delivery=policy.for_channel(channel)),
                    id=message_workflow_id(key),
                    task_queue=activity.info().task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )

    async def _first_attempt(self, key: str) -> str | None:
        """None when the message is settled (sent, or refused for good); else its channel, for
        its workflow to retry it.

        Skipped while a recent first attempt failed (a transport that is down would otherwise
        slow every step that sends), and for a message tried before: that one belongs to its
        workflow now, and two senders at once could both send it.
        """
        message, webhook = await self._load(key)
        if message.status != "pending":
            return None
        route = _route(message)
        if message.attempts > 0 or time.monotonic() < self._paused_until.get(route, 0.0):
            return message.channel
        try:
            # Short, unlike the workflow's attempts: a server that accepts the connection and
            # stalls must not hold the step that sends (a contact request's 201). The marking
            # after it is not bounded.
            limit = self.settings.delivery_first_attempt_timeout
            await self._send_once(message, webhook, limit=limit)
        except DeliveryError as failed:
            if failed.permanent:
                await self._fail(key)
                return None
            self._paused_until[route] = time.monotonic() + FIRST_ATTEMPT_PAUSE
            return message.channel
        return None

    @activity.defn
    async def deliver(self, key: str) -> bool:
        """True once the message is sent; raising makes Temporal retry it with backoff."""
        message, webhook = await self._load(key)
        if message.status != "pending":
            return message.status == "sent"
        try:
            await self._send_once(message, webhook)
        except DeliveryError as failed:
            # Only the public summary enters Temporal's history (no address, no server text),
            # and `from None` keeps the original exception out of it too.
            raise ApplicationError(
                failed.public, type="DeliveryFailed", non_retryable=failed.permanent
            ) from None
        return True

    async def _load(self, key: str) -> tuple[OutboxMessage, Destination | str | None]:
        """The message, and if it is a webhook event where it goes now, or why it cannot go."""
        async with self.db.read() as conn:
            message = await outbox.get_message(conn, key)
            webhook = (
                await destination(conn, message, self.sealer)
                if message is not None and message.channel == "webhook"
                else None
            )
        if message is None:
            raise RuntimeError(f"outbox message {key} does not exist")
        return message, webhook

    async def _send_once(
        self,
        message: OutboxMessage,
        webhook: Destination | str | None,
        limit: timedelta | None = None,
    ) -> None:
        """Sends a pending message once and marks it sent; a failure is counted and raised."""
        metrics.DELIVERY_ATTEMPTS.labels(message.channel).inc()
        try:
            async with asyncio.timeout(limit.total_seconds() if limit else None):
                await self._send(message, webhook)
        except TimeoutError:
            metrics.DELIVERY_FAILURES.labels(message.channel).inc()
            await self._note_attempt(message.key, TIMED_OUT)
            raise DeliveryError(TIMED_OUT, TIMED_OUT) from None
        except asyncio.CancelledError:
            metrics.DELIVERY_FAILURES.labels(message.channel).inc()
            # The step timed out or the worker is stopping: still an attempt, recorded even so,
            # so that the step's retry leaves the message to its workflow instead of sending it
            # inline again. Shielded: the write must land although this task is cancelled.
            await asyncio.shield(self._note_attempt(message.key, TIMED_OUT))
            raise
        except Exception as err:
            metrics.DELIVERY_FAILURES.labels(message.channel).inc()
            failure = DeliveryError.of(err)
            await self._note_attempt(message.key, failure.detail)
            raise failure from None
        await self._mark_sent(message.key)

    async def _note_attempt(self, key: str, error: str) -> None:
        async with self.db.tx() as conn:
            await outbox.note_failed_attempt(conn, key, error)

    async def _mark_sent(self, key: str) -> None:
        """Notes a sent message, waiting out a locked or briefly failing store.

        The receiver already has it: failing this attempt now would make Temporal send it again.
        So the store is retried for as long as this attempt may still run.
        """
        delay = 0.1
        while True:
            try:
                async with self.db.tx() as conn:
                    await outbox.mark_sent(conn, key, now())
                return
            except StoreUnavailable:
                # Another try may wait as long as the busy timeout: it must end in time.
                if _attempt_time_left() <= self.db.busy_timeout + timedelta(seconds=delay + 1):
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _send(self, message: OutboxMessage, webhook: Destination | str | None) -> None:
        if message.channel == "webhook":
            if not isinstance(webhook, Destination):
                raise DeliveryError(webhook or NO_WEBHOOK, webhook or NO_WEBHOOK, permanent=True)
            # The secrets in force now: an event retried across a rotation is signed with the
            # new secret, and with the old one while it overlaps.
            await self.webhooks.send(webhook, message.key, message.body_text)
            return
        # The one-time link goes in only now: the outbox holds the email without it.
        await self.mailer.send(
            message.key,
            build_email(
                self.links.filled(message), self.settings.mail_from, self.settings.public_base_url
            ),
        )

    @functools.cached_property
    def links(self) -> Links:
        return Links.of(self.settings)

    @property
    def sealer(self) -> Sealer:
        # Made when first needed: a worker that sends no webhook needs no key.
        if self._sealer is None:
            self._sealer = sealer_for(self.settings)
        return self._sealer

    @activity.defn
    async def give_up(self, key: str) -> None:
        """Called once retries have run out: the message is failed, visibly, not lost."""
        await self._fail(key)

    async def _fail(self, key: str) -> None:
        async with self.db.tx() as conn:
            message = await outbox.get_message(conn, key)
            last = message.last_error if message else None
            attempts = message.attempts if message else 0
            await outbox.mark_failed(
                conn,
                key,
                f"gave up after {attempts} attempts" + (f"; last: {last}" if last else ""),
            )
        if message is not None and message.status == "pending":
            metrics.DELIVERY_GIVEN_UP.labels(message.channel).inc()


def _route(message: OutboxMessage) -> tuple[str, str]:
    """What a failed first attempt pauses: email as a whole, or one webhook endpoint."""
    return message.channel, message.recipient_id if message.channel == "webhook" else ""


def _attempt_time_left() -> timedelta:
    """Until Temporal gives up on this attempt and starts another (none outside an activity)."""
    if not activity.in_activity():
        return timedelta(0)
    info = activity.info()
    if info.start_to_close_timeout is None:
        return timedelta(0)
    return info.started_time + info.start_to_close_timeout - now()
