"""One flag's shape: the same steps, timers and updates as ``FlagWorkflow``.

reviewer first: ask (and send) ──> opened; wait: the reviewer acts | their window (a timer)
                the business's turn (and send); wait: escalate | drop | its window (a timer)
otherwise, and on escalate: file the report and start ``BareReportWorkflow`` in one step
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.bare_activities import (
        BareAct,
        BareActivities,
        BareFlagInput,
        BareFlagState,
        BareReportInput,
        refuse,
        report_id_of,
    )
    from bench.bare_workflows._steps import bare_step
    from workflows._steps import store_step

_ENDED = ("escalated", "dropped", "withdrawn")


@workflow.defn
class BareFlagWorkflow:
    @workflow.init
    def __init__(self, inp: BareFlagInput) -> None:
        self._inp = inp
        self._status: str | None = None
        self._reviewer_deadline: datetime | None = None
        self._business_deadline: datetime | None = None
        self._report_id: str | None = None
        self._reviewer: BareAct | None = None
        self._business: str | None = None
        self._reviewer_window_over = False
        self._business_window_over = False

    @workflow.run
    async def run(self, inp: BareFlagInput) -> BareFlagState:
        if inp.reviewer_first:
            await self._reviewer_step()
            if self._status != "withdrawn":
                await self._business_step()
        else:
            await self._escalate()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    async def _reviewer_step(self) -> None:
        inp = self._inp
        deadline = workflow.now() + inp.reviewer_window
        await bare_step("ask_reviewer", f"{inp.instance}:asked", f"{inp.instance}:business")
        self._reviewer_deadline = deadline
        self._status = "awaiting_reviewer"
        await _wait_until(deadline, lambda: self._reviewer is not None)
        self._reviewer_window_over = True
        if self._reviewer is not None and self._reviewer.action == "withdraw":
            await bare_step("withdraw", f"{inp.instance}:withdrawn")
            self._status = "withdrawn"
            return
        business_deadline = workflow.now() + inp.business_window
        await bare_step("await_business", f"{inp.instance}:your_turn")
        self._business_deadline = business_deadline
        self._status = "awaiting_business"

    async def _business_step(self) -> None:
        assert self._business_deadline is not None
        await _wait_until(self._business_deadline, lambda: self._business is not None)
        if self._business == "escalate":
            await self._escalate()
            return
        self._business_window_over = self._business is None
        await bare_step("drop", f"{self._inp.instance}:dropped")
        self._status = "dropped"

    async def _escalate(self) -> None:
        inp = self._inp
        # Reviewdesk files the report and starts its workflow in one step.
        await store_step(
            BareActivities.start_report,
            BareReportInput(
                instance=inp.instance, sla_deadline=workflow.now() + inp.moderation_sla
            ),
        )
        self._report_id = report_id_of(inp.instance)
        self._status = "escalated"

    @workflow.query
    def state(self) -> BareFlagState:
        return BareFlagState(
            instance=self._inp.instance,
            status=self._status,
            reviewer_deadline=self._reviewer_deadline,
            business_deadline=self._business_deadline,
            report_id=self._report_id,
        )

    @workflow.update
    async def opened(self) -> BareFlagState:
        await workflow.wait_condition(lambda: self._status is not None)
        return self.state()

    @workflow.update
    async def reviewer_acted(self, inp: BareAct) -> BareFlagState:
        self._reviewer = inp
        await workflow.wait_condition(lambda: self._status not in (None, "awaiting_reviewer"))
        return self.state()

    @reviewer_acted.validator
    def _validate_reviewer(self, inp: BareAct) -> None:
        if inp.instance != self._inp.instance:
            raise refuse("link_not_found")
        if (
            self._reviewer is not None
            or self._reviewer_window_over
            or self._status != "awaiting_reviewer"
            or (self._reviewer_deadline is not None and workflow.now() >= self._reviewer_deadline)
        ):
            raise refuse("window_closed")

    @workflow.update
    async def business_acted(self, inp: BareAct) -> BareFlagState:
        self._business = inp.action
        await workflow.wait_condition(lambda: self._status in _ENDED)
        return self.state()

    @business_acted.validator
    def _validate_business(self, inp: BareAct) -> None:
        if inp.instance != self._inp.instance:
            raise refuse("flag_not_found")
        withdrawn = self._reviewer is not None and self._reviewer.action == "withdraw"
        if (
            not self._inp.reviewer_first
            or self._business is not None
            or self._business_window_over
            or self._status in _ENDED
            or withdrawn
        ):
            raise refuse("flag_closed")
        if self._reviewer is None and not self._reviewer_window_over:
            raise refuse("reviewer_step_open")


async def _wait_until(moment: datetime, done: Callable[[], bool]) -> None:
    remaining = moment - workflow.now()
    if remaining <= timedelta(0):
        return
    with contextlib.suppress(TimeoutError):
        await workflow.wait_condition(done, timeout=remaining)
