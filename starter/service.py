"""The operations businesses, reviewers and moderators perform, for the CLI and the web app alike.

Each one checks ownership against the store, keeps free text in the store (workflows see only
ids and enums), then asks the workflow, which has the last word on what is allowed now. A refusal
raises ``Refused`` and leaves nothing behind. No answer from Temporal in time raises
``Unavailable``: what was asked may still happen, so its draft stays, seen by no one, for a retry
with the same idempotency key to find.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain import contact_workflow_id, report_workflow_id_of
from domain.enums import Answer, ContactStatus, FlagReason, Priority, ReportSource, ReportStatus
from domain.messages import (
    AnswerInput,
    CloseRequest,
    ContactWorkflowInput,
    DecisionInput,
    ReportInput,
)
from domain.refusals import Refusal, Refused
from settings import Settings
from starter.appeals import Appeals
from starter.caps import cooldown_refused, daily_cap_refused
from starter.desk import Desk
from starter.flags import Flags
from starter.inputs import ContactRequestBody, DecisionBody, ReplyBody, ReportBody
from starter.insights import Insights
from starter.intake import Intake
from starter.macros import Macros
from starter.notices import Notices
from starter.policies import Policies
from starter.replies import Replies
from starter.spam import SpamMarks
from starter.standing import Standing
from starter.statements import Statements
from starter.team import Team
from starter.temporal_calls import WorkflowGone as _WorkflowGone
from starter.temporal_calls import refusals as _refusals
from starter.temporal_calls import send_update
from starter.temporal_calls import unavailable as _unavailable
from starter.transparency import Transparency
from starter.unavailable import NotSent, deadline
from starter.webhooks import WebhookEndpoints
from starter.workflow_inputs import contact_input
from store import Store, accounts, caps, contacts, history, outbox, reports, reviews, statements
from store.accounts import hash_secret
from store.errors import Conflict
from store.records import (
    AnswerRecord,
    Business,
    Contact,
    DecisionRecord,
    Event,
    Flag,
    OutboxMessage,
    Report,
    Review,
    now,
)
from store.reports import ReportNotice
from workflows.contact import ReviewerContactWorkflow
from workflows.report import ReviewReportWorkflow

log = logging.getLogger("reviewdesk.service")


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


class Notification(BaseModel):
    """A message as its owner may see it: never the recipient's address."""

    key: str
    event_type: str
    recipient: str
    channel: str = "email"
    """``email`` or ``webhook``."""
    status: str
    attempts: int
    created_at: Any
    sent_at: Any = None
    last_error: str | None = None
    """Why the last webhook attempt failed: a status code or a fixed phrase, never what the
    endpoint answered. Never set for email: a mail server's error may quote the address."""

    @classmethod
    def of(cls, message: OutboxMessage) -> Notification:
        return cls(
            key=message.key,
            event_type=message.event_type,
            recipient=message.recipient_kind,
            channel=message.channel,
            status=message.status,
            attempts=message.attempts,
            created_at=message.created_at,
            sent_at=message.sent_at,
            last_error=message.last_error if message.channel == "webhook" else None,
        )


class ContactView(BaseModel):
    contact: Contact
    answer: AnswerRecord | None = None
    report: Report | None = None
    history: list[Event] = []
    notifications: list[Notification] = []


class ReportView(BaseModel):
    report: Report
    review: Review
    # The contact it followed; None for a report from a flag or a notice.
    contact: Contact | None = None
    decision: DecisionRecord | None = None
    history: list[Event] = []
    notifications: list[Notification] = []
    # The flag it came from, or the notices it gathered (never who sent them).
    flag: Flag | None = None
    notices: list[ReportNotice] = []


class ReplyRequestView(BaseModel):
    """What the reviewer's reply page shows."""

    contact: Contact
    review: Review
    business_name: str


