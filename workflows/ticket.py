"""TicketWorkflow: a review's ticket (DESIGN rules 15 and 20), ``ticket-<review id>``.

    ticket.opened ──> the business's endpoints hear ``review.created``
    sleep until three quarters of the response target ──> remind the assignee (or the owner)
    sleep until the target ──> tag the ticket ``sla_breached``, tell the owner
    stay open for what the ticket is asked later (the next issue: its one public reply)

Each step asks the store whether it is still due; the store marks it once, so a retried step
sends nothing twice. A step that finds the ticket solved ends the workflow: a solved ticket has
nothing left to time. Assignment and notes are written by the service straight to the store:
they need no clock.

The times come in the input, fixed when the ticket opened (a policy changed later applies to
new tickets only), and the timers are the server's: a worker restarted mid-wait replays to the
same timer and carries on when it fires. A worker back only after the target skips the
reminder (its "reply by" would be past) and breaches at once. The history stays a few dozen
events long whatever the ticket's age, so the workflow never needs to continue as new.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.ticket import TicketActivities
    from domain.ticket_messages import TicketInput, TicketStepDone, TicketStepInput
    from workflows._steps import store_step


@workflow.defn
class TicketWorkflow:
    @workflow.init
    def __init__(self, inp: TicketInput) -> None:
        self._inp = inp

    @workflow.run
    async def run(self, inp: TicketInput) -> None:
        await store_step(TicketActivities.opened, self._step())
        await self._at(inp.remind_at)
        if workflow.now() < inp.target_at:
            reminded: TicketStepDone = await store_step(TicketActivities.remind, self._step())
            if reminded.solved:
                return
        await self._at(inp.target_at)
        breached: TicketStepDone = await store_step(TicketActivities.breach, self._step())
        if breached.solved:
            return
        # Nothing is left to time; the workflow stays for what the ticket is asked next.
        await workflow.wait_condition(lambda: False)

    def _step(self) -> TicketStepInput:
        return TicketStepInput(
            ticket_id=self._inp.ticket_id, at=workflow.now(), delivery=self._inp.delivery
        )

    @staticmethod
    async def _at(when: datetime) -> None:
        delay = (when - workflow.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
