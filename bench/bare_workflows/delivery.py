"""A failed message's retries, the shape of ``MessageDeliveryWorkflow`` (runs only if asked)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from bench.bare_activities import BareActivities, BareStep


@workflow.defn
class BareDeliveryWorkflow:
    @workflow.run
    async def run(self, key: str) -> bool:
        await workflow.execute_activity_method(
            BareActivities.step,
            BareStep(name=key),
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=timedelta(days=2),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=1),
                backoff_coefficient=2.0,
                maximum_interval=timedelta(minutes=10),
            ),
        )
        return True
