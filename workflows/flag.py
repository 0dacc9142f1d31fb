"""FlagWorkflow: a business's flag on one of its reviews, for one reason (DESIGN rule 8).

    harmful or illegal ──> escalate at once (a report, high priority, its own SLA)
    spam marked on the response desk ──> escalate at once (a report, its reason's SLA)
    otherwise: email the reviewer a one-time link (edit or withdraw, 3 days)
        withdraw ──> the review is removed, the flag ends as withdrawn
        edit, or the 3 days pass ──> the business's turn
    wait: escalate | drop | the business's window ends (dropped, lapsed)
    escalate ──> open a report; ReviewReportWorkflow (a workflow of its own) handles it

Updates answer only once the step they asked for is recorded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.flag import FlagActivities
    from activities.standing import StandingActivities
    from domain.enums import FlagAction, FlagStatus, ReviewerAction
    from domain.flag_messages import (
        AskedReviewer,
        AskReviewerInput,
        AwaitBusinessInput,
        BusinessActInput,
        DropInput,
        Escalated,
        EscalateInput,
        FlagState,
        FlagWorkflowInput,
        ReviewerActInput,
        WithdrawInput,
    )
    from domain.refusals import Refusal, refusal_error
    from domain.standing_messages import FlagOpenedInput
    from workflows._steps import STORE_RETRY, store_step

# v5 (issue 18): a flag opened tells the business's standing that a finding (flags only on 1-2
# star reviews) may be due. It runs beside the flag's first step, so the business's answer
# does not wait for it. Executions from before run as they did, so their histories replay.
ASSESS_STANDING = "flag-assesses-standing"
# v7 (issue 20): a flag started ``straight_to_moderation`` (spam marked on the response desk)
# escalates at once, as a harmful one does. Earlier inputs lack the field, so every earlier
# execution takes the path it took; the marker names the new one in the histories that take it.
STRAIGHT_TO_MODERATION = "flag-straight-to-moderation"
SIGNAL_TIMEOUT = timedelta(seconds=30)

_ENDED = (FlagStatus.ESCALATED, FlagStatus.DROPPED, FlagStatus.WITHDRAWN)


@workflow.defn
class FlagWorkflow:
    @workflow.init
    def __init__(self, inp: FlagWorkflowInput) -> None:
        self._inp = inp
        self._status: FlagStatus | None = None
        self._reviewer_deadline: datetime | None = None
        self._business_deadline: datetime | None = None
        self._report_id: str | None = None
        # What callers asked for; the main line acts on it.
        self._reviewer: ReviewerActInput | None = None
        self._business: FlagAction | None = None
        # Set the moment a window ends, before its step is recorded, so validators refuse at once.
        self._reviewer_window_over = False
        self._business_window_over = False

    @workflow.run
    async def run(self, inp: FlagWorkflowInput) -> FlagState:
        assessing = None
        if workflow.patched(ASSESS_STANDING):
            assessing = workflow.start_activity_method(
                StandingActivities.flag_opened,
                FlagOpenedInput(business_id=inp.business_id),
                start_to_close_timeout=SIGNAL_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
        if self._reviewer_first():
            await self._reviewer_step()
            if self._status is not FlagStatus.WITHDRAWN:
                await self._business_step()
        else:
            await self._escalate()
        if assessing is not None:
            await assessing
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    async def _reviewer_step(self) -> None:
        inp = self._inp
        asked: AskedReviewer = await store_step(
            FlagActivities.ask_reviewer,
            AskReviewerInput(
                flag_id=inp.flag_id,
                at=workflow.now(),
                deadline=workflow.now() + inp.reviewer_step_window,
                delivery=inp.delivery,
            ),
        )
        self._reviewer_deadline = asked.deadline
        self._status = FlagStatus.AWAITING_REVIEWER
        await _wait_until(asked.deadline, lambda: self._reviewer is not None)
        self._reviewer_window_over = True
        acted = self._reviewer
        if acted is not None and acted.action is ReviewerAction.WITHDRAW:
            await store_step(
                FlagActivities.withdraw,
                WithdrawInput(
                    flag_id=inp.flag_id,
                    edit_id=acted.edit_id,
                    at=workflow.now(),
                    delivery=inp.delivery,
                ),
            )
            self._status = FlagStatus.WITHDRAWN
            return
        business_deadline = workflow.now() + inp.business_window
        await store_step(
            FlagActivities.await_business,
            AwaitBusinessInput(
                flag_id=inp.flag_id,
                edit_id=acted.edit_id if acted else None,
                at=workflow.now(),
                business_deadline=business_deadline,
                delivery=inp.delivery,
            ),
        )
        self._business_deadline = business_deadline
        self._status = FlagStatus.AWAITING_BUSINESS

    async def _business_step(self) -> None:
        assert self._business_deadline is not None
        await _wait_until(self._business_deadline, lambda: self._business is not None)
        if self._business is FlagAction.ESCALATE:
            await self._escalate()
            return
        self._business_window_over = self._business is None
        await store_step(
            FlagActivities.drop,
            DropInput(
                flag_id=self._inp.flag_id,
                at=workflow.now(),
                lapsed=self._business is None,
                delivery=self._inp.delivery,
            ),
        )
        self._status = FlagStatus.DROPPED

    async def _escalate(self) -> None:
        inp = self._inp
        now = workflow.now()
        escalated: Escalated = await store_step(
            FlagActivities.escalate,
            EscalateInput(
                flag_id=inp.flag_id,
                report_id=f"rp_{workflow.uuid4().hex[:24]}",
                at=now,
                sla_deadline=now + inp.moderation_sla,
                delivery=inp.delivery,
            ),
        )
        self._report_id = escalated.report_id
        self._status = FlagStatus.ESCALATED

    def _reviewer_first(self) -> bool:
        inp = self._inp
        if not inp.reason.reviewer_first:
            return False
        # Asked only for a flag sent straight on, so no other history gains a marker.
        return not (inp.straight_to_moderation and workflow.patched(STRAIGHT_TO_MODERATION))

    # --- queries and updates ---------------------------------------------------------------

    @workflow.query
    def state(self) -> FlagState:
        return FlagState(
            flag_id=self._inp.flag_id,
            status=self._status,
            reviewer_deadline=self._reviewer_deadline,
            business_deadline=self._business_deadline,
            report_id=self._report_id,
        )

    @workflow.update
    async def opened(self) -> FlagState:
        """Answers once the flag's first step is recorded: the reviewer's email, or the report."""
        await workflow.wait_condition(lambda: self._status is not None)
        return self.state()

    @workflow.update
    async def reviewer_acted(self, inp: ReviewerActInput) -> FlagState:
        self._reviewer = inp
        await workflow.wait_condition(
            lambda: self._status not in (None, FlagStatus.AWAITING_REVIEWER)
        )
        return self.state()

    @reviewer_acted.validator
    def _validate_reviewer(self, inp: ReviewerActInput) -> None:
        if inp.flag_id != self._inp.flag_id:
            raise refusal_error(Refusal.LINK_NOT_FOUND)
        if (
            self._reviewer is not None
            or self._reviewer_window_over
            or self._status is not FlagStatus.AWAITING_REVIEWER
            or (self._reviewer_deadline is not None and workflow.now() >= self._reviewer_deadline)
        ):
            raise refusal_error(Refusal.WINDOW_CLOSED)

    @workflow.update
    async def business_acted(self, inp: BusinessActInput) -> FlagState:
        self._business = inp.action
        await workflow.wait_condition(lambda: self._status in _ENDED)
        return self.state()

    @business_acted.validator
    def _validate_business(self, inp: BusinessActInput) -> None:
        if inp.flag_id != self._inp.flag_id:
            raise refusal_error(Refusal.FLAG_NOT_FOUND)
        withdrawn = self._reviewer is not None and self._reviewer.action is ReviewerAction.WITHDRAW
        if (
            not self._inp.reason.reviewer_first
            or self._inp.straight_to_moderation
            or self._business is not None
            or self._business_window_over
            or self._status in _ENDED
            or withdrawn
        ):
            raise refusal_error(Refusal.FLAG_CLOSED)
        # The reviewer's turn ends with their edit or with their deadline, not before.
        if self._reviewer is None and not self._reviewer_window_over:
            raise refusal_error(Refusal.REVIEWER_STEP_OPEN)


async def _wait_until(moment: datetime, done: Callable[[], bool]) -> None:
    remaining = moment - workflow.now()
    if remaining <= timedelta(0):
        return
    with contextlib.suppress(TimeoutError):
        await workflow.wait_condition(done, timeout=remaining)
