"""POST /api/v1/notices: anyone may notify a review as illegal, without an account (DESIGN rule
9, DSA art. 16)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from starter.notice_inputs import NoticeBody, NoticeOut
from starter.web.api import IdempotencyKey
from starter.web.auth import ServiceDep
from starter.web.ratelimit import limit_notices

router = APIRouter(prefix="/api/v1")


@router.post(
    "/notices",
    status_code=status.HTTP_202_ACCEPTED,
    tags=["public"],
    # Per client address, before the body is checked: a refused notice is never stored.
    dependencies=[Depends(limit_notices)],
    responses={
        404: {"description": "No such review (review_not_found)"},
        422: {"description": "Malformed notice, or the review is removed (review_not_visible)"},
        429: {"description": "Too many notices from this address: retry after Retry-After"},
        503: {"description": "Briefly unavailable: retry after Retry-After, with the same key"},
    },
)
async def send_notice(
    body: NoticeBody, service: ServiceDep, idempotency_key: IdempotencyKey = None
) -> NoticeOut:
    """Notify a review as illegal. The notifier is emailed a confirmation of receipt, and later
    the decision with how to contest it; the answer holds nothing of who sent it."""
    return await service.notices.submit(body, idempotency_key=idempotency_key)
