"""A locked or failing store during a step: the step is retried, nothing is left half-written.

Another connection holds the store's write lock (``BEGIN EXCLUSIVE``) for longer than the
worker's busy timeout, or the store fails in the middle of a step's transaction. The step fails,
Temporal retries it, and it lands once the store is back; while the trouble lasts, the
consistency checker finds nothing half-written, and afterwards every message exists once.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import json
import re
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_asyncio
from temporalio.client import WorkflowHandle

from delivery.mail import message_id
from domain import contact_workflow_id, report_workflow_id
from domain.enums import Answer, ContactStatus, Decision, Grounds, ReportStatus, Visibility
from starter.inputs import ContactRequestBody, DecisionBody, ReplyBody, ReportBody
from store import contacts, outbox, reports, reviews
from store.records import Contact, now
from tests import consistency
from tests.survive import (
    Stack,
    eventually,
    histories_holding,
    receiver_id,
    reply_token,
    seed,
    start_stack,
)

pytestmark = [pytest.mark.devserver, pytest.mark.survive, pytest.mark.timeout(120)]

T = TypeVar("T")
BUSY = timedelta(seconds=1)  # the worker's store_busy_timeout in this suite
HELD = BUSY.total_seconds() + 3  # a lock held past it: at least one attempt fails


@pytest_asyncio.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    running = await start_stack(
        tmp_path_factory.mktemp("store"), store_busy_timeout=f"PT{BUSY.total_seconds():g}S"
    )
    try:
        yield running
    finally:
        await running.close()


class StoreLock:
    """Another process's write transaction on the store file, held until released."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(
            path, isolation_level=None, timeout=30, check_same_thread=False
        )

    def take(self) -> None:
        self._conn.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        self._conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()


@contextmanager
def store_lock(stack: Stack) -> Iterator[StoreLock]:
    lock = StoreLock(stack.settings.store_path)
    try:
        yield lock
    finally:
        lock.close()


@asynccontextmanager
async def failing_writes(stack: Stack, table: str, when: str) -> AsyncIterator[None]:
    """The store fails every write to ``table`` matching ``when``, as a full or broken disk
    would, in the middle of whatever transaction makes it; then heals."""
    async with stack.db.tx() as conn:
        await conn.execute(
            f"CREATE TRIGGER survive_trouble BEFORE INSERT ON {table} WHEN {when}"
            " BEGIN SELECT RAISE(ABORT, 'disk I/O error (store trouble in a test)'); END"
        )
    try:
        yield
    finally:
        async with stack.db.tx() as conn:
            await conn.execute("DROP TRIGGER survive_trouble")


async def contact_of(stack: Stack, contact_id: str) -> Contact:
    async with stack.db.read() as conn:
        contact = await contacts.get_contact(conn, contact_id)
    assert contact is not None
    return contact


async def started_attempts(handle: WorkflowHandle[Any, Any], activity: str) -> list[int]:
    """The attempt each completed run of store step ``activity`` in the history succeeded on.

    Store steps run as local activities since v2 (a marker each), as activities before.
    """
    scheduled: dict[int, str] = {}
    attempts: list[int] = []
    async for event in handle.fetch_history_events():
        if event.HasField("marker_recorded_event_attributes"):
            details = event.marker_recorded_event_attributes.details
            if "data" in details:
                data = json.loads(details["data"].payloads[0].data)
                if data["activity_type"] == activity:
                    attempts.append(data["attempt"])
        if event.HasField("activity_task_scheduled_event_attributes"):
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            scheduled[event.event_id] = name
        if event.HasField("activity_task_started_event_attributes"):
            started = event.activity_task_started_event_attributes
            if scheduled.get(started.scheduled_event_id) == activity:
                attempts.append(started.attempt)
    return attempts


_FAILED = re.compile(r"Completing activity as failed \((\{.*?\})\)")


def failing_attempts(stack: Stack, workflow_id: str, activity: str) -> int:
    """How many attempts of ``activity`` in ``workflow_id`` have failed so far, as the worker's
    log tells an operator (a local activity's retries show nowhere else until it lands)."""
    failed = 0
    for line in stack.worker.log_path.read_text().splitlines():
        found = _FAILED.search(line)
        if found is None:
            continue
        info = ast.literal_eval(found.group(1))
        if info["activity_type"] == activity and info["workflow_id"] == workflow_id:
            failed = max(failed, int(info["attempt"]))
    return failed


