"""The response desk (DESIGN rules 15-17): a business's inbox and its views, a ticket with its
review, notes and history, assignment, and internal notes whose @mentions email an agent once.

Every read and change is checked against the business: another business's ticket is refused as
``ticket_not_found``, as one that does not exist. Each change is one transaction that records
its ``ticket_events`` row; a retried request with the same Idempotency-Key changes nothing more.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

from temporalio.client import Client

from activities import _notify
from delivery import desk_texts
from delivery.links import ticket_url
from domain import desk
from domain.enums import TicketEventKind, TicketStatus, TicketView, WebhookEvent
from domain.refusals import Refusal, Refused
from settings import Settings
from starter.deliveries import start_deliveries
from starter.desk_inputs import NoteIn
from store import (
    Store,
    accounts,
    contacts,
    members,
    outbox,
    replies,
    reports,
    reviews,
    ticket_notes,
    tickets,
)
from store.connection import Connection
from store.records import (
    Contact,
    Member,
    OutboxMessage,
    Reply,
    Report,
    Review,
    Ticket,
    TicketEvent,
    TicketNote,
    now,
)

PAGE_SIZE = 25
# What a note or an assignment does to a ticket nobody has acted on yet (rule 15).
_OPENS = (TicketStatus.NEW,)
_ASSIGNMENTS = (TicketEventKind.ASSIGNED, TicketEventKind.UNASSIGNED)


@dataclass
class Inbox:
    """One page of a view, newest first, with every view's count (rule 16)."""

    view: TicketView
    counts: dict[TicketView, int]
    tickets: list[Ticket]
    page: int
    has_more: bool
    names: dict[str, str] = field(default_factory=dict)
    """Assignees' names by member id."""


@dataclass
class TicketDetail:
    ticket: Ticket
    review: Review
    notes: list[TicketNote]
    history: list[TicketEvent]
    team: list[Member]
    """Who it can be assigned to; also the names for notes and history by member id."""
    contact: Contact | None = None
    """The review's latest Find Reviewer contact, running or ended (rule 21)."""
    report: Report | None = None
    """The review's report, if one of its contacts was reported (no contact after that)."""
    reply: Reply | None = None
    """The review's public reply, once published (rule 19): never changed after."""

    def name_of(self, member_id: str | None) -> str:
        if member_id is None:
            return "Reviewdesk"
        return next((m.name for m in self.team if m.id == member_id), "A former member")


