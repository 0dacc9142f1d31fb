"""The response desk (DESIGN rules 15-17): a business's inbox and its views, a ticket with its
review, notes and history, assignment, and internal notes whose @mentions email an agent once.

Every read and change is checked against the business: another business's ticket is refused as
``ticket_not_found``, as one that does not exist. Each change is one transaction that records
its ``ticket_events`` row; a retried request with the same Idempotency-Key changes nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio.client import Client

from domain.enums import TicketView
from settings import Settings
from store import Store
from store.records import Contact, Member, Review, Ticket, TicketEvent, TicketNote

PAGE_SIZE = 25


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
        raise NotImplementedError

    async def ticket(self, business_id: str, ticket_id: str) -> TicketDetail:
        """Refused ``ticket_not_found`` for an unknown id or another business's ticket."""
        raise NotImplementedError

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
        ticket becomes open; ``ticket.assigned`` goes to the business's webhooks."""
        raise NotImplementedError

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
        retries (the outbox is keyed by note and member)."""
        raise NotImplementedError
