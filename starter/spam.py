"""Spam or irrelevant (DESIGN rule 21): one action on a ticket. No public reply after it, the
review flagged ``advertising_or_spam`` straight to moderation, an internal note, the ticket
solved."""

from __future__ import annotations

from temporalio.client import Client

from settings import Settings
from starter.desk import TicketDetail
from store import Store
from store.records import Member


class SpamMarks:
    def __init__(self, client: Client, db: Store, settings: Settings) -> None:
        self.client = client
        self.db = db
        self.settings = settings

    async def mark(
        self,
        business_id: str,
        actor: Member,
        ticket_id: str,
        *,
        idempotency_key: str | None = None,
    ) -> TicketDetail:
        raise NotImplementedError  # helper B
