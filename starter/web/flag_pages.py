"""The pages of flags: the business flags a review, follows its flags, escalates or drops one;
the reviewer edits or withdraws a flagged review through the link in their email."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from domain.enums import FlagAction, FlagReason, FlagStatus, ReviewerAction, SubReason
from domain.refusals import Refusal, Refused
from starter.flag_inputs import FlagBody, ReviewEditBody
from starter.flags import FlagRequestView, FlagView
from starter.web import words
from starter.web.auth import ServiceDep, check_session
from starter.web.idempotency import IdempotencyKeyField
from starter.web.pages import PageNumber, _first_problem, _signed_in, render
from starter.web.reads import PAGE, Paging
from store import reviews
from store.records import Event, Flag, Review, now

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_session)])

# What a business may flag for here; "not genuine" goes through Find reviewer (a contact).
REASONS = [r for r in FlagReason if r is not FlagReason.NOT_GENUINE]
NOTICES = {
    "flagged": "Your flag is recorded.",
    "escalated": "Your flag is with the moderators. The review stays visible meanwhile.",
    "dropped": "Your flag is dropped.",
}
FLAG_EVENTS = {
    "reviewer_asked": "The reviewer was emailed: they may edit or withdraw the review",
    "edited": "The reviewer edited the review",
    "reviewer_silent": "The reviewer did not edit or withdraw it in time",
    "withdrawn": "The reviewer withdrew the review; it no longer shows",
    "escalated": "Escalated to the moderators",
    "dropped": "Dropped",
}


def flag_event_words(event: Event, flag: Flag) -> str:
    """One line of a flag's history, or of its report's."""
    if event.subject_id != flag.id:
        if event.type == "opened":
            return "Report opened; the review stays visible while a moderator looks into it"
        return words.REPORT_EVENTS.get(event.type) or words.event_words(event, "")
    if event.type == "dropped" and event.detail.get("by") == "lapsed":
        return "Dropped: the time to escalate ended"
    if event.type == "escalated" and not flag.reason.reviewer_first:
        return "Sent straight to the moderators, with high priority"
    return FLAG_EVENTS.get(event.type) or event.type.replace("_", " ").capitalize()


def can_act(flag: Flag) -> bool:
    """Whether escalate and drop are offered: the reviewer edited or their time passed."""
    if flag.status is FlagStatus.AWAITING_BUSINESS:
        return True
    deadline = flag.reviewer_deadline
    return (
        flag.status is FlagStatus.AWAITING_REVIEWER and deadline is not None and now() >= deadline
    )


def _back(path: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?notice={notice}", status_code=303)


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("notice", ""))


def _render(request: Request, name: str, status_code: int = 200, **context: object) -> HTMLResponse:
    return render(
        request,
        name,
        status_code,
        flag_event_words=flag_event_words,
        can_act=can_act,
        reasons=REASONS,
        sub_reasons=list(SubReason),
        **context,
    )


# --- business ----------------------------------------------------------------------------------


async def _own_review(request: Request, service: ServiceDep, review_id: str) -> tuple[str, Review]:
    session = _signed_in(request, "business")
    async with service.db.read() as conn:
        review = await reviews.get_review(conn, review_id)
    if review is None or review.business_id != session.account_id:
        raise Refused(Refusal.REVIEW_NOT_FOUND)
    return session.account_id, review


@router.get("/dashboard/reviews/{review_id}/flag", response_class=HTMLResponse)
async def flag_form(review_id: str, request: Request, service: ServiceDep) -> HTMLResponse:
    _, review = await _own_review(request, service, review_id)
    return _render(request, "flag_form.html", review=review, form={})


@router.post("/dashboard/reviews/{review_id}/flag", response_class=HTMLResponse)
async def flag_submit(
    review_id: str,
    request: Request,
    service: ServiceDep,
    csrf: Annotated[str, Form(max_length=100)],
    reason: Annotated[str, Form(max_length=50)] = "",
    sub_reason: Annotated[str, Form(max_length=50)] = "",
    explanation: Annotated[str, Form(max_length=5000)] = "",
    confirmed: Annotated[str, Form(max_length=10)] = "",
    idempotency_key: IdempotencyKeyField = None,
) -> Response:
    """First the form comes back as a confirmation of what happens next; only a confirmed one
    flags the review."""
    _signed_in(request, "business", csrf, post=True)
    business_id, review = await _own_review(request, service, review_id)
    form = {"reason": reason, "sub_reason": sub_reason, "explanation": explanation}
    try:
        body = FlagBody.model_validate(
            {"reason": reason, "sub_reason": sub_reason or None, "explanation": explanation}
        )
    except ValidationError as err:
        problem = _first_problem(err)
        return _render(request, "flag_form.html", 422, review=review, form=form, error=problem)
    harmful = body.reason is FlagReason.HARMFUL_OR_ILLEGAL
    if body.reason is FlagReason.NOT_GENUINE or harmful != (body.sub_reason is not None):
        problem = (
            "Choose what kind of harmful or illegal content it is."
            if harmful
            else "A kind of harmful content goes only with the reason “Harmful or illegal”."
        )
        return _render(request, "flag_form.html", 422, review=review, form=form, error=problem)
    if confirmed != "yes":
        return _render(request, "flag_confirm.html", review=review, body=body)
    view = await service.flags.flag(business_id, review.id, body, idempotency_key=idempotency_key)
    return _back(f"/dashboard/flags/{view.flag.id}", "flagged")


@router.get("/dashboard/flags", response_class=HTMLResponse)
async def flags_list(request: Request, service: ServiceDep, page: PageNumber = 1) -> Response:
    session = _signed_in(request, "business")
    paging = Paging(page)
    found = await service.flags.flags_of(session.account_id, limit=PAGE + 1, offset=paging.offset)
    paging = Paging(page, has_next=len(found) > PAGE)
    found = found[:PAGE]
    async with service.db.read() as conn:
        shown = await reviews.reviews_by_id(conn, [f.review_id for f in found])
    return _render(request, "flags.html", flags=found, reviews=shown, paging=paging)


async def _flag_page(request: Request, service: ServiceDep, flag_id: str) -> FlagView:
    session = _signed_in(request, "business")
    return await service.flags.flag_of(session.account_id, flag_id)


@router.get("/dashboard/flags/{flag_id}", response_class=HTMLResponse)
async def flag_page(flag_id: str, request: Request, service: ServiceDep) -> HTMLResponse:
    view = await _flag_page(request, service, flag_id)
    return _render(request, "flag.html", view=view, notice=_notice(request))


@router.get("/dashboard/flags/{flag_id}/{action}", response_class=HTMLResponse)
async def confirm_action(
    flag_id: str, action: FlagAction, request: Request, service: ServiceDep
) -> HTMLResponse:
    """Escalating or dropping cannot be taken back: asked on a page of its own."""
    view = await _flag_page(request, service, flag_id)
    if not view.flag.status.is_open:
        raise Refused(Refusal.FLAG_CLOSED)
    if not can_act(view.flag):
        raise Refused(Refusal.REVIEWER_STEP_OPEN)
    return _render(request, "flag_confirm_action.html", view=view, action=action)


@router.post("/dashboard/flags/{flag_id}/{action}")
async def act(
    flag_id: str,
    action: FlagAction,
    request: Request,
    service: ServiceDep,
    csrf: Annotated[str, Form(max_length=100)],
    idempotency_key: IdempotencyKeyField = None,
) -> Response:
    session = _signed_in(request, "business", csrf, post=True)
    flags = service.flags
    if action is FlagAction.ESCALATE:
        await flags.escalate(session.account_id, flag_id, idempotency_key=idempotency_key)
        return _back(f"/dashboard/flags/{flag_id}", "escalated")
    await flags.drop(session.account_id, flag_id, idempotency_key=idempotency_key)
    return _back(f"/dashboard/flags/{flag_id}", "dropped")


# --- reviewer ----------------------------------------------------------------------------------


def _closed(request: Request, view: FlagRequestView) -> HTMLResponse:
    return _render(request, "flag_closed.html", 410, view=view)


@router.get("/flag/{token}", response_class=HTMLResponse)
async def flag_link(
    token: str,
    request: Request,
    service: ServiceDep,
    confirm: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    """Showing the flag never uses up the link: mail scanners open links too.

    ``?confirm=withdraw`` asks the reviewer to confirm a withdrawal, which cannot be undone.
    """
    view = await service.flags.flag_request(token)
    if not view.open:
        return _closed(request, view)
    if confirm == "withdraw":
        return _render(request, "flag_withdraw.html", view=view)
    form = {"title": view.review.title, "text": view.review.text}
    return _render(request, "flag_request.html", view=view, form=form)


@router.post("/flag/{token}", response_class=HTMLResponse)
async def flag_link_submit(
    token: str,
    request: Request,
    service: ServiceDep,
    action: Annotated[ReviewerAction, Form()],
    title: Annotated[str | None, Form(max_length=5000)] = None,
    text: Annotated[str | None, Form(max_length=20000)] = None,
) -> HTMLResponse:
    view = await service.flags.flag_request(token)
    if not view.open:
        return _closed(request, view)
    body = None
    if action is ReviewerAction.EDIT:
        form = {"title": title or "", "text": text or ""}
        # Only what changed is an edit: a field sent back as it was stays as it was.
        changed = {
            "title": title if title and title.strip() != view.review.title else None,
            "text": text if text and text.strip() != view.review.text else None,
        }
        try:
            body = ReviewEditBody.model_validate(changed)
        except ValidationError as err:
            problem = _first_problem(err)
            return _render(request, "flag_request.html", 422, view=view, form=form, error=problem)
    try:
        await service.flags.act(token, action, body)
    except Refused as refusal:
        if refusal.reason is Refusal.WINDOW_CLOSED:
            return _closed(request, await service.flags.flag_request(token))
        raise
    done = await service.flags.flag_request(token)
    return _render(request, "flag_done.html", view=done, action=action)
