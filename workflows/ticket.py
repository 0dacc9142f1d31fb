"""TicketWorkflow: a review's ticket (DESIGN rules 15 and 20), ``ticket-<review id>``.

    sleep until three quarters of the response target ──> remind the assignee (or the owner)
    sleep until the target ──> tag the ticket ``sla_breached``, tell the owner
    stay open for what the ticket is asked later (the next issue: its one public reply)

Each step asks the store whether it is still due (a solved ticket is reminded of nothing); the
store marks it once, so a retried step sends nothing twice. Assignment and notes are written by
the service straight to the store: they need no clock.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.ticket import TicketActivities
    from domain.ticket_messages import TicketInput, TicketStepInput
    from workflows._steps import store_step


@workflow.defn
class TicketWorkflow:
    @workflow.init
    def __init__(self, inp: TicketInput) -> None:
        self._inp = inp

    @workflow.run
    async def run(self, inp: TicketInput) -> None:
        await self._at(inp.remind_at)
        await store_step(
            TicketActivities.remind,
            TicketStepInput(ticket_id=inp.ticket_id, at=workflow.now(), delivery=inp.delivery),
        )
        await self._at(inp.target_at)
        await store_step(
            TicketActivities.breach,
            TicketStepInput(ticket_id=inp.ticket_id, at=workflow.now(), delivery=inp.delivery),
        )
        # Nothing is left to time; the workflow stays for what the ticket is asked next.
        await workflow.wait_condition(lambda: False)

    @staticmethod
    async def _at(when: datetime) -> None:
        delay = (when - workflow.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
