"""Handing recorded outbox messages to delivery from a service, outside any workflow: one
``MessageDeliveryWorkflow`` per message, idempotent by its id, so a retry starts them again and
nothing is sent twice."""

from __future__ import annotations

import contextlib

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from domain import message_workflow_id
from domain.messages import MessageInput
from settings import Settings
from starter.temporal_calls import unavailable
from starter.unavailable import deadline
from starter.workflow_inputs import delivery_policy


async def start_deliveries(client: Client, settings: Settings, keys: list[tuple[str, str]]) -> None:
    """Starts the delivery of each ``(outbox key, channel)``. Raises ``Unavailable`` (503) when
    Temporal cannot be reached, or answers anything else: the messages stay recorded, and the
    caller's retry hands them over."""
    from workflows.delivery import MessageDeliveryWorkflow

    if not keys:
        return
    policy = delivery_policy(settings)
    try:
        async with deadline(settings.temporal_call_timeout):
            for key, channel in keys:
                with contextlib.suppress(WorkflowAlreadyStartedError):
                    await client.start_workflow(
                        MessageDeliveryWorkflow.run,
                        MessageInput(key=key, delivery=policy.for_channel(channel)),
                        id=message_workflow_id(key),
                        task_queue=settings.task_queue,
                        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    )
    except RPCError as err:
        raise unavailable(err) from None
