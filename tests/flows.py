"""Whole journeys, shared by the privacy scan and the recorder of stored histories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import WorkflowHistory

from domain import contact_workflow_id, report_workflow_id
from domain.enums import Answer, ContactStatus, Decision, Grounds, RequestedItem
from starter.inputs import ContactRequestBody, DecisionBody, ReplyBody, ReportBody
from tests.conftest import Harness

BUSINESS_MESSAGE = "We cannot find a booking under your name, could you help us?"
SHARED_ORDER = "ORDER-SECRET-4411"
SHARED_DETAILS = "call me on +44 7700 900123"
SHARED_MESSAGE = "I visited on a rainy Tuesday in June"
MODERATOR_NOTE = "Looked at the booking system notes"


@dataclass
class Journey:
    contact_id: str
    report_id: str
    review_id: str
    token: str

    async def histories(self, h: Harness) -> dict[str, WorkflowHistory]:
        contact = h.client.get_workflow_handle(contact_workflow_id(self.review_id))
        report = h.client.get_workflow_handle(report_workflow_id(self.review_id))
        await contact.result()
        await report.result()
        return {"contact": await contact.fetch_history(), "report": await report.fetch_history()}


async def replied_then_rejected(h: Harness) -> Journey:
    w = h.world
    review_id = w.review["organic"]
    body = ContactRequestBody(
        message=BUSINESS_MESSAGE,
        requested=[RequestedItem.ORDER_REFERENCE, RequestedItem.CONTACT_DETAILS],
    )
    contact = (await h.service.request_contact(w.business, review_id, body)).contact
    token = await h.reply_token(contact.id)
    await h.service.answer(
        token,
        Answer.REPLY,
        ReplyBody(
            order_reference=SHARED_ORDER, contact_details=SHARED_DETAILS, message=SHARED_MESSAGE
        ),
    )
    report = await h.service.report(
        w.business, contact.id, ReportBody(grounds=Grounds.INSUFFICIENT_INFORMATION)
    )
    await h.service.decide(
        w.moderator, report.report.id, DecisionBody(decision=Decision.REJECT, note=MODERATOR_NOTE)
    )
    return Journey(contact.id, report.report.id, review_id, token)


async def silent_escalated_then_upheld(h: Harness) -> Journey:
    w = h.world
    review_id = w.review["external"]
    body = ContactRequestBody(message=BUSINESS_MESSAGE)
    contact = (await h.service.request_contact(w.business, review_id, body)).contact
    token = await h.reply_token(contact.id)
    await h.env.sleep(timedelta(days=5, minutes=1))

    async def silent() -> bool:
        view = await h.service.contact_view(contact.id)
        return view.contact.status is ContactStatus.NO_RESPONSE

    await h.eventually(silent)
    report = await h.service.report(w.business, contact.id, ReportBody(grounds=Grounds.NO_RESPONSE))
    await h.env.sleep(timedelta(days=2, minutes=1))
    await h.eventually(lambda: h.messages("report.escalated", "moderation"))
    await h.service.decide(
        w.moderator, report.report.id, DecisionBody(decision=Decision.UPHOLD, note=MODERATOR_NOTE)
    )
    return Journey(contact.id, report.report.id, review_id, token)
