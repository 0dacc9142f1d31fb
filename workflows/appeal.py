"""AppealWorkflow: one appeal against a moderator's decision, until another moderator decides it
(DESIGN rule 11, DSA art. 20).

open: too late ──> refused (the appeal is dropped); else the appellant is told of receipt
wait: a second moderator's decision; escalate once when the SLA passes, keep waiting
grant ──> the decision is reversed at once (reinstated, or removed)    deny ──> it stands
tell everyone involved; the appeal's decision is final on the platform
granted ──> the report's business and notifiers are assessed again (the misuse guard)
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.appeal import AppealActivities
    from activities.standing import StandingActivities
    from domain.appeal_messages import (
        AppealDecisionInput,
        AppealState,
        AppealStepInput,
        AppealWorkflowInput,
        ApplyAppealInput,
        OpenAppealInput,
        OpenedAppeal,
    )
    from domain.enums import AppealDecision, AppealStatus
    from domain.refusals import Refusal, refusal_error
    from domain.standing_messages import ReportDecidedInput
    from workflows._steps import STORE_RETRY, store_step

_DECIDED = {AppealDecision.GRANT: AppealStatus.GRANTED, AppealDecision.DENY: AppealStatus.DENIED}
# v5 (issue 18): a granted appeal reverses an outcome the misuse guard counts (a flag upheld
# becomes rejected, a notice rejected becomes founded), so the report's business and notifiers
# are assessed again, as at the report's decision. Executions from before replay as they ran.
GRANT_ASSESSES_STANDING = "appeal-grant-assesses-standing"
# Signalling the standing workflows is a call to the Temporal server: a regular activity.
SIGNAL_TIMEOUT = timedelta(seconds=30)


@workflow.defn
class AppealWorkflow:
    @workflow.init
    def __init__(self, inp: AppealWorkflowInput) -> None:
        self._inp = inp
        self._status: AppealStatus | None = None
        self._refusal: Refusal | None = None
        self._escalated = False
        self._decision: AppealDecisionInput | None = None

    @workflow.run
    async def run(self, inp: AppealWorkflowInput) -> AppealState:
        # The window is checked here, on the workflow's clock, so a late appeal is refused the
        # same way whenever its request reached the service.
        opened: OpenedAppeal = await store_step(
            AppealActivities.open,
            OpenAppealInput(
                appeal_id=inp.appeal_id,
                at=workflow.now(),
                appeal_until=inp.appeal_until,
                delivery=inp.delivery,
            ),
        )
        if opened.refusal is not None:
            self._refusal = opened.refusal
            await workflow.wait_condition(workflow.all_handlers_finished)
            return self.state()
        self._status = AppealStatus.PENDING

        remaining = inp.sla_deadline - workflow.now()
        try:
            if remaining <= timedelta(0):
                raise TimeoutError
            await workflow.wait_condition(lambda: self._decision is not None, timeout=remaining)
        except TimeoutError:
            # Overdue: the moderation team is told once; an appeal is never dropped.
            self._escalated = True
            await store_step(
                AppealActivities.escalate,
                AppealStepInput(appeal_id=inp.appeal_id, at=workflow.now(), delivery=inp.delivery),
            )
            await workflow.wait_condition(lambda: self._decision is not None)

        decision = self._decision
        assert decision is not None
        await store_step(
            AppealActivities.apply_decision,
            ApplyAppealInput(
                appeal_id=inp.appeal_id,
                moderator_id=decision.moderator_id,
                decision=decision.decision,
                at=workflow.now(),
                delivery=inp.delivery,
            ),
        )
        self._status = _DECIDED[decision.decision]
        if decision.decision is AppealDecision.GRANT and workflow.patched(GRANT_ASSESSES_STANDING):
            await workflow.execute_activity_method(
                StandingActivities.report_decided,
                ReportDecidedInput(report_id=inp.report_id),
                start_to_close_timeout=SIGNAL_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    @workflow.query
    def state(self) -> AppealState:
        return AppealState(
            appeal_id=self._inp.appeal_id,
            status=self._status,
            refusal=self._refusal,
            escalated=self._escalated,
        )

    @workflow.update
    async def opened(self) -> AppealState:
        """Answers once the first step is recorded: the appeal open, or refused."""
        await workflow.wait_condition(lambda: self._status is not None or self._refusal is not None)
        return self.state()

    @workflow.update
    async def decide(self, inp: AppealDecisionInput) -> AppealState:
        self._decision = inp
        await workflow.wait_condition(
            lambda: self._status not in (None, AppealStatus.PENDING) or self._refusal is not None
        )
        if self._refusal is not None:
            # Sent before the first step refused the appeal as too late: there is none to decide.
            raise refusal_error(Refusal.APPEAL_NOT_FOUND)
        return self.state()

    @decide.validator
    def _validate_decide(self, inp: AppealDecisionInput) -> None:
        if inp.appeal_id != self._inp.appeal_id or self._refusal is not None:
            raise refusal_error(Refusal.APPEAL_NOT_FOUND)
        if self._decision is not None or self._status not in (None, AppealStatus.PENDING):
            raise refusal_error(Refusal.APPEAL_DECIDED)
        if inp.moderator_id == self._inp.first_moderator_id:
            raise refusal_error(Refusal.SAME_MODERATOR)
