"""The public reply through the API (DESIGN rule 19), under /api/v1: one send, published once
through the ticket's workflow. No route changes or removes a reply: PUT, PATCH and DELETE on it
answer 405, by design."""

from __future__ import annotations

from fastapi import APIRouter, status

from starter.reply_inputs import ReplyIn
from starter.web.api import ERRORS, IdempotencyKey
from starter.web.api_desk import Id, TicketDetailOut
from starter.web.auth import MemberDep, ServiceDep

router = APIRouter(prefix="/api/v1", tags=["desk"])


class ReplyBody(ReplyIn):
    """The review's public reply; ``solve``: "Send as solved". The reply page's form takes the
    same rule (``starter.reply_inputs.ReplyIn``)."""


@router.post(
    "/tickets/{ticket_id}/reply",
    status_code=status.HTTP_201_CREATED,
    responses={
        **ERRORS,
        409: {
            "description": (
                "The review has its reply already (reply_already_published), or was marked as "
                "spam (marked_as_spam)"
            )
        },
        422: {
            "description": (
                "Malformed body, or a [placeholder] left in the text (placeholders_left: the "
                "message names each one)"
            )
        },
    },
)
async def publish_reply(
    ticket_id: Id,
    body: ReplyBody,
    member: MemberDep,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
) -> TicketDetailOut:
    """Publish the review's one public reply, under the review with your business's name; with
    ``solve``, solve the ticket in the same step. A reply is never edited or replaced: every
    later send is refused ``reply_already_published``, except a retry with the first send's
    Idempotency-Key (from the same key holder), which answers as the first did."""
    detail = await service.replies.reply(
        member.business_id, member, ticket_id, body, idempotency_key=idempotency_key
    )
    return TicketDetailOut.of_detail(detail)
