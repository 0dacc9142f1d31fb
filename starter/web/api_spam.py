"""Spam or irrelevant through the API (DESIGN rule 21), under /api/v1: one action on a ticket."""

from __future__ import annotations

from fastapi import APIRouter

from starter.web.api import ERRORS, IdempotencyKey
from starter.web.api_desk import Id, TicketDetailOut
from starter.web.auth import MemberDep, ServiceDep

router = APIRouter(prefix="/api/v1", tags=["desk"])


@router.post(
    "/tickets/{ticket_id}/spam",
    responses={
        **ERRORS,
        409: {
            "description": (
                "The review has its public reply (reply_already_published), was marked already "
                "(marked_as_spam), or was cleared of advertising or spam by a moderator "
                "(already_cleared)"
            )
        },
        403: {"description": "The business may not flag reviews now (business_restricted)"},
        429: {
            "description": (
                "Too many requests with this key (rate_limited), or the day's flags made "
                "(daily_cap): retry after Retry-After"
            )
        },
    },
)
async def mark_spam(
    ticket_id: Id,
    member: MemberDep,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
) -> TicketDetailOut:
    """Mark the review as spam or irrelevant: it gets no public reply, it is flagged
    ``advertising_or_spam`` straight to the moderators (the reviewer is not asked to edit it),
    an internal note records who marked it, and the ticket is solved. A second mark is refused
    ``marked_as_spam``, but a retry with the first's Idempotency-Key (from the same key holder),
    which answers as the first did."""
    detail = await service.spam.mark(
        member.business_id, member, ticket_id, idempotency_key=idempotency_key
    )
    return TicketDetailOut.of_detail(detail)
