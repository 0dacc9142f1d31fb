"""The steps of a ticket's response target (DESIGN rule 20): the reminder at three quarters of
the target, the breach at the target. Each is one transaction, marked once on the ticket, so a
retried step records nothing twice."""

from __future__ import annotations

from temporalio import activity

from activities._steps import ProcessSteps
from domain.ticket_messages import TicketStepInput


class TicketActivities(ProcessSteps):
    """Each step is named ``ticket.<step>``."""

    @activity.defn(name="ticket.remind")
    async def remind(self, inp: TicketStepInput) -> None:
        """Emails the assignee, or the owner if no one is assigned, unless the ticket is solved."""
        raise NotImplementedError("issue 19: the reminder")

    @activity.defn(name="ticket.breach")
    async def breach(self, inp: TicketStepInput) -> None:
        """Tags the ticket ``sla_breached`` and tells the owner (email and ``ticket.sla_breached``
        webhook), unless it is solved."""
        raise NotImplementedError("issue 19: the breach")
