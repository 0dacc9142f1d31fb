"""ReviewReportWorkflow: a review reported as "not a genuine experience", until a moderator decides.

hide the review, tell the reviewer
wait: the moderator's decision; escalate once when the SLA passes, keep waiting
uphold ──> remove the review     reject ──> reinstate it
tell business and reviewer
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.report import ReportActivities
    from activities.standing import StandingActivities
    from domain.enums import Decision, ReportStatus
    from domain.messages import (
        ApplyDecisionInput,
        DecisionInput,
        ReportState,
        ReportStepInput,
        ReportWorkflowInput,
    )
    from domain.refusals import Refusal, refusal_error
    from domain.standing_messages import ReportDecidedInput
    from workflows._steps import STORE_RETRY, dispatch, sending_step

# v5 (issue 18): once decided, the standing of the report's business and notifiers is told a
# finding may be due. Executions from before decide as they did, so their histories replay.
ASSESS_STANDING = "report-assesses-standing"
# Signalling another workflow is a call to the Temporal server: a regular activity, retried.
SIGNAL_TIMEOUT = timedelta(seconds=30)

_DECIDED = {Decision.UPHOLD: ReportStatus.UPHELD, Decision.REJECT: ReportStatus.REJECTED}


@workflow.defn
class ReviewReportWorkflow:
    @workflow.init
    def __init__(self, inp: ReportWorkflowInput) -> None:
        self._inp = inp
        self._status = ReportStatus.PENDING
        self._escalated = False
        self._decision: DecisionInput | None = None

    @workflow.run
    async def run(self, inp: ReportWorkflowInput) -> ReportState:
        opened = await sending_step(
            ReportActivities.open_report,
            ReportStepInput(report_id=inp.report_id, at=workflow.now()),
            inp.delivery,
        )
        await dispatch(opened, inp.delivery)

        remaining = inp.sla_deadline - workflow.now()
        try:
            if remaining <= timedelta(0):
                raise TimeoutError
            await workflow.wait_condition(lambda: self._decision is not None, timeout=remaining)
        except TimeoutError:
            # Overdue: tell the moderators once, then keep waiting; a report is never dropped.
            self._escalated = True
            escalated = await sending_step(
                ReportActivities.escalate,
                ReportStepInput(report_id=inp.report_id, at=workflow.now()),
                inp.delivery,
            )
            await dispatch(escalated, inp.delivery)
            await workflow.wait_condition(lambda: self._decision is not None)

        decision = self._decision
        assert decision is not None
        decided = await sending_step(
            ReportActivities.apply_decision,
            ApplyDecisionInput(
                report_id=inp.report_id,
                decision_id=decision.decision_id,
                decision=decision.decision,
                at=workflow.now(),
            ),
            inp.delivery,
        )
        self._status = _DECIDED[decision.decision]
        await dispatch(decided, inp.delivery)
        if workflow.patched(ASSESS_STANDING):
            await workflow.execute_activity_method(
                StandingActivities.report_decided,
                ReportDecidedInput(report_id=inp.report_id),
                start_to_close_timeout=SIGNAL_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    @workflow.query
    def state(self) -> ReportState:
        return ReportState(
            report_id=self._inp.report_id, status=self._status, escalated=self._escalated
        )

    @workflow.update
    async def decide(self, inp: DecisionInput) -> ReportState:
        self._decision = inp
        await workflow.wait_condition(lambda: self._status is not ReportStatus.PENDING)
        return self.state()

    @decide.validator
    def _validate_decide(self, inp: DecisionInput) -> None:
        if self._decision is not None or self._status is not ReportStatus.PENDING:
            raise refusal_error(Refusal.ALREADY_DECIDED)
