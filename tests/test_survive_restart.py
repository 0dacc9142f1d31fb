"""The dev server stopped and started again on the same SQLite file: waiting contacts keep waiting.

Contacts wait for their reviewers while the server is stopped (gracefully, then with kill -9) and
started again on the same file, with the same worker process running throughout. Afterwards they
still wait with the deadline they had; a deadline that passed while the server was down closes
the window as soon as it is back, and a reply after it is refused; a deadline after the restart
closes it on time; replies, reports and decisions after the restart work.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from domain import contact_workflow_id
from domain.enums import Answer, ContactStatus, Decision, Grounds, ReportStatus, Visibility
from domain.refusals import Refusal, Refused
from starter.inputs import ContactRequestBody, DecisionBody, ReplyBody, ReportBody
from store import contacts, outbox
from store.records import Contact, now
from tests import consistency
from tests.survive import (
    Case,
    Stack,
    eventually,
    histories_holding,
    receiver_id,
    reply_token,
    seed,
    start_stack,
)

pytestmark = [pytest.mark.devserver, pytest.mark.survive, pytest.mark.timeout(240)]

BUSINESS_MESSAGE = "Restart suite: could you tell us when you visited?"
# Deadlines: one falls while the server is down, one after it is back, one long after.
DURING = timedelta(seconds=6)
AFTER = timedelta(seconds=40)
LONG = timedelta(minutes=10)
# How late a window may close after its deadline: a timer, a workflow task and a store step.
LATE = timedelta(seconds=8)


@pytest_asyncio.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    running = await start_stack(tmp_path)
    try:
        yield running
    finally:
        await running.close()


async def contact_of(stack: Stack, case: Case) -> Contact:
    async with stack.db.read() as conn:
        contact = await contacts.get_contact(conn, case.contact_id)
    assert contact is not None
    return contact


async def still_waiting(stack: Stack, cases: list[Case], deadlines: dict[str, datetime]) -> None:
    """The store and the workflow both say: waiting for the reviewer, with the same deadline."""
    for case in cases:
        contact = await contact_of(stack, case)
        assert contact.status is ContactStatus.AWAITING_REPLY, case.plan
        assert contact.deadline == deadlines[case.contact_id]
        handle = stack.client.get_workflow_handle(contact_workflow_id(case.review_id))
        state = await handle.query("state")
        assert state["status"] == "awaiting_reply" and state["contact_id"] == case.contact_id
        assert datetime.fromisoformat(state["deadline"]) == deadlines[case.contact_id]


async def restart_server(
    stack: Stack, *, hard: bool, down_for: float, past: datetime | None = None
) -> tuple[datetime, datetime]:
    """Stops the server, keeps it down, starts it on the same file; returns when it was down."""
    assert stack.server.process is not None
    down = now()
    if hard:
        os.kill(stack.server.process.pid, signal.SIGKILL)
        stack.server.process.wait()
    else:
        await stack.server.stop()
    # Down for ``down_for`` seconds, and in any case until ``past`` has passed.
    await asyncio.sleep(max(down_for, (past - now()).total_seconds() + 1 if past else 0))
    await stack.server.start()
    # The same worker process rode it out: it polls the new server without a restart.
    assert stack.worker.alive(), stack.worker.log()
    return down, now()


async def test_contacts_wait_through_server_restarts_with_their_deadlines_and_replies_work_after(
    stack: Stack,
) -> None:
    started = time.monotonic()
    seeded = await seed(stack, 14)
    plans = ["reply_after"] * 3 + ["decline_after"] * 2 + ["answered_before"] * 2
    plans += ["silent_during"] * 3 + ["silent_after"] * 3 + ["close_after"]
    services = {
        "silent_during": stack.service(reply_window=DURING),
        "silent_after": stack.service(reply_window=AFTER),
        "long": stack.service(reply_window=LONG),
    }
    for case, plan in zip(seeded.cases, plans, strict=True):
        case.plan = plan

    def of(*wanted: str) -> list[Case]:
        return [c for c in seeded.cases if c.plan in wanted]

    async def open_one(case: Case) -> None:
        service = services.get(case.plan, services["long"])
        body = ContactRequestBody(message=BUSINESS_MESSAGE)
        case.contact_id = (
            await service.request_contact(case.business_id, case.review_id, body)
        ).contact.id
        case.token = await reply_token(stack, case.contact_id)

    await asyncio.gather(*(open_one(c) for c in seeded.cases if c.plan != "silent_during"))
    svc = services["long"]
    # Before the first stop: some reviewers answered and their businesses reported.
    for case in of("answered_before"):
        case.shared = f"BEFORE-{case.review_id}"
        await svc.answer(case.token, Answer.REPLY, ReplyBody(order_reference=case.shared))
        report = await svc.report(
            case.business_id,
            case.contact_id,
            ReportBody(grounds=Grounds.INSUFFICIENT_INFORMATION),
        )
        case.report_id = report.report.id
    # Opened last, so that their short window ends while the server is down.
    await asyncio.gather(*(open_one(c) for c in of("silent_during")))
    deadlines = {c.contact_id: (await contact_of(stack, c)).deadline for c in seeded.cases}
    waiting = [c for c in seeded.cases if c.plan != "answered_before"]
    await still_waiting(stack, waiting, deadlines)

    during = [deadlines[c.contact_id] for c in of("silent_during")]
    down, up = await restart_server(stack, hard=False, down_for=4, past=max(during))
    assert all(down < deadline < up for deadline in during), "not down at the deadline"
    # Down past the short deadlines: those windows close once the server is back, not before
    # their deadline, and the reviewer's link no longer works.
    for case in of("silent_during"):
        with pytest.raises(Refused) as refused:
            await svc.answer(case.token, Answer.REPLY, ReplyBody(message="too late"))
        assert refused.value.reason is Refusal.WINDOW_CLOSED
    await still_waiting(
        stack, of("reply_after", "decline_after", "silent_after", "close_after"), deadlines
    )

    await restart_server(stack, hard=True, down_for=3)
    await still_waiting(
        stack, of("reply_after", "decline_after", "silent_after", "close_after"), deadlines
    )
    restarted = time.monotonic()

    # After the restarts: replies, declines, closes, reports and decisions all work.
    for case in of("reply_after"):
        case.shared = f"AFTER-{case.review_id}"
        replied = await svc.answer(case.token, Answer.REPLY, ReplyBody(message=case.shared))
        assert replied.status is ContactStatus.REPLIED
    for case in of("decline_after"):
        assert (await svc.answer(case.token, Answer.DECLINE)).status is ContactStatus.DECLINED
    for case in of("close_after"):
        await svc.close(case.business_id, case.contact_id)
    for case in of("reply_after", "decline_after"):
        grounds = Grounds.INSUFFICIENT_INFORMATION if "reply" in case.plan else Grounds.NO_RESPONSE
        view = await svc.report(case.business_id, case.contact_id, ReportBody(grounds=grounds))
        assert view.review.visibility is Visibility.HIDDEN
        case.report_id = view.report.id
    for case in of("reply_after", "decline_after", "answered_before"):
        case.note = f"Decided after the restart {case.review_id}"
        decision = Decision.UPHOLD if case.plan == "reply_after" else Decision.REJECT
        view = await svc.decide(
            seeded.moderator, case.report_id, DecisionBody(decision=decision, note=case.note)
        )
        assert view.report.status is not ReportStatus.PENDING

    # Every silent contact's window closed at its deadline: not before, not much after.
    async def windows_closed() -> bool:
        found = [await contact_of(stack, c) for c in of("silent_during", "silent_after")]
        return all(c.status is ContactStatus.NO_RESPONSE for c in found)

    await eventually(windows_closed, AFTER.total_seconds() + 30, "silent windows closed")
    for case in of("silent_during", "silent_after"):
        contact = await contact_of(stack, case)
        deadline = deadlines[case.contact_id]
        assert contact.window_closed_at is not None
        assert contact.window_closed_at >= deadline, case.plan
        # On time, or as soon as the server was back when it was down at the deadline.
        due = max(deadline, up) if case.plan == "silent_during" else deadline
        assert contact.window_closed_at - due < LATE, (case.plan, contact)
    for case in of("silent_after"):
        with pytest.raises(Refused) as refused:
            await svc.answer(case.token, Answer.REPLY, ReplyBody(message="too late"))
        assert refused.value.reason is Refusal.WINDOW_CLOSED

    async def delivered() -> bool:
        async with stack.db.read() as conn:
            return all(m.status == "sent" for m in await outbox.all_messages(conn))

    await eventually(delivered, 60, "every message sent")
    async with stack.db.read() as conn:
        messages = await outbox.all_messages(conn)
    received = stack.smtp.inbox.by_id() + stack.hooks.by_id()
    ids = {receiver_id(m.key, m.channel) for m in messages}
    assert ids == set(received), "a receiver misses a message or got one nobody recorded"
    # Each contact's messages, one each, by what happened to it.
    expected_per_plan = {
        "reply_after": {"contact.requested", "contact.replied", "report.opened", "report.upheld"},
        "decline_after": {
            "contact.requested",
            "contact.declined",
            "report.opened",
            "report.rejected",
        },
        "answered_before": {
            "contact.requested",
            "contact.replied",
            "report.opened",
            "report.rejected",
        },
        "silent_during": {"contact.requested", "contact.no_response"},
        "silent_after": {"contact.requested", "contact.no_response"},
        "close_after": {"contact.requested"},
    }
    for case in seeded.cases:
        mine = {m.event_type for m in messages if m.subject_id in (case.contact_id, case.report_id)}
        assert mine == expected_per_plan[case.plan], case.plan

    secrets = [BUSINESS_MESSAGE]
    for case in seeded.cases:
        secrets += [case.reviewer_email, case.token, case.shared, case.note]
    scanned, leaks = await histories_holding(
        stack.client, stack.settings.task_queue, [s for s in secrets if s]
    )
    assert scanned >= len(seeded.cases) and not leaks, leaks
    broken = await consistency.wait_consistent(
        stack.db, stack.client, task_queue=stack.settings.task_queue
    )
    assert not broken, consistency.summary(broken)
    print(
        f"\nrestart suite: {len(seeded.cases)} contacts through a graceful stop and a kill -9 of"
        f" the server; {len(messages)} messages, {scanned} histories scanned;"
        f" {time.monotonic() - restarted:.0f}s after the restarts,"
        f" {time.monotonic() - started:.0f}s in all"
    )
