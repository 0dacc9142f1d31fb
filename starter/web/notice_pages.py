"""The public notice form (DESIGN rule 9): under each review on a business's public page,
"Report this review as illegal" leads here; anyone may send it, without an account.

The notifier's own link page (``/notice/<token>``) is the appeals' (appeal_pages).
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from domain.enums import SubReason, Visibility
from domain.refusals import Refusal, Refused
from starter.notice_inputs import NoticeBody
from starter.web.auth import ServiceDep, check_session
from starter.web.errors import ApiError
from starter.web.idempotency import IdempotencyKeyField
from starter.web.pages import render
from starter.web.ratelimit import limit_notice_form
from store import accounts, reviews
from store.records import Business, Review

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_session)])
NOTICE_CSRF = "rd_notice_csrf"
_FIELDS = {
    "sub_reason": "What kind of illegal content",
    "explanation": "Why",
    "name": "Your name",
    "email": "Your email address",
    "good_faith": "Good faith",
}


async def _review(service: Any, review_id: str) -> tuple[Review, Business]:
    """The review a notice may be sent about: shown on the public page (visible or hidden)."""
    async with service.db.read() as conn:
        review = await reviews.get_review(conn, review_id)
        business = await accounts.get_business(conn, review.business_id) if review else None
    if review is None or business is None:
        raise Refused(Refusal.REVIEW_NOT_FOUND)
    if review.visibility is Visibility.REMOVED:
        raise Refused(Refusal.REVIEW_NOT_VISIBLE, "This review has already been removed.")
    return review, business


def _form(
    request: Request,
    review: Review,
    business: Business,
    csrf: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    response = render(
        request,
        "notice_form.html",
        status_code,
        review=review,
        business=business,
        csrf=csrf,
        sub_reasons=list(SubReason),
        form=context.pop("form", {}),
        **context,
    )
    # Like the sign-in form: the token in the page must match this cookie, which another site's
    # page cannot read or set (SameSite=Strict), so a notice is never sent on someone's behalf.
    response.set_cookie(
        NOTICE_CSRF,
        csrf,
        httponly=True,
        samesite="strict",
        max_age=3600,
        secure=request.app.state.secure_cookies,
    )
    return response


@router.get("/reviews/{review_id}/notice", response_class=HTMLResponse)
async def notice_form(review_id: str, request: Request, service: ServiceDep) -> HTMLResponse:
    review, business = await _review(service, review_id)
    return _form(request, review, business, secrets.token_urlsafe(24))


@router.post(
    "/reviews/{review_id}/notice",
    response_class=HTMLResponse,
    # Per client address, shared with POST /api/v1/notices, before anything is read or stored.
    dependencies=[Depends(limit_notice_form)],
)
async def send_notice(
    review_id: str,
    request: Request,
    service: ServiceDep,
    csrf: Annotated[str, Form(max_length=100)],
    sub_reason: Annotated[str, Form(max_length=50)] = "",
    explanation: Annotated[str, Form(max_length=5000)] = "",
    name: Annotated[str, Form(max_length=500)] = "",
    email: Annotated[str, Form(max_length=500)] = "",
    good_faith: Annotated[str | None, Form(max_length=10)] = None,
    idempotency_key: IdempotencyKeyField = None,
) -> Response:
    expected = request.cookies.get(NOTICE_CSRF)
    if not expected or not secrets.compare_digest(expected, csrf):
        raise ApiError(403, "csrf", "This form has expired; please reload the page and try again.")
    review, business = await _review(service, review_id)
    form = {
        "sub_reason": sub_reason,
        "explanation": explanation,
        "name": name,
        "email": email,
        "good_faith": good_faith is not None,
    }
    try:
        body = NoticeBody.model_validate({"review_id": review.id, **form})
    except ValidationError as err:
        first = err.errors()[0]
        field = _FIELDS.get(str(first["loc"][0]) if first["loc"] else "", "")
        problem = f"{field}: {first['msg']}" if field else str(first["msg"])
        return _form(request, review, business, csrf, 422, error=problem, form=form)
    receipt = await service.notices.submit(body, idempotency_key=idempotency_key)
    # The cookie stays: the same form sent again (a reload) must reach its first answer.
    return render(
        request, "notice_form_done.html", review=review, business=business, receipt=receipt
    )
