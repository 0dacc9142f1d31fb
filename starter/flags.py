"""Flags (DESIGN rule 8): a business flags one of its reviews for a reason; the reviewer may edit
or withdraw it through a one-time link; the business escalates or drops it.

As everywhere in the service: ownership is checked against the store, free text is stored
first (the workflow gets ids and enums), and the workflow has the last word on what is allowed
now. A refusal raises ``Refused`` and leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from domain import flag_workflow_id
from domain.enums import (
    FlagAction,
    FlagReason,
    FlagStatus,
    GuardedAction,
    ReviewerAction,
    StandingSubject,
    Visibility,
)
from domain.flag_messages import BusinessActInput, FlagWorkflowInput, ReviewerActInput
from domain.ladder import REFUSED_WITH
from domain.refusals import Refusal, Refused
from settings import Settings
from starter.caps import daily_cap_refused
from starter.flag_inputs import FlagBody, ReviewEditBody
from starter.temporal_calls import WorkflowGone, send_update, unavailable
from starter.unavailable import NotSent, Unavailable, deadline
from starter.workflow_inputs import delivery_policy, report_sla
from store import (
    Store,
    accounts,
    caps,
    flags,
    history,
    moderation,
    outbox,
    reports,
    reviews,
    standing,
)
from store.accounts import hash_secret
from store.connection import Connection
from store.errors import Conflict
from store.records import DecisionRecord, Event, Flag, Report, Review, ReviewEdit, now
from workflows.flag import FlagWorkflow

if TYPE_CHECKING:
    from starter.service import Notification

log = logging.getLogger("reviewdesk.service")


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


@dataclass
class FlagView:
    """A flag as its business sees it: the review, the report once escalated, every step."""

    flag: Flag
    review: Review
    report: Report | None = None
    decision: DecisionRecord | None = None
    history: list[Event] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)


@dataclass
class FlagRequestView:
    """What the reviewer's link shows: never the business's address, never a reviewer's."""

    flag: Flag
    review: Review
    business_name: str

    @property
    def open(self) -> bool:
        """Whether the reviewer may still edit or withdraw."""
        deadline_ = self.flag.reviewer_deadline
        return (
            self.flag.status is FlagStatus.AWAITING_REVIEWER
            and self.flag.reviewer_action is None
            and deadline_ is not None
            and now() < deadline_
            # Removed meanwhile (a moderator upheld another report): nothing left to edit.
            and self.review.visibility is not Visibility.REMOVED
        )


