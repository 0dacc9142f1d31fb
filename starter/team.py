"""A business's team (DESIGN rule 17): its owner, who signs in with the business's key, and
agents, each with a key of their own, shown once and stored hashed. Only the owner adds agents."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client

from settings import Settings
from store import Store
from store.records import Member


@dataclass(frozen=True)
class NewAgent:
    member: Member
    api_key: str | None
    """Shown once, in the first answer; None when a retry finds the agent already added."""


class Team:
    def __init__(self, client: Client, db: Store, settings: Settings) -> None:
        self.client = client
        self.db = db
        self.settings = settings

    async def members(self, business_id: str) -> list[Member]:
        raise NotImplementedError

    async def add_agent(
        self,
        owner: Member,
        *,
        name: str,
        email: str,
        handle: str | None = None,
        idempotency_key: str | None = None,
    ) -> NewAgent:
        """Refused ``owner_only`` unless ``owner`` is the business's owner, ``handle_taken`` if
        the handle (made from the name when left out) is someone else's in the team."""
        raise NotImplementedError
