"""Server-rendered pages: public reviews, the reviewer's reply page, the business dashboard and
the moderation queue. Forms post back here; every signed-in form carries a CSRF token."""

from __future__ import annotations

import secrets
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from domain.enums import (
    REPORT_REASON,
    Answer,
    ContactStatus,
    Decision,
    FlagReason,
    Grounds,
    Priority,
    RequestedItem,
)
from domain.refusals import Refusal, Refused
from starter.inputs import ContactRequestBody, DecisionBody, ReplyBody, ReportBody
from starter.service import ReplyRequestView
from starter.web import reads, words
from starter.web.auth import (
    ServiceDep,
    Session,
    account_for_key,
    check_session,
    csrf_ok,
    end_session,
    session_of,
    standing_banner,
    start_session,
)
from starter.web.errors import ApiError
from starter.web.idempotency import IdempotencyKeyField, idempotency_key
from starter.web.sign_in import NEXT_MAX, safe_next
from store import directory
from store.records import Business, Contact, Platform, now

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals["REPORT_REASON"] = REPORT_REASON
templates.env.filters["when"] = lambda d: d.strftime("%d %b %Y, %H:%M UTC") if d else ""
templates.env.filters["day"] = words.day_words
templates.env.globals["can_report"] = reads.can_report
templates.env.globals["can_close"] = reads.can_close
templates.env.globals["author_of"] = reads.author_of
templates.env.globals["now"] = now
templates.env.globals["say"] = words.say
templates.env.globals["event_words"] = words.event_words
templates.env.globals["notification_words"] = words.notification_words
templates.env.globals["finding_words"] = words.finding_words
templates.env.globals["consumer_warning_words"] = words.consumer_warning_words
# Every state-changing form carries a fresh key, so a form sent twice is recognised as one.
templates.env.globals["idempotency_key"] = idempotency_key

# Every page sees the session only while its key is unchanged (`check_session`).
router = APIRouter(include_in_schema=False, dependencies=[Depends(check_session)])
PageNumber = Annotated[int, Query(ge=1, le=100_000)]
E = TypeVar("E", bound=StrEnum)
LOGIN_CSRF = "rd_login_csrf"
NOTICES = {
    "contact": "The reviewer has been emailed. You will be told when they answer.",
    "reported": "The review is reported and hidden while a moderator looks into it.",
    "closed": "The contact is closed.",
    "decided": "Decision recorded; the business and the reviewer have been told.",
}
REQUESTED_LABELS = {
    RequestedItem.ORDER_REFERENCE: "Order reference",
    RequestedItem.CONTACT_DETAILS: "Contact details",
    RequestedItem.EXPERIENCE_DETAILS: "Details of the experience",
}
templates.env.globals["REQUESTED_LABELS"] = REQUESTED_LABELS


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("session", session_of(request))
    # Every business page announces the steps against misuse in force (read by check_session).
    context.setdefault("standing_banner", standing_banner(request))
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def page_error(request: Request, status: int, message: str, code: str) -> HTMLResponse:
    if code == Refusal.LINK_NOT_FOUND.value:
        # A forged link learns nothing: a plain 404, like any unknown address.
        message = "This page does not exist."
    return render(request, "error.html", status, status=status, message=message, code=code)


def _signed_in(
    request: Request, role: str, csrf: str | None = None, *, post: bool = False
) -> Session:
    session = session_of(request)
    if session is None or session.role != role:
        raise ApiError(401, "unauthorized", "Please sign in first.")
    if post and not csrf_ok(session, csrf):
        raise ApiError(403, "csrf", "This form has expired; please go back and try again.")
    return session


def _back(path: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?notice={notice}", status_code=303)


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("notice", ""))


def _first_problem(err: ValidationError) -> str:
    first = err.errors()[0]
    field = ".".join(str(p) for p in first["loc"])
    return f"{field}: {first['msg']}" if field else str(first["msg"])


# --- anyone ------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
async def index(request: Request, service: ServiceDep) -> HTMLResponse:
    async with service.db.read() as conn:
        found = await directory.businesses(conn)
    return render(request, "index.html", businesses=found)


