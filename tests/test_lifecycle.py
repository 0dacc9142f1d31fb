"""The two journeys of the feature, end to end under the time-skipping server (acceptance 1, 2)."""

from __future__ import annotations

from datetime import timedelta

from domain.enums import (
    REVIEWER_CONTACTED_LABEL,
    Answer,
    ContactStatus,
    Decision,
    Grounds,
    ReportStatus,
    RequestedItem,
    Visibility,
)
from starter.inputs import ContactRequestBody, DecisionBody, ReplyBody, ReportBody
from tests.conftest import Harness

ASK = ContactRequestBody(
    message="We can't find your order. Could you help us find it?",
    requested=[RequestedItem.ORDER_REFERENCE, RequestedItem.CONTACT_DETAILS],
)


async def _status_is(h: Harness, contact_id: str, status: ContactStatus) -> bool:
    return (await h.service.contact_view(contact_id)).contact.status is status


async def test_silent_reviewer_is_reported_and_upheld_and_the_review_is_removed(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    review_id = w.review["organic"]

    view = await h.service.request_contact(w.business, review_id, ASK)
    contact_id = view.contact.id
    assert view.contact.status is ContactStatus.AWAITING_REPLY
    assert view.contact.deadline - view.contact.opened_at == timedelta(days=5)
    review = await h.review(review_id)
    assert REVIEWER_CONTACTED_LABEL in review.labels
    assert review.visibility is Visibility.VISIBLE  # still visible while contacted (rule 2)
    [request] = await h.messages("contact.requested", "reviewer")
    assert request.to_address == w.reviewer_email

    # Five days pass in a moment; the reviewer never answers.
    await h.env.sleep(timedelta(days=5, minutes=1))
    await h.eventually(lambda: _status_is(h, contact_id, ContactStatus.NO_RESPONSE))
    [told] = await h.messages("contact.no_response", "business")
    assert told.to_address == w.business_email
    assert "did not reply" in told.body_text

    report = await h.service.report(w.business, contact_id, ReportBody(grounds=Grounds.NO_RESPONSE))
    assert report.report.status is ReportStatus.PENDING
    assert report.report.grounds is Grounds.NO_RESPONSE
    # Hidden at once: the 202 comes after the review is hidden, not eventually.
    assert (await h.review(review_id)).visibility is Visibility.HIDDEN
    assert (await h.service.contact_view(contact_id)).contact.status is ContactStatus.REPORTED
    await h.eventually(lambda: h.messages("report.opened", "reviewer"))

    decided = await h.service.decide(
        w.moderator, report.report.id, DecisionBody(decision=Decision.UPHOLD, note="No order.")
    )
    assert decided.report.status is ReportStatus.UPHELD
    removed = await h.review(review_id)
    assert removed.visibility is Visibility.REMOVED  # kept in the store, never deleted
    assert removed.text == "Text of organic"
    assert len(await h.messages("report.upheld", "business")) == 1
    assert len(await h.messages("report.upheld", "reviewer")) == 1

    history = [e.type for e in (await h.service.contact_view(contact_id)).history]
    assert history == ["opened", "request_sent", "no_response", "reported", "opened", "upheld"]
    # In the order they were recorded; those of one step by recipient (the removal's email to
    # the reviewer is its statement of reasons, keyed by the statement, not by the report).
    delivered = sorted(await h.all_delivered(), key=lambda m: (m.created_at, m.recipient_kind))
    assert [(m.event_type, m.recipient_kind) for m in delivered] == [
        ("contact.requested", "reviewer"),
        ("contact.no_response", "business"),
        ("report.opened", "business"),
        ("report.opened", "reviewer"),
        ("report.upheld", "business"),
        ("report.upheld", "reviewer"),
    ]
    for message in delivered:
        assert h.settings.mail_dir.joinpath(message.key.replace(":", "_") + ".eml").exists()


async def test_reply_then_insufficient_information_report_rejected_and_review_visible_again(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    review_id = w.review["external"]
    contact_id = (await h.service.request_contact(w.business, review_id, ASK)).contact.id
    token = await h.reply_token(contact_id)

    await h.env.sleep(timedelta(days=2))
    replied = await h.service.answer(
        token, Answer.REPLY, ReplyBody(order_reference="ORD-7781", message="Bought in March.")
    )
    assert replied.status is ContactStatus.REPLIED
    [told] = await h.messages("contact.replied", "business")
    assert "ORD-7781" in told.body_text and "Bought in March." in told.body_text
    assert w.reviewer_email not in told.body_text
    view = await h.service.contact_of(w.business, contact_id)
    assert view.answer is not None and view.answer.order_reference == "ORD-7781"

    report = await h.service.report(
        w.business, contact_id, ReportBody(grounds=Grounds.INSUFFICIENT_INFORMATION)
    )
    assert report.report.grounds is Grounds.INSUFFICIENT_INFORMATION
    assert (await h.review(review_id)).visibility is Visibility.HIDDEN

    decided = await h.service.decide(
        w.moderator, report.report.id, DecisionBody(decision=Decision.REJECT, note="Genuine.")
    )
    assert decided.report.status is ReportStatus.REJECTED
    assert decided.decision is not None and decided.decision.note == "Genuine."
    assert (await h.review(review_id)).visibility is Visibility.VISIBLE
    assert len(await h.messages("report.rejected", "business")) == 1
    assert len(await h.messages("report.rejected", "reviewer")) == 1
    await h.all_delivered()
