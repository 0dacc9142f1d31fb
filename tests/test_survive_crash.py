"""kill -9 of the worker mid-sending and mid-decisions loses nothing and sends nothing twice.

Over 200 contacts on the real dev server, driven through every phase: replied, declined and
silent, reported and decided both ways, escalated, closed by the business before and after the
window, closed by the report window's end. The worker process is killed with SIGKILL while the
request emails are going out and again while moderators' decisions land; a new one takes over.
Then every contact and report must be in its right final state, every expected email and webhook
event must exist once in the outbox and have reached the SMTP server or the webhook receiver, and
nothing else may have been sent.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from domain.enums import Answer, ContactStatus, Decision, Grounds, ReportStatus, Visibility
from starter.inputs import ContactRequestBody, DecisionBody, ReplyBody, ReportBody
from store import contacts, history, outbox, reports, reviews
from tests import consistency
from tests.survive import (
    Case,
    Seeded,
    Stack,
    eventually,
    gather_limited,
    histories_holding,
    receiver_id,
    reply_token,
    seed,
    start_stack,
)

pytestmark = [pytest.mark.devserver, pytest.mark.survive, pytest.mark.timeout(300)]

PER_PLAN = 26
LONG = timedelta(minutes=10)
SHORT = timedelta(seconds=15)
BUSINESS_MESSAGE = "Crash suite: we cannot find your order, could you help?"
CONCURRENCY = 40
KILLED_AT: list[float] = []
PHASES: dict[str, float] = {}

# plan: (how the reviewer answers, what the business does after, the moderator's decision)
PLANS: dict[str, tuple[str, str, str]] = {
    "reply_report_uphold": ("reply", "report", "uphold"),
    "reply_report_reject": ("reply", "report", "reject"),
    "decline_report_uphold": ("decline", "report", "uphold"),
    "silent_report_reject": ("silent", "report", "reject"),
    "silent_escalated_uphold": ("silent", "report", "uphold"),
    "reply_close": ("reply", "close", ""),
    "close_while_waiting": ("", "close", ""),
    "silent_report_window_ends": ("silent", "", ""),
}
OUTCOME = {"reply": "replied", "decline": "declined", "silent": "no_response"}


def windows(plan: str) -> dict[str, timedelta]:
    """Silent contacts get a short window; the one left alone a short report window too."""
    answer, after, _ = PLANS[plan]
    return {
        "reply_window": SHORT if answer == "silent" else LONG,
        "report_window": timedelta(seconds=20) if not after and answer else LONG,
        "moderation_sla": timedelta(seconds=8) if "escalated" in plan else timedelta(days=1),
    }


def expected_final(case: Case, webhooks: set[str]) -> tuple[dict[str, object], set[str]]:
    """What the contact, its report and review end as, and every message they must have sent."""
    answer, after, decision = PLANS[case.plan]
    c, r = case.contact_id, case.report_id
    hook = case.business_id in webhooks
    keys = {f"{c}:contact.requested:reviewer"}
    events = ["opened", "request_sent"]
    if answer:
        outcome = OUTCOME[answer]
        events.append(outcome)
        keys.add(f"{c}:contact.{outcome}:business")
        if hook:
            keys.add(f"{c}:contact.{outcome}:webhook")
    if after == "report":
        decided = "upheld" if decision == "uphold" else "rejected"
        events += ["reported", "opened", decided]
        keys |= {f"{r}:report.opened:business", f"{r}:report.opened:reviewer"}
        keys |= {f"{r}:report.{decided}:business", f"{r}:report.{decided}:reviewer"}
        if hook:
            keys |= {f"{r}:report.opened:webhook", f"{r}:report.{decided}:webhook"}
        if "escalated" in case.plan:
            events.append("escalated")
            keys.add(f"{r}:report.escalated:moderation")
        state: dict[str, object] = {
            "contact": ContactStatus.REPORTED,
            "report": ReportStatus(decided),
            "visibility": Visibility.REMOVED if decision == "uphold" else Visibility.VISIBLE,
        }
    else:
        events.append("closed")
        state = {"contact": ContactStatus.CLOSED, "report": None, "visibility": Visibility.VISIBLE}
    state["history"] = Counter(events)
    return state, keys


@pytest_asyncio.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    running = await start_stack(tmp_path)
    try:
        yield running
    finally:
        await running.close()


async def kill_when(
    stack: Stack, moment: Callable[[], Awaitable[bool]], what: str, timeout: float = 120
) -> dict[str, int]:
    """kill -9 the worker once ``moment`` comes, start a new one; returns the outbox at the kill."""
    await eventually(moment, timeout, what, poll=0.02)
    stack.worker.kill9()
    KILLED_AT.append(time.monotonic())
    async with stack.db.read() as conn:
        at_kill = Counter(m.status for m in await outbox.all_messages(conn))
    stack.worker.start()
    await stack.worker.wait_polling()
    return dict(at_kill)


async def test_worker_killed_mid_sending_and_mid_decisions_loses_nothing_and_duplicates_nothing(
    stack: Stack,
) -> None:
    started = time.monotonic()
    seeded: Seeded = await seed(stack, PER_PLAN * len(PLANS))
    cases = seeded.cases
    for i, case in enumerate(cases):
        case.plan = list(PLANS)[i % len(PLANS)]
    services = {plan: stack.service(**windows(plan)) for plan in PLANS}

    def of(*plans: str) -> list[Case]:
        return [c for c in cases if c.plan in plans]

    # 1. Every contact opens while the worker is killed in the middle of sending their emails.
    async def open_one(case: Case) -> None:
        body = ContactRequestBody(message=BUSINESS_MESSAGE)
        view = await services[case.plan].request_contact(case.business_id, case.review_id, body)
        case.contact_id = view.contact.id

    async def sending_half_done() -> bool:
        return sum(stack.smtp.inbox.by_id().values()) >= len(cases) * 0.35

    opening = asyncio.ensure_future(gather_limited(CONCURRENCY, (open_one(c) for c in cases)))
    at_kill_1 = await kill_when(stack, sending_half_done, "a third of the request emails sent")
    await opening
    PHASES["opened"] = time.monotonic() - started
    assert at_kill_1.get("pending", 0) > 0, f"not killed mid-sending: {at_kill_1}"

    # 2. Reviewers answer through the link in their email; businesses close or wait.
    async def answer(case: Case) -> None:
        kind = PLANS[case.plan][0]
        case.token = await reply_token(stack, case.contact_id)
        if kind == "reply":
            case.shared = f"ORDER-{case.review_id}-SHARED"
            body = ReplyBody(order_reference=case.shared, message=f"Was there, {case.shared}")
            assert (await services[case.plan].answer(case.token, Answer.REPLY, body)).status is (
                ContactStatus.REPLIED
            )
        elif kind == "decline":
            await services[case.plan].answer(case.token, Answer.DECLINE)
        elif kind == "":
            await services[case.plan].close(case.business_id, case.contact_id)

    await gather_limited(CONCURRENCY, (answer(c) for c in cases))
    PHASES["answered"] = time.monotonic() - started

    # 3. Reports once each window has closed; the business that got a reply closes instead.
    async def window_closed(case: Case) -> bool:
        async with stack.db.read() as conn:
            contact = await contacts.get_contact(conn, case.contact_id)
        return contact is not None and contact.status.window_closed

    async def after_window(case: Case) -> None:
        _, after, _ = PLANS[case.plan]
        service = services[case.plan]
        if after == "report":
            await eventually(lambda: window_closed(case), 90, f"{case.contact_id} window closed")
            grounds = (
                Grounds.INSUFFICIENT_INFORMATION
                if PLANS[case.plan][0] == "reply"
                else Grounds.NO_RESPONSE
            )
            view = await service.report(
                case.business_id, case.contact_id, ReportBody(grounds=grounds)
            )
            case.report_id = view.report.id
        elif after == "close" and PLANS[case.plan][0]:
            await service.close(case.business_id, case.contact_id)

    await gather_limited(CONCURRENCY, (after_window(c) for c in cases))
    PHASES["reported"] = time.monotonic() - started

    # 4. Moderators decide every report while the worker is killed again mid-decisions.
    async def escalated() -> bool:
        async with stack.db.read() as conn:
            found = [await reports.get_report(conn, c.report_id) for c in of(*_escalating())]
        return all(r is not None and r.escalated_at is not None for r in found)

    await eventually(escalated, 60, "overdue reports escalated")
    PHASES["escalated"] = time.monotonic() - started
    deciding = [c for c in cases if c.report_id]

    async def decide(case: Case) -> None:
        case.note = f"Moderator note on {case.review_id}"
        decision = Decision(PLANS[case.plan][2])
        view = await services[case.plan].decide(
            seeded.moderator, case.report_id, DecisionBody(decision=decision, note=case.note)
        )
        assert view.report.status is not ReportStatus.PENDING

    async def decisions_half_done() -> bool:
        async with stack.db.read() as conn:
            done = await reports.reports_with_status(conn, ReportStatus.PENDING, limit=10_000)
        return len(deciding) - len(done) >= len(deciding) * 0.3

    decisions = asyncio.ensure_future(gather_limited(CONCURRENCY, (decide(c) for c in deciding)))
    at_kill_2 = await kill_when(stack, decisions_half_done, "a third of the decisions applied")
    await decisions
    PHASES["decided"] = time.monotonic() - started

    # 5. Everything settles: the left-alone contacts close, every message goes out.
    expected: dict[str, tuple[dict[str, object], set[str]]] = {}

    async def settled() -> bool:
        async with stack.db.read() as conn:
            for case in cases:
                contact = await contacts.get_contact(conn, case.contact_id)
                if contact is None or contact.status.is_open:
                    return False
            return all(m.status != "pending" for m in await outbox.all_messages(conn))

    await eventually(settled, 120, "every contact ended and every message sent or failed")
    PHASES["settled"] = time.monotonic() - started
    for case in cases:
        expected[case.contact_id] = expected_final(case, seeded.webhooks)

    # --- what the world sees -------------------------------------------------------------------
    right = 0
    wrong: list[str] = []
    async with stack.db.read() as conn:
        for case in cases:
            state, _ = expected[case.contact_id]
            contact = await contacts.get_contact(conn, case.contact_id)
            report = await reports.get_report(conn, case.report_id) if case.report_id else None
            review = await reviews.get_review(conn, case.review_id)
            events = await history.history_of(conn, [case.contact_id, case.report_id])
            assert contact is not None and review is not None
            got = {
                "contact": contact.status,
                "report": report.status if report else None,
                "visibility": review.visibility,
                "history": Counter(e.type for e in events),
            }
            if got == state and "Reviewer contacted" in review.labels:
                right += 1
            else:
                wrong.append(f"{case.plan} {case.contact_id}: {got} != {state}")
        rows = {m.key: m for m in await outbox.all_messages(conn)}

    want = set().union(*(keys for _, keys in expected.values()))
    smtp, hooks = stack.smtp.inbox.by_id(), stack.hooks.by_id()
    received = smtp + hooks
    wanted_ids = {receiver_id(k, rows[k].channel if k in rows else "email") for k in want}
    delivered = [
        k
        for k in want
        if k in rows and rows[k].status == "sent" and receiver_id(k, rows[k].channel) in received
    ]
    lost = sorted(set(want) - set(delivered))
    # A duplicate is a message nobody expected: a second outbox row, or anything a receiver
    # got under an id that no expected message has.
    extra_rows = sorted(set(rows) - want)
    extra_received = sorted(set(received) - wanted_ids)
    duplicates = len(extra_rows) + len(extra_received)
    # The same message handed over again under its own id: the receiver drops it by that id.
    resent = sum(n - 1 for n in received.values() if n > 1)
    arrivals = {**stack.smtp.inbox.arrivals, **stack.hooks.arrivals}
    resent_without_kill = [
        (mid, [round(t - started, 2) for t in times])
        for mid, times in arrivals.items()
        if len(times) > 1 and not any(times[0] <= k <= times[-1] for k in KILLED_AT)
    ]

    secrets = [BUSINESS_MESSAGE]
    for case in cases:
        secrets += [case.reviewer_email, case.token, case.shared, case.note]
    scanned, leaks = await histories_holding(
        stack.client, stack.settings.task_queue, [s for s in secrets if s]
    )
    broken = await consistency.wait_consistent(
        stack.db, stack.client, task_queue=stack.settings.task_queue
    )

    print(
        "\ncrash suite:"
        f"\n  worker killed twice: mid-sending (outbox then {at_kill_1}),"
        f" mid-decisions (outbox then {at_kill_2})"
        f"\n  contacts started:                {len(cases)}"
        f"\n  finished in the right state:     {right}"
        f"\n  messages expected:               {len(want)}"
        f"\n  messages delivered:              {len(delivered)}"
        f" ({sum(smtp.values())} SMTP copies, {sum(hooks.values())} webhook copies)"
        f"\n  duplicates:                      {duplicates}"
        f"\n  lost:                            {len(lost)}"
        f"\n  resent under the same id:        {resent} (the receiver drops these by id),"
        f" {len(resent_without_kill)} of them with no kill in between"
        f"\n  histories scanned for secrets:   {scanned}, finds: {len(leaks)}"
        f"\n  took {time.monotonic() - started:.0f}s"
    )
    assert not wrong, consistency.summary(wrong)
    assert right == len(cases)
    assert duplicates == 0, (extra_rows[:10], extra_received[:10])
    assert not lost, lost[:10]
    assert stack.hooks.unsigned() == 0
    assert not leaks, leaks[:10]
    assert not broken, consistency.summary(broken)
    print("kills at", [round(k - started, 2) for k in KILLED_AT], resent_without_kill[:20])
    print({k: round(v) for k, v in PHASES.items()})


def _escalating() -> list[str]:
    return [plan for plan in PLANS if "escalated" in plan]
