"""What the workflows share: how store steps retry, and handing messages over for delivery."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.delivery import DeliveryActivities
    from domain.messages import DeliveryPolicy, DispatchInput

# Store steps are short and idempotent: retry them until they land (a locked or briefly
# unavailable store heals); refusals are raised non-retryable and end the retrying at once.
STORE_TIMEOUT = timedelta(seconds=30)
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)


async def dispatch(keys: list[str], policy: DeliveryPolicy) -> None:
    """Starts one MessageDeliveryWorkflow per recorded message and moves on.

    Delivery may retry for a day or more; the contact or report never waits for it.
    """
    if keys:
        await workflow.execute_activity_method(
            DeliveryActivities.dispatch,
            DispatchInput(keys=keys, delivery=policy),
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
