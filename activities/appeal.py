"""The steps of an appeal: open it (or refuse it as too late), escalate it, apply its decision.

Each is one transaction, idempotent under retry: writes are keyed on the appeal's id (history
and outbox keys), and a status moves on only from the status the step expects.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import activity

from activities import _notify, _statements
from activities._steps import ProcessSteps
from delivery import appeal_texts
from delivery.links import MARK, Purpose
from delivery.texts import Text
from domain.appeal_messages import (
    AppealStepInput,
    ApplyAppealInput,
    OpenAppealInput,
    OpenedAppeal,
)
from domain.enums import (
    AppealDecision,
    AppealStatus,
    Appellant,
    Decision,
    ReportSource,
    Restriction,
    Visibility,
    WebhookEvent,
)
from domain.refusals import Refusal
from store import (
    accounts,
    appeals,
    history,
    moderation,
    notices,
    reports,
    reviews,
    statements,
)
from store.connection import Connection
from store.records import Appeal, Business, DecisionRecord, Report, Review, Reviewer

_STATUS = {AppealDecision.GRANT: AppealStatus.GRANTED, AppealDecision.DENY: AppealStatus.DENIED}
_EVENT = {
    AppealDecision.GRANT: WebhookEvent.APPEAL_GRANTED,
    AppealDecision.DENY: WebhookEvent.APPEAL_DENIED,
}


class _Parties:
    """Everything a step of one appeal reads, in its transaction."""

    def __init__(
        self,
        appeal: Appeal,
        report: Report,
        decision: DecisionRecord,
        review: Review,
        business: Business,
        reviewer: Reviewer,
    ) -> None:
        self.appeal, self.report, self.decision = appeal, report, decision
        self.review, self.business, self.reviewer = review, business, reviewer

    @property
    def business_involved(self) -> bool:
        """A notice's report is between the notifiers, the reviewer and the moderators, as the
        report's own decision was (activities/report.py)."""
        return self.report.source is not ReportSource.NOTICE


class AppealActivities(ProcessSteps):
    """Each step is named ``appeal.<step>``: reports and flags have steps of the same names."""

    @activity.defn(name="appeal.open")
    async def open(self, inp: OpenAppealInput) -> OpenedAppeal:
        """Refuses an appeal past the window (and drops it: it never was one), or opens it: the
        appellant is told of receipt, the business's endpoints get ``appeal.opened``."""
        if inp.at > inp.appeal_until:
            async with self.db.tx() as conn:
                await appeals.drop_unopened(conn, inp.appeal_id)
            return OpenedAppeal(refusal=Refusal.APPEAL_WINDOW_OVER)
        keys: list[str] = []
        async with self.db.tx() as conn:
            p = await _parties(conn, inp.appeal_id)
            greeting, to_address = await _appellant(conn, p)
            keys.append(
                await _notify.email(
                    conn,
                    subject_id=p.appeal.id,
                    event_type=WebhookEvent.APPEAL_OPENED.value,
                    recipient_kind=p.appeal.appellant.value,
                    recipient_id=p.appeal.appellant_id,
                    to_address=to_address,
                    text=appeal_texts.received(
                        greeting, p.business, p.review, p.decision.decision, p.appeal
                    ),
                    at=inp.at,
                )
            )
            if p.business_involved:
                keys += await _webhook(p, conn, WebhookEvent.APPEAL_OPENED, inp.at)
            await history.add_event(
                conn,
                subject_id=p.appeal.id,
                type="opened",
                at=inp.at,
                detail={"appellant": p.appeal.appellant.value, "decision_id": p.decision.id},
            )
        await _notify.hand_over(keys, inp.delivery, self.hand_over)
        return OpenedAppeal()

    @activity.defn(name="appeal.escalate")
    async def escalate(self, inp: AppealStepInput) -> None:
        async with self.db.tx() as conn:
            p = await _parties(conn, inp.appeal_id)
            await appeals.mark_escalated(conn, p.appeal.id, inp.at)
            key = await _notify.email(
                conn,
                subject_id=p.appeal.id,
                event_type="appeal.escalated",
                recipient_kind="moderation",
                recipient_id="moderation",
                to_address=self.settings.moderation_email,
                text=appeal_texts.escalated(p.business, p.review, p.appeal),
                at=inp.at,
            )
            await history.add_event(conn, subject_id=p.appeal.id, type="escalated", at=inp.at)
        await _notify.hand_over([key], inp.delivery, self.hand_over)

    @activity.defn(name="appeal.apply_decision")
    async def apply_decision(self, inp: ApplyAppealInput) -> None:
        """Records the decision and applies it at once: a granted appeal reverses the decision
        (the review reinstated, or removed with a statement of reasons); then everyone involved
        is told, with the decision final on the platform and the way to out-of-court dispute
        settlement (DSA art. 20(5), 21)."""
        status, event = _STATUS[inp.decision], _EVENT[inp.decision]
        granted = inp.decision is AppealDecision.GRANT
        keys: list[str] = []
        async with self.db.tx() as conn:
            p = await _parties(conn, inp.appeal_id)
            before = p.review.visibility
            await appeals.mark_decided(
                conn,
                p.appeal.id,
                status=status,
                moderator_id=inp.moderator_id,
                decision=inp.decision,
                at=inp.at,
            )
            appeal = await appeals.get_appeal(conn, p.appeal.id)
            assert appeal is not None
            p.appeal = appeal
            visibility = await moderation.settle_visibility(conn, p.review.id)
            original = p.decision.decision
            removed_now = await self._removes(conn, p, granted, before, visibility)
            if removed_now:
                # A rejection reversed: the review is removed, and its author gets a statement
                # of reasons (final, so without an appeal link).
                keys += await _statements.restrict(
                    conn,
                    settings=self.settings,
                    report=p.report,
                    review=p.review,
                    restriction=Restriction.REMOVED,
                    at=inp.at,
                    decision=p.decision,
                    appeal=appeal,
                )
            text_for = _texts(p, original, granted, visibility)
            # The reviewer: told unless the statement just did, and only of a report they knew of
            # (a removal, a hide, the reviewer's step) or one that changes their review.
            knew = await moderation.reviewer_knew(conn, p.report, original)
            if not removed_now and (granted or knew):
                keys.append(
                    await _notify.email(
                        conn,
                        subject_id=appeal.id,
                        event_type=event.value,
                        recipient_kind="reviewer",
                        recipient_id=p.reviewer.id,
                        to_address=p.reviewer.email,
                        text=text_for(p.reviewer.display_name, Appellant.REVIEWER),
                        at=inp.at,
                    )
                )
            if p.business_involved:
                keys.append(
                    await _notify.email(
                        conn,
                        subject_id=appeal.id,
                        event_type=event.value,
                        recipient_kind="business",
                        recipient_id=p.business.id,
                        to_address=p.business.email,
                        text=text_for(p.business.name, Appellant.BUSINESS),
                        at=inp.at,
                    )
                )
                keys += await _webhook(p, conn, event, inp.at, review_visibility=visibility.value)
            for notice in await notices.notices_of_report(conn, p.report.id):
                # About the notice, whose link it carries (to follow it), one per notifier.
                text = text_for(notice.name, Appellant.NOTIFIER, appellant_id=notice.id)
                keys.append(
                    await _notify.email(
                        conn,
                        subject_id=notice.id,
                        event_type=event.value,
                        recipient_kind="notifier",
                        recipient_id=notice.id,
                        to_address=notice.email,
                        text=_with_notice_link(text),
                        at=inp.at,
                        link_purpose=Purpose.NOTICE.value,
                    )
                )
            await history.add_event(
                conn,
                subject_id=appeal.id,
                type=status.value,
                at=inp.at,
                detail={"moderator_id": inp.moderator_id, "visibility": visibility.value},
            )
        await _notify.hand_over(keys, inp.delivery, self.hand_over)

    @staticmethod
    async def _removes(
        conn: Connection, p: _Parties, granted: bool, before: Visibility, now_: Visibility
    ) -> bool:
        """Whether this grant is what removed the review: it reversed a rejection, the review is
        removed now and was not before (or a first try of this step removed it)."""
        if not granted or p.decision.decision is not Decision.REJECT:
            return False
        if now_ is not Visibility.REMOVED:
            return False
        if before is not Visibility.REMOVED:
            return True
        made = _statements.statement_id(p.report, Restriction.REMOVED, p.decision.id, p.appeal.id)
        return await statements.get_statement(conn, made) is not None


