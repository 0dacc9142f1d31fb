"""The Reviewdesk worker: every workflow and activity, on the task queue from settings.

Run more of these processes against the same task queue to scale out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.appeal import AppealActivities
from activities.contact import ContactActivities
from activities.delivery import DeliveryActivities
from activities.flag import FlagActivities
from activities.notice import NoticeActivities
from activities.replies import ReplyActivities
from activities.report import ReportActivities
from activities.standing import StandingActivities
from activities.ticket import TicketActivities
from delivery.mail import Mailer
from delivery.smtp import mailer_for
from settings import Settings, get_settings
from starter import tracing
from starter.loop import run_main
from store import Store, open_store
from workflows.appeal import AppealWorkflow
from workflows.contact import ReviewerContactWorkflow
from workflows.delivery import MessageDeliveryWorkflow
from workflows.flag import FlagWorkflow
from workflows.notice import NoticeWorkflow
from workflows.report import ReviewReportWorkflow
from workflows.standing import StandingWorkflow
from workflows.ticket import TicketWorkflow

WORKFLOWS = [
    ReviewerContactWorkflow,
    ReviewReportWorkflow,
    MessageDeliveryWorkflow,
    FlagWorkflow,
    NoticeWorkflow,
    AppealWorkflow,
    StandingWorkflow,
    TicketWorkflow,
]


def defined_activities(*steps: object) -> list[Callable[..., Any]]:
    """Every ``@activity.defn`` method of these objects: a process's steps, in one class each."""
    return [
        getattr(obj, name)
        for obj in steps
        for name in dir(type(obj))
        if hasattr(getattr(type(obj), name), "__temporal_activity_definition")
    ]


def activities_of(
    contact: ContactActivities,
    report: ReportActivities,
    delivery: DeliveryActivities,
    *processes: object,
) -> list[Callable[..., Any]]:
    """The steps of Find Reviewer, reports and delivery, then those of the later processes
    (flags, notices, appeals: every activity their classes define)."""
    return [
        contact.open_and_request,
        contact.check_eligibility,
        contact.record_refusal,
        contact.open_contact,
        contact.send_request_to_reviewer,
        contact.record_outcome,
        contact.close_contact,
        contact.file_report,
        contact.start_report_workflow,
        report.open_report,
        report.escalate,
        report.apply_decision,
        delivery.dispatch,
        delivery.deliver,
        delivery.give_up,
        *defined_activities(*processes),
    ]


def default_activities(
    client: Client, db: Store, settings: Settings, mailer: Mailer
) -> list[Callable[..., Any]]:
    delivery = DeliveryActivities(db, settings, mailer, client)
    return activities_of(
        ContactActivities(db, settings, client, delivery.hand_over),
        ReportActivities(db, settings, delivery.hand_over),
        delivery,
        FlagActivities(db, settings, client, delivery.hand_over),
        NoticeActivities(db, settings, client, delivery.hand_over),
        AppealActivities(db, settings, client, delivery.hand_over),
        StandingActivities(db, settings, client, delivery.hand_over),
        TicketActivities(db, settings, client, delivery.hand_over),
        ReplyActivities(db, settings, client, delivery.hand_over),
    )


def worker_options(settings: Settings) -> dict[str, Any]:
    """How much one worker process takes on at once; `bench/bare_worker.py` uses the same."""
    return {}


def allow_bytecode_caches() -> None:
    """The sandbox imports the workflow modules afresh for every workflow run. Without bytecode
    caches (PYTHONDONTWRITEBYTECODE=1) each of those imports compiles their source again: a
    tenth of the worker's CPU while contacts open. Reading caches is always allowed; this lets
    the worker write the few it needs. `bench/bare_worker.py` does the same."""
    sys.dont_write_bytecode = False


def build_worker(
    client: Client,
    db: Store,
    settings: Settings,
    *,
    mailer: Mailer | None = None,
    activities: Sequence[Callable[..., Any]] | None = None,
) -> Worker:
    allow_bytecode_caches()
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=activities
        or default_activities(client, db, settings, mailer or mailer_for(settings)),
        **worker_options(settings),
        **tracing.worker_options(),
    )


@asynccontextmanager
async def running(worker: Worker, shutdown_timeout: timedelta) -> AsyncIterator[Worker]:
    """Runs ``worker`` for the block; stopping, waits at most ``shutdown_timeout`` for the work
    in hand, then leaves it. A step cut off is not lost: its workflow task or activity times out
    on the server and runs again on the next worker, and every step is idempotent."""
    await worker.__aenter__()
    try:
        yield worker
    except BaseException as err:
        await stopped(worker, shutdown_timeout, (type(err), err, err.__traceback__))
        raise
    await stopped(worker, shutdown_timeout, (None, None, None))


async def stopped(worker: Worker, shutdown_timeout: timedelta, exc: tuple[Any, ...]) -> bool:
    """Stops ``worker``; whether it stopped within ``shutdown_timeout`` (else it is left)."""
    try:
        async with asyncio.timeout(shutdown_timeout.total_seconds()):
            await worker.__aexit__(*exc)
    except TimeoutError:
        logging.getLogger("reviewdesk").error(
            "the worker did not stop within %s s; leaving the work in hand to Temporal",
            shutdown_timeout.total_seconds(),
        )
        return False
    return True


@asynccontextmanager
async def drift_checks(client: Client, db: Store, settings: Settings) -> AsyncIterator[None]:
    """While the worker runs, it compares the store with Temporal every `drift_check_every` and
    logs the counts (`starter.reconcile.watch`); 0 turns that off."""
    from starter.reconcile import watch

    if not settings.drift_check_every:
        yield
        return
    task = asyncio.create_task(watch(db, client, settings))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    from starter.client import connect
    from starter.health import worker_http
    from starter.retention import purging
    from starter.temporal_runtime import install
    from starter.webhooks import seal_clear_secrets

    # Before the client: the SDK's metrics and logs come from the runtime it connects with.
    sdk = install(metrics_on=bool(settings.worker_http_port))
    client = await connect(settings)
    async with open_store(settings) as db:
        await seal_clear_secrets(db, settings)
        worker = build_worker(client, db, settings)
        async with (
            running(worker, settings.worker_shutdown_timeout),
            drift_checks(client, db, settings),
            purging(db, settings),
            worker_http(settings, db, client, sdk) as http,
        ):
            log = logging.getLogger("reviewdesk")
            log.info("worker polling task queue %s", settings.task_queue)
            if http:
                log.info("worker metrics and health checks at %s/metrics, /healthz, /readyz", http)
            await stop.wait()


def main() -> None:
    from starter.logs import configure_logging

    configure_logging(get_settings())

    async def _run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(get_settings(), stop)

    with tracing.traced(get_settings(), "reviewdesk-worker"):
        run_main(_run())


if __name__ == "__main__":
    main()
