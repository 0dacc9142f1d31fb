"""The bare engine's worker: ``python -m bench.bare_worker``, configured like ``worker.py``.

Same settings from the environment, same client, same worker options; only the workflows and
activities differ (``bench/bare_workflows/``).
"""

from __future__ import annotations

import asyncio
import signal

from temporalio.worker import Worker

from bench.bare_activities import BareActivities
from bench.bare_workflows.appeal import BareAppealWorkflow
from bench.bare_workflows.delivery import BareDeliveryWorkflow
from bench.bare_workflows.desk import BareTicketWorkflow
from bench.bare_workflows.flag import BareFlagWorkflow
from bench.bare_workflows.lifecycle import BareLifecycleWorkflow
from bench.bare_workflows.notice import BareNoticeWorkflow
from bench.bare_workflows.report import BareReportWorkflow
from settings import Settings, get_settings
from starter.client import connect
from starter.loop import run_main
from worker import allow_bytecode_caches, worker_options


async def run_bare_worker(settings: Settings, stop: asyncio.Event) -> None:
    client = await connect(settings)
    bare = BareActivities(client)
    allow_bytecode_caches()  # as the Reviewdesk worker does: the same worker settings
    worker = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[
            BareLifecycleWorkflow,
            BareReportWorkflow,
            BareDeliveryWorkflow,
            # The moderation plan's (bench/moderation.py).
            BareFlagWorkflow,
            BareNoticeWorkflow,
            BareAppealWorkflow,
            # The desk plan's (bench/desk.py).
            BareTicketWorkflow,
        ],
        activities=[bare.step, bare.start_report],
        **worker_options(settings),
    )
    async with worker:
        await stop.wait()


def main() -> None:
    async def _run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_bare_worker(get_settings(), stop)

    run_main(_run())


if __name__ == "__main__":
    main()
