"""AppealWorkflow: placeholder, filled in by issue 17's work."""

from __future__ import annotations

from temporalio import workflow


@workflow.defn
class AppealWorkflow:
    @workflow.run
    async def run(self, placeholder: str) -> None:
        return None