class Flags:
    def __init__(self, client: Client, db: Store, settings: Settings) -> None:
        self.client = client
        self.db = db
        self.settings = settings

    # --- business --------------------------------------------------------------------------

    async def flag(
        self,
        business_id: str,
        review_id: str,
        body: FlagBody,
        *,
        idempotency_key: str | None = None,
        straight_to_moderation: bool = False,
    ) -> FlagView:
        """Answers once the flag's first step is recorded: the reviewer emailed, or (harmful or
        illegal, or ``straight_to_moderation``: spam marked on the response desk) the report
        opened for the moderators."""
        async with self.db.read() as conn:
            review = await reviews.get_review(conn, review_id)
            prior = (
                await flags.flag_for_key(conn, business_id, idempotency_key)
                if idempotency_key
                else None
            )
            # Another business's review is answered exactly like one that does not exist.
            if review is None or review.business_id != business_id:
                raise Refused(Refusal.REVIEW_NOT_FOUND)
            if prior is None:
                # Its own flag for the reason whose workflow has not recorded a first step:
                # a retry after a 503 (its start may never have happened), not a second flag.
                prior = await _unstarted(conn, review.id, body.reason)
            if prior is None:
                refused = await _refusal(conn, self.settings, review, body, now())
                if refused is not None:
                    raise refused
        if prior is not None:
            return await self._open(prior)
        flag = Flag(
            id=_new_id("fl"),
            review_id=review.id,
            business_id=business_id,
            reason=body.reason,
            sub_reason=body.sub_reason,
            explanation=body.explanation,
            # Harmful or illegal content goes to the moderators at once: escalated from the
            # start, its report opened by the workflow's first step. So does spam marked on the
            # response desk (DESIGN rule 21): the reviewer is not asked.
            status=FlagStatus.AWAITING_REVIEWER
            if body.reason.reviewer_first and not straight_to_moderation
            else FlagStatus.ESCALATED,
            opened_at=now(),
        )
        try:
            async with self.db.tx() as conn:
                # Checked again under the write lock, which every new flag takes: two flags at
                # once, one stands; two cannot both take the day's last place.
                refused = await _business_refused(conn, self.settings, business_id, flag.opened_at)
                if refused is not None:
                    raise refused
                if await _flagged(conn, business_id, review.id, body.reason):
                    raise Refused(Refusal.ALREADY_FLAGGED)
                await flags.add_flag(conn, flag, idempotency_key=idempotency_key)
        except Conflict:
            async with self.db.read() as conn:
                prior = (
                    await flags.flag_for_key(conn, business_id, idempotency_key)
                    if idempotency_key
                    else None
                )
            if prior is None:
                raise Refused(Refusal.ALREADY_FLAGGED) from None
            return await self._open(prior)  # the same key twice at once
        try:
            return await self._open(flag)
        except NotSent:
            # Nothing of the start happened: no trace of a flag that would block its reason for
            # ever (as a notice that could not start goes).
            async with self.db.tx() as conn:
                await flags.drop_flag(conn, flag.id)
            raise

    async def _open(self, flag: Flag) -> FlagView:
        """Starts the flag's workflow (a retry finds it) and waits for its first step.

        Until its first step is recorded, a run that has ended under its id was lost (a
        workflow ends only after recording its steps), so it is replaced; its steps are
        idempotent, so a second run finds whatever the first recorded."""
        within = self.settings.temporal_call_timeout
        try:
            handle = await self._start(flag, replace_ended=not first_step_done(flag))
        except WorkflowAlreadyStartedError:
            return await self.flag_view(flag.id)  # it ran and ended: the store has its steps
        # Escalated so fast that the workflow may end before the update reaches it.
        with contextlib.suppress(WorkflowGone):
            await send_update(handle, FlagWorkflow.opened, within=within)
        return await self.flag_view(flag.id)

    async def escalate(
        self, business_id: str, flag_id: str, *, idempotency_key: str | None = None
    ) -> FlagView:
        """To a moderator, once the reviewer edited the review or their time passed."""
        return await self._business_act(business_id, flag_id, FlagAction.ESCALATE, idempotency_key)

    async def drop(
        self, business_id: str, flag_id: str, *, idempotency_key: str | None = None
    ) -> FlagView:
        return await self._business_act(business_id, flag_id, FlagAction.DROP, idempotency_key)

    async def _business_act(
        self,
        business_id: str,
        flag_id: str,
        action: FlagAction,
        key: str | None,
        *,
        restarted: bool = False,
    ) -> FlagView:
        flag = (await self.flag_of(business_id, flag_id)).flag
        done = FlagStatus.ESCALATED if action is FlagAction.ESCALATE else FlagStatus.DROPPED
        # With a key, the update is named after the flag and the action: a retry gets the first
        # try's outcome, never "flag closed". Without one, a second try is refused.
        update_id = f"{action.value}-{flag.id}" if key else None
        if not flag.status.is_open:
            # The business's own escalation or drop; never one the flag was started with.
            first_step = not flag.reason.reviewer_first or flags.straight_to_moderation(flag)
            if key and flag.status is done and not first_step:
                return await self.flag_view(flag.id)
            raise Refused(Refusal.FLAG_CLOSED)
        handle = self.client.get_workflow_handle(flag_workflow_id(flag.id))
        try:
            await send_update(
                handle,
                FlagWorkflow.business_acted,
                BusinessActInput(flag_id=flag.id, action=action),
                id=update_id,
                within=self.settings.temporal_call_timeout,
            )
        except WorkflowGone:
            ended = await self.flag_view(flag.id)
            if ended.flag.status.is_open and not restarted:
                # The store has it open, yet no workflow runs it: lost (terminated, or never
                # started). A workflow ends only after its last step is recorded, so this is
                # no flag that has just ended: start it again, and send the action to it.
                await self._restart_lost(ended.flag)
                return await self._business_act(business_id, flag_id, action, key, restarted=True)
            if key and ended.flag.status is done:
                return ended
            raise Refused(Refusal.FLAG_CLOSED) from None
        return await self.flag_view(flag.id)

    async def _restart_lost(self, flag: Flag) -> None:
        """Starts a lost flag's workflow again from the store; 503 if it cannot be resumed."""
        if not resumable(flag):
            # Its run would ask the reviewer again; `reviewdesk reconcile --apply` closes it.
            log.warning("flag workflow lost and not resumable; run `reviewdesk reconcile`")
            raise Unavailable("temporal: flag workflow lost")
        # Started again meanwhile (another request, or reconcile): that run is used. Its first
        # step recorded, the reviewer's turn is over on its clock too if it was in the store, so
        # the business's action is not refused as "the reviewer still has time".
        handle = await self._start(flag, replace_ended=True)
        with contextlib.suppress(WorkflowGone):
            await send_update(
                handle, FlagWorkflow.opened, within=self.settings.temporal_call_timeout
            )

    async def _start(self, flag: Flag, *, replace_ended: bool) -> WorkflowHandle[Any, Any]:
        within = self.settings.temporal_call_timeout
        try:
            async with deadline(within):
                return await self.client.start_workflow(
                    FlagWorkflow.run,
                    flag_input(self.settings, flag),
                    id=flag_workflow_id(flag.id),
                    task_queue=self.settings.task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE
                    if replace_ended
                    else WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    rpc_timeout=within,
                )
        except RPCError as err:
            raise unavailable(err) from None

    async def flags_of(self, business_id: str, *, limit: int = 50, offset: int = 0) -> list[Flag]:
        async with self.db.read() as conn:
            return await flags.flags_of_business(conn, business_id, limit=limit, offset=offset)

    async def flag_of(self, business_id: str, flag_id: str) -> FlagView:
        """Another business's flag is answered exactly like one that does not exist."""
        view = await self.flag_view(flag_id)
        if view.flag.business_id != business_id:
            raise Refused(Refusal.FLAG_NOT_FOUND)
        return view

    async def flag_view(self, flag_id: str) -> FlagView:
        from starter.service import Notification

        async with self.db.read() as conn:
            flag = await flags.get_flag(conn, flag_id)
            if flag is None:
                raise Refused(Refusal.FLAG_NOT_FOUND)
            review = await reviews.get_review(conn, flag.review_id)
            report = await reports.get_report(conn, flag.report_id) if flag.report_id else None
            decision = (
                await reports.get_decision(conn, report.decision_id)
                if report and report.decision_id
                else None
            )
            subjects = [flag.id, flag.report_id or ""]
            events = await history.history_of(conn, subjects)
            messages = await outbox.messages_about(conn, subjects)
        assert review is not None
        return FlagView(
            flag=flag,
            review=review,
            report=report,
            decision=decision,
            history=events,
            notifications=[Notification.of(m) for m in messages],
        )

    # --- reviewer --------------------------------------------------------------------------

    async def flag_request(self, token: str) -> FlagRequestView:
        """What the flag's link shows. Reading never uses the link up: mail scanners open links."""
        async with self.db.read() as conn:
            flag = await flags.flag_for_token_hash(conn, hash_secret(token))
            review = await reviews.get_review(conn, flag.review_id) if flag else None
            business = await accounts.get_business(conn, flag.business_id) if flag else None
        if flag is None or review is None or business is None:
            raise Refused(Refusal.LINK_NOT_FOUND)
        return FlagRequestView(flag=flag, review=review, business_name=business.name)

    async def act(
        self, token: str, action: ReviewerAction, body: ReviewEditBody | None = None
    ) -> FlagRequestView:
        """The reviewer edits or withdraws; answers once the workflow has applied it."""
        view = await self.flag_request(token)
        if not view.open:
            raise Refused(Refusal.WINDOW_CLOSED)
        if action is ReviewerAction.EDIT and body is None:
            body = ReviewEditBody.model_validate({})  # refused as an empty edit is
        edit = ReviewEdit(
            id=_new_id("re"),
            flag_id=view.flag.id,
            review_id=view.review.id,
            action=action,
            title=body.title if body and action is ReviewerAction.EDIT else None,
            text=body.text if body and action is ReviewerAction.EDIT else None,
            submitted_at=now(),
        )
        # Stored first: the update carries its id, never the reviewer's words.
        async with self.db.tx() as conn:
            await flags.add_edit(conn, edit)
        try:
            await send_update(
                self.client.get_workflow_handle(flag_workflow_id(view.flag.id)),
                FlagWorkflow.reviewer_acted,
                ReviewerActInput(flag_id=view.flag.id, edit_id=edit.id, action=action),
                id=f"edit-{edit.id}",
                within=self.settings.temporal_call_timeout,
            )
        except WorkflowGone:
            await self._drop_edit(edit.id)
            raise Refused(Refusal.WINDOW_CLOSED) from None
        except (Refused, WorkflowUpdateFailedError, NotSent):
            # Never applied. Any other 503 keeps the edit: its update may still be applied.
            await self._drop_edit(edit.id)
            raise
        return await self.flag_request(token)

    async def _drop_edit(self, edit_id: str) -> None:
        async with self.db.tx() as conn:
            await flags.drop_edit(conn, edit_id)


