"""One report's shape: the same steps, timer and update as ``ReviewReportWorkflow``."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.bare_activities import BareReportInput, refuse
    from bench.bare_workflows._steps import bare_step


@workflow.defn
class BareReportWorkflow:
    @workflow.init
    def __init__(self, inp: BareReportInput) -> None:
        self._decided = False
        self._done = False

    @workflow.run
    async def run(self, inp: BareReportInput) -> bool:
        await bare_step("open_report", f"{inp.instance}:report_opened")
        try:
            await workflow.wait_condition(
                lambda: self._decided, timeout=inp.sla_deadline - workflow.now()
            )
        except TimeoutError:
            await bare_step("escalate", f"{inp.instance}:escalated")
            await workflow.wait_condition(lambda: self._decided)
        await bare_step(
            "apply_decision", f"{inp.instance}:decided_business", f"{inp.instance}:decided_reviewer"
        )
        self._done = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        return True

    @workflow.update
    async def decide(self) -> bool:
        self._decided = True
        await workflow.wait_condition(lambda: self._done)
        return True

    @decide.validator
    def _validate_decide(self) -> None:
        if self._decided:
            raise refuse("already_decided")