@router.get("/businesses/{business_id}", response_class=HTMLResponse)
async def business_page(business_id: str, request: Request, service: ServiceDep) -> HTMLResponse:
    page = await reads.public_reviews(service, business_id)
    if page is None:
        raise Refused(Refusal.BUSINESS_NOT_FOUND)
    warning = await service.standing.consumer_warning(business_id)
    return render(request, "business.html", page=page, consumer_warning=warning)


@router.get("/login", response_class=HTMLResponse)
async def login_form(
    request: Request, next: Annotated[str, Query(max_length=NEXT_MAX)] = ""
) -> HTMLResponse:
    """``next``: the page to return to once signed in, if it is one of this site's."""
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", csrf=token, next=safe_next(next) or "")
    response.set_cookie(
        LOGIN_CSRF,
        token,
        httponly=True,
        samesite="strict",
        max_age=3600,
        secure=request.app.state.secure_cookies,
    )
    return response


@router.post("/login")
async def login(
    request: Request,
    service: ServiceDep,
    api_key: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form(max_length=100)],
    next: Annotated[str, Form(max_length=NEXT_MAX)] = "",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF)
    if not expected or not secrets.compare_digest(expected, csrf):
        raise ApiError(403, "csrf", "This form has expired; please reload the sign-in page.")
    caller = await account_for_key(service, api_key.strip())
    # The platform's key posts reviews; it has no pages to sign in to.
    if caller is None or isinstance(caller.account, Platform):
        return render(
            request,
            "login.html",
            401,
            csrf=csrf,
            next=safe_next(next) or "",
            error="That key is not valid.",
        )
    home = "/dashboard" if isinstance(caller.account, Business) else "/moderation"
    target = safe_next(next) or home
    response = RedirectResponse(target, status_code=303)
    start_session(request, response, caller, api_key.strip())
    response.delete_cookie(LOGIN_CSRF, secure=request.app.state.secure_cookies)
    return response


