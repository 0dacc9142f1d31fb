"""A business's macros (DESIGN rule 18): reply templates with placeholders, kept per business,
applied to a ticket to start a reply."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client

from settings import Settings
from starter.reply_inputs import MacroIn
from store import Store
from store.records import Macro, Member


@dataclass
class Rendered:
    """A macro applied to a ticket: its text with what is known filled in, and the placeholders
    left for the agent (in order, each once)."""

    macro: Macro
    text: str
    placeholders: list[str]


class Macros:
    def __init__(self, client: Client, db: Store, settings: Settings) -> None:
        self.client = client
        self.db = db
        self.settings = settings

    async def macros_of(self, business_id: str) -> list[Macro]:
        raise NotImplementedError  # helper C

    async def add(
        self, business_id: str, actor: Member, body: MacroIn, *, idempotency_key: str | None = None
    ) -> Macro:
        raise NotImplementedError  # helper C

    async def remove(self, business_id: str, actor: Member, macro_id: str) -> None:
        raise NotImplementedError  # helper C

    async def render(
        self, business_id: str, actor: Member, macro_id: str, ticket_id: str
    ) -> Rendered:
        raise NotImplementedError  # helper C
