"""A worker asked to stop exits within its `worker_shutdown_timeout`, whatever it holds.

Temporal's worker waits for the work in hand before it stops. Two kinds of work never end on
their own: an activity that does not heed its cancellation, and a local activity retried for
ever (a store step while the store is down: the core keeps retrying it after shutdown is asked,
sdk-rust #709). Without a bound, `reviewdesk worker` and `reviewdesk up` would hang on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from worker import running

STARTED = asyncio.Event()
RELEASE = asyncio.Event()


@activity.defn
async def deaf() -> None:
    """Ignores its cancellation until the test releases it."""
    STARTED.set()
    while not RELEASE.is_set():
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            continue


@activity.defn
async def failing() -> None:
    """A store step whose store is down: fails, and is retried, for ever."""
    STARTED.set()
    if not RELEASE.is_set():
        raise RuntimeError("the store is unavailable")


@workflow.defn
class HoldsWork:
    @workflow.run
    async def run(self, local: bool) -> None:
        retry = RetryPolicy(
            initial_interval=timedelta(milliseconds=50), maximum_interval=timedelta(milliseconds=50)
        )
        if local:
            await workflow.execute_local_activity(
                failing, start_to_close_timeout=timedelta(seconds=5), retry_policy=retry
            )
        else:
            await workflow.execute_activity(
                deaf, start_to_close_timeout=timedelta(minutes=5), retry_policy=retry
            )


@pytest.mark.parametrize("local", [False, True], ids=["deaf_activity", "local_retried_forever"])
async def test_a_stopping_worker_exits_within_its_timeout_whatever_it_holds(
    dev_env: WorkflowEnvironment, local: bool, caplog: pytest.LogCaptureFixture
) -> None:
    STARTED.clear()
    RELEASE.clear()
    queue = f"tq-stop-{uuid.uuid4().hex[:8]}"
    worker = Worker(
        dev_env.client,
        task_queue=queue,
        workflows=[HoldsWork],
        activities=[deaf, failing],
        # This module imports the worker's own module, which the sandbox would refuse.
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    with caplog.at_level(logging.ERROR, logger="reviewdesk"):
        async with running(worker, timedelta(seconds=2)):
            handle = await dev_env.client.start_workflow(
                HoldsWork.run, local, id=f"holds-{queue}", task_queue=queue
            )
            await asyncio.wait_for(STARTED.wait(), 20)
            asked = time.monotonic()
        took = time.monotonic() - asked
    try:
        assert took < 5, took
        assert "did not stop within 2.0 s" in caplog.text
    finally:
        RELEASE.set()  # the work left behind ends, and with it the worker's run
        await handle.terminate()
