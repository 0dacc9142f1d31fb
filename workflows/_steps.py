"""What both workflows share: how store steps retry, and sending notifications alongside."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.delivery import DeliveryActivities
    from domain.messages import DeliveryPolicy

# Store steps are short and idempotent: retry them until they land (a locked or briefly
# unavailable store heals); refusals are raised non-retryable and end the retrying at once.
STORE_TIMEOUT = timedelta(seconds=30)
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)


class Deliveries:
    """Sends each outbox message in its own task, so a slow mail server never holds up the process.

    The workflow awaits ``all_done`` before it ends, so no message is abandoned.
    """

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []
        self.policy = DeliveryPolicy()

    def send(self, keys: list[str]) -> None:
        for key in keys:
            self._tasks.append(asyncio.create_task(self._send(key)))

    async def all_done(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks)

    async def _send(self, key: str) -> None:
        try:
            await workflow.execute_activity_method(
                DeliveryActivities.deliver,
                key,
                start_to_close_timeout=self.policy.attempt_timeout,
                schedule_to_close_timeout=self.policy.give_up_after,
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=1),
                    backoff_coefficient=2.0,
                    maximum_interval=timedelta(minutes=10),
                ),
            )
        except ActivityError:
            workflow.logger.warning("delivery of %s failed for good; marking it failed", key)
            await workflow.execute_activity_method(
                DeliveryActivities.give_up,
                key,
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
