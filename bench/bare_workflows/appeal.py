"""One appeal's shape: the same steps, timer and updates as ``AppealWorkflow``.

open (and send) ──> opened; wait: decide | the appeal SLA (a timer: escalate, keep waiting)
apply the decision (and send to everyone involved)
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.bare_activities import BareAct, BareAppealInput, BareAppealState, refuse
    from bench.bare_workflows._steps import bare_step


@workflow.defn
class BareAppealWorkflow:
    @workflow.init
    def __init__(self, inp: BareAppealInput) -> None:
        self._inp = inp
        self._status: str | None = None
        self._decision: BareAct | None = None

    @workflow.run
    async def run(self, inp: BareAppealInput) -> BareAppealState:
        deadline = workflow.now() + inp.appeal_sla
        await bare_step("open_appeal", f"{inp.instance}:appeal_received")
        self._status = "pending"
        try:
            remaining = deadline - workflow.now()
            if remaining <= timedelta(0):
                raise TimeoutError
            await workflow.wait_condition(lambda: self._decision is not None, timeout=remaining)
        except TimeoutError:
            await bare_step("escalate_appeal", f"{inp.instance}:appeal_overdue")
            await workflow.wait_condition(lambda: self._decision is not None)
        await bare_step(
            "decide_appeal",
            f"{inp.instance}:appeal_decided_reviewer",
            f"{inp.instance}:appeal_decided_business",
        )
        self._status = "decided"
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    @workflow.query
    def state(self) -> BareAppealState:
        return BareAppealState(instance=self._inp.instance, status=self._status)

    @workflow.update
    async def opened(self) -> BareAppealState:
        await workflow.wait_condition(lambda: self._status is not None)
        return self.state()

    @workflow.update
    async def decide(self, inp: BareAct) -> BareAppealState:
        self._decision = inp
        await workflow.wait_condition(lambda: self._status == "decided")
        return self.state()

    @decide.validator
    def _validate_decide(self, inp: BareAct) -> None:
        if self._decision is not None or self._status != "pending":
            raise refuse("appeal_decided")
