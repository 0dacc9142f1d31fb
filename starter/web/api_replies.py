"""The public reply through the API (DESIGN rule 19), under /api/v1: one send, published once
through the ticket's workflow, and "Mark solved" once replied. No route changes or removes a
reply: PUT, PATCH and DELETE on it answer 405, by design."""

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
                "Malformed body; a [placeholder] (two or more words in square brackets) left in "
                "the text (placeholders_left: the message names each one); or an "
                "Idempotency-Key already used for a different text or solve "
                "(idempotency_key_reused)"
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
    Idempotency-Key (from the same key holder) and the same body, which answers as the first
    did; that key with another text or ``solve`` is refused ``idempotency_key_reused``."""
    detail = await service.replies.reply(
        member.business_id, member, ticket_id, body, idempotency_key=idempotency_key
    )
    return TicketDetailOut.of_detail(detail)


@router.post(
    "/tickets/{ticket_id}/solve",
    responses={
        **ERRORS,
        409: {
            "description": (
                "The review has no public reply yet and was not marked spam (reply_first)"
            )
        },
    },
)
async def solve_ticket(
    ticket_id: Id,
    member: MemberDep,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
) -> TicketDetailOut:
    """Mark solved a ticket whose review has its public reply ("Send as solved" does both in
    one step). Solving a solved ticket answers with it as it is, recording nothing again, so a
    retry, with its Idempotency-Key or without, is harmless."""
    del idempotency_key  # accepted as on every POST; solving is idempotent by itself
    detail = await service.replies.solve(member.business_id, member, ticket_id)
    return TicketDetailOut.of_detail(detail)
