"""Appeals (DESIGN rule 11, DSA art. 20): each moderator decision may be appealed once, free,
within ``appeal_window``: by the reviewer against a removal (the link in their statement of
reasons), by the business against a rejection of its own report or flag, by a notifier against
a rejection of the report their notice joined (the link in their decision email). Another
moderator decides, ``grant`` or ``deny``.

As everywhere in the service: who may appeal what is checked against the store, the appellant's
statement is stored before the workflow starts (it gets ids and enums), and the workflow has the
last word on what is allowed now (the window, on its clock; ``same_moderator``). A refusal
raises ``Refused`` and leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from domain import appeal_workflow_id
from domain.appeal_messages import AppealDecisionInput, AppealState, AppealWorkflowInput
from domain.enums import AppealStatus, Appellant, ReportSource, ReportStatus, Restriction
from domain.refusals import Refusal, Refused
from settings import Settings
from starter.appeal_inputs import AppealBody, AppealDecisionBody
from starter.temporal_calls import WorkflowGone, send_update, unavailable
from starter.unavailable import NotSent, deadline
from starter.workflow_inputs import delivery_policy
from store import Store, accounts, appeals, history, outbox, reports, reviews, statements
from store import notices as notices_store
from store.accounts import hash_secret
from store.connection import Connection
from store.errors import Conflict
from store.records import (
    Appeal,
    DecisionRecord,
    Event,
    Notice,
    Report,
    Review,
    Statement,
    now,
)
from workflows.appeal import AppealWorkflow

if TYPE_CHECKING:
    from starter.service import Notification


def _new_id() -> str:
    return f"ap_{secrets.token_hex(10)}"


@dataclass
class AppealView:
    """An appeal as a moderator (or its business) reads it, with what it is against."""

    appeal: Appeal
    review: Review
    report: Report
    decision: DecisionRecord
    history: list[Event] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)

    @property
    def overdue(self) -> bool:
        return self.appeal.status is AppealStatus.PENDING and (
            self.appeal.escalated_at is not None or now() >= self.appeal.sla_deadline
        )


@dataclass
class AppealRequest:
    """What an appellant's page shows: the review, the decision, and whether (until when) it may
    still be appealed, or the appeal sent. Never anyone's address."""

    review: Review
    business_name: str
    report: Report | None = None
    decision: DecisionRecord | None = None
    appeal: Appeal | None = None
    appeal_until: datetime | None = None
    # The notifier's page: their notice.
    notice: Notice | None = None
    # Whether this appellant may appeal this decision at all (the right kind of decision).
    appealable: bool = False

    @property
    def open(self) -> bool:
        """Whether the form is offered: appealable, not appealed yet, and still in time."""
        return (
            self.appealable
            and self.appeal is None
            and self.appeal_until is not None
            and now() <= self.appeal_until
        )


