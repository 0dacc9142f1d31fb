"""Every review in (DESIGN rule 14): the platform posts each new review with its own key, and
hears back the review and the ticket it opened (rule 15)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from domain.enums import Priority, ReviewSource, TicketStatus
from starter.desk_inputs import ReviewIn
from starter.intake import Posted
from starter.web.api import ERRORS
from starter.web.auth import PlatformDep, ServiceDep

router = APIRouter(prefix="/api/v1", tags=["reviews"])


class PostedReviewOut(BaseModel):
    """The review as stored; never the reviewer's email."""

    id: str
    external_id: str | None
    business_id: str
    rating: int
    title: str | None
    text: str
    source: ReviewSource
    created_at: datetime
    author: str
    """The reviewer's display name, or "Anonymous reviewer"."""


class OpenedTicketOut(BaseModel):
    id: str
    subject: str
    requester: str
    status: TicketStatus
    priority: Priority
    tags: list[str]
    target_at: datetime
    """When the business should have answered, by its response policy (rule 20)."""


class PostedOut(BaseModel):
    review: PostedReviewOut
    ticket: OpenedTicketOut

    @classmethod
    def of(cls, posted: Posted) -> PostedOut:
        r, t = posted.review, posted.ticket
        return cls(
            review=PostedReviewOut(
                id=r.id,
                external_id=r.external_id,
                business_id=r.business_id,
                rating=r.rating,
                title=r.title or None,
                text=r.text,
                source=r.source,
                created_at=r.created_at,
                # The requester is the name as posted, or "Anonymous reviewer": the review's
                # author as its ticket and the public page show them.
                author=t.requester,
            ),
            ticket=OpenedTicketOut(
                id=t.id,
                subject=t.subject,
                requester=t.requester,
                status=t.status,
                priority=t.priority,
                tags=t.tags,
                target_at=t.target_at,
            ),
        )


@router.post(
    "/reviews",
    status_code=status.HTTP_201_CREATED,
    responses={
        **ERRORS,
        201: {"description": "The review, and the ticket it opened"},
        200: {"description": "This external_id was posted before: the same review and ticket"},
        403: {"description": "Not the platform's key"},
        503: {
            "description": "Briefly unavailable: post the same review again after Retry-After "
            "(what was stored stays; the retry answers 200)"
        },
    },
)
async def post_review(
    body: ReviewIn, platform: PlatformDep, service: ServiceDep, response: Response
) -> PostedOut:
    """A new review, and the ticket it opens for its business. Posting the same ``external_id``
    again (a retry after a 503 or a lost answer) answers 200 with the first review and ticket,
    never a second one: the ``external_id`` is the idempotency key here."""
    posted = await service.intake.post(body)
    if not posted.created:
        response.status_code = status.HTTP_200_OK
    return PostedOut.of(posted)
