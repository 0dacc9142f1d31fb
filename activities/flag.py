"""The steps of a flag: ask the reviewer, their withdrawal or edit, escalate, drop.

Each is one transaction, idempotent under retry: writes are keyed on the flag's id (and history
and outbox keys), and a status moves on only from the status the step expects.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import activity

from activities import _moderation, _notify
from activities._steps import ProcessSteps
from delivery import flag_texts
from delivery.links import Purpose
from delivery.texts import Text
from domain.enums import FlagStatus, ReportSource, ReviewerAction, WebhookEvent
from domain.flag_messages import (
    AskedReviewer,
    AskReviewerInput,
    AwaitBusinessInput,
    DropInput,
    Escalated,
    EscalateInput,
    WithdrawInput,
)
from store import accounts, flags, history, moderation, reports, reviews
from store.accounts import hash_secret
from store.connection import Connection
from store.records import Business, Flag, Report, Review, Reviewer


class FlagActivities(ProcessSteps):
    """Each step is named ``flag.<step>``: reports have an ``escalate`` of their own."""

    @activity.defn(name="flag.ask_reviewer")
    async def ask_reviewer(self, inp: AskReviewerInput) -> AskedReviewer:
        """Issues the reviewer's one-time link and emails it, and tells the business."""
        async with self.db.tx() as conn:
            flag, review, business, reviewer = await _parties(conn, inp.flag_id)
            token = self.links.token(Purpose.FLAG, flag.id)
            await flags.ask_reviewer(
                conn, flag.id, token_hash=hash_secret(token), reviewer_deadline=inp.deadline
            )
            # A retry keeps the first deadline: the one the reviewer's email states.
            flag = await _flag(conn, flag.id)
            assert flag.reviewer_deadline is not None
            deadline = flag.reviewer_deadline
            keys = [
                await _notify.email(
                    conn,
                    subject_id=flag.id,
                    event_type="flag.reviewer_asked",
                    recipient_kind="reviewer",
                    recipient_id=reviewer.id,
                    to_address=reviewer.email,
                    text=flag_texts.reviewer_asked(business, reviewer, review, flag, deadline),
                    at=inp.at,
                    link_purpose=Purpose.FLAG.value,
                ),
                *await _tell_business(
                    conn,
                    business,
                    flag,
                    WebhookEvent.FLAG_OPENED,
                    flag_texts.flag_opened(business, review, flag, deadline),
                    inp.at,
                    reviewer_deadline=deadline.isoformat(),
                ),
            ]
            await history.add_event(
                conn,
                subject_id=flag.id,
                type="reviewer_asked",
                at=inp.at,
                detail={"reason": flag.reason.value, "deadline": deadline.isoformat()},
            )
        await _notify.hand_over(keys, inp.delivery, self.hand_over)
        return AskedReviewer(deadline=deadline)

    @activity.defn(name="flag.withdraw")
    async def withdraw(self, inp: WithdrawInput) -> None:
        """The reviewer withdrew the review: removed (kept, never deleted), the flag ends."""
        async with self.db.tx() as conn:
            flag, review, business, _ = await _parties(conn, inp.flag_id)
            await flags.withdraw_review(conn, review.id, inp.at)
            visibility = await moderation.settle_visibility(conn, review.id)
            await flags.end_flag(
                conn,
                flag.id,
                status=FlagStatus.WITHDRAWN,
                at=inp.at,
                reviewer_action=ReviewerAction.WITHDRAW,
            )
            keys = await _tell_business(
                conn,
                business,
                await _flag(conn, flag.id),
                WebhookEvent.FLAG_REVIEWER_WITHDREW,
                flag_texts.reviewer_withdrew(business, review),
                inp.at,
                review_visibility=visibility.value,
            )
            await history.add_event(conn, subject_id=flag.id, type="withdrawn", at=inp.at)
        await _notify.hand_over(keys, inp.delivery, self.hand_over)

    @activity.defn(name="flag.await_business")
    async def await_business(self, inp: AwaitBusinessInput) -> None:
        """The reviewer's turn is over: their edit applied, or their silence; the business's
        turn, told by email and webhook."""
        async with self.db.tx() as conn:
            flag, review, business, _ = await _parties(conn, inp.flag_id)
            if inp.edit_id is not None:
                edit = await flags.get_edit(conn, inp.edit_id)
                if edit is None or edit.flag_id != flag.id:
                    raise RuntimeError(f"edit {inp.edit_id} of flag {flag.id} is not in the store")
                await flags.apply_edit(conn, edit, inp.at)
                review = await _review(conn, review.id)
            action = ReviewerAction.EDIT if inp.edit_id else None
            await flags.await_business(
                conn, flag.id, business_deadline=inp.business_deadline, action=action, at=inp.at
            )
            flag = await _flag(conn, flag.id)
            if action is ReviewerAction.EDIT:
                event = WebhookEvent.FLAG_REVIEWER_EDITED
                text = flag_texts.reviewer_edited(business, review, inp.business_deadline)
            else:
                event = WebhookEvent.FLAG_AWAITING_BUSINESS
                text = flag_texts.reviewer_silent(business, review, inp.business_deadline)
            keys = await _tell_business(
                conn,
                business,
                flag,
                event,
                text,
                inp.at,
                business_deadline=inp.business_deadline.isoformat(),
            )
            await history.add_event(
                conn,
                subject_id=flag.id,
                type="edited" if action else "reviewer_silent",
                at=inp.at,
                detail={"business_deadline": inp.business_deadline.isoformat()},
            )
        await _notify.hand_over(keys, inp.delivery, self.hand_over)

    @activity.defn(name="flag.escalate")
    async def escalate(self, inp: EscalateInput) -> Escalated:
        """Opens the flag's report (or joins one pending for the reason) and starts its
        workflow, which escalates to the moderation team on the reason's SLA."""
        async with self.db.tx() as conn:
            flag, review, business, _ = await _parties(conn, inp.flag_id)
            report = await self._report_of(conn, flag, inp)
            await flags.end_flag(
                conn, flag.id, status=FlagStatus.ESCALATED, at=inp.at, report_id=report.id
            )
            flag = await _flag(conn, flag.id)
            keys = await _tell_business(
                conn,
                business,
                flag,
                WebhookEvent.FLAG_ESCALATED,
                flag_texts.escalated(business, review, flag),
                inp.at,
                report_id=report.id,
                priority=report.priority.value,
            )
            await history.add_event(
                conn,
                subject_id=flag.id,
                type="escalated",
                at=inp.at,
                detail={"report_id": report.id, "priority": report.priority.value},
            )
        # Committed first: the report's first step reads it.
        await _moderation.start_report_workflow(self.client, self.settings, report)
        await _notify.hand_over(keys, inp.delivery, self.hand_over)
        return Escalated(report_id=report.id)

    async def _report_of(self, conn: Connection, flag: Flag, inp: EscalateInput) -> Report:
        if flag.report_id is not None:  # a retry: the first attempt's
            found = await reports.get_report(conn, flag.report_id)
            assert found is not None
            return found
        pending = await moderation.pending_report(conn, flag.review_id, flag.reason)
        if pending is not None and pending.source is not ReportSource.CONTACT:
            # Notices got there first: the report becomes the business's too, so it is told
            # the decision and may appeal it.
            return await moderation.join_flag(conn, pending.id, flag.id)
        return await moderation.add_report(
            conn,
            id=inp.report_id,
            review_id=flag.review_id,
            business_id=flag.business_id,
            reason=flag.reason,
            sub_reason=flag.sub_reason,
            source=ReportSource.FLAG,
            opened_at=inp.at,
            sla_deadline=inp.sla_deadline,
            flag_id=flag.id,
        )

    @activity.defn(name="flag.drop")
    async def drop(self, inp: DropInput) -> None:
        """Dropped by the business, or lapsed when it let its window pass."""
        async with self.db.tx() as conn:
            flag, review, business, _ = await _parties(conn, inp.flag_id)
            await flags.end_flag(conn, flag.id, status=FlagStatus.DROPPED, at=inp.at)
            keys = await _tell_business(
                conn,
                business,
                await _flag(conn, flag.id),
                WebhookEvent.FLAG_DROPPED,
                flag_texts.dropped(business, review, lapsed=inp.lapsed),
                inp.at,
                lapsed=inp.lapsed,
            )
            await history.add_event(
                conn,
                subject_id=flag.id,
                type="dropped",
                at=inp.at,
                detail={"by": "lapsed" if inp.lapsed else "business"},
            )
        await _notify.hand_over(keys, inp.delivery, self.hand_over)


