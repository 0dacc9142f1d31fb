"""The private dialogue on a ticket (DESIGN rule 21, issue 19 acceptance 6): "Find reviewer"
opens a Part 1 contact; the ticket is ``pending`` while the reviewer's window runs and ``open``
again however the dialogue ends, its history saying so once."""

from __future__ import annotations

import secrets
from datetime import timedelta

from domain.desk import ANONYMOUS
from domain.enums import (
    Answer,
    ContactStatus,
    Grounds,
    RequestedItem,
    ReviewSource,
    TicketEventKind,
    TicketStatus,
)
from starter.desk_inputs import ReviewerIn, ReviewIn
from starter.inputs import ContactRequestBody, ReplyBody, ReportBody
from store import tickets
from store.records import Ticket, TicketEvent
from tests.conftest import Harness
from tests.web import sign_in, web_client

ASK = ContactRequestBody(
    message="We can't find your order. Could you help us find it?",
    requested=[RequestedItem.ORDER_REFERENCE],
)
DIALOGUE = (TicketEventKind.CONTACT_OPENED, TicketEventKind.CONTACT_ENDED)


async def _post(h: Harness, rating: int) -> Ticket:
    """A new review from the platform, with its ticket (new, its workflow running)."""
    tag = secrets.token_hex(4)
    posted = await h.service.intake.post(
        ReviewIn(
            external_id=f"ext-{tag}",
            business_id=h.world.business,
            reviewer=ReviewerIn(
                id=f"rvr-{tag}", display_name="Sam Lee", email=f"sam.{tag}@private.example"
            ),
            rating=rating,
            title="Cold food",
            text="The food was cold and nobody answered.",
            source=ReviewSource.ORGANIC,
        )
    )
    assert posted.ticket.status is TicketStatus.NEW
    return posted.ticket


async def _status(h: Harness, ticket_id: str) -> TicketStatus:
    async with h.db.read() as conn:
        ticket = await tickets.get_ticket(conn, ticket_id)
    assert ticket is not None
    return ticket.status


async def _dialogue(h: Harness, ticket_id: str) -> list[tuple[TicketEventKind, str | None]]:
    """The ticket's history of its private dialogue: each event with the contact it names."""
    async with h.db.read() as conn:
        events: list[TicketEvent] = await tickets.events_of(conn, ticket_id)
    return [(e.kind, e.detail) for e in events if e.kind in DIALOGUE]


async def _shows_contact(h: Harness, ticket: Ticket, contact_id: str) -> None:
    """The ticket's page shows it pending, with its contact."""
    detail = await h.service.desk.ticket(h.world.business, ticket.id)
    assert detail.ticket.status is TicketStatus.PENDING
    assert detail.contact is not None and detail.contact.id == contact_id
    assert detail.contact.status is ContactStatus.AWAITING_REPLY


async def _open_contact(h: Harness, ticket: Ticket) -> str:
    view = await h.service.request_contact(h.world.business, ticket.review_id, ASK)
    assert view.contact.status is ContactStatus.AWAITING_REPLY
    # Pending as soon as the request is answered: in the step that opened the contact.
    assert await _status(h, ticket.id) is TicketStatus.PENDING
    await _shows_contact(h, ticket, view.contact.id)
    return view.contact.id


async def _is_open_again(h: Harness, ticket_id: str) -> bool:
    return await _status(h, ticket_id) is TicketStatus.OPEN


async def test_a_ticket_is_pending_while_its_contact_runs_and_open_once_the_business_closes_it(
    skipping: Harness,
) -> None:
    h = skipping
    ticket = await _post(h, rating=1)
    contact_id = await _open_contact(h, ticket)

    closed = await h.service.close(h.world.business, contact_id)
    assert closed.contact.status is ContactStatus.CLOSED
    assert await _status(h, ticket.id) is TicketStatus.OPEN
    assert await _dialogue(h, ticket.id) == [
        (TicketEventKind.CONTACT_OPENED, contact_id),
        (TicketEventKind.CONTACT_ENDED, contact_id),
    ]


async def test_a_silent_reviewer_ends_the_dialogue_and_the_ticket_is_open_again(
    skipping: Harness,
) -> None:
    h = skipping
    # Three stars: the response target's reminder falls after the reply window (5.25 days).
    ticket = await _post(h, rating=3)
    contact_id = await _open_contact(h, ticket)

    await h.env.sleep(timedelta(days=5, minutes=1))
    await h.eventually(lambda: _is_open_again(h, ticket.id))
    assert (await h.service.contact_view(contact_id)).contact.status is ContactStatus.NO_RESPONSE
    assert await _dialogue(h, ticket.id) == [
        (TicketEventKind.CONTACT_OPENED, contact_id),
        (TicketEventKind.CONTACT_ENDED, contact_id),
    ]


