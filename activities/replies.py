"""The ticket's answers (DESIGN rules 19 and 21): its one public reply published, or the review
marked as spam or irrelevant. Steps of TicketWorkflow, each one transaction.

The workflow runs them one at a time and only while the ticket has neither; the store's unique
reply per review is the last guard, so a step retried after a worker died mid-publish finds its
own reply and records nothing twice. Its messages are keyed by the ticket, so a retry hands the
same ones over again and delivery sends each once.
"""

from __future__ import annotations

import secrets

from temporalio import activity

from activities import _notify
from activities._steps import ProcessSteps
from delivery import spam_texts
from domain.enums import TicketEventKind, WebhookEvent
from domain.refusals import Refusal, refusal_error
from domain.ticket_messages import MarkedSpam, Published, PublishStepInput, SpamStepInput
from store import accounts, flags, members, outbox, replies, spam, ticket_notes, tickets
from store.records import Reply, TicketNote


class ReplyActivities(ProcessSteps):
    """Each step is named ``ticket.<step>``."""

    @activity.defn(name="ticket.publish")
    async def publish(self, inp: PublishStepInput) -> Published:
        """Publishes the draft as the review's reply (and solves the ticket for "Send as
        solved"), with the ``reply.published`` event; refused if the review has another reply
        or was marked spam."""
        event = WebhookEvent.REPLY_PUBLISHED.value
        async with self.db.tx() as conn:
            ticket = await tickets.get_ticket(conn, inp.ticket_id)
            draft = await replies.get_draft(conn, inp.draft_id)
            business = await accounts.get_business(conn, ticket.business_id) if ticket else None
            if ticket is None or draft is None or business is None or draft.ticket_id != ticket.id:
                # Written by the service before it sent the update: retried until it is there.
                raise RuntimeError(f"draft {inp.draft_id} of ticket {inp.ticket_id} not in store")
            reply = await replies.reply_of_ticket(conn, ticket.id)
            if reply is None:
                if ticket.spam_at is not None:
                    raise refusal_error(Refusal.MARKED_AS_SPAM)
                reply = await replies.publish(
                    conn, draft, review_id=ticket.review_id, business_id=business.id, at=inp.at
                )
                if reply is None:  # published a moment ago outside this ticket's workflow
                    raise refusal_error(Refusal.REPLY_ALREADY_PUBLISHED)
                await _notify.webhook(
                    conn,
                    business=business,
                    subject_id=ticket.id,
                    event_type=event,
                    data=_event_data(reply, solved=draft.solve),
                    at=inp.at,
                )
            elif reply.draft_id != draft.id:
                raise refusal_error(Refusal.REPLY_ALREADY_PUBLISHED)
            keys = [
                m.key
                for m in await outbox.messages_about(conn, [ticket.id])
                if m.event_type == event
            ]
        await _notify.hand_over(keys, inp.delivery, self.hand_over)
        return Published(reply_id=reply.id, solved=draft.solve)

    @activity.defn(name="ticket.mark_spam")
    async def mark_spam(self, inp: SpamStepInput) -> MarkedSpam:
        """Records the review as spam or irrelevant on its ticket: ``spam_at``, an internal
        note naming who marked it and the flag that took it to moderation, the ticket solved.

        One transaction: a retry finds the ticket marked and answers with the note it wrote.
        The note's words are composed here from the store, since the workflow carries ids."""
        note_key = f"spam:{inp.ticket_id}"
        async with self.db.tx() as conn:
            ticket = await tickets.get_ticket(conn, inp.ticket_id)
            member = await members.get_member(conn, inp.member_id)
            flag = await flags.get_flag(conn, inp.flag_id)
            if ticket is None or member is None or flag is None:
                # Written before the update was sent: retried until it is there.
                raise RuntimeError(f"ticket {inp.ticket_id}'s spam mark is not in the store")
            if await replies.reply_of_ticket(conn, ticket.id) is not None:
                raise refusal_error(Refusal.REPLY_ALREADY_PUBLISHED)
            if await spam.mark_spam(conn, ticket.id, inp.at):
                note = TicketNote(
                    id=f"tn_{secrets.token_hex(10)}",
                    ticket_id=ticket.id,
                    author_id=member.id,
                    text=spam_texts.spam_note(member.name, flag.status),
                    created_at=inp.at,
                )
                await ticket_notes.add_note(conn, note, idempotency_key=note_key)
                await tickets.add_event(
                    conn,
                    ticket.id,
                    TicketEventKind.MARKED_SPAM,
                    at=inp.at,
                    actor_id=member.id,
                    detail=flag.id,
                    idempotency_key=inp.request_id,
                )
                await replies.solve(conn, ticket.id, actor_id=member.id, at=inp.at)
                return MarkedSpam(note_id=note.id)
            found = await ticket_notes.note_for_key(conn, ticket.id, member.id, note_key)
        if found is None:  # marked by another's request, which the workflow let in first
            raise refusal_error(Refusal.MARKED_AS_SPAM)
        return MarkedSpam(note_id=found.id)


def _event_data(reply: Reply, *, solved: bool) -> dict[str, object]:
    """Ids and times, as every webhook: the reply's words are on the public page."""
    return {
        "reply_id": reply.id,
        "review_id": reply.review_id,
        "ticket_id": reply.ticket_id,
        "author_id": reply.author_id,
        "published_at": reply.published_at.isoformat(),
        "solved": solved,
    }
