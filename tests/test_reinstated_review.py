"""A reinstated review stays visible when the step that filed its report runs again (issue 15.7).

The worker may die after ``file_report`` (and the report workflow's start) committed and before
the contact's workflow task completed. The retried task runs ``file_report`` again, by then
perhaps after a moderator rejected the report and reinstated the review.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

from temporalio import activity
from temporalio.testing import WorkflowEnvironment

from activities.contact import ContactActivities
from activities.delivery import DeliveryActivities
from activities.report import ReportActivities
from delivery.mail import FileMailer
from domain.enums import Answer, ContactStatus, Decision, Grounds, ReportStatus, Visibility
from domain.messages import FileReportInput, ReportWorkflowInput
from settings import Settings
from starter.inputs import ContactRequestBody, DecisionBody, ReportBody, WebhookBody
from store import Database
from tests.conftest import Running
from tests.consistency import violations
from tests.webhook_receiver import Receiver
from worker import activities_of

Meanwhile = Callable[[FileReportInput], Awaitable[None]]


class LostAfterFiling(ContactActivities):
    """``file_report`` whose first attempt is lost after its write and the report's start,
    with ``meanwhile`` happening before the retry, as it can before a retried workflow task."""

    meanwhile: Meanwhile | None = None
    filed: Counter[int] = Counter()

    @activity.defn(name="file_report")
    async def file_report(self, inp: FileReportInput) -> list[str]:
        keys = await super().file_report(inp)
        attempt = activity.info().attempt
        self.filed[attempt] += 1
        if attempt == 1 and self.meanwhile is not None:
            await self.meanwhile(inp)
            raise RuntimeError("worker lost before its workflow task completed")
        return keys


async def test_a_retried_file_report_leaves_a_reinstated_review_visible(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings
) -> None:
    delivery = DeliveryActivities(db, settings, FileMailer(settings.mail_dir), dev_env.client)
    contact_steps = LostAfterFiling(db, settings, dev_env.client, delivery.hand_over)
    activities = activities_of(
        contact_steps, ReportActivities(db, settings, delivery.hand_over), delivery
    )
    async with Running(dev_env, db, settings, activities=activities) as h:
        w = h.world
        review_id = w.review["organic"]
        contact = (
            await h.service.request_contact(w.business, review_id, ContactRequestBody(message="Hi"))
        ).contact
        await h.service.answer(await h.reply_token(contact.id), Answer.DECLINE)

        async def reject_meanwhile(inp: FileReportInput) -> None:
            # What the lost task had done after filing: start the report's own workflow.
            assert inp.delivery is not None
            await contact_steps.start_report_workflow(
                ReportWorkflowInput(
                    report_id=inp.report_id,
                    review_id=review_id,
                    contact_id=contact.id,
                    business_id=w.business,
                    sla_deadline=inp.sla_deadline,
                    delivery=inp.delivery,
                )
            )
            await h.service.decide(
                w.moderator, inp.report_id, DecisionBody(decision=Decision.REJECT, note="Genuine")
            )

        contact_steps.meanwhile = reject_meanwhile
        reported = await asyncio.wait_for(
            h.service.report(w.business, contact.id, ReportBody(grounds=Grounds.NO_RESPONSE)),
            timeout=60,
        )

        assert contact_steps.filed == Counter({1: 1, 2: 1})
        assert reported.report.status is ReportStatus.REJECTED
        assert (await h.review(review_id)).visibility is Visibility.VISIBLE
        view = await h.service.contact_view(contact.id)
        assert view.contact.status is ContactStatus.REPORTED
        assert Counter(e.type for e in view.history)["reported"] == 1
        await h.all_delivered()
        told = Counter((m.event_type, m.recipient_kind) for m in await h.outbox())
        assert told[("report.opened", "business")] == 1
        assert told[("report.rejected", "business")] == 1
        assert await violations(db, h.client) == []


class DiesBeforeHandingOver(ContactActivities):
    """``file_report`` whose first attempt commits and then dies before handing its messages
    to delivery, as a worker killed between the two would."""

    @activity.defn(name="file_report")
    async def file_report(self, inp: FileReportInput) -> list[str]:
        if activity.info().attempt > 1:
            return await super().file_report(inp)
        deliver, self.hand_over = self.hand_over, None
        try:
            # With nothing to hand over to, the step raises right after its commit.
            return await super().file_report(inp)
        finally:
            self.hand_over = deliver


async def test_a_retried_file_report_hands_over_every_message_the_first_recorded(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings
) -> None:
    settings = settings.model_copy(update={"webhook_allow_private": True})
    receiver = Receiver()
    await receiver.start()
    delivery = DeliveryActivities(db, settings, FileMailer(settings.mail_dir), dev_env.client)
    contact_steps = DiesBeforeHandingOver(db, settings, dev_env.client, delivery.hand_over)
    activities = activities_of(
        contact_steps, ReportActivities(db, settings, delivery.hand_over), delivery
    )
    try:
        async with Running(dev_env, db, settings, activities=activities) as h:
            w = h.world
            await h.service.webhooks.register(w.business, WebhookBody(url=receiver.url))
            review_id = w.review["organic"]
            ask = ContactRequestBody(message="Hi")
            contact = (await h.service.request_contact(w.business, review_id, ask)).contact
            await h.service.answer(await h.reply_token(contact.id), Answer.DECLINE)
            await h.service.report(w.business, contact.id, ReportBody(grounds=Grounds.NO_RESPONSE))

            # The business's email and its endpoint's event were both recorded by the lost
            # attempt; the retry must send both, once.
            sent = await h.all_delivered()
            opened = [m for m in sent if m.event_type == "report.opened"]
            assert sorted(m.channel for m in opened if m.recipient_kind != "reviewer") == [
                "email",
                "webhook",
            ]
            await h.eventually(lambda: _arrived(receiver, "report.opened"), timeout=20)
            assert [d.event["type"] for d in receiver.accepted()].count("report.opened") == 1
    finally:
        await receiver.stop()


async def _arrived(receiver: Receiver, event_type: str) -> bool | None:
    return any(d.event["type"] == event_type for d in receiver.accepted()) or None
