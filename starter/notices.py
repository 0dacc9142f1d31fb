"""Notices from anyone (DESIGN rule 9): stored, then handed to their workflow.

A notice is answered once its workflow is started: the confirmation of receipt, the report it
joins and the moderator's queue follow within moments, durably. The notifier's details stay in
the store; the workflow sees the notice's id.
"""

from __future__ import annotations

import secrets

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from delivery.links import Links
from domain import notice_workflow_id
from domain.enums import GuardedAction, StandingSubject, Visibility
from domain.ladder import REFUSED_WITH
from domain.notice_messages import NoticeWorkflowInput
from domain.refusals import Refusal, Refused
from settings import Settings
from starter.notice_inputs import NoticeBody, NoticeOut
from starter.temporal_calls import unavailable
from starter.unavailable import NotSent, deadline
from starter.workflow_inputs import delivery_policy
from store import Store, notices, reviews, standing
from store.accounts import hash_secret
from store.errors import Conflict
from store.records import Notice, now


def new_notice_id() -> str:
    return f"nt_{secrets.token_hex(10)}"


class Notices:
    def __init__(self, client: Client, db: Store, settings: Settings) -> None:
        self.client = client
        self.db = db
        self.settings = settings
        self.links = Links.of(settings)

    async def submit(self, body: NoticeBody, *, idempotency_key: str | None = None) -> NoticeOut:
        """Stores the notice and starts its workflow; a retry with the same key (from the same
        address) answers with the first notice, never a second one."""
        # The key is the caller's, and a caller without an account is known by the address they
        # give: two people who happen to send the same key never meet.
        key = hash_secret(f"{body.email}\n{idempotency_key}") if idempotency_key else None
        async with self.db.read() as conn:
            review = await reviews.get_review(conn, body.review_id)
            prior = await notices.notice_for_key(conn, key) if key else None
        if prior is not None:
            return await self._start(prior, again=True)
        if review is None:
            raise Refused(Refusal.REVIEW_NOT_FOUND)
        if review.visibility is Visibility.REMOVED:
            raise Refused(Refusal.REVIEW_NOT_VISIBLE, "This review has already been removed.")
        notice = Notice(
            id=new_notice_id(),
            review_id=review.id,
            sub_reason=body.sub_reason,
            explanation=body.explanation,
            name=body.name,
            email=body.email,
            good_faith=body.good_faith,
            received_at=now(),
            notifier_key=self.links.notifier_key(body.email),
        )
        try:
            async with self.db.tx() as conn:
                # DESIGN rule 12: a suspended notifier's notice is refused and not kept. Under
                # the write lock, so a suspension taken a moment ago holds; after the retry's
                # lookup above, so a notice accepted before it still answers as it did.
                subject, action = StandingSubject.NOTIFIER, GuardedAction.NOTICE
                if await standing.blocking(conn, subject, notice.notifier_key or "", action):
                    raise Refused(REFUSED_WITH[action])
                await notices.add_notice(conn, notice, idempotency_key=key)
        except Conflict:
            # The same key twice at once: the first one stands.
            async with self.db.read() as conn:
                first = await notices.notice_for_key(conn, key or "")
            if first is None:
                raise
            return await self._start(first, again=True)
        try:
            return await self._start(notice)
        except NotSent:
            # Nothing of the start happened: no trace of a notice that will never be handled.
            async with self.db.tx() as conn:
                await notices.drop_notice(conn, notice.id)
            raise

    async def _start(self, notice: Notice, *, again: bool = False) -> NoticeOut:
        """``again``: a retry. Until the notice is received (its first step), a run that has
        ended under its id was lost (a 503 after its start, then terminated): it is replaced;
        its steps are idempotent, so a second run repeats nothing."""
        from workflows.notice import NoticeWorkflow

        replace_ended = False
        if again:
            async with self.db.read() as conn:
                replace_ended = not await notices.received(conn, notice.id)
        try:
            async with deadline(self.settings.temporal_call_timeout):
                await self.client.start_workflow(
                    NoticeWorkflow.run,
                    NoticeWorkflowInput(
                        notice_id=notice.id, delivery=delivery_policy(self.settings)
                    ),
                    id=notice_workflow_id(notice.id),
                    task_queue=self.settings.task_queue,
                    # A retry finds the first start's workflow, running or ended.
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE
                    if replace_ended
                    else WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    rpc_timeout=self.settings.temporal_call_timeout,
                )
        except WorkflowAlreadyStartedError:
            pass  # it ran and ended: the first try's notice was handled
        except RPCError as err:
            raise unavailable(err) from None
        return _out(notice)

    async def by_token(self, token: str) -> Notice:
        """The notice a notifier's link (``Purpose.NOTICE``) is for; reading never uses it up."""
        async with self.db.read() as conn:
            notice = await notices.notice_for_token_hash(conn, hash_secret(token))
        if notice is None:
            raise Refused(Refusal.LINK_NOT_FOUND)
        return notice

    async def notice(self, notice_id: str) -> Notice:
        async with self.db.read() as conn:
            notice = await notices.get_notice(conn, notice_id)
        if notice is None:
            raise Refused(Refusal.NOTICE_NOT_FOUND)
        return notice


def _out(notice: Notice) -> NoticeOut:
    return NoticeOut(notice_id=notice.id, review_id=notice.review_id, sub_reason=notice.sub_reason)
