"""NoticeWorkflow: a notice from anyone (DESIGN rule 9), from its receipt to its report.

confirm receipt to the notifier; open the review's report or join the one pending
start the report's workflow (or find it running): a moderator decides there, and its decision
step tells every notifier of the report
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.notice import NoticeActivities
    from domain.notice_messages import (
        NoticeReceived,
        NoticeState,
        NoticeWorkflowInput,
        ReceiveNoticeInput,
        StartReportInput,
    )
    from workflows._steps import STORE_RETRY, store_step

# Starting a workflow is a call to the Temporal server: a regular activity, retried until the
# server answers (it is idempotent on the report's workflow id).
START_TIMEOUT = timedelta(seconds=30)


@workflow.defn
class NoticeWorkflow:
    @workflow.init
    def __init__(self, inp: NoticeWorkflowInput) -> None:
        self._state = NoticeState(notice_id=inp.notice_id)

    @workflow.run
    async def run(self, inp: NoticeWorkflowInput) -> NoticeState:
        received: NoticeReceived = await store_step(
            NoticeActivities.receive_notice,
            ReceiveNoticeInput(
                notice_id=inp.notice_id,
                new_report_id=f"rp_{workflow.uuid4().hex[:24]}",
                at=workflow.now(),
                delivery=inp.delivery,
            ),
        )
        self._state = NoticeState(notice_id=inp.notice_id, report_id=received.report_id)
        if received.report_id is not None:
            await workflow.execute_activity_method(
                NoticeActivities.start_report,
                StartReportInput(report_id=received.report_id),
                start_to_close_timeout=START_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
        self._state = self._state.model_copy(update={"done": True})
        return self._state

    @workflow.query
    def state(self) -> NoticeState:
        return self._state
