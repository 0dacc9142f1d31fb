"""The response desk's pages (DESIGN rules 15-17, 21): the inbox with its views and their counts,
a ticket with its review, response target, assignment, internal notes, history and private
dialogue, "Find reviewer" from a ticket, and the team (the owner adds agents here).

Owners and agents both sign in with their own key as their business; every form carries the
session's CSRF token and a fresh Idempotency-Key, so a form sent twice changes things once.
Another business's ticket is the same 404 page as one that does not exist (``service.desk``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from domain.enums import RequestedItem, TicketView
from domain.refusals import Refusal, Refused
from starter.desk import TicketDetail
from starter.desk_inputs import AGENT_WORDS, CONTACT_WORDS, NOTE_WORDS, AgentIn, NoteIn, in_words
from starter.inputs import ContactRequestBody
from starter.web import words
from starter.web.auth import ServiceDep, check_session, member_id_of, session_of
from starter.web.errors import ApiError
from starter.web.idempotency import IdempotencyKeyField
from starter.web.pages import PageNumber, _signed_in, render
from starter.web.reads import Paging, find_reviewer_offered
from starter.web.reply_form import ReplyForm, reply_form
from starter.web.sign_in import SignInFirst, to_sign_in
from store import members, tickets
from store.records import Member, now

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_session)])

Csrf = Annotated[str, Form(max_length=100)]
# What a form field takes before its rule (``starter.desk_inputs``) reads it and says in words
# what is wrong: a little over the rule's own limit, so an overlong note is told, not dropped.
FORM_MAX = 10_000
NOTICES = {
    "taken": "The ticket is yours.",
    "assigned": "Assignment saved.",
    "unassigned": "The ticket is no longer assigned to anyone.",
    "noted": "Your note is saved. Anyone you mentioned is emailed once.",
    "contact": "The reviewer has been emailed. This ticket is pending until the contact ends.",
    "agent_removed": "The agent is removed: their key no longer works.",
    "published": "Your reply is published under the review.",
    "published_solved": "Your reply is published under the review, and the ticket is solved.",
    "solved": "The ticket is solved.",
    # Followed by what became of the review's flag (``ReplyForm.spam_words``): an earlier flag
    # kept may still wait for the reviewer or the business, so "went to the moderators" is not
    # always true.
    "spam": (
        "Marked as spam or irrelevant: no public reply, a note records it, and the ticket is"
        " solved."
    ),
}


async def _member(request: Request, service: ServiceDep, csrf: str | None = None) -> Member:
    """The owner or agent signed in; with ``csrf``, a form they sent from one of their pages.
    A page asked for signed out (an emailed link) sends the reader to sign in and back."""
    session = session_of(request)
    if csrf is None and (session is None or session.role != "business"):
        raise SignInFirst(request)
    session = _signed_in(request, "business", csrf, post=csrf is not None)
    async with service.db.read() as conn:
        member = await members.member_of(conn, session.account_id, member_id_of(session))
    if member is None:
        # Removed from the team since signing in: as signed out.
        if csrf is None:
            raise SignInFirst(request)
        raise ApiError(401, "unauthorized", "Please sign in first.")
    return member


def _render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    at = now()
    return render(
        request,
        name,
        status_code,
        at=at,
        tag_words=words.tag_words,
        tags_in_order=words.tags_in_order,
        due_words=lambda t: words.due_words(t, at),
        overdue=lambda t: words.overdue(t, at),
        ago=lambda d: words.ago(d, at),
        **context,
    )


def _notice(request: Request, box: ReplyForm | None = None) -> str | None:
    key = request.query_params.get("notice", "")
    said = NOTICES.get(key)
    if key == "spam" and said and box is not None and box.spam_words:
        return f"{said} {box.spam_words}"
    return said


def _back(ticket_id: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"/desk/tickets/{ticket_id}?notice={notice}", status_code=303)


def can_find_reviewer(detail: TicketDetail) -> bool:
    """Whether "Find reviewer" is offered: the dashboard's rule (``reads.find_reviewer_offered``);
    the service has the last word (cooldown, caps, restrictions) and says why it refuses."""
    contact = detail.contact
    open_contact = contact if contact is not None and contact.status.is_open else None
    return find_reviewer_offered(detail.review, open_contact, detail.report)


# --- the inbox ---------------------------------------------------------------------------------


@router.get("/desk", response_class=HTMLResponse)
async def inbox(
    request: Request,
    service: ServiceDep,
    view: Annotated[TicketView, Query()] = TicketView.UNANSWERED_NEGATIVE,
    page: PageNumber = 1,
) -> Response:
    session = session_of(request)
    if session is None or session.role != "business":
        return to_sign_in(request)
    member = await _member(request, service)
    box = await service.desk.inbox(session.account_id, member, view, page=page)
    return _render(
        request,
        "desk_inbox.html",
        box=box,
        views=list(TicketView),
        paging=Paging(box.page, has_next=box.has_more),
    )


# --- a ticket ----------------------------------------------------------------------------------


def _ticket_page(
    request: Request, member: Member, detail: TicketDetail, status_code: int = 200, **context: Any
) -> HTMLResponse:
    return _render(
        request,
        "desk_ticket.html",
        status_code,
        d=detail,
        me=member,
        can_find_reviewer=can_find_reviewer(detail),
        history=[words.ticket_event_words(e, detail.name_of) for e in detail.history],
        notice=_notice(request, context.get("reply_box")),
        **context,
    )


@router.get("/desk/tickets/{ticket_id}", response_class=HTMLResponse)
async def ticket_page(
    ticket_id: str,
    request: Request,
    service: ServiceDep,
    macro: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    """With ``macro`` (the reply section's "Apply"), that macro is rendered into the reply."""
    member = await _member(request, service)
    detail = await service.desk.ticket(member.business_id, ticket_id)
    box = await reply_form(service, member, detail, macro_id=macro)
    return _ticket_page(request, member, detail, box.status, reply_box=box)


@router.post("/desk/tickets/{ticket_id}/take")
async def take(
    ticket_id: str,
    request: Request,
    service: ServiceDep,
    csrf: Csrf,
    idempotency_key: IdempotencyKeyField = None,
) -> Response:
    member = await _member(request, service, csrf)
    await service.desk.take(member.business_id, member, ticket_id, idempotency_key=idempotency_key)
    return _back(ticket_id, "taken")


@router.post("/desk/tickets/{ticket_id}/assign")
async def assign(
    ticket_id: str,
    request: Request,
    service: ServiceDep,
    csrf: Csrf,
    assignee: Annotated[str, Form(max_length=100)] = "",
    idempotency_key: IdempotencyKeyField = None,
) -> Response:
    """To a member of the team, or to no one (an empty choice)."""
    member = await _member(request, service, csrf)
    await service.desk.assign(
        member.business_id,
        member,
        ticket_id,
        assignee or None,
        idempotency_key=idempotency_key,
    )
    if not assignee:
        return _back(ticket_id, "unassigned")
    return _back(ticket_id, "taken" if assignee == member.id else "assigned")


@router.post("/desk/tickets/{ticket_id}/notes", response_class=HTMLResponse)
async def add_note(
    ticket_id: str,
    request: Request,
    service: ServiceDep,
    csrf: Csrf,
    text: Annotated[str, Form(max_length=FORM_MAX)] = "",
    idempotency_key: IdempotencyKeyField = None,
) -> Response:
    member = await _member(request, service, csrf)
    try:
        note = NoteIn(text=text)
    except ValidationError as err:
        detail = await service.desk.ticket(member.business_id, ticket_id)
        problem = in_words(err, NOTE_WORDS)
        box = await reply_form(service, member, detail)
        return _ticket_page(request, member, detail, 422, note_error=problem, reply_box=box)
    await service.desk.note(
        member.business_id, member, ticket_id, note.text, idempotency_key=idempotency_key
    )
    return _back(ticket_id, "noted")


# --- Find reviewer from a ticket (DESIGN rule 21) -----------------------------------------------


def _find_reviewer_page(
    request: Request,
    service: ServiceDep,
    detail: TicketDetail,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    context.setdefault("form", {"message": "", "requested": []})
    return _render(
        request,
        "desk_find_reviewer.html",
        status_code,
        d=detail,
        can_find_reviewer=can_find_reviewer(detail),
        window=words.span(service.settings.reply_window),
        **context,
    )


@router.get("/desk/tickets/{ticket_id}/find-reviewer", response_class=HTMLResponse)
async def find_reviewer_form(ticket_id: str, request: Request, service: ServiceDep) -> HTMLResponse:
    member = await _member(request, service)
    detail = await service.desk.ticket(member.business_id, ticket_id)
    return _find_reviewer_page(request, service, detail)


@router.post("/desk/tickets/{ticket_id}/find-reviewer", response_class=HTMLResponse)
async def find_reviewer(
    ticket_id: str,
    request: Request,
    service: ServiceDep,
    csrf: Csrf,
    message: Annotated[str, Form(max_length=5000)] = "",
    requested: Annotated[list[RequestedItem] | None, Form()] = None,
    idempotency_key: IdempotencyKeyField = None,
) -> Response:
    """The Part 1 contact request for the ticket's review, the same as from the dashboard; the
    contact's own rules refuse it with their reasons."""
    member = await _member(request, service, csrf)
    detail = await service.desk.ticket(member.business_id, ticket_id)
    try:
        body = ContactRequestBody(message=message, requested=requested or [])
    except ValidationError as err:
        form = {"message": message, "requested": [r.value for r in requested or []]}
        problem = in_words(err, CONTACT_WORDS)
        return _find_reviewer_page(request, service, detail, 422, error=problem, form=form)
    try:
        await service.request_contact(
            member.business_id, detail.review.id, body, idempotency_key=idempotency_key
        )
    except Refused as refusal:
        # Said on the form, which keeps what was written: a cooldown, a cap, a restriction.
        form = {"message": message, "requested": [r.value for r in requested or []]}
        status = refusal.reason.http_status
        return _find_reviewer_page(
            request, service, detail, status, error=refusal.message, form=form
        )
    return _back(ticket_id, "contact")


# --- the team (DESIGN rule 17) -----------------------------------------------------------------


def _team_page(
    request: Request, me: Member, team: list[Member], status_code: int = 200, **context: Any
) -> HTMLResponse:
    context.setdefault("form", {"name": "", "email": "", "handle": ""})
    context.setdefault("notice", _notice(request))
    return _render(request, "desk_team.html", status_code, me=me, team=team, **context)


@router.get("/desk/team", response_class=HTMLResponse)
async def team_page(request: Request, service: ServiceDep) -> HTMLResponse:
    me = await _member(request, service)
    return _team_page(request, me, await service.team.members(me.business_id))


@router.post("/desk/team", response_class=HTMLResponse)
async def add_agent(
    request: Request,
    service: ServiceDep,
    csrf: Csrf,
    name: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    handle: Annotated[str, Form(max_length=100)] = "",
    idempotency_key: IdempotencyKeyField = None,
) -> HTMLResponse:
    """Only the owner; the new agent's key is shown on the answer, this once."""
    me = await _member(request, service, csrf)
    if not me.is_owner:
        raise Refused(Refusal.OWNER_ONLY)
    form = {"name": name.strip(), "email": email.strip(), "handle": handle.strip()}
    try:
        agent: AgentIn | None = AgentIn(name=name, email=email, handle=handle or None)
    except ValidationError as err:
        agent, status, problem = None, 422, in_words(err, AGENT_WORDS)
    if agent is not None:
        try:
            made = await service.team.add_agent(me, agent, idempotency_key=idempotency_key)
        except Refused as refusal:
            if refusal.reason is not Refusal.HANDLE_TAKEN:
                raise
            status, problem = refusal.reason.http_status, refusal.message
        else:
            return _render(request, "desk_agent_added.html", made=made)
    team = await service.team.members(me.business_id)
    return _team_page(request, me, team, status, form=form, error=problem)


@router.get("/desk/team/{member_id}/remove", response_class=HTMLResponse)
async def confirm_remove_agent(member_id: str, request: Request, service: ServiceDep) -> Response:
    """Removing an agent cannot be undone: the page asks first, and says what happens to the
    tickets assigned to them."""
    me = await _member(request, service)
    if not me.is_owner:
        raise Refused(Refusal.OWNER_ONLY)
    async with service.db.read() as conn:
        agent = await members.member_of(conn, me.business_id, member_id)
        assigned = len(await tickets.assigned_to(conn, me.business_id, member_id))
    if agent is None or agent.is_owner:
        raise Refused(Refusal.MEMBER_NOT_FOUND)
    return _render(request, "desk_agent_remove.html", agent=agent, assigned=assigned)


@router.post("/desk/team/{member_id}/remove")
async def remove_agent(
    member_id: str, request: Request, service: ServiceDep, csrf: Csrf
) -> Response:
    """Sent twice, the second finds the agent removed and lands on the team page too."""
    me = await _member(request, service, csrf)
    await service.desk.remove_agent(me, member_id)
    return RedirectResponse("/desk/team?notice=agent_removed", status_code=303)
