"""A business's or a notifier's standing (DESIGN rule 12): placeholder, built by issue 18."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.standing_messages import StandingInput


@workflow.defn
class StandingWorkflow:
    @workflow.run
    async def run(self, inp: StandingInput) -> None:
        return None
