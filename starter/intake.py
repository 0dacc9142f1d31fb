"""Every review in (DESIGN rule 14): the platform posts a review, Reviewdesk stores it with its
ticket (rule 15) in one transaction and starts the ticket's workflow, which holds its response
target's timers (rule 20).

Posting the same ``external_id`` again answers with the first review. The review and its ticket
are written before the workflow starts: if Temporal does not answer, the caller hears 503 and
its retry finds the review and starts the workflow again (the start is idempotent by id).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from domain import desk, ticket_workflow_id
from domain.enums import TicketStatus
from domain.refusals import Refusal, Refused
from domain.ticket_messages import TicketInput
from settings import Settings
from starter.desk_inputs import ReviewIn
from starter.temporal_calls import unavailable
from starter.unavailable import deadline
from starter.workflow_inputs import delivery_policy
from store import Store, accounts, policies, reviews, tickets
from store.connection import Connection
from store.errors import Conflict
from store.records import Review, Ticket, now


@dataclass(frozen=True)
class Posted:
    review: Review
    ticket: Ticket
    created: bool
    """False when this ``external_id`` was posted before: the first review's answer again."""


def new_review_id() -> str:
    return f"rv_{secrets.token_hex(10)}"


class Intake:
    def __init__(self, client: Client, db: Store, settings: Settings) -> None:
        self.client = client
        self.db = db
        self.settings = settings

    async def post(self, body: ReviewIn) -> Posted:
        """Stores the review and its ticket once, and makes sure the ticket's workflow runs."""
        posted = await record(self.db, body)
        await self.start_ticket(posted.ticket)
        return posted

    async def start_ticket(self, ticket: Ticket) -> None:
        """Starts the ticket's workflow, or finds it running; raises ``Unavailable`` if Temporal
        does not answer."""
        from workflows.ticket import TicketWorkflow

        s = self.settings
        inp = TicketInput(
            ticket_id=ticket.id,
            review_id=ticket.review_id,
            business_id=ticket.business_id,
            remind_at=ticket.remind_at,
            target_at=ticket.target_at,
            delivery=delivery_policy(s),
        )
        try:
            async with deadline(s.temporal_call_timeout):
                await self.client.start_workflow(
                    TicketWorkflow.run,
                    inp,
                    id=ticket_workflow_id(ticket.review_id),
                    task_queue=s.task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    rpc_timeout=s.temporal_call_timeout,
                )
        except WorkflowAlreadyStartedError:
            pass  # it ran and ended: what it did stands
        except RPCError as err:
            raise unavailable(err) from None


async def record(
    db: Store, body: ReviewIn, *, review_id: str | None = None, at: datetime | None = None
) -> Posted:
    """Stores the review and its ticket once, without starting the ticket's workflow: the demo
    seed stores its reviews (with their own ids and dates) before Temporal may be up, and starts
    the workflows with ``Intake.start_ticket`` once it is."""
    return await _known(db, body.external_id) or await _store(
        db, body, review_id or new_review_id(), at or now()
    )


async def _known(db: Store, external_id: str) -> Posted | None:
    async with db.read() as conn:
        review = await reviews.review_for_external_id(conn, external_id)
        ticket = await tickets.ticket_for_review(conn, review.id) if review else None
    if review is None or ticket is None:
        return None
    return Posted(review, ticket, created=False)


async def _store(db: Store, body: ReviewIn, review_id: str, at: datetime) -> Posted:
    async with db.tx() as conn:
        if await accounts.get_business(conn, body.business_id) is None:
            raise Refused(Refusal.BUSINESS_NOT_FOUND)
        # Asked again inside the write transaction: writers take turns, so a post of the same
        # review that raced this one has committed by now, and stands.
        review = await reviews.review_for_external_id(conn, body.external_id)
        if review is None:
            # The platform owns the reviewer's profile: a first review makes it; later ones find
            # it as it was, except that a signed review names a profile an anonymous first review
            # left blank (so the signed one shows its name). Whether a review shows the name is
            # its own ``anonymous``.
            name = (body.reviewer.display_name or "").strip()
            await accounts.add_reviewer(
                conn,
                id=body.reviewer.id,
                display_name=name,
                email=body.reviewer.email,
                created_at=at,
            )
            if name:
                await accounts.name_blank_reviewer(conn, body.reviewer.id, name)
            await reviews.add_review(
                conn,
                id=review_id,
                business_id=body.business_id,
                reviewer_id=body.reviewer.id,
                rating=body.rating,
                title=body.title or "",
                text=body.text,
                source=body.source,
                created_at=at,
                external_id=body.external_id,
                anonymous=not name,
            )
            review = await reviews.get_review(conn, review_id)
            if review is None or review.external_id != body.external_id:
                raise Conflict(f"review id {review_id} is another review's")
        else:
            ticket = await tickets.ticket_for_review(conn, review.id)
            if ticket is not None:
                return Posted(review, ticket, created=False)
            # A review stored without its ticket (one the demo seed wrote before the desk): it
            # gets its ticket now, from what it says itself.
        ticket = await _open_ticket(conn, review, body.reviewer.display_name)
    return Posted(review, ticket, created=review.id == review_id)


async def _open_ticket(conn: Connection, review: Review, display_name: str | None) -> Ticket:
    own = policies.as_rules(await policies.policies_of(conn, review.business_id))
    target = desk.target_for(review.created_at, review.rating, own)
    ticket = Ticket(
        id=f"tk_{secrets.token_hex(10)}",
        review_id=review.id,
        business_id=review.business_id,
        subject=desk.subject_for(review.title),
        requester=desk.author_name(review.anonymous, display_name),
        rating=review.rating,
        status=TicketStatus.NEW,
        priority=desk.priority_for(review.rating),
        tags=desk.tags_for(review.rating),
        policy_name=target.policy_name,
        target_at=target.target_at,
        remind_at=target.remind_at,
        created_at=review.created_at,
        updated_at=review.created_at,
    )
    await tickets.add_ticket(conn, ticket, negative=desk.is_negative(review.rating))
    # As the store holds it, so the first answer and every later one read the same.
    stored = await tickets.get_ticket(conn, ticket.id)
    assert stored is not None
    return stored