async def test_a_reply_reopens_the_ticket_and_the_report_after_it_records_nothing_twice(
    skipping: Harness,
) -> None:
    h = skipping
    ticket = await _post(h, rating=2)
    contact_id = await _open_contact(h, ticket)

    token = await h.reply_token(contact_id)
    replied = await h.service.answer(token, Answer.REPLY, ReplyBody(order_reference="ORD-1"))
    assert replied.status is ContactStatus.REPLIED
    assert await _status(h, ticket.id) is TicketStatus.OPEN

    await h.service.report(
        h.world.business, contact_id, ReportBody(grounds=Grounds.INSUFFICIENT_INFORMATION)
    )
    assert (await h.service.contact_view(contact_id)).contact.status is ContactStatus.REPORTED
    assert await _status(h, ticket.id) is TicketStatus.OPEN
    assert await _dialogue(h, ticket.id) == [
        (TicketEventKind.CONTACT_OPENED, contact_id),
        (TicketEventKind.CONTACT_ENDED, contact_id),
    ]


async def test_a_solved_ticket_stays_solved_through_a_contact_and_a_retried_step_counts_once(
    skipping: Harness,
) -> None:
    h = skipping
    ticket = await _post(h, rating=4)
    async with h.db.tx() as conn:
        assert await tickets.set_status(
            conn, ticket.id, TicketStatus.SOLVED, only_from=(TicketStatus.NEW,)
        )
    contact_id = (
        await h.service.request_contact(h.world.business, ticket.review_id, ASK)
    ).contact.id
    assert await _status(h, ticket.id) is TicketStatus.SOLVED

    await h.service.close(h.world.business, contact_id)
    # The close step again, as a retry after its commit would: nothing more is recorded.
    async with h.db.tx() as conn:
        at = (await h.service.contact_view(contact_id)).contact.closed_at
        assert at is not None
        await tickets.follow_contact(conn, ticket.review_id, contact_id, ended=True, at=at)
    assert await _status(h, ticket.id) is TicketStatus.SOLVED
    assert await _dialogue(h, ticket.id) == [
        (TicketEventKind.CONTACT_OPENED, contact_id),
        (TicketEventKind.CONTACT_ENDED, contact_id),
    ]


async def _post_by(h: Harness, reviewer_id: str, display_name: str | None, title: str) -> Ticket:
    """A review by ``reviewer_id``, signed with ``display_name`` or anonymous (None)."""
    posted = await h.service.intake.post(
        ReviewIn(
            external_id=f"ext-{secrets.token_hex(4)}",
            business_id=h.world.business,
            reviewer=ReviewerIn(
                id=reviewer_id, display_name=display_name, email=f"{reviewer_id}@private.example"
            ),
            rating=2,
            title=title,
            text="The food was cold and nobody answered.",
            source=ReviewSource.ORGANIC,
        )
    )
    return posted.ticket


async def _business_mail(h: Harness, contact_id: str) -> str:
    """Every email the business was sent about a contact, subjects and bodies."""
    return "\n".join(
        f"{m.subject}\n{m.body_text}"
        for m in await h.outbox()
        if m.subject_id == contact_id and m.recipient_kind == "business"
    )


async def test_an_anonymous_review_keeps_its_author_unnamed_to_the_business_through_a_contact(
    skipping: Harness,
) -> None:
    h = skipping
    reviewer = f"rvr-{secrets.token_hex(4)}"
    await _post_by(h, reviewer, "Sam Lee", "Signed and fine")
    anonymous = await _post_by(h, reviewer, None, "Posted without my name")
    contact_id = await _open_contact(h, anonymous)
    token = await h.reply_token(contact_id)
    await h.service.answer(token, Answer.REPLY, ReplyBody(order_reference="ORD-7"))

    told = await _business_mail(h, contact_id)
    assert "Anonymous reviewer replied about their review" in told
    assert "Sam Lee" not in told
    async with web_client(h) as web:
        await sign_in(web, h.world.keys[h.world.business])
        page = (await web.get("/dashboard")).text
    card = page[page.index(f'data-contact="{contact_id}"') :]
    card = card[: card.index("</section>")]
    assert "Anonymous reviewer" in card and "Sam Lee" not in card


async def test_a_reviewer_without_a_name_is_greeted_and_named_in_words(skipping: Harness) -> None:
    h = skipping
    ticket = await _post_by(h, f"rvr-{secrets.token_hex(4)}", None, "Posted without my name")
    contact_id = await _open_contact(h, ticket)
    [asked] = [
        m for m in await h.messages("contact.requested", "reviewer") if m.subject_id == contact_id
    ]
    assert asked.body_text.startswith("Hello,\n\n"), asked.body_text
    await h.service.close(h.world.business, contact_id)
    await h.eventually(lambda: _is_open_again(h, ticket.id))


async def test_a_signed_review_after_an_anonymous_one_names_its_author(skipping: Harness) -> None:
    h = skipping
    reviewer = f"rvr-{secrets.token_hex(4)}"
    first = await _post_by(h, reviewer, None, "Posted without my name")
    signed = await _post_by(h, reviewer, "Sam Lee", "Signed this time")
    assert first.requester == ANONYMOUS and signed.requester == "Sam Lee"
    contact_id = await _open_contact(h, signed)
    await h.service.close(h.world.business, contact_id)
    async with web_client(h) as web:
        await sign_in(web, h.world.keys[h.world.business])
        page = (await web.get("/dashboard")).text
    # The signed review's card, and its contact's, name its author; the anonymous one does not.
    assert page.count("by Sam Lee") == 2, page
    card = page[page.index(f'data-review="{first.review_id}"') :]
    assert "by Anonymous reviewer" in card[: card.index("</section>")]
