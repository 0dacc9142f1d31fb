"""The pages of appeals (DESIGN rule 11): the reviewer's link in a statement of reasons
(``/appeal/<token>``), the notifier's link in their emails (``/notice/<token>``: the notice and,
after a rejection, the appeal form), the business's appeal of a rejection, and the moderators'
appeals queue with its decide page.

An appeal cannot be taken back and is allowed once: every form comes back first as a
confirmation, and only a confirmed one is sent. Showing a link's page never uses it up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from domain.enums import AppealDecision, AppealStatus
from domain.refusals import Refusal, Refused
from starter.appeal_inputs import AppealBody, AppealDecisionBody
from starter.appeals import AppealRequest, AppealView
from starter.web.auth import ServiceDep, check_session
from starter.web.errors import ApiError
from starter.web.idempotency import IdempotencyKeyField
from starter.web.pages import PageNumber, _first_problem, _signed_in, render
from starter.web.reads import PAGE, Paging
from store import directory, reviews
from store.records import now

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_session)])

Statement = Annotated[str, Form(max_length=5000)]
Confirmed = Annotated[str, Form(max_length=10)]
NOTICES = {"decided": "Decision recorded; everyone involved has been told."}


def _form(
    request: Request,
    appeal_request: AppealRequest,
    *,
    action: str,
    template: str = "appeal_request.html",
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    return render(request, template, status_code, req=appeal_request, action=action, **context)


async def _submit(
    request: Request,
    appeal_request: AppealRequest,
    *,
    action: str,
    template: str,
    statement: str,
    confirmed: str,
    send: Any,
    **context: Any,
) -> HTMLResponse:
    """The form, then its confirmation, then the appeal sent: the same for every appellant."""
    # A confirmed form sent again (a double click, a resend after a 503) goes to the service,
    # which knows it by its idempotency key and answers with the first one's appeal.
    resent = confirmed == "yes" and appeal_request.appeal is not None
    if not appeal_request.open and not resent:
        # Too late, or appealed already: the page says where it stands (no form).
        return _form(
            request, appeal_request, action=action, template=template, status_code=409, **context
        )
    try:
        body = AppealBody.model_validate({"statement": statement})
    except ValidationError:
        problem = "Say why you disagree with the decision."
        return _form(
            request,
            appeal_request,
            action=action,
            template=template,
            status_code=422,
            error=problem,
            statement=statement,
            **context,
        )
    if confirmed != "yes":
        return _form(
            request,
            appeal_request,
            action=action,
            template="appeal_confirm.html",
            body=body,
            **context,
        )
    try:
        await send(body)
    except Refused as refusal:
        if refusal.reason not in (Refusal.APPEAL_WINDOW_OVER, Refusal.ALREADY_APPEALED):
            raise
        return _form(
            request,
            appeal_request,
            action=action,
            template=template,
            status_code=refusal.reason.http_status,
            error=refusal.message,
            **context,
        )
    return _form(request, appeal_request, action=action, template="appeal_sent.html", **context)


# --- the reviewer ------------------------------------------------------------------------------


@router.get("/appeal/{token}", response_class=HTMLResponse)
async def reviewer_page(token: str, request: Request, service: ServiceDep) -> HTMLResponse:
    found = await service.appeals.appeal_request_reviewer(token)
    return _form(request, found, action=f"/appeal/{token}", who="reviewer")


@router.post("/appeal/{token}", response_class=HTMLResponse)
async def reviewer_appeal(
    token: str,
    request: Request,
    service: ServiceDep,
    statement: Statement = "",
    confirmed: Confirmed = "",
    idempotency_key: IdempotencyKeyField = None,
) -> HTMLResponse:
    found = await service.appeals.appeal_request_reviewer(token)

    async def send(body: AppealBody) -> AppealView:
        return await service.appeals.by_reviewer(token, body, idempotency_key=idempotency_key)

    return await _submit(
        request,
        found,
        action=f"/appeal/{token}",
        template="appeal_request.html",
        statement=statement,
        confirmed=confirmed,
        send=send,
        who="reviewer",
    )


# --- the notifier ------------------------------------------------------------------------------


@router.get("/notice/{token}", response_class=HTMLResponse)
async def notice_page(token: str, request: Request, service: ServiceDep) -> HTMLResponse:
    found = await service.appeals.notice_request(token)
    return _form(request, found, action=f"/notice/{token}", template="notice_link.html")


@router.post("/notice/{token}", response_class=HTMLResponse)
async def notifier_appeal(
    token: str,
    request: Request,
    service: ServiceDep,
    statement: Statement = "",
    confirmed: Confirmed = "",
    idempotency_key: IdempotencyKeyField = None,
) -> HTMLResponse:
    found = await service.appeals.notice_request(token)

    async def send(body: AppealBody) -> AppealView:
        return await service.appeals.by_notifier(token, body, idempotency_key=idempotency_key)

    return await _submit(
        request,
        found,
        action=f"/notice/{token}",
        template="notice_link.html",
        statement=statement,
        confirmed=confirmed,
        send=send,
    )


# --- the business ------------------------------------------------------------------------------


@router.get("/dashboard/decisions/{decision_id}/appeal", response_class=HTMLResponse)
async def business_page(decision_id: str, request: Request, service: ServiceDep) -> HTMLResponse:
    session = _signed_in(request, "business")
    found = await service.appeals.business_request(session.account_id, decision_id)
    return _form(
        request, found, action=f"/dashboard/decisions/{decision_id}/appeal", who="business"
    )


@router.post("/dashboard/decisions/{decision_id}/appeal", response_class=HTMLResponse)
async def business_appeal(
    decision_id: str,
    request: Request,
    service: ServiceDep,
    csrf: Annotated[str, Form(max_length=100)],
    statement: Statement = "",
    confirmed: Confirmed = "",
    idempotency_key: IdempotencyKeyField = None,
) -> HTMLResponse:
    session = _signed_in(request, "business", csrf, post=True)
    found = await service.appeals.business_request(session.account_id, decision_id)

    async def send(body: AppealBody) -> AppealView:
        return await service.appeals.by_business(
            session.account_id, decision_id, body, idempotency_key=idempotency_key
        )

    return await _submit(
        request,
        found,
        action=f"/dashboard/decisions/{decision_id}/appeal",
        template="appeal_request.html",
        statement=statement,
        confirmed=confirmed,
        send=send,
        who="business",
    )


# --- moderators --------------------------------------------------------------------------------


@dataclass
class AppealsPage:
    """Appeals with the names a moderator reads in place of ids."""

    appeals: list[AppealView] = field(default_factory=list)
    businesses: dict[str, str] = field(default_factory=dict)
    authors: dict[str, str] = field(default_factory=dict)
    moderators: dict[str, str] = field(default_factory=dict)
    paging: Paging = field(default_factory=Paging)
    decided: bool = False


async def _appeals_page(service: Any, found: list[AppealView], paging: Paging) -> AppealsPage:
    deciders = [v.decision.moderator_id for v in found]
    deciders += [v.appeal.moderator_id or "" for v in found]
    async with service.db.read() as conn:
        return AppealsPage(
            appeals=found,
            businesses=await directory.business_names(conn, [v.report.business_id for v in found]),
            authors=await reviews.authors_of(conn, [v.review.reviewer_id for v in found]),
            moderators=await directory.moderator_names(conn, deciders),
            paging=paging,
        )


@router.get("/moderation/appeals", response_class=HTMLResponse)
async def appeals_queue(
    request: Request,
    service: ServiceDep,
    show: Annotated[str, Query(pattern="^(pending|decided)$")] = "pending",
    page: PageNumber = 1,
) -> Response:
    session = request.state.session
    if session is None or session.role != "moderator":
        return RedirectResponse("/login", status_code=303)
    offset = Paging(page).offset
    status = None if show == "decided" else AppealStatus.PENDING
    found = await service.appeals.with_status(status, limit=PAGE + 1, offset=offset)
    shown = await _appeals_page(service, found[:PAGE], Paging(page, has_next=len(found) > PAGE))
    shown.decided = show == "decided"
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return render(
        request, "appeals.html", page=shown, at=now(), me=session.account_id, notice=notice
    )


@router.get("/moderation/appeals/{appeal_id}/decide", response_class=HTMLResponse)
async def confirm_decision(
    appeal_id: str,
    request: Request,
    service: ServiceDep,
    decision: Annotated[AppealDecision, Query()],
) -> HTMLResponse:
    """Reversing a decision or letting it stand is final: asked on a page of its own."""
    session = _signed_in(request, "moderator")
    view = await service.appeals.get(appeal_id)
    if view.appeal.status is not AppealStatus.PENDING:
        raise Refused(Refusal.APPEAL_DECIDED)
    if view.decision.moderator_id == session.account_id:
        raise Refused(Refusal.SAME_MODERATOR)
    shown = await _appeals_page(service, [view], Paging())
    return render(request, "appeal_decide.html", page=shown, v=view, decision=decision, at=now())


@router.post("/moderation/appeals/{appeal_id}/decision")
async def decide(
    appeal_id: str,
    request: Request,
    service: ServiceDep,
    csrf: Annotated[str, Form(max_length=100)],
    decision: Annotated[AppealDecision, Form()],
    note: Annotated[str, Form(max_length=5000)] = "",
    idempotency_key: IdempotencyKeyField = None,
) -> Response:
    session = _signed_in(request, "moderator", csrf, post=True)
    try:
        body = AppealDecisionBody(decision=decision, note=note)
    except ValidationError as err:
        raise ApiError(422, "invalid_input", _first_problem(err)) from None
    await service.appeals.decide(
        session.account_id, appeal_id, body, idempotency_key=idempotency_key
    )
    return RedirectResponse("/moderation/appeals?notice=decided", status_code=303)
