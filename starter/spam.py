"""Spam or irrelevant (DESIGN rule 21): one action on a ticket. No public reply after it, the
review flagged ``advertising_or_spam`` straight to moderation, an internal note, the ticket
solved.

The flag comes first, through the flags service, so the misuse guard's refusals (a restricted
business, the day's flags made) stop the action before anything else is recorded; its key is
the ticket's, so a retry finds it rather than flag twice. A review the business flagged for
the reason before keeps that flag (one per review per reason, rule 12). Then the ticket's
workflow records the mark, one answer at a time as for a reply: a reply and a mark cannot both
go through. The mark is recorded with a hash of who sent it and its Idempotency-Key, so a retry
of that request answers as the first did, also after the workflow has ended; any other second
mark is refused ``marked_as_spam``.

A reply that wins the race after the flag was made (published between the flag and the mark)
leaves the flag standing: the mark is refused ``reply_already_published``, but the business
called the review spam, and whether it is stays a moderator's call, not taken back by a reply.

What the pages say became of the review comes from its flag's status (``flag_of``, worded by
``delivery.spam_texts.flag_words``): a flag kept from before may be waiting for the reviewer or
the business, or closed, and then the review did not go to the moderators.
"""

from __future__ import annotations

import hashlib
import logging

from temporalio.client import Client

from delivery import spam_texts
from domain import ticket_workflow_id
from domain.enums import FlagReason
from domain.refusals import Refusal, Refused
from domain.ticket_messages import SpamInput
from settings import Settings
from starter.desk import Desk, TicketDetail
from starter.flag_inputs import FlagBody
from starter.flags import Flags, first_step_done
from starter.temporal_calls import WorkflowGone, send_update
from starter.unavailable import Unavailable
from store import Store, flags, replies, tickets
from store.records import Flag, Member, Ticket
from workflows.ticket import TicketWorkflow

log = logging.getLogger("reviewdesk.spam")

REASON = FlagReason.ADVERTISING_OR_SPAM


class SpamMarks:
    def __init__(self, client: Client, db: Store, settings: Settings) -> None:
        self.client = client
        self.db = db
        self.settings = settings
        self._desk = Desk(client, db, settings)
        self._flags = Flags(client, db, settings)

    async def mark(
        self,
        business_id: str,
        actor: Member,
        ticket_id: str,
        *,
        idempotency_key: str | None = None,
    ) -> TicketDetail:
        """Marks the ticket's review as spam or irrelevant; the ticket as it is then. Refused:
        ``ticket_not_found`` (not this business's), ``reply_already_published``,
        ``marked_as_spam`` (a second mark, but a retry with the first's Idempotency-Key), and
        the flag's refusals (``business_restricted``, the daily cap, ``already_cleared``...)."""
        request_id = _request_id(actor, idempotency_key or None)  # an empty header is no key
        async with self.db.read() as conn:
            ticket = await Desk.owned(conn, business_id, ticket_id)
            published = await replies.reply_of_ticket(conn, ticket.id)
            first = (
                await tickets.event_for_key(conn, ticket.id, actor.id, request_id)
                if request_id
                else None
            )
        if first is not None:
            return await self._desk.ticket(business_id, ticket.id)  # the first answer
        if ticket.spam_at is not None:
            raise Refused(Refusal.MARKED_AS_SPAM)
        if published is not None:
            raise Refused(Refusal.REPLY_ALREADY_PUBLISHED)
        flag = await self._flag(ticket)
        handle = self.client.get_workflow_handle(ticket_workflow_id(ticket.review_id))
        try:
            await send_update(
                handle,
                TicketWorkflow.mark_spam,
                SpamInput(member_id=actor.id, flag_id=flag.id, request_id=request_id),
                # A retry of the request is the same update, and gets the first one's outcome.
                id=f"spam-{ticket.id}-{request_id}" if request_id else None,
                within=self.settings.temporal_call_timeout,
            )
        except WorkflowGone:
            await self._after_end(ticket, actor, request_id)
        return await self._desk.ticket(business_id, ticket.id)

    async def flag_of(self, ticket: Ticket) -> Flag | None:
        """The review's flag for the reason, which a mark uses (or used): None before a mark
        that will make its own. The ticket is the caller's, its ownership checked."""
        async with self.db.read() as conn:
            return await flags.flag_of_review(conn, ticket.business_id, ticket.review_id, REASON)

    async def _flag(self, ticket: Ticket) -> Flag:
        """The review's flag for the reason, its first step recorded: the business's earlier
        one, or a new one sent straight to moderation (the reviewer is not asked to edit spam).
        The ticket's workflow is given only a flag that is started, so its step always finds
        it in the store (a flag whose start failed is taken back)."""
        for _ in range(2):
            earlier = await self.flag_of(ticket)
            if earlier is not None and first_step_done(earlier):
                return earlier
            # None yet, or one whose workflow may never have started (a 503 before): the flags
            # service finds that one (by its key, or as unstarted) and starts it.
            body = FlagBody(reason=REASON, explanation=spam_texts.FLAG_EXPLANATION)
            try:
                view = await self._flags.flag(
                    ticket.business_id,
                    ticket.review_id,
                    body,
                    idempotency_key=f"spam:{ticket.id}",
                    straight_to_moderation=True,
                )
            except Refused as refused:
                if refused.reason is not Refusal.ALREADY_FLAGGED:
                    raise
                continue  # flagged a moment ago by another request: that flag is the review's
            return view.flag
        raise Refused(Refusal.ALREADY_FLAGGED)

    async def _after_end(self, ticket: Ticket, actor: Member, request_id: str | None) -> None:
        """The ticket's workflow has ended: it was answered, and the store says how."""
        async with self.db.read() as conn:
            current = await Desk.owned(conn, ticket.business_id, ticket.id)
            published = await replies.reply_of_ticket(conn, ticket.id)
            first = (
                await tickets.event_for_key(conn, ticket.id, actor.id, request_id)
                if request_id
                else None
            )
        if first is not None:
            return
        if current.spam_at is not None:
            raise Refused(Refusal.MARKED_AS_SPAM)
        if published is not None:
            raise Refused(Refusal.REPLY_ALREADY_PUBLISHED)
        # Ended unanswered: terminated by hand, or lost. Nothing was marked; say so as a 503
        # rather than pretend, and leave it to an operator (the flag stands: it was due).
        log.error("ticket workflow ended unanswered; run `reviewdesk reconcile`")
        raise Unavailable("temporal: ticket workflow ended")


def _request_id(actor: Member, key: str | None) -> str | None:
    """An id for the request, from who sent it and its key: the same for a retry, another for
    another member's same key, and never the key itself (it travels in the workflow)."""
    if key is None:
        return None
    digest = hashlib.sha256(f"{actor.id}\n{key}".encode()).hexdigest()
    return f"sm_{digest[:32]}"
