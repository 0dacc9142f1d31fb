"""The steps of a ticket (DESIGN rules 14, 15, 20): the business told of the new review, the
reminder at three quarters of the response target, the breach at the target.

Each is one transaction. The reminder and the breach are marked once on the ticket
(``reminded_at``, ``breached_at``), so a retried step records nothing twice; a retry after the
commit finds the step's messages in the outbox and hands them over again (delivery sends each
once). An answered ticket (replied to, marked spam or solved) is reminded of nothing and never
breaches.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity

from activities import _notify
from activities._steps import ProcessSteps
from delivery import ticket_texts
from delivery.links import ticket_url
from domain.enums import TicketEventKind, WebhookEvent
from domain.ticket_messages import TicketStepDone, TicketStepInput
from store import accounts, members, outbox, reviews, tickets
from store.connection import Connection
from store.records import Business, Ticket

REMINDER = "ticket.reminder"


class TicketActivities(ProcessSteps):
    """Each step is named ``ticket.<step>``."""

    @activity.defn(name="ticket.opened")
    async def opened(self, inp: TicketStepInput) -> None:
        """The ``review.created`` event to the business's endpoints that take it: ids, the
        rating, the source and the tags; never the reviewer's address, name or words."""
        async with self.db.tx() as conn:
            ticket, business = await self._ticket(conn, inp.ticket_id)
            await tickets.mark_started(conn, ticket.id, inp.at)
            review = await reviews.get_review(conn, ticket.review_id)
            if review is None:
                raise RuntimeError(f"ticket {ticket.id}'s review is not in the store")
            keys = await _notify.webhook(
                conn,
                business=business,
                subject_id=ticket.id,
                event_type=WebhookEvent.REVIEW_CREATED.value,
                data={
                    "review_id": review.id,
                    "external_id": review.external_id,
                    "ticket_id": ticket.id,
                    "rating": review.rating,
                    "source": review.source.value,
                    "anonymous": review.anonymous,
                    "priority": ticket.priority.value,
                    "tags": ticket.tags,
                    "target_at": ticket.target_at.isoformat(),
                },
                at=inp.at,
            )
        await _notify.hand_over(keys, inp.delivery, self.hand_over)

    @activity.defn(name="ticket.remind")
    async def remind(self, inp: TicketStepInput) -> TicketStepDone:
        """Emails the assignee, or the owner if none, unless the ticket is answered."""
        async with self.db.tx() as conn:
            ticket, business = await self._ticket(conn, inp.ticket_id)
            if ticket.answered:
                return TicketStepDone(solved=True)
            if await tickets.mark_reminded(conn, ticket.id, inp.at):
                member = (
                    await members.member_of(conn, business.id, ticket.assignee_id)
                    if ticket.assignee_id
                    else None
                ) or await members.owner_of(conn, business.id)
                if member is None:
                    raise RuntimeError(f"business {business.id} has no owner")
                await _notify.email(
                    conn,
                    subject_id=ticket.id,
                    event_type=REMINDER,
                    recipient_kind="member",
                    recipient_id=member.id,
                    to_address=member.email,
                    text=ticket_texts.reminder(ticket, member, business, self._link(ticket)),
                    at=inp.at,
                )
                await tickets.add_event(
                    conn, ticket.id, TicketEventKind.REMINDED, at=inp.at, detail=member.id
                )
            keys = await _recorded(conn, ticket.id, REMINDER)
        await _notify.hand_over(keys, inp.delivery, self.hand_over)
        return TicketStepDone()

    @activity.defn(name="ticket.breach")
    async def breach(self, inp: TicketStepInput) -> TicketStepDone:
        """Tags the ticket ``sla_breached`` and tells the owner (email and ``ticket.sla_breached``
        webhook), unless it is answered. Replying later stays allowed."""
        event = WebhookEvent.TICKET_SLA_BREACHED.value
        async with self.db.tx() as conn:
            ticket, business = await self._ticket(conn, inp.ticket_id)
            if ticket.answered:
                return TicketStepDone(solved=True)
            if await tickets.mark_breached(conn, ticket.id, inp.at):
                data: dict[str, Any] = {
                    "ticket_id": ticket.id,
                    "review_id": ticket.review_id,
                    "rating": ticket.rating,
                    "status": ticket.status.value,
                    "assignee_id": ticket.assignee_id,
                    "target_at": ticket.target_at.isoformat(),
                }
                await _notify.tell_business(
                    conn,
                    business=business,
                    subject_id=ticket.id,
                    event_type=event,
                    text=ticket_texts.breached(ticket, business, self._link(ticket)),
                    data=data,
                    at=inp.at,
                )
                await tickets.add_event(conn, ticket.id, TicketEventKind.SLA_BREACHED, at=inp.at)
            keys = await _recorded(conn, ticket.id, event)
        await _notify.hand_over(keys, inp.delivery, self.hand_over)
        return TicketStepDone()

    async def _ticket(self, conn: Connection, ticket_id: str) -> tuple[Ticket, Business]:
        ticket = await tickets.get_ticket(conn, ticket_id)
        business = await accounts.get_business(conn, ticket.business_id) if ticket else None
        if ticket is None or business is None:
            # Written with its review before the workflow started: retried until it is there.
            raise RuntimeError(f"ticket {ticket_id} is not in the store")
        return ticket, business

    def _link(self, ticket: Ticket) -> str:
        return ticket_url(self.links.base_url, ticket.id)


async def _recorded(conn: Connection, ticket_id: str, event_type: str) -> list[str]:
    """The step's messages, recorded now or by a first try whose hand-over was lost."""
    return [
        m.key for m in await outbox.messages_about(conn, [ticket_id]) if m.event_type == event_type
    ]
