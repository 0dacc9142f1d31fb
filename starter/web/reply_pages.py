"""The public reply from a desk ticket (DESIGN rules 18, 19, 21): preview, publish, spam.

The ticket page (``desk_pages``) holds the "Public reply" section (``reply_form``): a macro to
start from, the text, "Preview". The preview shows the reply under the review exactly as the
public page will (the same partial, ``_public_reply.html``), says it can never be edited or
withdrawn, and offers "Publish reply" and "Send as solved". The preview's one Idempotency-Key
becomes a key per button here (``button_key``): a double click or a resend of a button publishes
once (``service.replies``), and the other button after a 503 is another send (published, or
refused because the review has its reply), never "a key used for a different reply". A reply
with placeholders left is previewed with their names and not offered for publishing. Once
published, every route here answers the ticket page with the reply and the refusal in words:
there is nothing to change it.

"Spam or irrelevant" asks first, saying what happens, then calls ``service.spam``. "Mark solved"
is offered once the review has its reply and the ticket is not solved (``service.replies.solve``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from delivery import spam_texts
from domain.refusals import Refusal, Refused
from starter.desk import TicketDetail
from starter.desk_inputs import in_words
from starter.reply_inputs import REPLY_WORDS, ReplyIn
from starter.web.auth import ServiceDep, check_session
from starter.web.desk_pages import FORM_MAX, Csrf, _member, _render, _ticket_page
from starter.web.idempotency import IdempotencyKeyField
from starter.web.reply_form import ReplyForm, closed, reply_form
from store.records import Member

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_session)])

ReplyText = Annotated[str, Form(max_length=FORM_MAX)]
ANOTHER_TEXT = "This form was already sent with another text. Preview your reply again to send it."


def button_key(key: str | None, solve: bool) -> str | None:
    """The key of the preview's button that sent the form: the service refuses one key sent
    with another ``solve``, and each button is a send of its own."""
    return f"{key}:{'solve' if solve else 'publish'}" if key else None


def _as_written(text: str) -> str:
    """A form's text with its line breaks as typed: browsers send every one as CRLF, which
    would otherwise be published, and counted, as two characters."""
    return text.replace("\r\n", "\n")


async def _ticket_with(
    request: Request,
    service: ServiceDep,
    member: Member,
    detail: TicketDetail,
    *,
    text: str = "",
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The ticket page, its reply section holding ``text`` and saying ``error``."""
    form = await reply_form(service, member, detail, text=text, error=error, status=status)
    return _ticket_page(request, member, detail, form.status, reply_box=form)


async def _refused_on_ticket(
    request: Request, service: ServiceDep, member: Member, ticket_id: str, refusal: Refused
) -> HTMLResponse:
    """The ticket page saying the refusal; a ticket not found stays the "not found" page."""
    if refusal.reason is Refusal.TICKET_NOT_FOUND:
        raise refusal
    detail = await service.desk.ticket(member.business_id, ticket_id)
    status = refusal.reason.http_status
    return await _ticket_with(
        request, service, member, detail, error=refusal.message, status=status
    )


async def _closed_page(
    request: Request, service: ServiceDep, member: Member, detail: TicketDetail
) -> HTMLResponse | None:
    """The ticket page saying why, when the review has its reply or was marked spam."""
    reason = closed(detail)
    if reason is None:
        return None
    return await _ticket_with(
        request, service, member, detail, error=reason.message, status=reason.http_status
    )


async def _text_back(
    request: Request,
    service: ServiceDep,
    member: Member,
    ticket_id: str,
    text: str,
    problem: str | None = None,
) -> HTMLResponse:
    """The ticket page with ``text`` back in its reply section, saying ``problem`` (422); or
    saying why, when the review has its reply or was marked spam."""
    detail = await service.desk.ticket(member.business_id, ticket_id)
    if (shut := await _closed_page(request, service, member, detail)) is not None:
        return shut
    status = 200 if problem is None else 422
    return await _ticket_with(
        request, service, member, detail, text=text, error=problem, status=status
    )


