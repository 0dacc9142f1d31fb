"""TicketWorkflow: a review's ticket (DESIGN rules 15 and 20), ``ticket-<review id>``.

    ticket.opened ──> the business's endpoints hear ``review.created``
    sleep until three quarters of the response target ──> remind the assignee (or the owner)
    sleep until the target ──> tag the ticket ``sla_breached``, tell the owner
    stay open until the ticket is answered: its one public reply, or marked spam

    update ``publish``   ──> the reply published once (and the ticket solved, if asked)
    update ``mark_spam`` ──> the review marked spam or irrelevant, the ticket solved

Each step asks the store whether it is still due; the store marks it once, so a retried step
sends nothing twice. A step that finds the ticket solved ends the workflow: a solved ticket has
nothing left to time. Assignment and notes are written by the service straight to the store:
they need no clock.

The times come in the input, fixed when the ticket opened (a policy changed later applies to
new tickets only), and the timers are the server's: a worker restarted mid-wait replays to the
same timer and carries on when it fires. A worker back only after the target skips the
reminder (its "reply by" would be past) and breaches at once. The history stays a few dozen
events long whatever the ticket's age, so the workflow never needs to continue as new.

v7 (issue 20): the ticket is answered through its workflow, one answer at a time: a reply and
a spam mark, or twenty sends of one reply at once, queue on one lock, and the second finds the
first's outcome and is refused. The updates carry ids only: a reply's text stays in its draft
in the store. Once answered, nothing is left to time or answer, and the workflow ends; the
store's record answers every later attempt. Executions from before v7 keep their plain timers
(``ANSWERS_END_TICKETS``), so their histories replay.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.replies import ReplyActivities
    from activities.ticket import TicketActivities
    from domain.refusals import Refusal, refusal_error
    from domain.ticket_messages import (
        MarkedSpam,
        Published,
        PublishInput,
        PublishStepInput,
        SpamInput,
        SpamStepInput,
        TicketInput,
        TicketStepDone,
        TicketStepInput,
    )
    from workflows._steps import store_step

# v7: the response target's waits end early once the ticket is answered.
ANSWERS_END_TICKETS = "answers-end-tickets"


@workflow.defn
class TicketWorkflow:
    @workflow.init
    def __init__(self, inp: TicketInput) -> None:
        self._inp = inp
        # One answer at a time; set once one is recorded.
        self._answering = asyncio.Lock()
        self._reply_id: str | None = None
        self._spam = False

    @workflow.run
    async def run(self, inp: TicketInput) -> None:
        self._ends_early = workflow.patched(ANSWERS_END_TICKETS)
        await store_step(TicketActivities.opened, self._step())
        if await self._answered_by(inp.remind_at):
            return await self._end()
        if workflow.now() < inp.target_at:
            reminded: TicketStepDone = await store_step(TicketActivities.remind, self._step())
            if reminded.solved:
                return await self._end()
        if await self._answered_by(inp.target_at):
            return await self._end()
        breached: TicketStepDone = await store_step(TicketActivities.breach, self._step())
        if breached.solved:
            return await self._end()
        # Nothing is left to time; the workflow stays until the ticket is answered.
        await workflow.wait_condition(self._answered)
        await self._end()

    @workflow.update
    async def publish(self, inp: PublishInput) -> Published:
        """Publishes the reply whose draft the service stored; refused once there is one."""
        async with self._answering:
            self._refuse_if_answered()
            published: Published = await store_step(
                ReplyActivities.publish,
                PublishStepInput(
                    ticket_id=self._inp.ticket_id,
                    draft_id=inp.draft_id,
                    at=workflow.now(),
                    delivery=self._inp.delivery,
                ),
            )
            self._reply_id = published.reply_id
            return published

    @publish.validator
    def _publish_allowed(self, inp: PublishInput) -> None:
        # Turned away before it enters the history; one that passes queues on the lock and is
        # checked again there.
        self._refuse_if_answered()

    @workflow.update
    async def mark_spam(self, inp: SpamInput) -> MarkedSpam:
        """Marks the review as spam or irrelevant: no public reply after it."""
        async with self._answering:
            self._refuse_if_answered()
            marked: MarkedSpam = await store_step(
                ReplyActivities.mark_spam,
                SpamStepInput(
                    ticket_id=self._inp.ticket_id,
                    member_id=inp.member_id,
                    flag_id=inp.flag_id,
                    at=workflow.now(),
                    delivery=self._inp.delivery,
                    request_id=inp.request_id,
                ),
            )
            self._spam = True
            return marked

    @mark_spam.validator
    def _spam_allowed(self, inp: SpamInput) -> None:
        self._refuse_if_answered()

    def _refuse_if_answered(self) -> None:
        if self._reply_id is not None:
            raise refusal_error(Refusal.REPLY_ALREADY_PUBLISHED)
        if self._spam:
            raise refusal_error(Refusal.MARKED_AS_SPAM)

    def _answered(self) -> bool:
        return self._reply_id is not None or self._spam

    async def _answered_by(self, when: datetime) -> bool:
        """Waits until ``when``; whether the ticket was answered meanwhile (v7 on)."""
        if not self._ends_early:
            await self._at(when)
            return False
        delay = (when - workflow.now()).total_seconds()
        if delay > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await workflow.wait_condition(self._answered, timeout=timedelta(seconds=delay))
        return self._answered()

    async def _end(self) -> None:
        # An answer still being recorded finishes before the workflow ends.
        await workflow.wait_condition(workflow.all_handlers_finished)

    def _step(self) -> TicketStepInput:
        return TicketStepInput(
            ticket_id=self._inp.ticket_id, at=workflow.now(), delivery=self._inp.delivery
        )

    @staticmethod
    async def _at(when: datetime) -> None:
        delay = (when - workflow.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