async def _tell_business(
    conn: Connection,
    business: Business,
    flag: Flag,
    event: WebhookEvent,
    text: Text,
    at: datetime,
    **data: Any,
) -> list[str]:
    """The business's email and webhook event for a step: ids, reason and status, never the
    explanation or what the reviewer wrote."""
    return await _notify.tell_business(
        conn,
        business=business,
        subject_id=flag.id,
        event_type=event.value,
        text=text,
        data={
            "flag_id": flag.id,
            "review_id": flag.review_id,
            "reason": flag.reason.value,
            "sub_reason": flag.sub_reason.value if flag.sub_reason else None,
            "status": flag.status.value,
            **data,
        },
        at=at,
    )


async def _flag(conn: Connection, flag_id: str) -> Flag:
    flag = await flags.get_flag(conn, flag_id)
    if flag is None:
        raise RuntimeError(f"flag {flag_id} is not in the store")
    return flag


async def _review(conn: Connection, review_id: str) -> Review:
    review = await reviews.get_review(conn, review_id)
    if review is None:
        raise RuntimeError(f"review {review_id} is not in the store")
    return review


async def _parties(conn: Connection, flag_id: str) -> tuple[Flag, Review, Business, Reviewer]:
    """The flag and everyone in it; a missing one is a bug, so retrying will not help."""
    flag = await _flag(conn, flag_id)
    review = await _review(conn, flag.review_id)
    business = await accounts.get_business(conn, flag.business_id)
    reviewer = await accounts.get_reviewer(conn, review.reviewer_id)
    if business is None or reviewer is None:
        raise RuntimeError(f"flag {flag_id} refers to a missing record")
    return flag, review, business, reviewer