class Desk:
    def __init__(self, client: Client, db: Store, settings: Settings) -> None:
        self.client = client
        self.db = db
        self.settings = settings

    async def inbox(
        self, business_id: str, member: Member, view: TicketView, *, page: int = 1
    ) -> Inbox:
        page = max(page, 1)
        async with self.db.read() as conn:
            counts = await tickets.view_counts(conn, business_id, member_id=member.id)
            # One more than a page says whether another page follows, without a count.
            found = await tickets.tickets_in_view(
                conn,
                business_id,
                view,
                member_id=member.id,
                limit=PAGE_SIZE + 1,
                offset=(page - 1) * PAGE_SIZE,
            )
            shown = found[:PAGE_SIZE]
            names = await members.member_names(
                conn, [t.assignee_id for t in shown if t.assignee_id]
            )
        return Inbox(view, counts, shown, page, len(found) > PAGE_SIZE, names)

    async def ticket(self, business_id: str, ticket_id: str) -> TicketDetail:
        """Refused ``ticket_not_found`` for an unknown id or another business's ticket."""
        async with self.db.read() as conn:
            return await self.detail(conn, business_id, ticket_id)

    async def assign(
        self,
        business_id: str,
        actor: Member,
        ticket_id: str,
        assignee_id: str | None,
        *,
        idempotency_key: str | None = None,
    ) -> TicketDetail:
        """To a member of the same team (else ``member_not_found``), or to no one (None). A new
        ticket becomes open; ``ticket.assigned`` goes to the business's webhooks.

        Assigning to whoever has it already changes nothing, so a retry (with or without its
        Idempotency-Key) records no second event: it hands the last assignment's webhook events
        to delivery again, in case the first try answered 503 before it could. A retry with the
        key of an assignment recorded changes nothing either, even when someone has assigned the
        ticket to another since: it answers with the ticket as it is, and hands that
        assignment's webhook events to delivery again."""
        idempotency_key = idempotency_key or None  # an empty header is no key
        at = now()
        async with self.db.tx() as conn:
            ticket = await self.owned(conn, business_id, ticket_id)
            first = (
                await tickets.event_for_key(conn, ticket.id, actor.id, idempotency_key)
                if idempotency_key
                else None
            )
            if first is not None:
                keys = await _keys_about(conn, [first])
            elif (
                assignee_id is not None
                and await members.member_of(conn, business_id, assignee_id) is None
            ):
                raise Refused(Refusal.MEMBER_NOT_FOUND)
            elif await tickets.set_assignee(conn, ticket.id, assignee_id):
                if assignee_id is not None:
                    await tickets.set_status(conn, ticket.id, TicketStatus.OPEN, only_from=_OPENS)
                kind = _ASSIGNMENTS[assignee_id is None]
                event_id = await tickets.add_event(
                    conn,
                    ticket.id,
                    kind,
                    at=at,
                    actor_id=actor.id,
                    detail=assignee_id,
                    idempotency_key=idempotency_key,
                )
                await self._announce_assignment(conn, ticket, event_id, assignee_id, actor, at)
                keys = await _keys_about(conn, [event_id])
            else:
                events = await tickets.events_of(conn, ticket.id)
                last = [e.id for e in events if e.kind in _ASSIGNMENTS][-1:]
                keys = await _keys_about(conn, last)
            detail = await self.detail(conn, business_id, ticket.id)
        await self._deliver(keys)
        return detail

    async def take(
        self, business_id: str, actor: Member, ticket_id: str, *, idempotency_key: str | None = None
    ) -> TicketDetail:
        """Assigns the ticket to whoever asks."""
        return await self.assign(
            business_id, actor, ticket_id, actor.id, idempotency_key=idempotency_key
        )

    async def note(
        self,
        business_id: str,
        actor: Member,
        ticket_id: str,
        text: str,
        *,
        idempotency_key: str | None = None,
    ) -> TicketNote:
        """An internal note; each ``@handle`` of a team member emails them once, whatever the
        retries (the outbox is keyed by note and member).

        The same Idempotency-Key from the same author finds the first note and hands its
        emails to delivery again (they are sent once: one delivery workflow per message).
        Raises ``ValueError`` for a note outside ``NoteIn``'s rule, which the API and the page
        check first, each saying why in its own way."""
        idempotency_key = idempotency_key or None  # an empty header is no key
        NoteIn(text=text)
        at = now()
        async with self.db.tx() as conn:
            ticket = await self.owned(conn, business_id, ticket_id)
            # Write transactions take one lock on either store, so two sends of the same key at
            # once come here one after the other: the second finds the first's note.
            first = (
                await ticket_notes.note_for_key(conn, ticket.id, actor.id, idempotency_key)
                if idempotency_key
                else None
            )
            if first is None:
                note = TicketNote(
                    id=f"tn_{secrets.token_hex(10)}",
                    ticket_id=ticket.id,
                    author_id=actor.id,
                    text=text,
                    created_at=at,
                )
                await ticket_notes.add_note(conn, note, idempotency_key=idempotency_key)
                await tickets.set_status(conn, ticket.id, TicketStatus.OPEN, only_from=_OPENS)
                await tickets.add_event(
                    conn, ticket.id, TicketEventKind.NOTED, at=at, actor_id=actor.id, detail=note.id
                )
                await self._mention(conn, ticket, note, actor)
            else:
                note = first
            keys = await _keys_about(conn, [note.id])
        await self._deliver(keys)
        return note

    async def remove_agent(self, owner: Member, agent_id: str) -> Member:
        """The owner takes an agent off the team (DESIGN rule 17): the agent's key stops working
        at once, and with it their page sessions; they are no longer listed, assigned or
        mentioned. Their tickets become unassigned, each with its history event and
        ``ticket.assigned`` webhook event (``assignee_id`` null), so they are back in the
        views nobody owns rather than waiting on someone gone.

        Refused ``owner_only`` unless ``owner`` is the owner, ``owner_not_removable`` for the
        owner themselves, ``member_not_found`` for someone not in the team. Removing a removed
        agent again (a retry) changes nothing, hands the first removal's webhook events to
        delivery again (in case it answered 503), and answers the same."""
        if not owner.is_owner:
            raise Refused(Refusal.OWNER_ONLY)
        business_id = owner.business_id
        if agent_id == owner.id:
            raise Refused(Refusal.OWNER_NOT_REMOVABLE)
        at = now()
        # The unassignments are recorded under this key, for a retry to find them.
        removal = f"removed:{agent_id}"
        async with self.db.tx() as conn:
            agent = await members.member_of(conn, business_id, agent_id)
            if agent is None:
                agent = await members.removed_agent(conn, business_id, agent_id)
                if agent is None:
                    raise Refused(Refusal.MEMBER_NOT_FOUND)
                event_ids = await tickets.events_for_key(conn, owner.id, removal)
            else:
                await members.remove_agent(conn, agent.id, at)
                event_ids = []
                for ticket_id in await tickets.assigned_to(conn, business_id, agent.id):
                    ticket = await self.owned(conn, business_id, ticket_id)
                    await tickets.set_assignee(conn, ticket.id, None)
                    event_id = await tickets.add_event(
                        conn,
                        ticket.id,
                        TicketEventKind.UNASSIGNED,
                        at=at,
                        actor_id=owner.id,
                        idempotency_key=removal,
                    )
                    await self._announce_assignment(conn, ticket, event_id, None, owner, at)
                    event_ids.append(event_id)
            keys = await _keys_about(conn, event_ids)
        await self._deliver(keys)
        return agent

    # --- within a transaction ------------------------------------------------------------------

    @staticmethod
    async def owned(conn: Connection, business_id: str, ticket_id: str) -> Ticket:
        ticket = await tickets.ticket_of(conn, business_id, ticket_id)
        if ticket is None:
            raise Refused(Refusal.TICKET_NOT_FOUND)
        return ticket

    async def detail(self, conn: Connection, business_id: str, ticket_id: str) -> TicketDetail:
        ticket = await self.owned(conn, business_id, ticket_id)
        review = await reviews.get_review(conn, ticket.review_id)
        assert review is not None, "a ticket is written with its review"
        found = await contacts.contacts_of_review(conn, review.id)
        return TicketDetail(
            ticket=ticket,
            review=review,
            notes=await ticket_notes.notes_of(conn, ticket.id),
            history=await tickets.events_of(conn, ticket.id),
            team=await members.members_of(conn, business_id),
            contact=found[-1] if found else None,
            report=await reports.report_for_review(conn, review.id),
            reply=await replies.reply_of_ticket(conn, ticket.id),
        )

    async def _announce_assignment(
        self,
        conn: Connection,
        ticket: Ticket,
        event_id: str,
        assignee_id: str | None,
        actor: Member,
        at: datetime,
    ) -> None:
        """``ticket.assigned`` (also when unassigned: ``assignee_id`` null), ids only, keyed by
        the history's event so each change is its own webhook event."""
        business = await accounts.get_business(conn, ticket.business_id)
        assert business is not None
        await _notify.webhook(
            conn,
            business=business,
            subject_id=event_id,
            event_type=WebhookEvent.TICKET_ASSIGNED.value,
            data={
                "ticket_id": ticket.id,
                "review_id": ticket.review_id,
                "assignee_id": assignee_id,
                "assigned_by": actor.id,
            },
            at=at,
        )

    async def _mention(
        self, conn: Connection, ticket: Ticket, note: TicketNote, author: Member
    ) -> None:
        """One email per member the note names, the author aside: keyed by note and member, so
        it is recorded once however often the note is sent."""
        named = await members.by_handles(conn, ticket.business_id, desk.mentions(note.text))
        author_name = author.name
        url = ticket_url(self.settings.public_base_url, ticket.id)
        for member in named:
            if member.id == author.id:
                continue
            text = desk_texts.mentioned(
                member_name=member.name,
                author_name=author_name,
                subject=ticket.subject,
                rating=ticket.rating,
                url=url,
            )
            await outbox.enqueue(
                conn,
                OutboxMessage(
                    key=f"{note.id}:{desk_texts.MENTIONED}:{member.id}",
                    channel="email",
                    subject_id=note.id,
                    event_type=desk_texts.MENTIONED,
                    recipient_kind="member",
                    recipient_id=member.id,
                    to_address=member.email,
                    subject=text.subject,
                    body_text=text.body,
                    created_at=note.created_at,
                ),
            )

    # --- after the transaction -----------------------------------------------------------------

    async def _deliver(self, keys: list[tuple[str, str]]) -> None:
        """Raises ``Unavailable`` (503) when Temporal cannot be reached; the change is recorded,
        and a retry hands its messages over."""
        await start_deliveries(self.client, self.settings, keys)


async def _keys_about(conn: Connection, subject_ids: list[str]) -> list[tuple[str, str]]:
    """The outbox messages recorded about these notes or events, with their channels."""
    return [(m.key, m.channel) for m in await outbox.messages_about(conn, subject_ids)]