def flag_input(settings: Settings, flag: Flag) -> FlagWorkflowInput:
    """The flag's workflow input, from its row: the first start's, or a lost one's again.

    A run started again finds what the first one recorded (the reviewer's link and deadline
    are kept); one awaiting the business keeps the deadline the business was told, so it
    lapses then (at once, if it has passed)."""
    business_window = settings.flag_business_window
    if flag.status is FlagStatus.AWAITING_BUSINESS and flag.business_deadline is not None:
        business_window = max(flag.business_deadline - now(), timedelta(0))
    return FlagWorkflowInput(
        flag_id=flag.id,
        review_id=flag.review_id,
        business_id=flag.business_id,
        reason=flag.reason,
        reviewer_step_window=settings.reviewer_step_window,
        business_window=business_window,
        moderation_sla=report_sla(settings, flag.reason),
        delivery=delivery_policy(settings),
        straight_to_moderation=flags.straight_to_moderation(flag),
    )


def resumable(flag: Flag) -> bool:
    """Whether a run started again from the flag's row carries on where the lost one stopped.

    Not so for a flag awaiting the business after the reviewer's edit: a new run would wait for
    the reviewer again, then tell the business the reviewer was silent."""
    if flag.status is FlagStatus.AWAITING_BUSINESS:
        return flag.reviewer_action is None
    return flag.status is FlagStatus.AWAITING_REVIEWER or (
        flag.status is FlagStatus.ESCALATED and flag.report_id is None
    )