class Reviewdesk:
    def __init__(self, client: Client, db: Store, settings: Settings) -> None:
        self.client = client
        self.db = db
        self.settings = settings
        # Dropped for good the first time the server answers that it has no update-with-start.
        self._update_with_start = True
        # Concerns of their own; here so that the CLI and the routes reach them through the
        # service.
        self.webhooks = WebhookEndpoints(client, db, settings)
        self.flags = Flags(client, db, settings)
        self.notices = Notices(client, db, settings)
        self.appeals = Appeals(client, db, settings)
        self.statements = Statements(client, db, settings)
        self.standing = Standing(client, db, settings)
        self.transparency = Transparency(db, settings)
        self.intake = Intake(client, db, settings)
        self.desk = Desk(client, db, settings)
        self.team = Team(client, db, settings)
        self.policies = Policies(db, settings)
        self.replies = Replies(client, db, settings)
        self.spam = SpamMarks(client, db, settings)
        self.macros = Macros(client, db, settings)
        self.insights = Insights(db, settings)

    # --- business ------------------------------------------------------------------------------

    async def request_contact(
        self,
        business_id: str,
        review_id: str,
        body: ContactRequestBody,
        *,
        idempotency_key: str | None = None,
    ) -> ContactView:
        """Answers once the workflow has opened the contact, or with the reason it refused."""
        async with self.db.read() as conn:
            review = await reviews.get_review(conn, review_id)
            prior = (
                await contacts.request_for_idempotency_key(conn, business_id, idempotency_key)
                if idempotency_key
                else None
            )
        # Checked before the workflow id is touched: a running contact on another business's
        # review must not show through as a 409.
        if review is None or review.business_id != business_id:
            raise Refused(Refusal.REVIEW_NOT_FOUND)
        if prior is not None:
            return await self._saying_when(
                prior.id, self._replay_request(prior.id, prior.review_id, prior.refusal)
            )

        contact_id = new_id("ct")
        try:
            async with self.db.tx() as conn:
                await contacts.add_request(
                    conn,
                    id=contact_id,
                    review_id=review_id,
                    business_id=business_id,
                    message=body.message,
                    requested=body.requested,
                    created_at=now(),
                    idempotency_key=idempotency_key,
                )
        except Conflict:
            # The same Idempotency-Key arrived twice at once; the first one stands.
            async with self.db.read() as conn:
                prior = await contacts.request_for_idempotency_key(
                    conn, business_id, idempotency_key or ""
                )
            if prior is None:
                raise
            return await self._saying_when(
                prior.id, self._replay_request(prior.id, prior.review_id, prior.refusal)
            )
        return await self._saying_when(contact_id, self._open(contact_id, review_id, business_id))

    async def _saying_when(self, contact_id: str, opening: Awaitable[ContactView]) -> ContactView:
        """The opening, or its refusal; one that lasts a while (the day's cap, the review's
        cooldown) says until when, a retry with the same key as the first try."""
        try:
            return await opening
        except Refused as refused:
            if refused.reason not in (Refusal.DAILY_CAP, Refusal.CONTACT_COOLDOWN):
                raise
            async with self.db.read() as conn:
                request = await contacts.get_request(conn, contact_id)
                events = await history.history_of(conn, [contact_id])
                assert request is not None
                if refused.reason is Refusal.CONTACT_COOLDOWN:
                    cooldown = self.settings.contact_cooldown
                    until = await caps.cooldown_ends(conn, request.review_id, cooldown)
                    raise cooldown_refused(until) from None
                # Judged at the workflow's time, which a test server may have moved past this
                # clock; counted again now, so a retry is told the time left.
                at = max([now(), *(e.at for e in events if e.type == "refused")])
                cap = self.settings.daily_contact_cap
                frees_at = await caps.contacts_full_until(conn, request.business_id, at=at, cap=cap)
            raise daily_cap_refused("contacts", cap, frees_at, at) from None

    async def _replay_request(
        self, contact_id: str, review_id: str, refusal: str | None
    ) -> ContactView:
        if refusal is not None:
            raise Refused(Refusal(refusal))
        async with self.db.read() as conn:
            contact = await contacts.get_contact(conn, contact_id)
            request = await contacts.get_request(conn, contact_id)
        if contact is not None:
            return await self.contact_view(contact_id)
        assert request is not None
        # The first attempt stopped before the workflow answered: drive it again, same id.
        return await self._open(contact_id, review_id, request.business_id)

    async def _open(self, contact_id: str, review_id: str, business_id: str) -> ContactView:
        workflow_id = contact_workflow_id(review_id)
        inp = contact_input(
            self.settings, contact_id=contact_id, review_id=review_id, business_id=business_id
        )
        try:
            async with self._deadline():
                await self._start_and_wait_opened(workflow_id, inp)
        except (WorkflowAlreadyStartedError, RPCError) as err:
            if isinstance(err, RPCError) and err.status != RPCStatusCode.ALREADY_EXISTS:
                raise _unavailable(err) from None
            handle = self.client.get_workflow_handle_for(ReviewerContactWorkflow.run, workflow_id)
            async with self._deadline():
                running = await handle.query(
                    ReviewerContactWorkflow.state, rpc_timeout=self._rpc_timeout
                )
            if running.contact_id != contact_id:
                async with self.db.tx() as conn:
                    await contacts.refuse_request(conn, contact_id, Refusal.OPEN_CONTACT.value)
                raise Refused(Refusal.OPEN_CONTACT) from None
            # Our own earlier attempt started it: wait for it as any caller would.
            await self._wait_opened(handle)
        return await self.contact_view(contact_id)

    async def _start_and_wait_opened(self, workflow_id: str, inp: ContactWorkflowInput) -> None:
        """Starts the contact and waits for `opened`: in one call where the server can.

        Update-with-start hands the update to the workflow's first task, so an opening costs one
        round trip and one workflow task. The time-skipping test server lacks it; there the start
        and the update go as two calls.
        """
        # A review may be contacted again once its last contact has closed, never while one is
        # running.
        reuse, conflict = WorkflowIDReusePolicy.ALLOW_DUPLICATE, WorkflowIDConflictPolicy.FAIL
        queue = self.settings.task_queue
        if self._update_with_start:
            start = WithStartWorkflowOperation(
                ReviewerContactWorkflow.run,
                inp,
                id=workflow_id,
                task_queue=queue,
                id_reuse_policy=reuse,
                id_conflict_policy=conflict,
            )
            try:
                with _refusals():
                    await self.client.execute_update_with_start_workflow(
                        ReviewerContactWorkflow.opened,
                        start_workflow_operation=start,
                        rpc_timeout=self._rpc_timeout,
                    )
                return
            except RPCError as err:
                if err.status != RPCStatusCode.UNIMPLEMENTED:
                    raise
                self._update_with_start = False
        handle = await self.client.start_workflow(
            ReviewerContactWorkflow.run,
            inp,
            id=workflow_id,
            task_queue=queue,
            id_reuse_policy=reuse,
            id_conflict_policy=conflict,
            rpc_timeout=self._rpc_timeout,
        )
        await self._wait_opened(handle)

    async def _wait_opened(self, handle: WorkflowHandle[Any, Any]) -> None:
        try:
            await self._update(handle, ReviewerContactWorkflow.opened)
        except _WorkflowGone:
            # Refused so fast that the workflow ended before the update reached it.
            async with self._deadline():
                result = await handle.result(rpc_timeout=self._rpc_timeout)
            if result.refusal is not None:
                raise Refused(result.refusal) from None

    async def contacts_of(
        self, business_id: str, *, limit: int = 50, offset: int = 0
    ) -> list[Contact]:
        async with self.db.read() as conn:
            return await contacts.contacts_of_business(
                conn, business_id, limit=limit, offset=offset
            )

    async def contact_of(self, business_id: str, contact_id: str) -> ContactView:
        view = await self.contact_view(contact_id)
        if view.contact.business_id != business_id:
            raise Refused(Refusal.CONTACT_NOT_FOUND)
        return view

    async def report(
        self,
        business_id: str,
        contact_id: str,
        body: ReportBody,
        *,
        idempotency_key: str | None = None,
    ) -> ReportView:
        contact = (await self.contact_of(business_id, contact_id)).contact
        update_id = await self._prior_action(contact.id, "report", idempotency_key)
        if update_id and contact.status is ContactStatus.REPORTED and contact.report_id:
            return await self.report_view(contact.report_id)  # its first try got through
        _refuse_after_end(contact)
        update_id = update_id or await self._new_action(contact.id, "report", idempotency_key)
        try:
            state = await self._update(
                self._contact_handle(contact),
                ReviewerContactWorkflow.report,
                ReportInput(contact_id=contact.id, grounds=body.grounds),
                id=update_id,
            )
        except _WorkflowGone:
            ended = (await self.contact_view(contact_id)).contact
            if update_id and ended.status is ContactStatus.REPORTED and ended.report_id:
                return await self.report_view(ended.report_id)
            _refuse_after_end(ended, ended=True)
            raise
        assert state.report_id is not None
        return await self.report_view(state.report_id)

    async def close(
        self, business_id: str, contact_id: str, *, idempotency_key: str | None = None
    ) -> ContactView:
        contact = (await self.contact_of(business_id, contact_id)).contact
        update_id = await self._prior_action(contact.id, "close", idempotency_key)
        if update_id and contact.status is ContactStatus.CLOSED:
            return await self.contact_view(contact_id)  # its first try got through
        _refuse_after_end(contact)
        update_id = update_id or await self._new_action(contact.id, "close", idempotency_key)
        try:
            await self._update(
                self._contact_handle(contact),
                ReviewerContactWorkflow.close,
                CloseRequest(contact_id=contact.id),
                id=update_id,
            )
        except _WorkflowGone:
            ended = await self.contact_view(contact_id)
            if update_id and ended.contact.status is ContactStatus.CLOSED:
                return ended
            _refuse_after_end(ended.contact, ended=True)
            raise
        return await self.contact_view(contact_id)

    async def _prior_action(self, contact_id: str, action: str, key: str | None) -> str | None:
        """The update id a first try of this report or close with this key sent, if any."""
        if key is None:
            return None
        async with self.db.read() as conn:
            found = await contacts.action_for_key(conn, contact_id, action, key)
        return f"{action}-{found}" if found else None

    async def _new_action(self, contact_id: str, action: str, key: str | None) -> str | None:
        """Records a report or close sent with a key; its id names the update a retry resends."""
        if key is None:
            return None
        action_id = new_id("ca")
        try:
            async with self.db.tx() as conn:
                await contacts.add_action(
                    conn,
                    id=action_id,
                    contact_id=contact_id,
                    action=action,
                    idempotency_key=key,
                    at=now(),
                )
        except Conflict:
            # The same key twice at once: both send the first one's update.
            return await self._prior_action(contact_id, action, key)
        return f"{action}-{action_id}"

    # --- reviewer ------------------------------------------------------------------------------

    async def reply_request(self, token: str) -> ReplyRequestView:
        """What the reply link shows. Reading never uses the link up: mail scanners open links."""
        async with self.db.read() as conn:
            contact = await contacts.contact_for_token_hash(conn, hash_secret(token))
            review = await reviews.get_review(conn, contact.review_id) if contact else None
            business = await accounts.get_business(conn, contact.business_id) if contact else None
        if contact is None or review is None or business is None:
            raise Refused(Refusal.LINK_NOT_FOUND)
        return ReplyRequestView(contact=contact, review=review, business_name=business.name)

    async def answer(
        self,
        token: str,
        answer: Answer,
        body: ReplyBody | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Contact:
        """Answers once the workflow has recorded the answer, or with the reason it refused.

        With an idempotency key, a retry finds the answer its first try recorded and sends the
        same update again: it gets its own success (never "already answered"), and the first
        try's answer is the one that counts.
        """
        contact = (await self.reply_request(token)).contact
        draft = await self._answer_for_key(contact.id, idempotency_key)
        if draft is None:
            _refuse_answer(contact)
            draft = await self._draft_answer(contact, answer, body, idempotency_key)
        elif contact.answer_id == draft.id:
            return contact
        # A first try's draft is not checked against the store: only the workflow knows whether
        # its update was accepted, and then the same update id answers with that outcome.
        try:
            await self._update(
                self._contact_handle(contact),
                ReviewerContactWorkflow.answer,
                AnswerInput(contact_id=contact.id, answer_id=draft.id, answer=draft.answer),
                id=f"answer-{draft.id}",
            )
        except _WorkflowGone:
            ended = (await self.contact_view(contact.id)).contact
            if ended.answer_id == draft.id:
                return ended
            await self._drop_answer(draft.id)
            _refuse_answer(ended)
            raise Refused(Refusal.WINDOW_CLOSED) from None
        except (Refused, WorkflowUpdateFailedError, NotSent):
            # Never applied. Any other 503 (Unavailable) keeps the draft: its update may still
            # be applied once the worker is back, and a retry must find it.
            await self._drop_answer(draft.id)
            raise
        return (await self.contact_view(contact.id)).contact

    async def answered_with(self, contact: Contact, idempotency_key: str | None) -> bool:
        """Whether the contact's answer is the one a request with this key sent."""
        if contact.answer_id is None:
            return False
        draft = await self._answer_for_key(contact.id, idempotency_key)
        return draft is not None and draft.id == contact.answer_id

    async def _answer_for_key(self, contact_id: str, key: str | None) -> AnswerRecord | None:
        if key is None:
            return None
        async with self.db.read() as conn:
            return await contacts.answer_for_key(conn, contact_id, key)

    async def _draft_answer(
        self, contact: Contact, answer: Answer, body: ReplyBody | None, key: str | None
    ) -> AnswerRecord:
        """The answer as submitted, kept unlinked (seen by no one) until the workflow accepts it."""
        # A decline shares nothing; a reply with nothing in it is refused as ``ReplyBody`` is.
        shared = (body or ReplyBody.model_validate({})) if answer is Answer.REPLY else None
        draft = AnswerRecord(
            id=new_id("an"),
            contact_id=contact.id,
            answer=answer,
            order_reference=shared.order_reference if shared else None,
            contact_details=shared.contact_details if shared else None,
            message=shared.message if shared else None,
            submitted_at=now(),
        )
        try:
            async with self.db.tx() as conn:
                await contacts.add_answer(conn, draft, idempotency_key=key)
        except Conflict:
            # The same key twice at once: the first one's draft stands, and both send its update.
            first = await self._answer_for_key(contact.id, key)
            if first is None:
                raise
            return first
        return draft

    async def _drop_answer(self, answer_id: str) -> None:
        async with self.db.tx() as conn:
            await contacts.drop_answer(conn, answer_id)

    # --- moderator -----------------------------------------------------------------------------

    async def reports(
        self,
        status: ReportStatus = ReportStatus.PENDING,
        *,
        reason: FlagReason | None = None,
        priority: Priority | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Report]:
        """The queue: high priority first, then the oldest."""
        async with self.db.read() as conn:
            return await reports.reports_with_status(
                conn, status, reason=reason, priority=priority, limit=limit, offset=offset
            )

    async def decide(
        self,
        moderator_id: str,
        report_id: str,
        body: DecisionBody,
        *,
        idempotency_key: str | None = None,
    ) -> ReportView:
        """Answers once the decision is applied. A retry with the same idempotency key sends the
        first try's decision again and gets its outcome, never "already decided"."""
        async with self.db.read() as conn:
            report = await reports.get_report(conn, report_id)
            draft = (
                await reports.decision_for_key(conn, report_id, moderator_id, idempotency_key)
                if idempotency_key and report
                else None
            )
        if report is None:
            raise Refused(Refusal.REPORT_NOT_FOUND)
        if draft is None:
            if report.status is not ReportStatus.PENDING:
                raise Refused(Refusal.ALREADY_DECIDED)
            draft = await self._draft_decision(report, moderator_id, body, idempotency_key)
        elif report.decision_id == draft.id:
            return await self.report_view(report_id)
        workflow_id = report_workflow_id_of(
            report.id, report.review_id, after_contact=report.source is ReportSource.CONTACT
        )
        handle = self.client.get_workflow_handle_for(ReviewReportWorkflow.run, workflow_id)
        try:
            await self._update(
                handle,
                ReviewReportWorkflow.decide,
                DecisionInput(decision_id=draft.id, decision=draft.decision),
                id=f"decision-{draft.id}",
            )
        except (Refused, _WorkflowGone, WorkflowUpdateFailedError, NotSent) as err:
            # Never applied, unless the report ended with this very decision. Any other 503
            # (Unavailable) keeps the draft: its update may still be applied, and a retry must
            # find it.
            if isinstance(err, _WorkflowGone):
                view = await self.report_view(report_id)
                if view.report.decision_id == draft.id:
                    return view
            async with self.db.tx() as conn:
                await reports.drop_decision(conn, draft.id)
            if isinstance(err, _WorkflowGone):
                if view.report.status is ReportStatus.PENDING:
                    # Its workflow is starting (a report from a flag or a notice is stored a
                    # moment before), or was lost (reconcile re-drives it): try again shortly.
                    raise NotSent("temporal: the report's workflow is not running yet") from None
                raise Refused(Refusal.ALREADY_DECIDED) from None
            raise
        return await self.report_view(report_id)

    async def _draft_decision(
        self, report: Report, moderator_id: str, body: DecisionBody, key: str | None
    ) -> DecisionRecord:
        if body.legal_ground and report.reason is not FlagReason.HARMFUL_OR_ILLEGAL:
            # Only illegal content breaks a law; every other reason is the platform's own rules.
            raise Refused(Refusal.LEGAL_GROUND_NOT_APPLICABLE)
        draft = DecisionRecord(
            id=new_id("dc"),
            report_id=report.id,
            moderator_id=moderator_id,
            decision=body.decision,
            note=body.note,
            submitted_at=now(),
            legal_ground=body.legal_ground,
        )
        try:
            async with self.db.tx() as conn:
                await reports.add_decision(conn, draft, idempotency_key=key)
        except Conflict:
            # The same key twice at once: the first one's draft stands, and both send its update.
            async with self.db.read() as conn:
                first = await reports.decision_for_key(conn, report.id, moderator_id, key or "")
            if first is None:
                raise
            return first
        return draft

    # --- reading -------------------------------------------------------------------------------

    async def contact_view(self, contact_id: str) -> ContactView:
        async with self.db.read() as conn:
            contact = await contacts.get_contact(conn, contact_id)
            if contact is None:
                raise Refused(Refusal.CONTACT_NOT_FOUND)
            answer = (
                await contacts.get_answer(conn, contact.answer_id) if contact.answer_id else None
            )
            report = (
                await reports.get_report(conn, contact.report_id) if contact.report_id else None
            )
            subjects = [contact.id, contact.report_id or ""]
            subjects += await statements.statement_ids_of_report(conn, contact.report_id)
            events = await history.history_of(conn, subjects)
            messages = await outbox.messages_about(conn, subjects)
        return ContactView(
            contact=contact,
            answer=answer,
            report=report,
            history=events,
            notifications=[Notification.of(m) for m in messages],
        )

    async def report_view(self, report_id: str) -> ReportView:
        async with self.db.read() as conn:
            report = await reports.get_report(conn, report_id)
            if report is None:
                raise Refused(Refusal.REPORT_NOT_FOUND)
            review = await reviews.get_review(conn, report.review_id)
            contact = (
                await contacts.get_contact(conn, report.contact_id) if report.contact_id else None
            )
            decision = (
                await reports.get_decision(conn, report.decision_id) if report.decision_id else None
            )
            subjects = [s for s in (report.contact_id, report.id) if s]
            subjects += await statements.statement_ids_of_report(conn, report.id)
            events = await history.history_of(conn, subjects)
            messages = await outbox.messages_about(conn, subjects)
            flags = await reports.flags_by_id(conn, [report.flag_id or ""])
            notices = await reports.notices_of_reports(conn, [report.id])
        assert review is not None
        assert contact is not None or report.contact_id is None
        return ReportView(
            report=report,
            review=review,
            contact=contact,
            decision=decision,
            history=events,
            notifications=[Notification.of(m) for m in messages],
            flag=flags.get(report.flag_id or ""),
            notices=notices.get(report.id, []),
        )

    async def business(self, business_id: str) -> Business | None:
        async with self.db.read() as conn:
            return await accounts.get_business(conn, business_id)

    # --- plumbing ------------------------------------------------------------------------------

    def _contact_handle(self, contact: Contact) -> WorkflowHandle[Any, Any]:
        return self.client.get_workflow_handle(contact_workflow_id(contact.review_id))

    async def _update(
        self, handle: WorkflowHandle[Any, Any], update: Any, *args: Any, id: str | None = None
    ) -> Any:
        return await send_update(
            handle, update, *args, id=id, within=self.settings.temporal_call_timeout
        )

    def _deadline(self) -> AbstractAsyncContextManager[None]:
        return deadline(self.settings.temporal_call_timeout)

    @property
    def _rpc_timeout(self) -> timedelta:
        return self.settings.temporal_call_timeout


def _refuse_answer(contact: Contact) -> None:
    if contact.answer_id is not None:
        raise Refused(Refusal.ALREADY_ANSWERED)
    if contact.status is not ContactStatus.AWAITING_REPLY or now() >= contact.deadline:
        raise Refused(Refusal.WINDOW_CLOSED)


def _refuse_after_end(contact: Contact, *, ended: bool = False) -> None:
    """What the store says once a contact has ended: its workflow can no longer be asked."""
    if contact.status is ContactStatus.REPORTED:
        raise Refused(Refusal.ALREADY_REPORTED)
    if contact.status is ContactStatus.CLOSED:
        over = (
            contact.report_deadline is not None
            and contact.closed_at is not None
            and (contact.closed_at >= contact.report_deadline)
        )
        raise Refused(Refusal.REPORT_WINDOW_OVER if over else Refusal.CONTACT_CLOSED)
    if ended:
        raise Refused(Refusal.CONTACT_CLOSED)
