"""ReviewerContactWorkflow: one business's request to hear from the author of one review.

    check eligibility ──refused──> end (reason recorded)
    open contact, send the request with its reply link
    wait: reply | decline | close | the reply window's end
    record the outcome, tell the business
    wait: report | close | the report window's end
    report ──> start ReviewReportWorkflow (a workflow of its own), end as "reported"

Updates answer only when the step they asked for is recorded, so a caller's 2xx means it is done.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contact import ContactActivities
    from domain.enums import Answer, ContactStatus, Grounds
    from domain.messages import (
        AnswerInput,
        CloseInput,
        CloseRequest,
        ContactState,
        ContactStepInput,
        ContactWorkflowInput,
        EligibilityInput,
        FileReportInput,
        OpenContactInput,
        Opened,
        OpenInput,
        OutcomeInput,
        RefusalInput,
        ReportInput,
        ReportWorkflowInput,
    )
    from domain.refusals import Refusal, refusal_error, refusal_in
    from workflows._steps import dispatch, sending_step, steps_send, store_step

# Only an opening that finds an earlier deadline records this marker; a first opening, the
# common case, adds nothing to its history.
DEADLINE_FROM_STORE = "deadline-from-store"
_ANSWERED = {Answer.REPLY: ContactStatus.REPLIED, Answer.DECLINE: ContactStatus.DECLINED}
# Which grounds fit which way the reply window closed (DESIGN rule 5).
_GROUNDS = {
    ContactStatus.NO_RESPONSE: Grounds.NO_RESPONSE,
    ContactStatus.DECLINED: Grounds.NO_RESPONSE,
    ContactStatus.REPLIED: Grounds.INSUFFICIENT_INFORMATION,
}


@workflow.defn
class ReviewerContactWorkflow:
    @workflow.init
    def __init__(self, inp: ContactWorkflowInput) -> None:
        self._inp = inp
        self._status: ContactStatus | None = None
        self._refusal: Refusal | None = None
        self._deadline: datetime | None = None
        self._report_deadline: datetime | None = None
        self._report_id: str | None = None
        # What callers asked for; the main loop acts on them one at a time, in order.
        self._answer: AnswerInput | None = None
        self._report: ReportInput | None = None
        self._close_requested = False
        # Set the moment a window ends, before its step is recorded, so validators refuse at once.
        self._reply_window_over = False
        self._report_window_over = False

    @workflow.run
    async def run(self, inp: ContactWorkflowInput) -> ContactState:
        deadline = await self._open(inp) if steps_send() else await self._open_before_v3(inp)
        if deadline is None:
            return await self._end()
        return await self._after_opening(deadline)

    async def _open(self, inp: ContactWorkflowInput) -> datetime | None:
        """Opens the contact in one step; its reply window's end, or None when refused."""
        opened_at = workflow.now()
        deadline = opened_at + inp.reply_window
        opened: Opened = await store_step(
            ContactActivities.open_and_request,
            OpenInput(
                contact_id=inp.contact_id,
                review_id=inp.review_id,
                business_id=inp.business_id,
                opened_at=opened_at,
                deadline=deadline,
                delivery=inp.delivery,
            ),
        )
        if opened.refusal is not None:
            self._refusal = opened.refusal
            return None
        if (
            opened.deadline is not None
            and opened.deadline != deadline
            and workflow.patched(DEADLINE_FROM_STORE)
        ):
            # A retried first task, or a re-drive by `reviewdesk reconcile`, found the contact
            # opened earlier: the deadline is the one the store and the reviewer's email state.
            deadline = opened.deadline
        # Open to callers only now: a 201 means the reviewer's email is recorded, link and all.
        self._deadline = deadline
        self._status = ContactStatus.AWAITING_REPLY
        return deadline

    async def _open_before_v3(self, inp: ContactWorkflowInput) -> datetime | None:
        """How executions from before v3 open: eligibility, open, request, dispatch."""
        try:
            await self._step(
                ContactActivities.check_eligibility,
                EligibilityInput(
                    contact_id=inp.contact_id, review_id=inp.review_id, business_id=inp.business_id
                ),
            )
        # A refused local activity surfaces as its ApplicationError itself, an activity as an
        # ActivityError around it.
        except (ActivityError, ApplicationError) as err:
            refusal = refusal_in(err)
            if refusal is None:
                raise
            await self._step(
                ContactActivities.record_refusal,
                RefusalInput(contact_id=inp.contact_id, refusal=refusal, at=workflow.now()),
            )
            self._refusal = refusal
            return None

        opened_at = workflow.now()
        deadline = opened_at + inp.reply_window
        await self._step(
            ContactActivities.open_contact,
            OpenContactInput(
                contact_id=inp.contact_id,
                review_id=inp.review_id,
                business_id=inp.business_id,
                opened_at=opened_at,
                deadline=deadline,
            ),
        )
        sent = await self._step(
            ContactActivities.send_request_to_reviewer,
            ContactStepInput(contact_id=inp.contact_id, at=workflow.now()),
        )
        self._deadline = deadline
        self._status = ContactStatus.AWAITING_REPLY
        await dispatch(sent, inp.delivery)
        return deadline

    async def _after_opening(self, deadline: datetime) -> ContactState:
        await self._wait_until(deadline, lambda: self._answer is not None or self._close_requested)
        if self._close_requested and self._answer is None:
            self._reply_window_over = True
            return await self._close(by_business=True)
        self._reply_window_over = True
        await self._record_outcome()

        assert self._report_deadline is not None
        await self._wait_until(
            self._report_deadline, lambda: self._report is not None or self._close_requested
        )
        if self._report is not None:
            await self._file_report(self._report)
            return await self._end()
        self._report_window_over = not self._close_requested
        return await self._close(by_business=self._close_requested)

    # --- queries and updates ---------------------------------------------------------------

    @workflow.query
    def state(self) -> ContactState:
        return ContactState(
            contact_id=self._inp.contact_id,
            status=self._status,
            refusal=self._refusal,
            deadline=self._deadline,
            report_deadline=self._report_deadline,
            report_id=self._report_id,
        )

    @workflow.update
    async def opened(self) -> ContactState:
        """Answers once the contact is open, or fails with the reason it was refused."""
        await workflow.wait_condition(lambda: self._status is not None or self._refusal is not None)
        if self._refusal is not None:
            raise refusal_error(self._refusal)
        return self.state()

    @opened.validator
    def _validate_opened(self) -> None:
        # Once the opening is refused there is nothing to wait for: the caller gets the reason
        # without the update being written to history. Anything else is accepted, an open
        # contact included: a request retried after its first answer was lost asks again.
        if self._refusal is not None:
            raise refusal_error(self._refusal)

    @workflow.update
    async def answer(self, inp: AnswerInput) -> ContactState:
        self._answer = inp
        await workflow.wait_condition(
            lambda: self._status not in (None, ContactStatus.AWAITING_REPLY)
        )
        return self.state()

    @answer.validator
    def _validate_answer(self, inp: AnswerInput) -> None:
        if inp.contact_id != self._inp.contact_id:
            raise refusal_error(Refusal.WINDOW_CLOSED)
        if self._answer is not None or self._status in (
            ContactStatus.REPLIED,
            ContactStatus.DECLINED,
        ):
            raise refusal_error(Refusal.ALREADY_ANSWERED)
        if (
            self._status is not ContactStatus.AWAITING_REPLY
            or self._reply_window_over
            or self._close_requested
            or (self._deadline is not None and workflow.now() >= self._deadline)
        ):
            raise refusal_error(Refusal.WINDOW_CLOSED)

    @workflow.update
    async def report(self, inp: ReportInput) -> ContactState:
        self._report = inp
        await workflow.wait_condition(lambda: self._status is ContactStatus.REPORTED)
        return self.state()

    @report.validator
    def _validate_report(self, inp: ReportInput) -> None:
        if inp.contact_id != self._inp.contact_id:
            raise refusal_error(Refusal.CONTACT_CLOSED)
        if self._report is not None or self._status is ContactStatus.REPORTED:
            raise refusal_error(Refusal.ALREADY_REPORTED)
        if self._close_requested or self._status is ContactStatus.CLOSED:
            raise refusal_error(
                Refusal.REPORT_WINDOW_OVER if self._report_window_over else Refusal.CONTACT_CLOSED
            )
        if self._status not in _GROUNDS or self._report_deadline is None:
            raise refusal_error(Refusal.WINDOW_OPEN)
        if self._report_window_over or workflow.now() >= self._report_deadline:
            raise refusal_error(Refusal.REPORT_WINDOW_OVER)
        if _GROUNDS[self._status] is not inp.grounds:
            raise refusal_error(Refusal.GROUNDS_MISMATCH)

    @workflow.update
    async def close(self, inp: CloseRequest) -> ContactState:
        self._close_requested = True
        await workflow.wait_condition(lambda: self._status is ContactStatus.CLOSED)
        return self.state()

    @close.validator
    def _validate_close(self, inp: CloseRequest) -> None:
        if inp.contact_id != self._inp.contact_id:
            raise refusal_error(Refusal.CONTACT_CLOSED)
        if self._status is ContactStatus.REPORTED or self._report is not None:
            raise refusal_error(Refusal.ALREADY_REPORTED)
        if self._close_requested or self._status is ContactStatus.CLOSED:
            raise refusal_error(Refusal.CONTACT_CLOSED)
        if self._status is None or self._report_window_over:
            raise refusal_error(Refusal.CONTACT_CLOSED)

    # --- steps -------------------------------------------------------------------------------

    async def _record_outcome(self) -> None:
        if self._answer is not None:
            status, answer_id = _ANSWERED[self._answer.answer], self._answer.answer_id
        else:
            status, answer_id = ContactStatus.NO_RESPONSE, None
        closed_at = workflow.now()
        report_deadline = closed_at + self._inp.report_window
        keys = await sending_step(
            ContactActivities.record_outcome,
            OutcomeInput(
                contact_id=self._inp.contact_id,
                status=status,
                answer_id=answer_id,
                at=closed_at,
                report_deadline=report_deadline,
            ),
            self._inp.delivery,
        )
        self._report_deadline = report_deadline
        self._status = status
        await dispatch(keys, self._inp.delivery)

    async def _file_report(self, request: ReportInput) -> None:
        inp = self._inp
        now = workflow.now()
        report_id = f"rp_{workflow.uuid4().hex[:24]}"
        sla_deadline = now + inp.moderation_sla
        keys = await sending_step(
            ContactActivities.file_report,
            FileReportInput(
                report_id=report_id,
                contact_id=inp.contact_id,
                grounds=request.grounds,
                at=now,
                sla_deadline=sla_deadline,
            ),
            inp.delivery,
        )
        # The report outlives this contact, so it runs as a workflow of its own, not a child.
        await self._step(
            ContactActivities.start_report_workflow,
            ReportWorkflowInput(
                report_id=report_id,
                review_id=inp.review_id,
                contact_id=inp.contact_id,
                business_id=inp.business_id,
                sla_deadline=sla_deadline,
                delivery=inp.delivery,
            ),
        )
        self._report_id = report_id
        self._status = ContactStatus.REPORTED
        await dispatch(keys, self._inp.delivery)

    async def _close(self, *, by_business: bool) -> ContactState:
        await self._step(
            ContactActivities.close_contact,
            CloseInput(contact_id=self._inp.contact_id, by_business=by_business, at=workflow.now()),
        )
        self._status = ContactStatus.CLOSED
        return await self._end()

    async def _end(self) -> ContactState:
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    async def _wait_until(self, moment: datetime, done: Callable[[], bool]) -> None:
        remaining = moment - workflow.now()
        if remaining <= timedelta(0):
            return
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(done, timeout=remaining)

    async def _step(
        self, method: Callable[[Any, Any], Awaitable[list[str] | None]], arg: Any
    ) -> list[str]:
        result: list[str] | None = await store_step(method, arg)
        return result or []