class Appeals:
    def __init__(self, client: Client, db: Store, settings: Settings) -> None:
        self.client = client
        self.db = db
        self.settings = settings

    # --- appellants ------------------------------------------------------------------------

    async def by_business(
        self,
        business_id: str,
        decision_id: str,
        body: AppealBody,
        *,
        idempotency_key: str | None = None,
    ) -> AppealView:
        """Against a rejection of the business's own report or flag; another business's
        decision is answered exactly like one that does not exist."""
        async with self.db.read() as conn:
            decision, report = await _decided(conn, decision_id)
        if report.business_id != business_id:
            raise Refused(Refusal.DECISION_NOT_FOUND)
        if not business_may_appeal(report):
            raise Refused(Refusal.NOT_APPEALABLE)
        return await self._file(
            decision, report, Appellant.BUSINESS, business_id, body, idempotency_key
        )

    async def by_reviewer(
        self, token: str, body: AppealBody, *, idempotency_key: str | None = None
    ) -> AppealView:
        """Against a removal, through the link in the statement of reasons."""
        request = await self.appeal_request_reviewer(token)
        if not request.appealable or request.decision is None or request.report is None:
            raise Refused(Refusal.NOT_APPEALABLE)
        return await self._file(
            request.decision,
            request.report,
            Appellant.REVIEWER,
            request.review.reviewer_id,
            body,
            idempotency_key,
        )

    async def by_notifier(
        self, token: str, body: AppealBody, *, idempotency_key: str | None = None
    ) -> AppealView:
        """Against a rejection of the report the notice joined, through the notice's link."""
        request = await self.notice_request(token)
        if not request.appealable or request.decision is None or request.report is None:
            raise Refused(Refusal.NOT_APPEALABLE)
        assert request.notice is not None
        return await self._file(
            request.decision,
            request.report,
            Appellant.NOTIFIER,
            request.notice.id,
            body,
            idempotency_key,
        )

    async def _file(
        self,
        decision: DecisionRecord,
        report: Report,
        appellant: Appellant,
        appellant_id: str,
        body: AppealBody,
        key: str | None,
    ) -> AppealView:
        async with self.db.read() as conn:
            retry = key is not None and await appeals.is_retry(conn, decision.id, appellant_id, key)
            prior = await appeals.appeal_of_decision(conn, decision.id)
        if prior is not None:
            opened = await self._opened(prior.id)
            if retry and opened:
                return await self.get(prior.id)  # its first try's appeal
            if retry or (prior.appellant_id == appellant_id and not opened):
                # Its own appeal, not opened yet: a retry after a 503 (its start may never have
                # happened), not a second appeal. A run that ended under its id without
                # opening it was lost (one refusing it as late drops the row): replaced.
                return await self._start(prior, decision, report, replace_ended=True)
            raise Refused(Refusal.ALREADY_APPEALED)
        appeal_until = self._until(report)
        # The workflow checks the window again on its own clock; this spares a start.
        if now() > appeal_until:
            raise Refused(Refusal.APPEAL_WINDOW_OVER)
        opened_at = now()
        appeal = Appeal(
            id=_new_id(),
            decision_id=decision.id,
            report_id=report.id,
            review_id=report.review_id,
            appellant=appellant,
            appellant_id=appellant_id,
            statement=body.statement,
            status=AppealStatus.PENDING,
            opened_at=opened_at,
            sla_deadline=opened_at + self.settings.appeal_sla,
        )
        try:
            async with self.db.tx() as conn:
                await appeals.add_appeal(conn, appeal, idempotency_key=key)
        except Conflict:
            # Two appeals of one decision at once: the first one stands.
            async with self.db.read() as conn:
                first = await appeals.appeal_of_decision(conn, decision.id)
                retry = key is not None and await appeals.is_retry(
                    conn, decision.id, appellant_id, key
                )
            if first is None:
                raise
            if not retry:
                raise Refused(Refusal.ALREADY_APPEALED) from None
            appeal = first
        try:
            return await self._start(appeal, decision, report)
        except NotSent:
            # Nothing of the start happened: no trace of an appeal that will never be handled.
            async with self.db.tx() as conn:
                await appeals.drop_unopened(conn, appeal.id)
            raise

    def _until(self, report: Report) -> datetime:
        assert report.decided_at is not None
        return report.decided_at + self.settings.appeal_window

    async def _opened(self, appeal_id: str) -> bool:
        """Whether the appeal's first step ran (the appellant told of receipt)."""
        async with self.db.read() as conn:
            return await appeals.is_opened(conn, appeal_id)

    async def _start(
        self,
        appeal: Appeal,
        decision: DecisionRecord,
        report: Report,
        *,
        replace_ended: bool = False,
    ) -> AppealView:
        """Starts the appeal's workflow (a retry finds it) and waits for its first step."""
        within = self.settings.temporal_call_timeout
        workflow_id = appeal_workflow_id(decision.id)
        try:
            async with deadline(within):
                handle: WorkflowHandle[Any, Any] = await self.client.start_workflow(
                    AppealWorkflow.run,
                    appeal_input(self.settings, appeal, decision, report),
                    id=workflow_id,
                    task_queue=self.settings.task_queue,
                    # One appeal per decision: a retry finds the running one; once it has
                    # ended, its result says whether it was an appeal or one refused as late.
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE
                    if replace_ended
                    else WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    rpc_timeout=within,
                )
        except WorkflowAlreadyStartedError:
            ended = await self._result(
                self.client.get_workflow_handle(workflow_id, result_type=AppealState)
            )
            if ended.appeal_id != appeal.id:
                # An earlier appeal of this decision was refused as too late: so is this one.
                async with self.db.tx() as conn:
                    await appeals.drop_unopened(conn, appeal.id)
                raise Refused(ended.refusal or Refusal.ALREADY_APPEALED) from None
            return await self.get(appeal.id)
        except RPCError as err:
            raise unavailable(err) from None
        state: AppealState | None = None
        with contextlib.suppress(WorkflowGone):
            state = await send_update(handle, AppealWorkflow.opened, within=within)
        if state is None:
            state = await self._result(handle)  # refused so fast it ended first
        if state.appeal_id != appeal.id:
            # An earlier appeal of this decision, refused as too late, is still ending.
            async with self.db.tx() as conn:
                await appeals.drop_unopened(conn, appeal.id)
            raise Refused(state.refusal or Refusal.ALREADY_APPEALED)
        if state.refusal is not None:
            raise Refused(state.refusal)
        return await self.get(appeal.id)

    async def _result(self, handle: WorkflowHandle[Any, Any]) -> AppealState:
        within = self.settings.temporal_call_timeout
        try:
            async with deadline(within):
                result: AppealState = await handle.result(rpc_timeout=within)
        except RPCError as err:
            raise unavailable(err) from None
        return result

    # --- what the appellants' pages show ---------------------------------------------------

    async def appeal_request_reviewer(self, token: str) -> AppealRequest:
        """The reviewer's link (``Purpose.APPEAL``, in the statement of a removal). Reading it
        never uses it up: mail scanners open links."""
        async with self.db.read() as conn:
            statement = await statements.statement_for_token_hash(conn, hash_secret(token))
            if statement is None or statement.decision_id is None:
                raise Refused(Refusal.LINK_NOT_FOUND)
            request = await self._request(conn, statement.review_id, statement.decision_id)
        request.appealable = _removal(statement, request)
        return request

    async def notice_request(self, token: str) -> AppealRequest:
        """The notifier's link (``Purpose.NOTICE``): the notice and where it stands; after a
        rejection, the appeal form until its deadline."""
        async with self.db.read() as conn:
            notice = await notices_store.notice_for_token_hash(conn, hash_secret(token))
            if notice is None:
                raise Refused(Refusal.LINK_NOT_FOUND)
            report = await reports.get_report(conn, notice.report_id) if notice.report_id else None
            request = await self._request(
                conn, notice.review_id, report.decision_id if report else None
            )
        request.notice = notice
        request.report = request.report or report
        request.appealable = (
            report is not None
            and report.status is ReportStatus.REJECTED
            and request.decision is not None
        )
        return request

    async def business_request(self, business_id: str, decision_id: str) -> AppealRequest:
        """The business's appeal form for a decision on its report."""
        async with self.db.read() as conn:
            _, report = await _decided(conn, decision_id)
            if report.business_id != business_id:
                raise Refused(Refusal.DECISION_NOT_FOUND)
            request = await self._request(conn, report.review_id, decision_id)
        request.appealable = business_may_appeal(report)
        return request

    async def _request(
        self, conn: Connection, review_id: str, decision_id: str | None
    ) -> AppealRequest:
        review = await reviews.get_review(conn, review_id)
        business = await accounts.get_business(conn, review.business_id) if review else None
        if review is None or business is None:
            raise Refused(Refusal.LINK_NOT_FOUND)
        request = AppealRequest(review=review, business_name=business.name)
        if decision_id is None:
            return request
        decision, report = await _decided(conn, decision_id)
        request.decision, request.report = decision, report
        request.appeal = await appeals.appeal_of_decision(conn, decision_id)
        request.appeal_until = self._until(report)
        return request

    # --- moderators ------------------------------------------------------------------------

    async def pending(self, *, limit: int = 50, offset: int = 0) -> list[AppealView]:
        """Waiting for a second moderator, the oldest first."""
        return await self.with_status(AppealStatus.PENDING, limit=limit, offset=offset)

    async def with_status(
        self, status: AppealStatus | None, *, limit: int = 50, offset: int = 0
    ) -> list[AppealView]:
        """``None``: decided ones (granted or denied), the latest decision first."""
        async with self.db.read() as conn:
            found = await appeals.appeals_with_status(conn, status, limit=limit, offset=offset)
            return [await self._view(conn, a) for a in found]

    async def get(self, appeal_id: str) -> AppealView:
        async with self.db.read() as conn:
            appeal = await appeals.get_appeal(conn, appeal_id)
            if appeal is None:
                raise Refused(Refusal.APPEAL_NOT_FOUND)
            return await self._view(conn, appeal)

    async def of_business(self, business_id: str, appeal_id: str) -> AppealView:
        view = await self.get(appeal_id)
        if view.report.business_id != business_id:
            raise Refused(Refusal.APPEAL_NOT_FOUND)
        return view

    async def _view(self, conn: Connection, appeal: Appeal) -> AppealView:
        from starter.service import Notification

        review = await reviews.get_review(conn, appeal.review_id)
        report = await reports.get_report(conn, appeal.report_id)
        decision = await reports.get_decision(conn, appeal.decision_id)
        assert review is not None and report is not None and decision is not None
        return AppealView(
            appeal=appeal,
            review=review,
            report=report,
            decision=decision,
            history=await history.history_of(conn, [appeal.id]),
            notifications=[
                Notification.of(m) for m in await outbox.messages_about(conn, [appeal.id])
            ],
        )

    async def decide(
        self,
        moderator_id: str,
        appeal_id: str,
        body: AppealDecisionBody,
        *,
        idempotency_key: str | None = None,
    ) -> AppealView:
        """Answers once the decision is applied. A retry (with the same idempotency key, or by
        the same moderator while the appeal is pending) sends the first try's decision again and
        gets its outcome, never "already decided"."""
        async with self.db.read() as conn:
            appeal = await appeals.get_appeal(conn, appeal_id)
            if appeal is None:
                raise Refused(Refusal.APPEAL_NOT_FOUND)
            claimed = (
                await appeals.claimed_with(conn, appeal_id, moderator_id, idempotency_key)
                if idempotency_key
                else None
            )
            if (
                claimed is None
                and appeal.status is AppealStatus.PENDING
                and appeal.moderator_id == moderator_id
            ):
                # Their own claim, from a try that answered 503 with or without a key: its
                # update may still be applied, so this is a retry of it, not a second decision.
                claimed = appeal
            since = await appeals.claimed_at(conn, appeal_id) if appeal.moderator_id else None
            decision = await reports.get_decision(conn, appeal.decision_id)
        assert decision is not None
        if claimed is not None:
            if claimed.status is not AppealStatus.PENDING:
                return await self.get(appeal_id)  # its first try got through
            assert claimed.decision is not None
            body = AppealDecisionBody(decision=claimed.decision, note=claimed.note or "")
            async with self.db.tx() as conn:
                await appeals.renew_claim(conn, appeal_id, moderator_id, now())
        else:
            if appeal.status is not AppealStatus.PENDING:
                raise Refused(Refusal.APPEAL_DECIDED)
            if decision.moderator_id == moderator_id:
                raise Refused(Refusal.SAME_MODERATOR)
            # Another moderator's claim that has not been applied in the time any call to
            # Temporal gets (its try answered 503, and its moderator went away) no longer
            # holds the appeal: anyone else may decide it.
            stale = (
                appeal.moderator_id
                if since is not None and now() - since > self.settings.temporal_call_timeout
                else None
            )
            async with self.db.tx() as conn:
                won = await appeals.claim_decision(
                    conn,
                    appeal_id,
                    moderator_id=moderator_id,
                    decision=body.decision,
                    note=body.note,
                    key=idempotency_key,
                    at=now(),
                    taking_over=stale,
                )
            if not won:
                raise Refused(Refusal.APPEAL_DECIDED)
        try:
            try:
                await self._send_decision(appeal, moderator_id, body)
            except WorkflowGone:
                # Pending in the store with no workflow: lost. Started again from its row, it
                # takes the decision as the lost one would have (same update id).
                if not await self._restart_lost(appeal_id):
                    raise
                await self._send_decision(appeal, moderator_id, body)
        except (Refused, WorkflowGone, WorkflowUpdateFailedError, NotSent) as err:
            # Never applied, unless the appeal ended with this very decision. Any other 503
            # keeps the claim: its update may still be applied, and a retry must find it.
            if isinstance(err, WorkflowGone):
                view = await self.get(appeal_id)
                if view.appeal.decided_at and view.appeal.moderator_id == moderator_id:
                    return view
            async with self.db.tx() as conn:
                await appeals.release_claim(conn, appeal_id, moderator_id)
            if isinstance(err, WorkflowGone):
                raise Refused(Refusal.APPEAL_DECIDED) from None
            raise
        return await self.get(appeal_id)

    async def _send_decision(
        self, appeal: Appeal, moderator_id: str, body: AppealDecisionBody
    ) -> None:
        await send_update(
            self.client.get_workflow_handle(appeal_workflow_id(appeal.decision_id)),
            AppealWorkflow.decide,
            AppealDecisionInput(
                appeal_id=appeal.id, moderator_id=moderator_id, decision=body.decision
            ),
            id=f"appeal-decision-{appeal.id}-{moderator_id}",
            within=self.settings.temporal_call_timeout,
        )

    async def _restart_lost(self, appeal_id: str) -> bool:
        """Starts a pending appeal's lost workflow again from its row; False if it is no longer
        pending (its workflow ended with it, so there is nothing to restart)."""
        async with self.db.read() as conn:
            appeal = await appeals.get_appeal(conn, appeal_id)
            if appeal is None or appeal.status is not AppealStatus.PENDING:
                return False
            decision, report = await _decided(conn, appeal.decision_id)
        # A workflow ends only after its appeal is decided or dropped: this one was lost. A
        # run started meanwhile (another request, or reconcile) is used as it is.
        within = self.settings.temporal_call_timeout
        try:
            async with deadline(within):
                await self.client.start_workflow(
                    AppealWorkflow.run,
                    appeal_input(self.settings, appeal, decision, report, restart=True),
                    id=appeal_workflow_id(decision.id),
                    task_queue=self.settings.task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                    rpc_timeout=within,
                )
        except RPCError as err:
            raise unavailable(err) from None
        return True


