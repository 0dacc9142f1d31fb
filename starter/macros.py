"""A business's macros (DESIGN rule 18): reply templates with placeholders, kept per business,
applied to a ticket to start a reply.

Any member of the team adds one; the owner, or whoever added it, removes it. A macro is a
template, not a finished response: applying one fills only what is known for sure (the
requester's name unless the review is anonymous, the acting member's name, the business's name)
and leaves every other placeholder for the agent, whom the reply's own check then holds to it
(``placeholders_left``). Another business's macro or ticket is refused as one that does not exist.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from temporalio.client import Client

from domain.desk import ANONYMOUS
from domain.refusals import Refusal, Refused
from domain.replies import BUSINESS_NAME, CUSTOMER_NAME, YOUR_NAME, fill, placeholders_in
from settings import Settings
from starter.desk import Desk
from starter.reply_inputs import MacroIn
from store import Store, accounts, members, reviews
from store import macros as stored
from store.errors import Conflict
from store.records import Macro, Member, now

# A list the team can still read through when picking one (the refusal's words say 100 too).
MAX_MACROS = 100
NOT_YOURS = "Only the business's owner, or whoever added the macro, may remove it."


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
        """The business's macros in use, by title."""
        async with self.db.read() as conn:
            return await stored.macros_of(conn, business_id)

    async def macro(self, business_id: str, macro_id: str) -> Macro:
        """One in use; refused ``macro_not_found`` when removed or another business's."""
        async with self.db.read() as conn:
            found = await stored.macro_of(conn, business_id, macro_id)
        if found is None:
            raise Refused(Refusal.MACRO_NOT_FOUND)
        return found

    async def authors(self, macros: list[Macro]) -> dict[str, str]:
        """Who added each macro: names by member id (a removed agent's name stays)."""
        async with self.db.read() as conn:
            return await members.member_names(conn, [m.created_by for m in macros if m.created_by])

    async def add(
        self, business_id: str, actor: Member, body: MacroIn, *, idempotency_key: str | None = None
    ) -> Macro:
        """Added again by the same member with the same ``idempotency_key``: the first macro,
        not a second one (also once removed: it is what that request made); another member's
        same key is their own request. Refused ``macro_limit_reached``."""
        key = idempotency_key or None  # an empty header is no key
        if key and (first := await self._added(business_id, actor, key)):
            return first
        macro = Macro(
            id=f"mc_{secrets.token_hex(10)}",
            business_id=business_id,
            title=body.title.strip(),
            body=body.body,
            created_by=actor.id,
            created_at=now(),
        )
        try:
            async with self.db.tx() as conn:
                # Counted in the write transaction: writes take turns, so two adds at the
                # limit cannot both pass.
                if await stored.count_of(conn, business_id) >= MAX_MACROS:
                    raise Refused(Refusal.MACRO_LIMIT_REACHED)
                await stored.add_macro(conn, macro, idempotency_key=key)
        except Conflict:
            # The same key from two requests at once: the first one stands.
            if key and (first := await self._added(business_id, actor, key)):
                return first
            raise
        return macro

    async def _added(self, business_id: str, actor: Member, key: str) -> Macro | None:
        """What this member's request with ``key`` added: keys are per member, as elsewhere."""
        async with self.db.read() as conn:
            return await stored.macro_for_key(conn, business_id, actor.id, key)

    async def remove(self, business_id: str, actor: Member, macro_id: str) -> Macro:
        """Never offered again; answers the macro as it was. Refused ``macro_not_found``
        (unknown, another business's, or removed already) and ``owner_only`` (an agent
        removing another's macro)."""
        async with self.db.tx() as conn:
            found = await stored.macro_of(conn, business_id, macro_id)
            if found is None:
                raise Refused(Refusal.MACRO_NOT_FOUND)
            if not actor.is_owner and found.created_by != actor.id:
                raise Refused(Refusal.OWNER_ONLY, NOT_YOURS)
            await stored.remove_macro(conn, business_id, macro_id, now())
        return found

    async def render(
        self, business_id: str, actor: Member, macro_id: str, ticket_id: str
    ) -> Rendered:
        """The macro's text for this ticket, with ``[customer name]``, ``[your name]`` and
        ``[business name]`` filled where known; refused ``macro_not_found``,
        ``ticket_not_found``."""
        async with self.db.read() as conn:
            macro = await stored.macro_of(conn, business_id, macro_id)
            if macro is None:
                raise Refused(Refusal.MACRO_NOT_FOUND)
            ticket = await Desk.owned(conn, business_id, ticket_id)
            review = await reviews.get_review(conn, ticket.review_id)
            business = await accounts.get_business(conn, business_id)
        assert review is not None and business is not None, "a ticket is written with its review"
        known = {YOUR_NAME: actor.name, BUSINESS_NAME: business.name}
        # An anonymous review's author stays unnamed, even if their profile holds a name from
        # another review: the placeholder is left for the agent to word around.
        if not review.anonymous and ticket.requester != ANONYMOUS:
            known[CUSTOMER_NAME] = ticket.requester
        text = fill(macro.body, known)
        return Rendered(macro=macro, text=text, placeholders=placeholders_in(text))