@router.post("/logout")
async def logout(request: Request, csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    session = session_of(request)
    response = RedirectResponse("/", status_code=303)
    if session is not None and csrf_ok(session, csrf):
        end_session(response)
    return response


# --- reviewer ----------------------------------------------------------------------------------


def _spent_link(request: Request, view: ReplyRequestView) -> HTMLResponse | None:
    """The page for a link that can no longer be answered: answered (409) or closed (410)."""
    contact = view.contact
    if contact.answer_id is not None:
        return render(request, "reply_done.html", 409, view=view, already=True)
    if contact.status.window_closed or now() >= contact.deadline:
        closed_at = contact.window_closed_at or contact.deadline
        return render(request, "reply_closed.html", 410, view=view, closed_at=closed_at)
    return None


@router.get("/reply/{token}", response_class=HTMLResponse)
async def reply_page(
    token: str,
    request: Request,
    service: ServiceDep,
    confirm: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    """Showing the request never uses up the link: mail scanners open links too.

    ``?confirm=decline`` asks the reviewer to confirm a decline, which cannot be taken back.
    """
    view = await service.reply_request(token)
    spent = _spent_link(request, view)
    if spent is not None:
        return spent
    if confirm == "decline":
        return render(request, "reply_decline.html", view=view)
    return render(request, "reply.html", view=view, form={})


@router.post("/reply/{token}", response_class=HTMLResponse)
async def reply_submit(
    token: str,
    request: Request,
    service: ServiceDep,
    action: Annotated[Answer, Form()],
    order_reference: Annotated[str | None, Form()] = None,
    contact_details: Annotated[str | None, Form()] = None,
    message: Annotated[str | None, Form()] = None,
    idempotency_key: IdempotencyKeyField = None,
) -> HTMLResponse:
    view = await service.reply_request(token)
    spent = _spent_link(request, view)
    # Unless this very form, sent again after a 503 or a lost page, is what answered: its own
    # success then, not "already answered".
    if spent is not None and not await service.answered_with(view.contact, idempotency_key):
        return spent
    body = None
    if action is Answer.REPLY:
        form = {
            "order_reference": order_reference,
            "contact_details": contact_details,
            "message": message,
        }
        try:
            body = ReplyBody.model_validate(form)
        except ValidationError as err:
            # Refused before the link is touched: the reviewer corrects the form and sends again.
            problem = _first_problem(err)
            return render(request, "reply.html", 422, view=view, error=problem, form=form)
    try:
        await service.answer(token, action, body, idempotency_key=idempotency_key)
    except Refused as refusal:
        if refusal.reason is Refusal.WINDOW_CLOSED:
            closed_at = view.contact.window_closed_at or view.contact.deadline
            return render(request, "reply_closed.html", 410, view=view, closed_at=closed_at)
        if refusal.reason is Refusal.ALREADY_ANSWERED:
            return render(request, "reply_done.html", 409, view=view, already=True)
        raise
    return render(request, "reply_done.html", view=view, declined=action is Answer.DECLINE)


# --- business ----------------------------------------------------------------------------------


@router.get("/dashboard", response_class=HTMLResponse)
async def business_dashboard(
    request: Request,
    service: ServiceDep,
    reviews_page: PageNumber = 1,
    contacts_page: PageNumber = 1,
) -> Response:
    session = session_of(request)
    if session is None or session.role != "business":
        return RedirectResponse("/login", status_code=303)
    board = await reads.dashboard(
        service, session.account_id, reviews_page=reviews_page, contacts_page=contacts_page
    )
    webhooks = await service.webhooks.endpoints(session.account_id)
    return render(
        request,
        "dashboard.html",
        board=board,
        notice=_notice(request),
        grounds=list(Grounds),
        webhooks=webhooks,
    )


@router.post("/dashboard/reviews/{review_id}/contact")
async def find_reviewer(
    review_id: str,
    request: Request,
    service: ServiceDep,
    csrf: Annotated[str, Form(max_length=100)],
    message: Annotated[str, Form(max_length=5000)] = "",
    requested: Annotated[list[RequestedItem] | None, Form()] = None,
    idempotency_key: IdempotencyKeyField = None,
) -> Response:
    session = _signed_in(request, "business", csrf, post=True)
    try:
        body = ContactRequestBody(message=message, requested=requested or [])
    except ValidationError as err:
        raise ApiError(422, "invalid_input", _first_problem(err)) from None
    await service.request_contact(
        session.account_id, review_id, body, idempotency_key=idempotency_key
    )
    return _back("/dashboard", "contact")


@router.get("/dashboard/contacts/{contact_id}", response_class=HTMLResponse)
async def contact_page(contact_id: str, request: Request, service: ServiceDep) -> HTMLResponse:
    session = _signed_in(request, "business")
    page = await reads.contact_page(service, session.account_id, contact_id)
    return render(request, "contact.html", page=page, notice=_notice(request))


@router.get("/dashboard/contacts/{contact_id}/report", response_class=HTMLResponse)
async def confirm_report(contact_id: str, request: Request, service: ServiceDep) -> HTMLResponse:
    """A report hides the review at once and for good: never on one click."""
    session = _signed_in(request, "business")
    page = await reads.contact_page(service, session.account_id, contact_id)
    grounds = _grounds_now(page.view.contact)
    return render(request, "confirm_report.html", page=page, grounds=grounds)


@router.get("/dashboard/contacts/{contact_id}/close", response_class=HTMLResponse)
async def confirm_close(contact_id: str, request: Request, service: ServiceDep) -> HTMLResponse:
    session = _signed_in(request, "business")
    page = await reads.contact_page(service, session.account_id, contact_id)
    if not reads.can_close(page.view.contact):
        raise Refused(_refusal_after_end(page.view.contact))
    return render(request, "confirm_close.html", page=page)


def _grounds_now(contact: Contact) -> Grounds:
    """The only grounds a report may give now, or the refusal a report would get."""
    if contact.status is ContactStatus.AWAITING_REPLY:
        raise Refused(Refusal.WINDOW_OPEN)
    if not contact.status.is_open:
        raise Refused(_refusal_after_end(contact))
    if not reads.can_report(contact):
        raise Refused(Refusal.REPORT_WINDOW_OVER)
    if contact.status is ContactStatus.REPLIED:
        return Grounds.INSUFFICIENT_INFORMATION
    return Grounds.NO_RESPONSE


def _refusal_after_end(contact: Contact) -> Refusal:
    if contact.status is ContactStatus.REPORTED:
        return Refusal.ALREADY_REPORTED
    return Refusal.CONTACT_CLOSED


@router.post("/dashboard/contacts/{contact_id}/report")
async def report_review(
    contact_id: str,
    request: Request,
    service: ServiceDep,
    csrf: Annotated[str, Form(max_length=100)],
    grounds: Annotated[Grounds, Form()],
    idempotency_key: IdempotencyKeyField = None,
) -> Response:
    session = _signed_in(request, "business", csrf, post=True)
    await service.report(
        session.account_id, contact_id, ReportBody(grounds=grounds), idempotency_key=idempotency_key
    )
    return _back(f"/dashboard/contacts/{contact_id}", "reported")


@router.post("/dashboard/contacts/{contact_id}/close")
async def close_contact(
    contact_id: str,
    request: Request,
    service: ServiceDep,
    csrf: Annotated[str, Form(max_length=100)],
    idempotency_key: IdempotencyKeyField = None,
) -> Response:
    session = _signed_in(request, "business", csrf, post=True)
    await service.close(session.account_id, contact_id, idempotency_key=idempotency_key)
    return _back(f"/dashboard/contacts/{contact_id}", "closed")


# --- moderator ---------------------------------------------------------------------------------


def _choice(kind: type[E], value: str, name: str) -> E | None:
    """A filter from the queue's form: empty means all; anything else must be one of ``kind``."""
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise ApiError(422, "invalid_input", f"{name}: not one of the choices offered") from None


@router.get("/moderation", response_class=HTMLResponse)
async def moderation_queue(
    request: Request,
    service: ServiceDep,
    show: Annotated[str, Query(pattern="^(pending|decided)$")] = "pending",
    reason: Annotated[str, Query(max_length=40)] = "",
    priority: Annotated[str, Query(max_length=40)] = "",
    page: PageNumber = 1,
) -> Response:
    session = session_of(request)
    if session is None or session.role != "moderator":
        return RedirectResponse("/login", status_code=303)
    queue = await reads.moderation(
        service,
        decided=show == "decided",
        reason=_choice(FlagReason, reason, "reason"),
        priority=_choice(Priority, priority, "priority"),
        page=page,
    )
    return render(
        request,
        "moderation.html",
        queue=queue,
        notice=_notice(request),
        at=now(),
        reasons=list(FlagReason),
        priorities=[Priority.HIGH, Priority.NORMAL],
    )


@router.get("/moderation/reports/{report_id}/decide", response_class=HTMLResponse)
async def confirm_decision(
    report_id: str, request: Request, service: ServiceDep, decision: Annotated[Decision, Query()]
) -> HTMLResponse:
    """Removing or reinstating a review is asked for on a page of its own, with the note."""
    _signed_in(request, "moderator")
    queue = await reads.report_page(service, report_id)
    if queue.reports[0].decision is not None:
        raise Refused(Refusal.ALREADY_DECIDED)
    return render(request, "confirm_decision.html", queue=queue, decision=decision, at=now())


@router.post("/moderation/reports/{report_id}/decision")
async def decide(
    report_id: str,
    request: Request,
    service: ServiceDep,
    csrf: Annotated[str, Form(max_length=100)],
    decision: Annotated[Decision, Form()],
    note: Annotated[str, Form(max_length=5000)] = "",
    legal_ground: Annotated[str, Form(max_length=1000)] = "",
    idempotency_key: IdempotencyKeyField = None,
) -> Response:
    session = _signed_in(request, "moderator", csrf, post=True)
    try:
        body = DecisionBody(decision=decision, note=note, legal_ground=legal_ground)
    except ValidationError as err:
        raise ApiError(422, "invalid_input", _first_problem(err)) from None
    await service.decide(session.account_id, report_id, body, idempotency_key=idempotency_key)
    return _back("/moderation", "decided")
