"""A ticket's shape: the same timers and steps as ``TicketWorkflow``, none of its logic."""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.bare_workflows._steps import bare_step
    from bench.desk_bare import BareTicketInput


@workflow.defn
class BareTicketWorkflow:
    @workflow.run
    async def run(self, inp: BareTicketInput) -> None:
        await self._at(inp.remind_at)
        await bare_step("remind", f"{inp.instance}:reminded")
        await self._at(inp.target_at)
        await bare_step("breach", f"{inp.instance}:breached")
        await workflow.wait_condition(lambda: False)

    @staticmethod
    async def _at(when: datetime) -> None:
        delay = (when - workflow.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
