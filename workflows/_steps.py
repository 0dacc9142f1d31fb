"""What the workflows share: how store steps run and retry, and handing messages to delivery."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

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

# v2: store steps run as local activities. They are milliseconds of SQLite on the worker's own
# disk, and a server round trip per step (schedule, start, complete, one more workflow task) cost
# more than the step itself: a contact opened in 4 workflow tasks now opens in one. Executions
# started before v2 keep running their steps as activities, so their histories still replay.
LOCAL_STORE_STEPS = "local-store-steps"
# v3: see steps_send().
STEPS_SEND = "steps-send-their-messages"


async def store_step(method: Callable[[Any, Any], Awaitable[Any]], arg: Any) -> Any:
    """Runs one store step to completion, retrying what heals."""
    if workflow.patched(LOCAL_STORE_STEPS):
        return await workflow.execute_local_activity_method(
            method, arg, start_to_close_timeout=STORE_TIMEOUT, retry_policy=STORE_RETRY
        )
    return await workflow.execute_activity_method(
        method, arg, start_to_close_timeout=STORE_TIMEOUT, retry_policy=STORE_RETRY
    )


def steps_send() -> bool:
    """v3: a contact opens in one step, and a step hands the messages it records to delivery
    itself, where before a ``dispatch`` step followed it.

    Each step is a round of the workflow on the worker (and a marker in its history), and the
    worker's CPU is what limits how fast contacts open: a contact now opens in one step, not
    four, and a step that tells someone in one, not two. Executions from before keep their
    steps, so their histories replay.
    """
    return workflow.patched(STEPS_SEND)


async def sending_step(
    method: Callable[[Any, Any], Awaitable[Any]], arg: Any, policy: DeliveryPolicy
) -> list[str]:
    """Runs a step that records messages; what is left for ``dispatch``: nothing from v3 on."""
    if steps_send():
        await store_step(method, arg.model_copy(update={"delivery": policy}))
        return []
    keys: list[str] | None = await store_step(method, arg)
    return keys or []


async def dispatch(keys: list[str], policy: DeliveryPolicy) -> None:
    """Starts one MessageDeliveryWorkflow per recorded message and moves on.

    Delivery may retry for a day or more; the contact or report never waits for it.
    """
    if keys:
        await store_step(DeliveryActivities.dispatch, DispatchInput(keys=keys, delivery=policy))
