"""`reviewdesk reconcile` finds what a terminated or lost workflow left waiting, and repairs it
(issue 15.8; acceptance 5)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus

from domain import contact_workflow_id, report_workflow_id, ticket_workflow_id
from domain.enums import (
    Answer,
    ContactStatus,
    Decision,
    Grounds,
    ReportStatus,
    ReviewSource,
    Visibility,
)
from domain.refusals import Refusal, Refused
from starter import intake, reconcile
from starter.desk_inputs import ReviewerIn, ReviewIn
from starter.inputs import ContactRequestBody, DecisionBody, ReplyBody, ReportBody
from starter.service import Reviewdesk
from store import tickets
from store.records import now
from tests.conftest import Harness
from tests.consistency import violations
from tests.terminal import run_cli
from worker import drift_checks

ASK = ContactRequestBody(message="Which branch was it?")


async def _terminate(h: Harness, workflow_id: str) -> None:
    await h.client.get_workflow_handle(workflow_id).terminate(reason="lost, as in the issue")


async def test_reconcile_lists_and_repairs_a_terminated_contact_and_a_terminated_report(
    live: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h, w = live, live.world
    waiting = (await h.service.request_contact(w.business, w.review["organic"], ASK)).contact
    declined = (await h.service.request_contact(w.business, w.review["organic2"], ASK)).contact
    await h.service.answer(await h.reply_token(declined.id), Answer.DECLINE)
    report = (
        await h.service.report(w.business, declined.id, ReportBody(grounds=Grounds.NO_RESPONSE))
    ).report
    await _terminate(h, contact_workflow_id(w.review["organic"]))
    await _terminate(h, report_workflow_id(w.review["organic2"]))

    # Left so, the review can never be contacted again and the report never decided.
    with pytest.raises(Refused) as blocked:
        await h.service.request_contact(w.business, w.review["organic"], ASK)
    assert blocked.value.reason is Refusal.OPEN_CONTACT

    listed = await run_cli(h, monkeypatch, "reconcile")
    assert listed.exit_code == 0, listed.output
    assert f"contact {waiting.id} is awaiting_reply in the store" in listed.output
    assert f"report {report.id} is pending in the store" in listed.output
    # The refused request above ran, and ended, under the lost contact's workflow id.
    assert f"contact-{w.review['organic']} has ended (completed)" in listed.output
    assert f"report-{w.review['organic2']} has ended (terminated)" in listed.output
    assert len(await reconcile.find(h.db, h.client, h.settings)) == 2  # listing repairs nothing

    applied = await run_cli(h, monkeypatch, "reconcile", "--apply")
    assert applied.exit_code == 0, applied.output
    assert applied.output.count("-> re-driven") == 2, applied.output

    # The contact answers again, with the link the reviewer was emailed and its deadline.
    replied = await h.service.answer(
        await h.reply_token(waiting.id), Answer.REPLY, ReplyBody(message="The one on Main St")
    )
    assert replied.status is ContactStatus.REPLIED
    assert replied.deadline == waiting.deadline
    # The report is decided, and the review's visibility follows.
    decided = await h.service.decide(
        w.moderator, report.id, DecisionBody(decision=Decision.REJECT, note="")
    )
    assert decided.report.status is ReportStatus.REJECTED
    assert (await h.review(w.review["organic2"])).visibility is Visibility.VISIBLE

    contact_history = [e.type for e in (await h.service.contact_view(waiting.id)).history]
    report_history = [e.type for e in (await h.service.report_view(report.id)).history]
    assert contact_history.count("repaired") == 1 and report_history.count("repaired") == 1
    assert await reconcile.find(h.db, h.client, h.settings) == []
    again = await run_cli(h, monkeypatch, "reconcile")
    assert "agree: nothing to reconcile" in again.output
    assert await violations(h.db, h.client) == []


async def test_a_contact_lost_in_its_report_window_is_closed_and_its_review_freed(
    live: Harness,
) -> None:
    h, w = live, live.world
    review_id = w.review["organic"]
    contact = (await h.service.request_contact(w.business, review_id, ASK)).contact
    await h.service.answer(await h.reply_token(contact.id), Answer.DECLINE)
    await _terminate(h, contact_workflow_id(review_id))

    [found] = await reconcile.find(h.db, h.client, h.settings)
    assert str(found) == (
        f"contact {contact.id} is declined in the store,"
        f" but contact-{review_id} has ended (terminated)"
    )
    done = await reconcile.repair(h.db, h.client, h.settings, found)

    assert done == "closed; the review can be contacted again after the cooldown"
    closed = (await h.service.contact_view(contact.id)).contact
    assert closed.status is ContactStatus.CLOSED
    # No contact holds the review any more: a new one waits out the cooldown from this close
    # (DESIGN rule 1), as after any other.
    with pytest.raises(Refused) as again:
        await h.service.request_contact(w.business, review_id, ASK)
    assert again.value.reason is Refusal.CONTACT_COOLDOWN
    assert await reconcile.find(h.db, h.client, h.settings) == []


async def test_a_lost_contact_past_its_deadline_closes_as_no_response_and_tells_the_business(
    live: Harness,
) -> None:
    h, w = live, live.world
    quick = h.settings.model_copy(update={"reply_window": timedelta(seconds=1)})
    contact = (
        await Reviewdesk(h.client, h.db, quick).request_contact(
            w.business, w.review["organic"], ASK
        )
    ).contact
    await _terminate(h, contact_workflow_id(w.review["organic"]))
    await asyncio.sleep(1.2)

    [found] = await reconcile.find(h.db, h.client, h.settings)
    done = await reconcile.repair(h.db, h.client, h.settings, found)

    assert "closes as no response and the business is told" in done
    await h.eventually(lambda: h.messages("contact.no_response", "business"))
    view = await h.service.contact_view(contact.id)
    assert view.contact.status is ContactStatus.NO_RESPONSE
    assert view.contact.deadline == contact.deadline
    sent = Counter(m.event_type for m in await h.outbox())
    assert sent["contact.requested"] == 1 and sent["contact.no_response"] == 1


async def test_the_worker_counts_drift_and_logs_the_counts_only(
    live: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h, w = live, live.world
    review_id = w.review["organic"]
    contact = (await h.service.request_contact(w.business, review_id, ASK)).contact
    await _terminate(h, contact_workflow_id(review_id))
    often = h.settings.model_copy(update={"drift_check_every": timedelta(milliseconds=200)})
    checks = reconcile.LAST.checks

    with caplog.at_level(logging.INFO, logger="reviewdesk.drift"):
        async with drift_checks(h.client, h.db, often):
            await h.eventually(lambda: asyncio.sleep(0, reconcile.LAST.checks > checks))

    assert (reconcile.LAST.contacts, reconcile.LAST.reports) == (1, 0)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "1 contact(s) and 0 report(s) disagree" in logged
    assert contact.id not in logged and review_id not in logged and w.business not in logged


async def test_a_ticket_whose_workflow_never_started_is_found_and_started(
    live: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Temporal did not answer when the review came in, and the platform never retried: the
    review and its ticket are stored, but nothing keeps its response target."""
    h, w = live, live.world
    body = ReviewIn(
        external_id=f"lost-{w.business}",
        business_id=w.business,
        reviewer=ReviewerIn(id=w.reviewer, display_name="Robin R.", email=w.reviewer_email),
        rating=1,
        text="Nobody came.",
        source=ReviewSource.ORGANIC,
    )
    posted = await intake.record(h.db, body, at=now() - timedelta(minutes=5))
    workflow_id = ticket_workflow_id(posted.review.id)
    # Within its first minute a ticket is left alone: its start may still be on its way.
    fresh = await intake.record(
        h.db, body.model_copy(update={"external_id": f"fresh-{w.business}"})
    )

    listed = await run_cli(h, monkeypatch, "reconcile")
    assert f"ticket {posted.ticket.id} is not_started in the store" in listed.output
    assert f"{workflow_id} does not exist" in listed.output
    assert fresh.ticket.id not in listed.output

    applied = await run_cli(h, monkeypatch, "reconcile", "--apply")
    assert applied.output.count("-> started") == 1, applied.output

    async def started() -> bool:
        async with h.db.read() as conn:
            ticket = await tickets.get_ticket(conn, posted.ticket.id)
        return ticket is not None and ticket.started_at is not None

    assert await h.eventually(started)
    described = await h.client.get_workflow_handle(workflow_id).describe()
    assert described.status is WorkflowExecutionStatus.RUNNING
    assert await reconcile.find(h.db, h.client, h.settings) == []
