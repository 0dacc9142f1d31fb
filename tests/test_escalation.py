"""A report nobody decides within the moderation SLA is escalated once and stays pending (5)."""

from __future__ import annotations

from datetime import timedelta

from domain.enums import ContactStatus, Decision, Grounds, ReportStatus, Visibility
from starter.inputs import ContactRequestBody, DecisionBody, ReportBody
from store import history
from tests.conftest import Harness


async def test_overdue_report_escalates_once_and_stays_pending_until_decided(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    contact = (
        await h.service.request_contact(
            w.business, w.review["organic"], ContactRequestBody(message="Order number, please?")
        )
    ).contact
    await h.env.sleep(timedelta(days=5, minutes=1))

    async def silent() -> bool:
        view = await h.service.contact_view(contact.id)
        return view.contact.status is ContactStatus.NO_RESPONSE

    await h.eventually(silent)
    report = (
        await h.service.report(w.business, contact.id, ReportBody(grounds=Grounds.NO_RESPONSE))
    ).report

    await h.env.sleep(timedelta(days=1))
    assert (await h.service.report_view(report.id)).report.escalated_at is None

    await h.env.sleep(timedelta(days=1, minutes=5))
    await h.eventually(lambda: h.messages("report.escalated", "moderation"))
    await h.env.sleep(timedelta(days=10))

    view = await h.service.report_view(report.id)
    assert view.report.status is ReportStatus.PENDING
    assert view.report.escalated_at is not None
    assert (await h.review(w.review["organic"])).visibility is Visibility.HIDDEN
    [escalation] = await h.messages("report.escalated", "moderation")
    assert escalation.to_address == h.settings.moderation_email
    async with h.db.read() as conn:
        events = [e.type for e in await history.history_of(conn, [report.id])]
    assert events.count("escalated") == 1
    assert report.id in (r.id for r in await h.service.reports(ReportStatus.PENDING))

    decided = await h.service.decide(
        w.moderator, report.id, DecisionBody(decision=Decision.UPHOLD, note="late but sure")
    )
    assert decided.report.status is ReportStatus.UPHELD
    assert len(await h.messages("report.escalated", "moderation")) == 1
