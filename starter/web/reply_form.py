"""The "Public reply" section of a desk ticket's page (DESIGN rules 18, 19, 21): what it shows.

Kept apart from ``reply_pages`` so the ticket page (``desk_pages``) and the reply's own routes
compose the section alike without importing each other. While the review has no reply and was
not marked spam, the section is a form: the business's macros to start from, the text, a
preview. After, it is the reply as published (or the spam mark), with nothing to change it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from delivery import spam_texts
from domain.enums import FlagStatus
from domain.refusals import Refusal, Refused
from domain.replies import MAX_REPLY, placeholders_in
from starter.desk import TicketDetail
from starter.service import Reviewdesk
from store import directory
from store.records import Macro, Member


@dataclass
class ReplyForm:
    business_name: str
    writable: bool
    """No reply yet and not marked spam: the form and the spam button are offered."""
    macros: list[Macro] = field(default_factory=list)
    macro_id: str | None = None
    text: str = ""
    placeholders: list[str] = field(default_factory=list)
    """The ``[...]`` left in ``text``, by name, for the agent to fill."""
    error: str | None = None
    status: int = 200
    max_text: int = MAX_REPLY
    spam_words: str = ""
    """Once marked spam: what became of the review's flag (``spam_texts.flag_words``)."""


def closed(detail: TicketDetail) -> Refusal | None:
    """Why no reply can be written any more, as the store says now (the workflow decides)."""
    if detail.reply is not None:
        return Refusal.REPLY_ALREADY_PUBLISHED
    if detail.ticket.spam_at is not None:
        return Refusal.MARKED_AS_SPAM
    return None


async def reply_form(
    service: Reviewdesk,
    member: Member,
    detail: TicketDetail,
    *,
    macro_id: str | None = None,
    text: str = "",
    error: str | None = None,
    status: int = 200,
) -> ReplyForm:
    """The section for ``detail``: with ``macro_id``, that macro applied to the ticket (what it
    knows filled in, the rest left named); with ``text``, the agent's own text kept."""
    business_id = detail.ticket.business_id
    async with service.db.read() as conn:
        names = await directory.business_names(conn, [business_id])
    name = names.get(business_id, "")
    shut = closed(detail)
    if shut is Refusal.MARKED_AS_SPAM:
        flag = await service.spam.flag_of(detail.ticket)
        # None after a mark: its flag was lost and closed by an operator (``reconcile``).
        said = spam_texts.flag_words(flag.status if flag else FlagStatus.DROPPED)
        return ReplyForm(name, writable=False, error=error, status=status, spam_words=said)
    if shut is not None:
        return ReplyForm(name, writable=False, error=error, status=status)
    macros = await service.macros.macros_of(business_id)
    if macro_id:
        try:
            rendered = await service.macros.render(business_id, member, macro_id, detail.ticket.id)
        except Refused as refusal:
            # An unknown, removed or another business's macro: said in the reply section, the
            # text kept. The page itself is the ticket's, which is there: it answers 200.
            error = refusal.message
            macro_id = None
        else:
            text = rendered.text
    return ReplyForm(
        name,
        writable=True,
        macros=macros,
        macro_id=macro_id,
        text=text,
        placeholders=placeholders_in(text),
        error=error,
        status=status,
    )
