"""NoticeWorkflow: placeholder, filled in by issue 17's work."""

from __future__ import annotations

from temporalio import workflow


@workflow.defn
class NoticeWorkflow:
    @workflow.run
    async def run(self, placeholder: str) -> None:
        return None