async def _unstarted(conn: Connection, review_id: str, reason: FlagReason) -> Flag | None:
    """The review's flag for the reason whose first step is not recorded yet."""
    flag = await flags.in_progress(conn, review_id, reason)
    if flag is None:
        return None
    return None if first_step_done(flag) else flag


def first_step_done(flag: Flag) -> bool:
    """The reviewer asked (their deadline set), or a report opened (a harmful flag's, or one
    sent straight to moderation); until then its workflow may never have started."""
    if flag.status is FlagStatus.ESCALATED:
        return flag.report_id is not None
    return flag.reviewer_deadline is not None or flag.status is not FlagStatus.AWAITING_REVIEWER


async def _in_progress(conn: Connection, review_id: str, reason: FlagReason) -> bool:
    """A flag for the reason still open (or on its way to the moderators), or a report for it
    still pending (a notice's, say)."""
    return (
        await flags.in_progress(conn, review_id, reason) is not None
        or await moderation.pending_report(conn, review_id, reason) is not None
    )


async def _flagged(conn: Connection, business_id: str, review_id: str, reason: FlagReason) -> bool:
    """At most one flag per review per reason (DESIGN rule 12), whatever became of the first
    (dropped, lapsed, escalated); nor one while a report for the reason is pending."""
    return await _in_progress(conn, review_id, reason) or await caps.flagged_before(
        conn, business_id, review_id, reason
    )


async def _refusal(
    conn: Connection, settings: Settings, review: Review, body: FlagBody, at: datetime
) -> Refused | None:
    """DESIGN rules 8 and 12, each refusal with its own reason: what the caller sent first, then
    what holds for every review of the business (as for a contact), then this review's."""
    if body.reason is FlagReason.NOT_GENUINE:
        return Refused(Refusal.CONTACT_FIRST)
    if (body.sub_reason is None) == (body.reason is FlagReason.HARMFUL_OR_ILLEGAL):
        return Refused(Refusal.SUB_REASON_MISMATCH)
    refused = await _business_refused(conn, settings, review.business_id, at)
    if refused is not None:
        return refused
    if review.visibility is Visibility.REMOVED:
        return Refused(Refusal.REVIEW_NOT_VISIBLE)
    if await moderation.cleared(conn, review.id, body.reason):
        return Refused(Refusal.ALREADY_CLEARED)
    if await _flagged(conn, review.business_id, review.id, body.reason):
        return Refused(Refusal.ALREADY_FLAGGED)
    return None


async def _business_refused(
    conn: Connection, settings: Settings, business_id: str, at: datetime
) -> Refused | None:
    """DESIGN rule 12: a business under restriction, or with the day's flags made, flags none."""
    action = GuardedAction.FLAG
    if await standing.blocking(conn, StandingSubject.BUSINESS, business_id, action):
        return Refused(REFUSED_WITH[action])
    cap = settings.daily_flag_cap
    frees_at = await caps.flags_full_until(conn, business_id, at=at, cap=cap)
    return daily_cap_refused("flags", cap, frees_at, at) if frees_at else None