def _texts(p: _Parties, original: Decision, granted: bool, visibility: Visibility) -> Any:
    def text_for(greeting: str, who: Appellant, *, appellant_id: str | None = None) -> Text:
        yours = p.appeal.appellant is who and (
            appellant_id is None or appellant_id == p.appeal.appellant_id
        )
        return appeal_texts.decided(
            greeting,
            p.business,
            p.review,
            appeal=p.appeal,
            original=original,
            granted=granted,
            visibility=visibility,
            yours=yours,
        )

    return text_for


def _with_notice_link(text: Text) -> Text:
    """The notifier's copy ends with their notice's link (``MARK``), to follow it."""
    before = text.body + "\nYour notice:\n\n"
    return Text(subject=text.subject, body=before + f"{MARK}\n", link_at=len(before))


async def _webhook(
    p: _Parties, conn: Connection, event: WebhookEvent, at: datetime, **extra: Any
) -> list[str]:
    return await _notify.webhook(
        conn,
        business=p.business,
        subject_id=p.appeal.id,
        event_type=event.value,
        data={
            "appeal_id": p.appeal.id,
            "decision_id": p.decision.id,
            "report_id": p.report.id,
            "review_id": p.review.id,
            "appellant": p.appeal.appellant.value,
            "status": p.appeal.status.value,
            **extra,
        },
        at=at,
    )


async def _appellant(conn: Connection, p: _Parties) -> tuple[str, str]:
    """Whom the appellant's emails greet, and where they go."""
    appeal = p.appeal
    if appeal.appellant is Appellant.REVIEWER:
        return p.reviewer.display_name, p.reviewer.email
    if appeal.appellant is Appellant.BUSINESS:
        return p.business.name, p.business.email
    notice = await notices.get_notice(conn, appeal.appellant_id)
    if notice is None:
        raise RuntimeError(f"appeal {appeal.id} names a missing notice")
    return notice.name, notice.email


async def _parties(conn: Connection, appeal_id: str) -> _Parties:
    appeal = await appeals.get_appeal(conn, appeal_id)
    if appeal is None:
        raise RuntimeError(f"appeal {appeal_id} is not in the store")
    report = await reports.get_report(conn, appeal.report_id)
    decision = await reports.get_decision(conn, appeal.decision_id)
    review = await reviews.get_review(conn, appeal.review_id)
    business = await accounts.get_business(conn, review.business_id) if review else None
    reviewer = await accounts.get_reviewer(conn, review.reviewer_id) if review else None
    if None in (report, decision, review, business, reviewer):
        raise RuntimeError(f"appeal {appeal_id} refers to a missing record")
    assert report and decision and review and business and reviewer
    return _Parties(appeal, report, decision, review, business, reviewer)
