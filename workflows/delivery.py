"""MessageDeliveryWorkflow: one outbox message, sent until it is accepted or retries run out.

deliver (retried with backoff, for up to the policy's give-up time)
accepted ──> end           retries exhausted ──> mark failed, visibly
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.delivery import DeliveryActivities
    from domain.messages import MessageInput
    from workflows._steps import store_step


@workflow.defn
class MessageDeliveryWorkflow:
    @workflow.run
    async def run(self, inp: MessageInput) -> bool:
        try:
            return await workflow.execute_activity_method(
                DeliveryActivities.deliver,
                inp.key,
                start_to_close_timeout=inp.delivery.attempt_timeout,
                schedule_to_close_timeout=inp.delivery.give_up_after,
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=1),
                    backoff_coefficient=2.0,
                    maximum_interval=timedelta(minutes=10),
                ),
            )
        except ActivityError:
            workflow.logger.warning("giving up on outbox message %s", inp.key)
            await store_step(DeliveryActivities.give_up, inp.key)
            return False