async def assert_consistent_now(stack: Stack) -> None:
    found = await consistency.violations(stack.db, stack.client)
    assert not found, consistency.summary(found)


async def assert_settled(stack: Stack, subjects: list[str], private: list[str]) -> None:
    """Every message about ``subjects`` sent once and received once; store and Temporal agree;
    no history holds any of ``private``."""

    async def sent() -> bool:
        async with stack.db.read() as conn:
            mine = await outbox.messages_about(conn, subjects)
        return bool(mine) and all(m.status == "sent" for m in mine)

    await eventually(sent, 60, f"messages about {subjects} sent")
    async with stack.db.read() as conn:
        mine = await outbox.messages_about(conn, subjects)
    received = stack.smtp.inbox.by_id() + stack.hooks.by_id()
    copies = {m.key: received[receiver_id(m.key, m.channel)] for m in mine}
    assert set(copies.values()) == {1}, copies
    broken = await consistency.wait_consistent(
        stack.db, stack.client, task_queue=stack.settings.task_queue
    )
    assert not broken, consistency.summary(broken)
    scanned, leaks = await histories_holding(stack.client, stack.settings.task_queue, private)
    assert scanned and not leaks, leaks


async def test_a_store_locked_past_its_busy_timeout_at_a_deadline_is_retried_and_closes_it_once(
    stack: Stack,
) -> None:
    case = (await seed(stack, 1, businesses=1)).cases[0]  # its business has a webhook
    service = stack.service(reply_window=timedelta(seconds=4))
    body = ContactRequestBody(message="Which branch was it?")
    contact = (await service.request_contact(case.business_id, case.review_id, body)).contact
    await asyncio.sleep(max(0.0, (contact.deadline - now()).total_seconds() - 1))

    with store_lock(stack) as lock:
        await asyncio.to_thread(lock.take)
        try:
            await asyncio.sleep(HELD)
            # Locked through the deadline: the window's end is not recorded, nor half of it.
            assert (await contact_of(stack, contact.id)).status is ContactStatus.AWAITING_REPLY
            await assert_consistent_now(stack)
        finally:
            lock.release()

    async def closed() -> bool:
        return (await contact_of(stack, contact.id)).status is ContactStatus.NO_RESPONSE

    await eventually(closed, 30, "the window closed once the store is back")
    handle = stack.client.get_workflow_handle(contact_workflow_id(case.review_id))
    # A local activity's marker lands with its workflow task, a moment after its write.
    [attempt] = await eventually(
        lambda: started_attempts(handle, "record_outcome"), 30, "record_outcome in the history"
    )
    assert attempt > 1, "the locked step was not retried"
    await assert_settled(stack, [contact.id], [case.reviewer_email, body.message])


async def test_a_store_locked_right_after_the_mail_server_accepted_does_not_send_it_twice(
    stack: Stack,
) -> None:
    case = (await seed(stack, 1)).cases[0]
    locked = threading.Event()

    with store_lock(stack) as lock:

        def lock_after_accepting(mid: str, to: list[str]) -> None:
            # The server has the email; before the worker can note that, the store locks.
            if case.reviewer_email in to and not locked.is_set():
                lock.take()
                locked.set()
                threading.Timer(HELD, lock.release).start()

        stack.smtp.inbox.on_accept = lock_after_accepting
        try:
            body = ContactRequestBody(message="Could you tell us your order number?")
            service = stack.service()
            contact = (
                await service.request_contact(case.business_id, case.review_id, body)
            ).contact

            async def is_locked() -> bool:
                return locked.is_set()

            await eventually(is_locked, 30, "the store locked once the email was accepted")
            await assert_settled(stack, [contact.id], [case.reviewer_email, body.message])
        finally:
            stack.smtp.inbox.on_accept = None

    key = f"{contact.id}:contact.requested:reviewer"
    assert stack.smtp.inbox.by_id()[message_id(key)] == 1
    # The reviewer's link works: the email they got is the one the store knows.
    token = await reply_token(stack, contact.id)
    replied = await service.answer(token, Answer.REPLY, ReplyBody(message="It was #123"))
    assert replied.status is ContactStatus.REPLIED
    await assert_settled(stack, [contact.id], [case.reviewer_email, token, "It was #123"])
    async with stack.db.read() as conn:
        [sent] = [m for m in await outbox.messages_about(conn, [contact.id]) if m.key == key]
    assert (sent.status, sent.attempts) == ("sent", 1), "sent at its first attempt"


