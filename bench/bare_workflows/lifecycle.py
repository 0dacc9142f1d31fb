"""One contact's shape: the same steps, timers and updates as ``ReviewerContactWorkflow``."""

from __future__ import annotations

import contextlib
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.bare_activities import (
        BareActivities,
        BareInput,
        BareReportInput,
        BareState,
        refuse,
        report_id_of,
    )
    from bench.bare_workflows._steps import bare_step
    from workflows._steps import store_step


@workflow.defn
class BareLifecycleWorkflow:
    @workflow.init
    def __init__(self, inp: BareInput) -> None:
        self._inp = inp
        self._status: str | None = None
        self._deadline: datetime | None = None
        self._answered = False
        self._report = False
        self._close = False
        self._window_over = False

    @workflow.run
    async def run(self, inp: BareInput) -> BareState:
        deadline = workflow.now() + inp.reply_window
        await bare_step("open_and_request", f"{inp.instance}:requested")
        self._deadline = deadline
        self._status = "awaiting_reply"

        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._answered or self._close, timeout=deadline - workflow.now()
            )
        self._window_over = True
        if self._close and not self._answered:
            return await self._closed()
        await bare_step("record_outcome", f"{inp.instance}:outcome")
        self._status = "replied" if self._answered else "no_response"

        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._report or self._close, timeout=inp.report_window
            )
        if not self._report:
            return await self._closed()
        await bare_step("file_report", f"{inp.instance}:reported")
        await store_step(
            BareActivities.start_report,
            BareReportInput(
                instance=inp.instance, sla_deadline=workflow.now() + inp.moderation_sla
            ),
        )
        self._status = "reported"
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    async def _closed(self) -> BareState:
        await bare_step("close_contact")
        self._status = "closed"
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    @workflow.query
    def state(self) -> BareState:
        return BareState(
            instance=self._inp.instance,
            status=self._status,
            deadline=self._deadline,
            report_id=report_id_of(self._inp.instance) if self._status == "reported" else None,
        )

    @workflow.update
    async def opened(self) -> BareState:
        await workflow.wait_condition(lambda: self._status is not None)
        return self.state()

    @workflow.update
    async def answer(self) -> BareState:
        self._answered = True
        await workflow.wait_condition(lambda: self._status not in (None, "awaiting_reply"))
        return self.state()

    @answer.validator
    def _validate_answer(self) -> None:
        if self._answered or self._close or self._window_over or self._status != "awaiting_reply":
            raise refuse("window_closed")

    @workflow.update
    async def report(self) -> BareState:
        self._report = True
        await workflow.wait_condition(lambda: self._status == "reported")
        return self.state()

    @report.validator
    def _validate_report(self) -> None:
        if self._report or self._close:
            raise refuse("contact_closed")
        if self._status not in ("replied", "no_response"):
            raise refuse("window_open")

    @workflow.update
    async def close(self) -> BareState:
        self._close = True
        await workflow.wait_condition(lambda: self._status == "closed")
        return self.state()

    @close.validator
    def _validate_close(self) -> None:
        if self._report or self._close or self._status is None:
            raise refuse("contact_closed")