# A run started again for an appeal filed in time opens it whenever it runs: the window was
# checked when the appeal was stored, and the new run's clock must not refuse it as late.
_RESTART_GRACE = timedelta(days=1)


def appeal_input(
    settings: Settings,
    appeal: Appeal,
    decision: DecisionRecord,
    report: Report,
    *,
    restart: bool = False,
) -> AppealWorkflowInput:
    """The appeal's workflow input, from its row: the first start's, or a lost one's again
    (``restart``; reconcile and a decision that found no workflow)."""
    assert report.decided_at is not None
    until = report.decided_at + settings.appeal_window
    if restart and appeal.opened_at <= until:
        until = max(until, now() + _RESTART_GRACE)
    return AppealWorkflowInput(
        appeal_id=appeal.id,
        decision_id=decision.id,
        report_id=report.id,
        review_id=report.review_id,
        appellant=appeal.appellant,
        first_moderator_id=decision.moderator_id,
        appeal_until=until,
        sla_deadline=appeal.sla_deadline,
        delivery=delivery_policy(settings),
    )


def business_may_appeal(report: Report) -> bool:
    """A rejection of the business's own report (after a contact) or flag; a notice's report is
    not the business's to appeal."""
    return report.status is ReportStatus.REJECTED and report.source in (
        ReportSource.CONTACT,
        ReportSource.FLAG,
    )


def _removal(statement: Statement, request: AppealRequest) -> bool:
    """The statement is of a removal by a moderator's decision (one after an appeal is final)."""
    return (
        statement.restriction is Restriction.REMOVED
        and statement.appeal_id is None
        and request.report is not None
        and request.report.status is ReportStatus.UPHELD
        and request.report.decision_id == statement.decision_id
    )


async def _decided(conn: Connection, decision_id: str) -> tuple[DecisionRecord, Report]:
    """A decision applied to its report (a draft that never was is no decision)."""
    decision = await reports.get_decision(conn, decision_id)
    report = await reports.get_report(conn, decision.report_id) if decision else None
    if decision is None or report is None or report.decision_id != decision.id:
        raise Refused(Refusal.DECISION_NOT_FOUND)
    return decision, report