async def test_a_store_failing_in_the_middle_of_each_step_leaves_nothing_half_written(
    stack: Stack,
) -> None:
    seeded = await seed(stack, 1, businesses=1)
    case = seeded.cases[0]
    service = stack.service()
    contact_handle = stack.client.get_workflow_handle(contact_workflow_id(case.review_id))
    report_handle = stack.client.get_workflow_handle(report_workflow_id(case.review_id))

    async def through_trouble(
        handle: WorkflowHandle[Any, Any], activity: str, table: str, when: str, step: Awaitable[T]
    ) -> T:
        """Runs ``step`` while the store fails ``activity``'s writes: it retries, and in the
        meantime the checker finds nothing half-written; once the store heals, it lands."""
        async with failing_writes(stack, table, when):
            task = asyncio.ensure_future(step)

            async def retried() -> bool:
                return failing_attempts(stack, handle.id, activity) >= 2

            await eventually(retried, 30, f"{activity} failing and retried")
            await assert_consistent_now(stack)
            assert not task.done()
        return await task

    # Opening: the contact, its label, the reply link, the reviewer's email and the history are
    # written together, or not at all.
    body = ContactRequestBody(message="Is this your order, #A-77?")
    opened = await through_trouble(
        contact_handle,
        "open_and_request",
        "review_labels",
        "1",
        service.request_contact(case.business_id, case.review_id, body),
    )
    contact_id = opened.contact.id

    # The reply: the window's end, the business's email, its webhook event and history.
    token = await reply_token(stack, contact_id)
    await through_trouble(
        contact_handle,
        "record_outcome",
        "outbox",
        "NEW.event_type = 'contact.replied' AND NEW.channel = 'webhook'",
        service.answer(token, Answer.REPLY, ReplyBody(order_reference="REF-A77-PRIVATE")),
    )
    assert (await contact_of(stack, contact_id)).status is ContactStatus.REPLIED

    # The report: report record, hidden review, contact status, history, emails, all or none.
    report = await through_trouble(
        contact_handle,
        "file_report",
        "outbox",
        "NEW.event_type = 'report.opened' AND NEW.recipient_kind = 'business'"
        " AND NEW.channel = 'email'",
        service.report(
            case.business_id, contact_id, ReportBody(grounds=Grounds.INSUFFICIENT_INFORMATION)
        ),
    )
    report_id = report.report.id

    # The decision: report status, removed review, both emails and the webhook event.
    decided = await through_trouble(
        report_handle,
        "apply_decision",
        "outbox",
        "NEW.event_type = 'report.upheld' AND NEW.recipient_kind = 'reviewer'",
        service.decide(
            seeded.moderator,
            report_id,
            DecisionBody(decision=Decision.UPHOLD, note="Moderator: no order A77"),
        ),
    )
    assert decided.report.status is ReportStatus.UPHELD
    async with stack.db.read() as conn:
        review = await reviews.get_review(conn, case.review_id)
        stored = await reports.get_report(conn, report_id)
    assert review is not None and review.visibility is Visibility.REMOVED
    assert stored is not None and stored.status is ReportStatus.UPHELD
    await assert_settled(
        stack,
        [contact_id, report_id],
        [case.reviewer_email, token, body.message, "REF-A77-PRIVATE", "Moderator: no order A77"],
    )
    for handle, activity in (
        (contact_handle, "open_and_request"),
        (contact_handle, "record_outcome"),
        (contact_handle, "file_report"),
        (report_handle, "apply_decision"),
    ):
        [attempt] = await eventually(
            functools.partial(started_attempts, handle, activity), 30, f"{activity} in history"
        )
        assert attempt >= 3, activity
