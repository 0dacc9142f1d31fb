"""The bare engine: Reviewdesk's shape in Temporal terms, with none of its logic.

One ``BareLifecycleWorkflow`` makes the same calls on the engine as one contact does, in the
same order: the same local activities (here they do nothing), timers, updates and validators,
and the same separately started report workflow. Since Reviewdesk's v3 a step that records
messages sends them itself at their first try and starts a delivery workflow only for one that
failed; none fails here, so ``BareDeliveryWorkflow`` (the same shape as Reviewdesk's) runs only
if asked to. What Reviewdesk adds on top (the HTTP app, the store, the emails) is what the ratio
measures.

    open (and send) ──> opened
    wait: answer | close | the reply window (a timer)
    outcome (and send)
    wait: report | close | the report window (a timer)
    report: file (and send), start report ──> BareReportWorkflow
        report: open (and send); wait: decide | the SLA (a timer)
                apply (and send 2 messages)
    close: close
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from bench.bare_activities import (
        BareActivities,
        BareInput,
        BareReportInput,
        BareState,
        BareStep,
        refuse,
        report_id_of,
    )
    from workflows._steps import steps_send, store_step


# Steps run exactly as Reviewdesk's do (local activities since its v2, sending their messages
# since its v3), so the ratio compares like with like.
async def _step(name: str, *messages: str) -> None:
    steps_send()  # the same patch markers as a Reviewdesk workflow
    await store_step(BareActivities.step, BareStep(name=name, messages=list(messages)))


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
        await _step("open_and_request", f"{inp.instance}:requested")
        self._deadline = deadline
        self._status = "awaiting_reply"

        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._answered or self._close, timeout=deadline - workflow.now()
            )
        self._window_over = True
        if self._close and not self._answered:
            return await self._closed()
        await _step("record_outcome", f"{inp.instance}:outcome")
        self._status = "replied" if self._answered else "no_response"

        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._report or self._close, timeout=inp.report_window
            )
        if not self._report:
            return await self._closed()
        await _step("file_report", f"{inp.instance}:reported")
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
        await _step("close_contact")
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


@workflow.defn
class BareReportWorkflow:
    @workflow.init
    def __init__(self, inp: BareReportInput) -> None:
        self._decided = False
        self._done = False

    @workflow.run
    async def run(self, inp: BareReportInput) -> bool:
        await _step("open_report", f"{inp.instance}:report_opened")
        try:
            await workflow.wait_condition(
                lambda: self._decided, timeout=inp.sla_deadline - workflow.now()
            )
        except TimeoutError:
            await _step("escalate", f"{inp.instance}:escalated")
            await workflow.wait_condition(lambda: self._decided)
        await _step(
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


@workflow.defn
class BareDeliveryWorkflow:
    @workflow.run
    async def run(self, key: str) -> bool:
        await workflow.execute_activity_method(
            BareActivities.step,
            BareStep(name=key),
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=timedelta(days=2),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=1),
                backoff_coefficient=2.0,
                maximum_interval=timedelta(minutes=10),
            ),
        )
        return True


BARE_WORKFLOWS = [BareLifecycleWorkflow, BareReportWorkflow, BareDeliveryWorkflow]
