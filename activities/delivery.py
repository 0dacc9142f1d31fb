"""Sending what the outbox holds. A message marked sent is never sent again."""

from __future__ import annotations

import contextlib

from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from delivery.mail import Mailer, build_email
from domain import message_workflow_id
from domain.messages import DispatchInput, MessageInput
from settings import Settings
from store import Database, outbox
from store.records import now


class DeliveryActivities:
    def __init__(self, db: Database, settings: Settings, mailer: Mailer, client: Client) -> None:
        self.db = db
        self.settings = settings
        self.mailer = mailer
        self.client = client

    @activity.defn
    async def dispatch(self, inp: DispatchInput) -> None:
        """One delivery workflow per message; a retry finds them started and starts nothing."""
        from workflows.delivery import MessageDeliveryWorkflow

        for key in inp.keys:
            with contextlib.suppress(WorkflowAlreadyStartedError):
                await self.client.start_workflow(
                    MessageDeliveryWorkflow.run,
                    MessageInput(key=key, delivery=inp.delivery),
                    id=message_workflow_id(key),
                    task_queue=activity.info().task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )

    @activity.defn
    async def deliver(self, key: str) -> bool:
        """True once the message is sent; raising makes Temporal retry it with backoff."""
        async with self.db.read() as conn:
            message = await outbox.get_message(conn, key)
        if message is None:
            raise RuntimeError(f"outbox message {key} does not exist")
        if message.status != "pending":
            return message.status == "sent"
        try:
            await self.mailer.send(key, build_email(message, self.settings.mail_from))
        except Exception as err:
            async with self.db.tx() as conn:
                await outbox.note_failed_attempt(conn, key, f"{type(err).__name__}: {err}")
            raise
        async with self.db.tx() as conn:
            await outbox.mark_sent(conn, key, now())
        return True

    @activity.defn
    async def give_up(self, key: str) -> None:
        """Called once retries have run out: the message is failed, visibly, not lost."""
        async with self.db.tx() as conn:
            await outbox.mark_failed(conn, key, "gave up after retrying")
