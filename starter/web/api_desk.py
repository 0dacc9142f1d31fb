"""The desk API (DESIGN rules 15-17), under /api/v1: the inbox's views, a ticket, assignment,
internal notes, and the team. A business's key or an agent's: each acts as its holder, and
another business's ticket answers 404, as one that does not exist."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, Field

from domain.enums import (
    ContactStatus,
    MemberRole,
    Priority,
    ReviewSource,
    TicketEventKind,
    TicketStatus,
    TicketView,
)
from starter.desk import Inbox, TicketDetail
from starter.desk_inputs import AgentIn, NoteIn
from starter.inputs import _Input
from starter.team import NewAgent
from starter.web.api import ERRORS, IdempotencyKey
from starter.web.auth import MemberDep, OwnerDep, ServiceDep
from store.records import Member, Ticket, TicketNote

router = APIRouter(prefix="/api/v1", tags=["desk"])

Id = Annotated[str, Path(max_length=100)]
Page = Annotated[int, Query(ge=1, le=100_000)]


class MemberRef(BaseModel):
    id: str
    name: str


class TicketOut(BaseModel):
    id: str
    review_id: str
    subject: str
    requester: str
    """The reviewer's display name, or "Anonymous reviewer"."""
    rating: int
    status: TicketStatus
    priority: Priority
    tags: list[str]
    assignee: MemberRef | None
    target_at: datetime
    """When the response target falls (its policy's)."""
    created_at: datetime

    @classmethod
    def of(cls, ticket: Ticket, names: dict[str, str]) -> TicketOut:
        assignee = None
        if ticket.assignee_id is not None:
            assignee = MemberRef(id=ticket.assignee_id, name=names.get(ticket.assignee_id, ""))
        return cls(
            **ticket.model_dump(
                include={
                    "id",
                    "review_id",
                    "subject",
                    "requester",
                    "rating",
                    "status",
                    "priority",
                    "tags",
                    "target_at",
                    "created_at",
                }
            ),
            assignee=assignee,
        )


class InboxOut(BaseModel):
    view: TicketView
    counts: dict[TicketView, int]
    """How many tickets each view holds."""
    page: int
    has_more: bool
    tickets: list[TicketOut]
    """Newest first, 25 to a page."""

    @classmethod
    def of(cls, inbox: Inbox) -> InboxOut:
        return cls(
            view=inbox.view,
            counts=inbox.counts,
            page=inbox.page,
            has_more=inbox.has_more,
            tickets=[TicketOut.of(t, inbox.names) for t in inbox.tickets],
        )


class ReviewOut(BaseModel):
    id: str
    rating: int
    title: str
    text: str
    source: ReviewSource
    created_at: datetime


class NoteOut(BaseModel):
    id: str
    author: MemberRef
    text: str
    created_at: datetime

    @classmethod
    def of(cls, note: TicketNote, author_name: str) -> NoteOut:
        return cls(
            id=note.id,
            author=MemberRef(id=note.author_id, name=author_name),
            text=note.text,
            created_at=note.created_at,
        )


class HistoryOut(BaseModel):
    kind: TicketEventKind
    at: datetime
    actor: str
    """Who did it: a member's name, or "Reviewdesk" for what happened by itself."""
    assignee: str | None = None
    """For ``assigned``: to whom."""


class ContactOut(BaseModel):
    """The review's latest Find Reviewer contact."""

    id: str
    status: ContactStatus
    opened_at: datetime
    deadline: datetime
    closed_at: datetime | None = None


class ReplyOut(BaseModel):
    """The review's public reply, as published: never changed after (DESIGN rule 19). The
    public sees its text under the review with the business's name, never the author's."""

    id: str
    text: str
    author: MemberRef
    published_at: datetime


class TicketDetailOut(TicketOut):
    review: ReviewOut
    notes: list[NoteOut]
    """Internal: only your team sees them. Oldest first."""
    history: list[HistoryOut]
    """Every change, oldest first."""
    contact: ContactOut | None
    reply: ReplyOut | None = None
    """The review's public reply, once published."""

    @classmethod
    def of_detail(cls, d: TicketDetail) -> TicketDetailOut:
        names = {m.id: m.name for m in d.team}
        return cls(
            **TicketOut.of(
                d.ticket, {d.ticket.assignee_id or "": d.name_of(d.ticket.assignee_id)}
            ).model_dump(),
            review=ReviewOut.model_validate(d.review.model_dump()),
            notes=[NoteOut.of(n, d.name_of(n.author_id)) for n in d.notes],
            history=[
                HistoryOut(
                    kind=e.kind,
                    at=e.at,
                    actor=d.name_of(e.actor_id),
                    assignee=d.name_of(e.detail)
                    if e.kind is TicketEventKind.ASSIGNED and e.detail in names
                    else None,
                )
                for e in d.history
            ],
            contact=ContactOut.model_validate(d.contact.model_dump()) if d.contact else None,
            reply=ReplyOut(
                id=d.reply.id,
                text=d.reply.text,
                author=MemberRef(id=d.reply.author_id, name=d.name_of(d.reply.author_id)),
                published_at=d.reply.published_at,
            )
            if d.reply
            else None,
        )


