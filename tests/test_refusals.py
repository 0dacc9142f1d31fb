"""Every refusal has its own reason and changes nothing (acceptance 3 and 4)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.enums import Answer, ContactStatus, Decision, Grounds, Visibility
from domain.refusals import Refusal, Refused
from starter.inputs import ContactRequestBody, DecisionBody, ReplyBody, ReportBody
from store import contacts, reviews
from tests.conftest import Harness

ASK = ContactRequestBody(message="Could you tell us your order number?")


async def _refusal(action: object) -> Refusal:
    with pytest.raises(Refused) as caught:
        await action  # type: ignore[misc]
    return caught.value.reason


async def _contacts_of(h: Harness, review_id: str) -> int:
    async with h.db.read() as conn:
        return len(await contacts.contacts_of_review(conn, review_id))


async def test_each_eligibility_refusal_has_its_own_reason_and_nothing_is_sent(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    refused = {
        "missing": await _refusal(h.service.request_contact(w.business, "rv_nope", ASK)),
        "others": await _refusal(h.service.request_contact(w.business, w.review["others"], ASK)),
        "platform": await _refusal(
            h.service.request_contact(w.business, w.review["platform"], ASK)
        ),
        "removed": await _refusal(h.service.request_contact(w.business, w.review["removed"], ASK)),
    }
    assert refused == {
        # Another business's review is answered exactly like one that does not exist.
        "missing": Refusal.REVIEW_NOT_FOUND,
        "others": Refusal.REVIEW_NOT_FOUND,
        "platform": Refusal.NOT_ELIGIBLE_SOURCE,
        "removed": Refusal.REVIEW_NOT_VISIBLE,
    }
    assert Refusal.NOT_ELIGIBLE_SOURCE.http_status == 422
    assert Refusal.REVIEW_NOT_FOUND.http_status == 404
    # A platform-invitation review is never contacted: no contact, no label, no email.
    assert await _contacts_of(h, w.review["platform"]) == 0
    assert (await h.review(w.review["platform"])).labels == []
    assert await h.outbox() == []

    # An open contact, then an already reported review.
    first = await h.service.request_contact(w.business, w.review["organic"], ASK)
    assert (
        await _refusal(h.service.request_contact(w.business, w.review["organic"], ASK))
        is Refusal.OPEN_CONTACT
    )
    assert await _contacts_of(h, w.review["organic"]) == 1
    await h.env.sleep(timedelta(days=5, minutes=1))
    await h.eventually(lambda: _status(h, first.contact.id, ContactStatus.NO_RESPONSE))
    report = await h.service.report(
        w.business, first.contact.id, ReportBody(grounds=Grounds.NO_RESPONSE)
    )
    await h.service.decide(w.moderator, report.report.id, DecisionBody(decision=Decision.REJECT))
    assert (await h.review(w.review["organic"])).visibility is Visibility.VISIBLE
    assert (
        await _refusal(h.service.request_contact(w.business, w.review["organic"], ASK))
        is Refusal.ALREADY_REPORTED
    )
    assert [m.event_type for m in await h.messages("contact.requested", "reviewer")] == [
        "contact.requested"
    ]


async def _status(h: Harness, contact_id: str, status: ContactStatus) -> bool:
    return (await h.service.contact_view(contact_id)).contact.status is status


async def test_a_hidden_review_that_is_not_reported_is_refused_as_not_visible(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    async with h.db.tx() as conn:
        await reviews.set_visibility(conn, w.review["organic2"], Visibility.HIDDEN)
    assert (
        await _refusal(h.service.request_contact(w.business, w.review["organic2"], ASK))
        is Refusal.REVIEW_NOT_VISIBLE
    )


async def test_reports_are_refused_while_the_window_is_open_twice_and_after_the_report_window(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    report = ReportBody(grounds=Grounds.NO_RESPONSE)

    # Window open.
    first = (await h.service.request_contact(w.business, w.review["organic"], ASK)).contact
    assert await _refusal(h.service.report(w.business, first.id, report)) is Refusal.WINDOW_OPEN
    assert (await h.review(w.review["organic"])).visibility is Visibility.VISIBLE
    # Another business cannot see, let alone report, this contact.
    assert (
        await _refusal(h.service.report(w.other_business, first.id, report))
        is Refusal.CONTACT_NOT_FOUND
    )

    # Wrong grounds after a decline, then reported, then twice.
    token = await h.reply_token(first.id)
    await h.service.answer(token, Answer.DECLINE)
    assert (
        await _refusal(
            h.service.report(
                w.business, first.id, ReportBody(grounds=Grounds.INSUFFICIENT_INFORMATION)
            )
        )
        is Refusal.GROUNDS_MISMATCH
    )
    await h.service.report(w.business, first.id, report)
    assert (
        await _refusal(h.service.report(w.business, first.id, report)) is Refusal.ALREADY_REPORTED
    )

    # After the report window (14 days after the reply window closed).
    second = (await h.service.request_contact(w.business, w.review["external"], ASK)).contact
    await h.env.sleep(timedelta(days=5, minutes=1))
    await h.eventually(lambda: _status(h, second.id, ContactStatus.NO_RESPONSE))
    await h.env.sleep(timedelta(days=14, minutes=1))
    await h.eventually(lambda: _status(h, second.id, ContactStatus.CLOSED))
    assert (
        await _refusal(h.service.report(w.business, second.id, report))
        is Refusal.REPORT_WINDOW_OVER
    )
    assert (await h.review(w.review["external"])).visibility is Visibility.VISIBLE


async def test_a_reply_after_the_window_is_refused_and_a_second_answer_too(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    late = (await h.service.request_contact(w.business, w.review["organic"], ASK)).contact
    token = await h.reply_token(late.id)
    await h.env.sleep(timedelta(days=5, minutes=1))
    # The store may not have recorded the silence yet; the workflow refuses all the same.
    assert (
        await _refusal(
            h.service.answer(token, Answer.REPLY, ReplyBody(message="Sorry, I was away"))
        )
        is Refusal.WINDOW_CLOSED
    )
    await h.eventually(lambda: _status(h, late.id, ContactStatus.NO_RESPONSE))
    assert await _refusal(h.service.answer(token, Answer.DECLINE)) is Refusal.WINDOW_CLOSED
    view = await h.service.contact_view(late.id)
    assert view.answer is None
    assert not await h.messages("contact.replied", "business")

    answered = (await h.service.request_contact(w.business, w.review["external"], ASK)).contact
    token = await h.reply_token(answered.id)
    await h.service.answer(token, Answer.REPLY, ReplyBody(order_reference="A-1"))
    assert (
        await _refusal(h.service.answer(token, Answer.REPLY, ReplyBody(order_reference="B-2")))
        is Refusal.ALREADY_ANSWERED
    )
    assert (
        await _refusal(h.service.answer("forged-token", Answer.DECLINE)) is Refusal.LINK_NOT_FOUND
    )
    view = await h.service.contact_view(answered.id)
    assert view.answer is not None and view.answer.order_reference == "A-1"
    assert len(await h.messages("contact.replied", "business")) == 1


async def test_a_closed_contact_frees_the_review_for_a_new_contact_and_refuses_a_report(
    skipping: Harness,
) -> None:
    h, w = skipping, skipping.world
    first = (await h.service.request_contact(w.business, w.review["organic"], ASK)).contact
    closed = await h.service.close(w.business, first.id)
    assert closed.contact.status is ContactStatus.CLOSED
    token = await h.reply_token(first.id)
    assert await _refusal(h.service.answer(token, Answer.DECLINE)) is Refusal.WINDOW_CLOSED
    assert (
        await _refusal(
            h.service.report(w.business, first.id, ReportBody(grounds=Grounds.NO_RESPONSE))
        )
        is Refusal.CONTACT_CLOSED
    )
    assert await _refusal(h.service.close(w.business, first.id)) is Refusal.CONTACT_CLOSED
    # A new contact waits out the cooldown after the close (DESIGN rule 1), then opens.
    again = h.service.request_contact(w.business, w.review["organic"], ASK)
    assert await _refusal(again) is Refusal.CONTACT_COOLDOWN
    await h.env.sleep(h.settings.contact_cooldown + timedelta(minutes=1))
    second = (await h.service.request_contact(w.business, w.review["organic"], ASK)).contact
    assert second.id != first.id and second.status is ContactStatus.AWAITING_REPLY