def _preview_page(
    request: Request,
    member: Member,
    detail: TicketDetail,
    form: ReplyForm,
    status_code: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    return _render(
        request,
        "desk_reply_preview.html",
        status_code,
        d=detail,
        me=member,
        box=form,
        error=error,
    )


@router.post("/desk/tickets/{ticket_id}/reply/preview", response_class=HTMLResponse)
async def preview(
    ticket_id: str, request: Request, service: ServiceDep, csrf: Csrf, text: ReplyText = ""
) -> HTMLResponse:
    """Changes nothing: the reply as it will appear, and what is left to fill."""
    member = await _member(request, service, csrf)
    text = _as_written(text)
    try:
        body = ReplyIn(text=text)
    except ValidationError as err:
        return await _text_back(
            request, service, member, ticket_id, text, in_words(err, REPLY_WORDS)
        )
    detail = await service.desk.ticket(member.business_id, ticket_id)
    if (shut := await _closed_page(request, service, member, detail)) is not None:
        return shut
    form = await reply_form(service, member, detail, text=body.text)
    return _preview_page(request, member, detail, form)


@router.post("/desk/tickets/{ticket_id}/reply/write", response_class=HTMLResponse)
async def back_to_edit(
    ticket_id: str, request: Request, service: ServiceDep, csrf: Csrf, text: ReplyText = ""
) -> HTMLResponse:
    """ "Back to edit" from the preview: the ticket page with the text as it was."""
    member = await _member(request, service, csrf)
    return await _text_back(request, service, member, ticket_id, _as_written(text))


@router.post("/desk/tickets/{ticket_id}/reply", response_class=HTMLResponse)
async def publish(
    ticket_id: str,
    request: Request,
    service: ServiceDep,
    csrf: Csrf,
    text: ReplyText = "",
    solve: Annotated[bool, Form()] = False,
    idempotency_key: IdempotencyKeyField = None,
) -> Response:
    """Publishes through ``service.replies`` (the ticket's workflow); the same form sent again
    is the first publishing, a new one is refused in words."""
    member = await _member(request, service, csrf)
    text = _as_written(text)
    try:
        body = ReplyIn(text=text, solve=solve)
    except ValidationError as err:
        return await _text_back(
            request, service, member, ticket_id, text, in_words(err, REPLY_WORDS)
        )
    try:
        await service.replies.reply(
            member.business_id,
            member,
            ticket_id,
            body,
            idempotency_key=button_key(idempotency_key, body.solve),
        )
    except Refused as refusal:
        if refusal.reason is Refusal.IDEMPOTENCY_KEY_REUSED:
            # Only a form changed by hand gets here (a preview's text is fixed): said in words.
            refusal = Refused(refusal.reason, ANOTHER_TEXT)
        if refusal.reason is Refusal.PLACEHOLDERS_LEFT:
            detail = await service.desk.ticket(member.business_id, ticket_id)
            form = await reply_form(service, member, detail, text=body.text)
            return _preview_page(
                request, member, detail, form, refusal.reason.http_status, refusal.message
            )
        return await _refused_on_ticket(request, service, member, ticket_id, refusal)
    notice = "published_solved" if body.solve else "published"
    return RedirectResponse(f"/desk/tickets/{ticket_id}?notice={notice}#reply", status_code=303)


@router.post("/desk/tickets/{ticket_id}/solve", response_class=HTMLResponse)
async def solve(
    ticket_id: str,
    request: Request,
    service: ServiceDep,
    csrf: Csrf,
    idempotency_key: IdempotencyKeyField = None,
) -> Response:
    """ "Mark solved", offered once the review has its reply. One step, no confirmation: it
    publishes nothing and the reply is already out; sent twice, it is solved once."""
    del idempotency_key  # the form carries one as every form does; solving is idempotent
    member = await _member(request, service, csrf)
    try:
        await service.replies.solve(member.business_id, member, ticket_id)
    except Refused as refusal:
        return await _refused_on_ticket(request, service, member, ticket_id, refusal)
    return RedirectResponse(f"/desk/tickets/{ticket_id}?notice=solved#reply", status_code=303)


# --- spam or irrelevant (DESIGN rule 21) --------------------------------------------------------


@router.get("/desk/tickets/{ticket_id}/spam", response_class=HTMLResponse)
async def confirm_spam(ticket_id: str, request: Request, service: ServiceDep) -> HTMLResponse:
    """It cannot be undone: the page says what happens, and asks."""
    member = await _member(request, service)
    detail = await service.desk.ticket(member.business_id, ticket_id)
    if (shut := await _closed_page(request, service, member, detail)) is not None:
        return shut
    # A flag of the review made before is the one the action keeps: said as it stands.
    earlier = await service.spam.flag_of(detail.ticket)
    flag_words = spam_texts.flag_words(earlier.status if earlier else None)
    return _render(request, "desk_spam_confirm.html", d=detail, me=member, flag_words=flag_words)


@router.post("/desk/tickets/{ticket_id}/spam", response_class=HTMLResponse)
async def mark_spam(
    ticket_id: str,
    request: Request,
    service: ServiceDep,
    csrf: Csrf,
    idempotency_key: IdempotencyKeyField = None,
) -> Response:
    member = await _member(request, service, csrf)
    try:
        await service.spam.mark(
            member.business_id, member, ticket_id, idempotency_key=idempotency_key
        )
    except Refused as refusal:
        return await _refused_on_ticket(request, service, member, ticket_id, refusal)
    return RedirectResponse(f"/desk/tickets/{ticket_id}?notice=spam", status_code=303)