class MemberOut(BaseModel):
    id: str
    name: str
    handle: str
    """What a note's ``@handle`` names."""
    email: str
    role: MemberRole

    @classmethod
    def of(cls, member: Member) -> MemberOut:
        return cls.model_validate(member.model_dump())


class NewAgentOut(MemberOut):
    api_key: str | None
    """The agent's key, shown this once and stored hashed. A retry with the same
    Idempotency-Key answers with the same agent and ``null`` here."""

    @classmethod
    def of_new(cls, new: NewAgent) -> NewAgentOut:
        return cls(**MemberOut.of(new.member).model_dump(), api_key=new.api_key)


class AssignBody(_Input):
    assignee_id: str | None = Field(max_length=100)
    """A member of your team (see ``GET /api/v1/agents``), or null to unassign."""


class NoteBody(NoteIn):
    """An internal note: ``@handle`` emails that member of your team, once. The page's note
    form takes the same rule (``starter.desk_inputs.NoteIn``)."""


class AgentBody(AgentIn):
    """An agent to add: the team page's form takes the same rule
    (``starter.desk_inputs.AgentIn``)."""


@router.get("/tickets", responses=ERRORS)
async def list_tickets(
    member: MemberDep,
    service: ServiceDep,
    view: TicketView = TicketView.ALL,
    page: Page = 1,
) -> InboxOut:
    """Your inbox: one view's tickets, newest first, and how many each view holds.
    ``assigned_to_me`` is the caller's (the owner's, or the agent's whose key this is)."""
    return InboxOut.of(await service.desk.inbox(member.business_id, member, view, page=page))


@router.get("/tickets/{ticket_id}", responses=ERRORS)
async def get_ticket(ticket_id: Id, member: MemberDep, service: ServiceDep) -> TicketDetailOut:
    """A ticket with its review, internal notes, history and Find Reviewer contact."""
    return TicketDetailOut.of_detail(await service.desk.ticket(member.business_id, ticket_id))


@router.post(
    "/tickets/{ticket_id}/assign",
    responses={**ERRORS, 422: {"description": "Not a member of your team (member_not_found)"}},
)
async def assign_ticket(
    ticket_id: Id,
    body: AssignBody,
    member: MemberDep,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
) -> TicketDetailOut:
    """Assign to a member of your team, or to no one; a new ticket becomes open. Assigning to
    whoever has it already changes nothing."""
    detail = await service.desk.assign(
        member.business_id, member, ticket_id, body.assignee_id, idempotency_key=idempotency_key
    )
    return TicketDetailOut.of_detail(detail)


@router.post("/tickets/{ticket_id}/take", responses=ERRORS)
async def take_ticket(
    ticket_id: Id, member: MemberDep, service: ServiceDep, idempotency_key: IdempotencyKey = None
) -> TicketDetailOut:
    """Assign the ticket to yourself."""
    detail = await service.desk.take(
        member.business_id, member, ticket_id, idempotency_key=idempotency_key
    )
    return TicketDetailOut.of_detail(detail)


@router.post("/tickets/{ticket_id}/notes", status_code=status.HTTP_201_CREATED, responses=ERRORS)
async def add_note(
    ticket_id: Id,
    body: NoteBody,
    member: MemberDep,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
) -> NoteOut:
    """An internal note, never public. Each ``@handle`` of your team (but yours) is emailed
    once; sent again with the same Idempotency-Key, it answers with the first note."""
    note = await service.desk.note(
        member.business_id, member, ticket_id, body.text, idempotency_key=idempotency_key
    )
    return NoteOut.of(note, member.name)


@router.get("/agents", responses=ERRORS)
async def list_agents(member: MemberDep, service: ServiceDep) -> list[MemberOut]:
    """Your team: the owner first, then the agents by name."""
    return [MemberOut.of(m) for m in await service.team.members(member.business_id)]


@router.post(
    "/agents",
    status_code=status.HTTP_201_CREATED,
    responses={
        **ERRORS,
        403: {"description": "Only the business's owner adds agents (owner_only)"},
        409: {"description": "Someone in your team has this handle (handle_taken)"},
    },
)
async def add_agent(
    body: AgentBody, owner: OwnerDep, service: ServiceDep, idempotency_key: IdempotencyKey = None
) -> NewAgentOut:
    """Add an agent to your team, with a key of their own. The key is in this answer only,
    shown once: a retry with the same Idempotency-Key answers with the same agent and
    ``api_key: null``."""
    new = await service.team.add_agent(owner, body, idempotency_key=idempotency_key)
    return NewAgentOut.of_new(new)


@router.delete(
    "/agents/{member_id}",
    responses={
        **ERRORS,
        403: {"description": "Only the business's owner removes agents (owner_only)"},
        409: {"description": "The owner cannot be removed (owner_not_removable)"},
        422: {"description": "Not a member of your team (member_not_found)"},
    },
)
async def remove_agent(member_id: Id, owner: OwnerDep, service: ServiceDep) -> MemberOut:
    """Take an agent off your team: their key stops working at once, and so do their page
    sessions; they are no longer listed, assigned or mentioned. Their tickets become
    unassigned (each with a ``ticket.assigned`` webhook event, ``assignee_id`` null). Removing
    them again answers the same."""
    return MemberOut.of(await service.desk.remove_agent(owner, member_id))
