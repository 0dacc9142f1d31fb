"""A business's team (DESIGN rule 17): its owner, who signs in with the business's key, and
agents, each with a key of their own, shown once and stored hashed. Only the owner adds agents."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from temporalio.client import Client

from domain.enums import MemberRole
from domain.refusals import Refusal, Refused
from settings import Settings
from starter.desk_inputs import AgentIn
from store import Store, members
from store.accounts import hash_secret, new_api_key
from store.errors import Conflict
from store.records import Member, now


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
        """The owner first, then agents by name."""
        async with self.db.read() as conn:
            return await members.members_of(conn, business_id)

    async def add_agent(
        self,
        owner: Member,
        agent: AgentIn,
        *,
        idempotency_key: str | None = None,
    ) -> NewAgent:
        """Refused ``owner_only`` unless ``owner`` is the business's owner, ``handle_taken`` if
        the handle (made from the name when left out) is someone else's in the team.

        A retry with the same Idempotency-Key answers with the agent the first try added and no
        key: the key was shown once, and only its hash is kept. The name, address and handle
        are ``AgentIn``'s rules, checked where the owner sent them."""
        if not owner.is_owner:
            raise Refused(Refusal.OWNER_ONLY)
        idempotency_key = idempotency_key or None  # an empty header is no key
        chosen = agent.chosen_handle
        business_id = owner.business_id
        key = new_api_key("agt")
        agent_id = f"mb_{secrets.token_hex(10)}"
        async with self.db.tx() as conn:
            if idempotency_key:
                first = await members.member_for_idempotency_key(conn, business_id, idempotency_key)
                if first is not None:
                    return NewAgent(first, None)
            if await members.by_handles(conn, business_id, {chosen}):
                raise Refused(Refusal.HANDLE_TAKEN)
            try:
                await members.add_member(
                    conn,
                    id=agent_id,
                    business_id=business_id,
                    name=agent.name,
                    handle=chosen,
                    email=agent.email,
                    role=MemberRole.AGENT,
                    api_key_hash=hash_secret(key),
                    created_at=now(),
                    idempotency_key=idempotency_key,
                )
            except Conflict:
                # Writes are serialised, so only the handle can collide here, added meanwhile.
                raise Refused(Refusal.HANDLE_TAKEN) from None
            added = await members.get_member(conn, agent_id)
        assert added is not None
        return NewAgent(added, key)
