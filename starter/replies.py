"""The public reply (DESIGN rules 18, 19): sent by a team member, published once through the
ticket's workflow, never edited.

A send stores its draft (the text stays in the store), then asks the ticket's workflow to
publish that draft by id. The workflow publishes one reply and refuses every later one
(``reply_already_published``); the store's unique reply per review backs it. A retry with the
same Idempotency-Key finds its first draft, so it is the same update (``publish-<draft id>``)
and gets the first answer, also after the workflow has ended. The same key with other words, or
the other ``solve``, is refused (``idempotency_key_reused``): a client that edited its reply
after a lost answer is told, not answered with the words it first sent. Without a key, a second
send is another draft and is refused.
"""

from __future__ import annotations

import logging

from temporalio.client import Client

from domain import ticket_workflow_id
from domain.enums import TicketStatus
from domain.refusals import Refusal, Refused
from domain.replies import placeholders_in, placeholders_message
from domain.ticket_messages import PublishInput
from settings import Settings
from starter.desk import Desk, TicketDetail
from starter.reply_inputs import ReplyIn
from starter.temporal_calls import WorkflowGone, send_update
from starter.unavailable import Unavailable
from store import Store, replies
from store.errors import Conflict
from store.records import Member, ReplyDraft, Ticket, now
from workflows.ticket import TicketWorkflow

log = logging.getLogger("reviewdesk.replies")


def _same_reply(draft: ReplyDraft, body: ReplyIn) -> None:
    """A key names one reply: sent again with other words or the other button, it is refused."""
    if (draft.text, draft.solve) != (body.text, body.solve):
        raise Refused(Refusal.IDEMPOTENCY_KEY_REUSED)


class Replies:
    def __init__(self, client: Client, db: Store, settings: Settings) -> None:
        self.client = client
        self.db = db
        self.settings = settings
        self._desk = Desk(client, db, settings)

    async def reply(
        self,
        business_id: str,
        actor: Member,
        ticket_id: str,
        body: ReplyIn,
        *,
        idempotency_key: str | None = None,
    ) -> TicketDetail:
        """Publishes ``body`` as the review's one public reply ("Send as solved": and solves the
        ticket); the ticket as it is then. Refused: ``ticket_not_found`` (not this business's),
        ``placeholders_left`` (naming them), ``reply_already_published``, ``marked_as_spam``."""
        key = idempotency_key or None  # an empty header is no key
        async with self.db.read() as conn:
            ticket = await Desk.owned(conn, business_id, ticket_id)
            published = await replies.reply_of_ticket(conn, ticket.id)
            draft = await replies.draft_for_key(conn, ticket.id, actor.id, key) if key else None
        if draft is not None:
            _same_reply(draft, body)
        if published is not None:
            if draft is not None and published.draft_id == draft.id:
                return await self._desk.ticket(business_id, ticket.id)  # the first answer
            raise Refused(Refusal.REPLY_ALREADY_PUBLISHED)
        if ticket.spam_at is not None:
            raise Refused(Refusal.MARKED_AS_SPAM)
        if draft is None:
            draft = await self._draft(ticket, actor, body, key)
        handle = self.client.get_workflow_handle(ticket_workflow_id(ticket.review_id))
        try:
            await send_update(
                handle,
                TicketWorkflow.publish,
                PublishInput(draft_id=draft.id),
                id=f"publish-{draft.id}",
                within=self.settings.temporal_call_timeout,
            )
        except WorkflowGone:
            await self._after_end(ticket, draft)
        return await self._desk.ticket(business_id, ticket.id)

    async def solve(self, business_id: str, actor: Member, ticket_id: str) -> TicketDetail:
        """ "Mark solved" for a ticket already answered (a public reply, or marked spam); the
        ticket as it is then. Solving is idempotent by itself: an already solved ticket is
        answered as it is, nothing recorded twice, so a retry (with or without its key) needs
        no record of the key. Refused: ``ticket_not_found`` (not this business's),
        ``reply_first`` (no reply yet: the reply is what the review is owed).

        Only the store changes, as for an assignment: the ticket's workflow ended when the
        ticket was answered (and its steps leave an answered ticket alone), so there is nothing
        to tell it."""
        async with self.db.tx() as conn:
            ticket = await Desk.owned(conn, business_id, ticket_id)
            if ticket.status is not TicketStatus.SOLVED:
                if ticket.replied_at is None and ticket.spam_at is None:
                    raise Refused(Refusal.REPLY_FIRST)
                await replies.solve(conn, ticket.id, actor_id=actor.id, at=now())
            return await self._desk.detail(conn, business_id, ticket.id)

    async def _draft(
        self, ticket: Ticket, actor: Member, body: ReplyIn, key: str | None
    ) -> ReplyDraft:
        left = placeholders_in(body.text)
        if left:
            raise Refused(Refusal.PLACEHOLDERS_LEFT, placeholders_message(left))
        try:
            async with self.db.tx() as conn:
                draft = await replies.add_draft(
                    conn,
                    ticket_id=ticket.id,
                    author_id=actor.id,
                    text=body.text,
                    solve=body.solve,
                    at=now(),
                    idempotency_key=key,
                )
        except Conflict:
            if key is None:
                raise
            async with self.db.read() as conn:  # the same key twice at once: one draft stands
                found = await replies.draft_for_key(conn, ticket.id, actor.id, key)
            if found is None:
                raise
            draft = found
        _same_reply(draft, body)  # the key's first draft, when another send stored it first
        return draft

    async def _after_end(self, ticket: Ticket, draft: ReplyDraft) -> None:
        """The ticket's workflow has ended: it was answered, and the store says how."""
        async with self.db.read() as conn:
            published = await replies.reply_of_ticket(conn, ticket.id)
            current = await Desk.owned(conn, ticket.business_id, ticket.id)
        if published is not None and published.draft_id == draft.id:
            return
        if published is not None:
            raise Refused(Refusal.REPLY_ALREADY_PUBLISHED)
        if current.spam_at is not None:
            raise Refused(Refusal.MARKED_AS_SPAM)
        # Ended unanswered: terminated by hand, or lost. Nothing was published; say so as a
        # 503 rather than pretend, and leave it to an operator.
        log.error("ticket workflow ended unanswered; run `reviewdesk reconcile`")
        raise Unavailable("temporal: ticket workflow ended")
