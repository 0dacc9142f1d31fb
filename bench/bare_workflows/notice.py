"""One notice's shape: the same step and activity as ``NoticeWorkflow``.

receive (and send the confirmation) ──> start ``BareReportWorkflow`` (an activity)
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.bare_activities import (
        BareActivities,
        BareNoticeInput,
        BareReportInput,
        BareState,
        report_id_of,
    )
    from bench.bare_workflows._steps import bare_step
    from workflows._steps import STORE_RETRY

START_TIMEOUT = timedelta(seconds=30)


@workflow.defn
class BareNoticeWorkflow:
    @workflow.init
    def __init__(self, inp: BareNoticeInput) -> None:
        self._state = BareState(instance=inp.instance)

    @workflow.run
    async def run(self, inp: BareNoticeInput) -> BareState:
        sla_deadline = workflow.now() + inp.moderation_sla
        await bare_step("receive_notice", f"{inp.instance}:received")
        self._state = BareState(instance=inp.instance, report_id=report_id_of(inp.instance))
        await workflow.execute_activity_method(
            BareActivities.start_report,
            BareReportInput(instance=inp.instance, sla_deadline=sla_deadline),
            start_to_close_timeout=START_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        self._state = self._state.model_copy(update={"status": "done"})
        return self._state

    @workflow.query
    def state(self) -> BareState:
        return self._state
