"""A business's macros (DESIGN rule 18) under /api/v1/macros: reply templates the team lists,
adds, removes, and applies to a ticket. The owner's key or an agent's; another business's macro
or ticket answers 404, as one that does not exist."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel

from domain.replies import placeholders_in
from starter.reply_inputs import MacroIn
from starter.web.api import ERRORS, IdempotencyKey
from starter.web.auth import MemberDep, ServiceDep
from store.records import Macro

router = APIRouter(prefix="/api/v1", tags=["desk"])

Id = Annotated[str, Path(max_length=100)]
TicketId = Annotated[str, Query(max_length=100, description="The ticket to apply it to")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such macro (removed, or not yours), or no such ticket"}
}


class MemberRef(BaseModel):
    id: str
    name: str


class MacroOut(BaseModel):
    id: str
    title: str
    body: str
    placeholders: list[str]
    """The placeholders in its text, in order, each once: ``customer name`` for
    ``[customer name]``."""
    added_by: MemberRef | None
    created_at: datetime

    @classmethod
    def of(cls, macro: Macro, names: dict[str, str]) -> MacroOut:
        by = macro.created_by
        return cls(
            id=macro.id,
            title=macro.title,
            body=macro.body,
            placeholders=placeholders_in(macro.body),
            added_by=MemberRef(id=by, name=names.get(by, "A former member")) if by else None,
            created_at=macro.created_at,
        )


class MacroBody(MacroIn):
    """A macro to add: its title and its text, with placeholders (two or more words of letters
    in square brackets) such as ``[customer name]``, ``[your name]``, ``[business name]``
    (filled when applied, where known) and any others (``[specific detail]``) for the agent to
    fill; ``[sic]`` or ``[1]`` is text. The macros page's form takes the same rule
    (``starter.reply_inputs.MacroIn``)."""


class RenderedOut(BaseModel):
    macro_id: str
    text: str
    """The macro's text for this ticket, with what is known filled in."""
    placeholders: list[str]
    """What is left for the agent to fill before the reply can be published."""


@router.get("/macros", responses=ERRORS)
async def list_macros(member: MemberDep, service: ServiceDep) -> list[MacroOut]:
    """Your business's macros, by title (at most 100)."""
    found = await service.macros.macros_of(member.business_id)
    names = await service.macros.authors(found)
    return [MacroOut.of(m, names) for m in found]


@router.post(
    "/macros",
    status_code=status.HTTP_201_CREATED,
    responses={
        **ERRORS,
        409: {"description": "Already at the most macros a business keeps (macro_limit_reached)"},
        422: {"description": "Malformed: a one-line title (1-100 characters), a text (1-5000)"},
    },
)
async def add_macro(
    body: MacroBody,
    member: MemberDep,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
) -> MacroOut:
    """Any member of the team may add one; sent again with the same Idempotency-Key, the first
    macro answers."""
    made = await service.macros.add(
        member.business_id, member, body, idempotency_key=idempotency_key
    )
    return MacroOut.of(made, await service.macros.authors([made]))


@router.delete(
    "/macros/{macro_id}",
    responses={
        **ERRORS,
        **NOT_FOUND,
        403: {"description": "An agent's key, and not the macro's author (owner_only)"},
    },
)
async def remove_macro(macro_id: Id, member: MemberDep, service: ServiceDep) -> MacroOut:
    """The owner, or whoever added it; it is never offered again. Replies already published
    from it are not changed."""
    removed = await service.macros.remove(member.business_id, member, macro_id)
    return MacroOut.of(removed, await service.macros.authors([removed]))


@router.post("/macros/{macro_id}/render", responses={**ERRORS, **NOT_FOUND})
async def render_macro(
    macro_id: Id, ticket: TicketId, member: MemberDep, service: ServiceDep
) -> RenderedOut:
    """The macro applied to a ticket: ``[customer name]`` becomes the requester's name unless the
    review is anonymous, ``[your name]`` yours, ``[business name]`` the business's; the others
    are left, and listed. Nothing is stored or sent."""
    done = await service.macros.render(member.business_id, member, macro_id, ticket)
    return RenderedOut(macro_id=done.macro.id, text=done.text, placeholders=done.placeholders)
