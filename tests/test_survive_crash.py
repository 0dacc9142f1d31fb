"""kill -9 of the worker mid-sending and mid-decisions loses nothing and sends nothing twice.

Over 200 contacts on the real dev server, driven through every phase: replied, declined and
silent, reported and decided both ways, escalated, closed by the business before and after the
window, closed by the report window's end. The worker process is killed with SIGKILL while the
request emails are going out, and kills itself with SIGKILL right after a moderator's decision is
written to the store (done, Temporal not yet told) while more decisions are in flight; each time
a new worker takes over.
Then every contact and report must be in its right final state, every expected email and webhook
event must exist once in the outbox and have reached the SMTP server or the webhook receiver, and
nothing else may have been sent.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from domain.enums import (
    REVIEWER_CONTACTED_LABEL,
    Answer,
    ContactStatus,
    Decision,
    Grounds,
    ReportStatus,
    Restriction,
    Visibility,
)
from starter.inputs import ContactRequestBody, DecisionBody, ReplyBody, ReportBody
from store import contacts, history, outbox, reports, reviews, statements
from store.connection import Connection
from tests import consistency
from tests.survive import (
    Case,
    Stack,
    eventually,
    gather_limited,
    histories_holding,
    outbox_status,
    receiver_id,
    reply_token,
    seed,
    start_stack,
)

pytestmark = [pytest.mark.devserver, pytest.mark.survive, pytest.mark.timeout(360)]

PER_PLAN = 25
LONG = timedelta(minutes=10)
SHORT = timedelta(seconds=15)
BUSINESS_MESSAGE = "Crash suite: we cannot find your order, could you help?"
CONCURRENCY = 40
# The second kill: the worker dies right after this many decisions are written to the store
# (the worst moment: done, and Temporal not told), with more decisions in flight.
DIE_AT_DECISION = 40

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


async def removal_statement(conn: Connection, report_id: str | None) -> str | None:
    """The statement of reasons of a report's removal: the reviewer's email is filed under it."""
    found = await statements.statements_of_report(conn, report_id) if report_id else []
    return next((s.id for s in found if s.restriction is Restriction.REMOVED), None)


def expected_final(
    case: Case, webhooks: dict[str, str], removal: str | None = None
) -> tuple[dict[str, object], set[str]]:
    """What the contact, its report and review end as, and every message they must have sent.

    ``removal``: the statement of reasons an upheld report made, under which the reviewer's
    email is filed."""
    answer, after, decision = PLANS[case.plan]
    c, r = case.contact_id, case.report_id
    hook = webhooks.get(case.business_id)
    keys = {f"{c}:contact.requested:reviewer"}
    events = ["opened", "request_sent"]
    if answer:
        outcome = OUTCOME[answer]
        events.append(outcome)
        keys.add(f"{c}:contact.{outcome}:business")
        if hook:
            keys.add(f"{c}:contact.{outcome}:webhook:{hook}")
    if after == "report":
        decided = "upheld" if decision == "uphold" else "rejected"
        events += ["reported", "opened", decided]
        keys |= {f"{r}:report.opened:business", f"{r}:report.opened:reviewer"}
        to_reviewer = removal if decided == "upheld" and removal else r
        keys |= {f"{r}:report.{decided}:business", f"{to_reviewer}:report.{decided}:reviewer"}
        if hook:
            keys |= {f"{r}:report.opened:webhook:{hook}", f"{r}:report.{decided}:webhook:{hook}"}
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
    stack: Stack, moment: Callable[[], Awaitable[bool]], timeout: float, **restart: str
) -> Kill:
    """kill -9 the worker once ``moment`` comes (or ``timeout`` passes), then start a new one."""
    try:
        await eventually(moment, timeout, "the moment to kill", poll=0.02)
        came = True
    except AssertionError:
        came = False
    stack.worker.kill9()
    kill = Kill(time.monotonic(), came, await outbox_status(stack.db))
    stack.worker.start(**restart)
    await stack.worker.wait_polling()
    return kill


async def replace_when_dead(stack: Stack, timeout: float) -> Kill:
    """Waits for the worker to kill itself with SIGKILL, then starts a new one."""
    code = await stack.worker.died(timeout)
    came = code == -signal.SIGKILL
    if code is None:
        stack.worker.kill9()
    kill = Kill(time.monotonic(), came, await outbox_status(stack.db))
    stack.worker.start()
    await stack.worker.wait_polling()
    return kill


@dataclass
class Kill:
    at: float
    moment_came: bool
    outbox: Counter[str]  # messages by status at the kill


async def test_worker_killed_mid_sending_and_mid_decisions_loses_nothing_and_duplicates_nothing(
    stack: Stack,
) -> None:
    started = time.monotonic()
    seeded = await seed(stack, PER_PLAN * len(PLANS))
    cases = seeded.cases
    for i, case in enumerate(cases):
        case.plan = list(PLANS)[i % len(PLANS)]
    services = {plan: stack.service(**windows(plan)) for plan in PLANS}
    failed: dict[str, str] = {}  # review id -> the step that went wrong for it, and how
    phases: dict[str, float] = {}

    async def each(step: Callable[[Case], Awaitable[None]], among: list[Case]) -> None:
        """``step`` for every case still on track; a case whose step fails drops out."""

        async def guarded(case: Case) -> None:
            if case.review_id not in failed:
                try:
                    await step(case)
                except Exception as err:
                    failed[case.review_id] = f"{step.__name__}: {type(err).__name__}: {err}"

        await gather_limited(CONCURRENCY, (guarded(c) for c in among))
        phases[step.__name__] = time.monotonic() - started

    # 1. Every contact opens while the worker is killed in the middle of sending their emails.
    async def open_contact(case: Case) -> None:
        body = ContactRequestBody(message=BUSINESS_MESSAGE)
        view = await services[case.plan].request_contact(case.business_id, case.review_id, body)
        case.contact_id = view.contact.id

    async def sending_under_way() -> bool:
        """A third of the emails out, and some recorded whose sending has not finished.

        A message is recorded and then sent within milliseconds, so the number still to send at
        any instant is often nought, and a kill timed by the inbox alone sometimes found nothing
        in between. Waiting for a few makes the kill land between records and their delivery,
        however fast the worker sends.
        """
        if sum(stack.smtp.inbox.by_id().values()) < len(cases) * 0.35:
            return False
        return (await outbox_status(stack.db))["pending"] >= 3

    opening = asyncio.ensure_future(each(open_contact, cases))
    # The next worker kills itself, later, right after a moderator's decision is written.
    dying_after = f"apply_decision:{DIE_AT_DECISION}"
    mid_sending = await kill_when(stack, sending_under_way, 120, dying_after=dying_after)
    await opening

    # 2. Reviewers answer through the link in their email; one business closes at once.
    async def answer(case: Case) -> None:
        kind, service = PLANS[case.plan][0], services[case.plan]
        case.token = await reply_token(stack, case.contact_id, timeout=60)
        if kind == "reply":
            case.shared = f"ORDER-{case.review_id}-SHARED"
            body = ReplyBody(order_reference=case.shared, message=f"Was there, {case.shared}")
            replied = await service.answer(case.token, Answer.REPLY, body)
            assert replied.status is ContactStatus.REPLIED
        elif kind == "decline":
            await service.answer(case.token, Answer.DECLINE)
        elif kind == "":
            await service.close(case.business_id, case.contact_id)

    await each(answer, cases)

    # 3. Once each window has closed: a report, or a close after the reply.
    async def window_closed(case: Case) -> bool:
        async with stack.db.read() as conn:
            contact = await contacts.get_contact(conn, case.contact_id)
        return contact is not None and contact.status.window_closed

    async def report_or_close(case: Case) -> None:
        answer, after, _ = PLANS[case.plan]
        service = services[case.plan]
        if after == "report":
            await eventually(lambda: window_closed(case), 90, f"{case.contact_id} window closed")
            grounds = Grounds.INSUFFICIENT_INFORMATION if answer == "reply" else Grounds.NO_RESPONSE
            view = await service.report(
                case.business_id, case.contact_id, ReportBody(grounds=grounds)
            )
            case.report_id = view.report.id
        elif after == "close" and answer:
            await service.close(case.business_id, case.contact_id)

    await each(report_or_close, cases)

    # 4. Moderators decide every report (the overdue ones once escalated) while the worker is
    # killed again in the middle of their decisions.
    async def escalated(case: Case) -> None:
        async def overdue() -> bool:
            async with stack.db.read() as conn:
                report = await reports.get_report(conn, case.report_id)
            return report is not None and report.escalated_at is not None

        await eventually(overdue, 60, f"{case.report_id} escalated")

    await each(escalated, [c for c in cases if "escalated" in c.plan])
    deciding = [c for c in cases if c.report_id and c.review_id not in failed]

    async def decide(case: Case) -> None:
        case.note = f"Moderator note on {case.review_id}"
        decision = DecisionBody(decision=Decision(PLANS[case.plan][2]), note=case.note)
        view = await services[case.plan].decide(seeded.moderator, case.report_id, decision)
        assert view.report.status is not ReportStatus.PENDING

    decisions = asyncio.ensure_future(each(decide, deciding))
    mid_decisions = await replace_when_dead(stack, 120)
    await decisions

    # 5. Everything settles: the contacts left alone close, every message goes out.
    async def settled() -> bool:
        async with stack.db.read() as conn:
            for case in cases:
                contact = await contacts.get_contact(conn, case.contact_id)
                if contact is None or contact.status.is_open:
                    return False
            return all(m.status != "pending" for m in await outbox.all_messages(conn))

    try:
        await eventually(settled, 90, "every contact ended and every message sent or failed")
    except AssertionError as err:
        failed["(settling)"] = str(err)
    phases["settled"] = time.monotonic() - started

    # --- what the world sees -------------------------------------------------------------------
    right, wrong, want = 0, [], set()
    async with stack.db.read() as conn:
        for case in cases:
            removal = await removal_statement(conn, case.report_id)
            state, keys = expected_final(case, seeded.webhooks, removal)
            want |= keys
            contact = await contacts.get_contact(conn, case.contact_id)
            report = await reports.get_report(conn, case.report_id) if case.report_id else None
            review = await reviews.get_review(conn, case.review_id)
            events = await history.history_of(conn, [case.contact_id, case.report_id])
            got = {
                "contact": contact.status if contact else None,
                "report": report.status if report else None,
                "visibility": review.visibility if review else None,
                "history": Counter(e.type for e in events),
            }
            if got == state and review is not None and REVIEWER_CONTACTED_LABEL in review.labels:
                right += 1
            else:
                wrong.append(f"{case.plan} {case.contact_id}: {got} != {state}")
        rows = {m.key: m for m in await outbox.all_messages(conn)}

    smtp, hooks = stack.smtp.inbox.by_id(), stack.hooks.by_id()
    received = smtp + hooks

    def channel(key: str) -> str:
        return rows[key].channel if key in rows else "email"

    wanted_ids = {receiver_id(k, channel(k)) for k in want}
    delivered = [
        k
        for k in want
        if k in rows and rows[k].status == "sent" and receiver_id(k, channel(k)) in received
    ]
    lost = sorted(want - set(delivered))
    # A duplicate is a message nobody expected: a second outbox row for the same event, or
    # anything a receiver got under an id that no expected message has.
    extra_rows = sorted(set(rows) - want)
    extra_received = sorted(set(received) - wanted_ids)
    duplicates = len(extra_rows) + len(extra_received)
    # The same message handed over again under its own id: only a kill between the receiver's
    # "accepted" and the outbox's "sent" can do that, and the receiver drops it by that id.
    kills = [mid_sending.at, mid_decisions.at]
    arrivals = {**stack.smtp.inbox.arrivals, **stack.hooks.arrivals}
    resent = sum(len(times) - 1 for times in arrivals.values())
    resent_without_kill = [
        mid
        for mid, times in arrivals.items()
        if len(times) > 1 and not any(times[0] <= k <= times[-1] for k in kills)
    ]

    secrets = [BUSINESS_MESSAGE]
    for case in cases:
        secrets += [case.reviewer_email, case.token, case.shared, case.note]
    scanned, leaks = await histories_holding(
        stack.client, stack.settings.task_queue, [s for s in secrets if s]
    )
    broken = await consistency.wait_consistent(
        stack.db, stack.client, task_queue=stack.settings.task_queue, timeout=10
    )

    print(
        "\ncrash suite: the worker killed with SIGKILL twice, a new one started each time:"
        f"\n  mid-sending, at {mid_sending.at - started:.0f}s: outbox {dict(mid_sending.outbox)}"
        f"\n  right after decision {DIE_AT_DECISION} of {len(deciding)} was written,"
        f" at {mid_decisions.at - started:.0f}s: outbox {dict(mid_decisions.outbox)}"
        f"\n  contacts started:                {len(cases)}"
        f"\n  finished in the right state:     {right}"
        f"\n  messages expected:               {len(want)}"
        f"\n  messages delivered:              {len(delivered)}"
        f" ({sum(smtp.values())} SMTP copies, {sum(hooks.values())} webhook copies received)"
        f"\n  duplicates:                      {duplicates}"
        f"\n  lost:                            {len(lost)}"
        f"\n  resent under the same id:        {resent} (around a kill: the receiver drops"
        f" them by Message-ID / event id), {len(resent_without_kill)} with no kill between"
        f"\n  histories scanned for secrets:   {scanned}, finds: {len(leaks)}"
        f"\n  consistency violations:          {len(broken)}"
        f"\n  phases done at (s): { {k: round(v) for k, v in phases.items()} }"
    )
    assert mid_sending.moment_came and mid_sending.outbox["pending"] > 0, "not mid-sending"
    assert mid_decisions.moment_came, "the worker did not die right after a decision"
    assert not failed, consistency.summary(f"{k}: {v}" for k, v in failed.items())
    assert not wrong, consistency.summary(wrong)
    assert right == len(cases)
    assert duplicates == 0, (extra_rows[:10], extra_received[:10])
    assert not lost, lost[:10]
    assert not resent_without_kill, resent_without_kill[:10]
    assert stack.hooks.unsigned() == 0
    assert not leaks, leaks[:10]
    assert not broken, consistency.summary(broken)
