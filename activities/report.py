"""The steps of a report: hide and tell the reviewer, escalate, apply the moderator's decision."""

from __future__ import annotations

from datetime import datetime

from temporalio import activity

from activities import _notify, _statements
from delivery import notice_texts, texts
from delivery.links import Purpose
from domain.enums import Decision, ReportSource, ReportStatus, Restriction, Visibility
from domain.messages import ApplyDecisionInput, ReportStepInput
from settings import Settings
from starter import metrics
from store import Store, accounts, history, moderation, notices, reports, reviews, statements
from store.connection import Connection
from store.records import Business, Report, Review, Reviewer

_OUTCOME = {
    Decision.UPHOLD: (ReportStatus.UPHELD, "report.upheld"),
    Decision.REJECT: (ReportStatus.REJECTED, "report.rejected"),
}


class ReportActivities:
    def __init__(
        self, db: Store, settings: Settings, hand_over: _notify.HandOver | None = None
    ) -> None:
        self.db = db
        self.settings = settings
        self.hand_over = hand_over

    @activity.defn
    async def open_report(self, inp: ReportStepInput) -> list[str]:
        """Makes sure a review reported for a reason that hides it is hidden, and tells the
        reviewer why (DESIGN rules 6 and 8); other reasons leave it visible while handled."""
        async with self.db.tx() as conn:
            report, review, _, _ = await _parties(conn, inp.report_id)
            visibility = review.visibility
            if report.status is ReportStatus.PENDING:
                visibility = await moderation.settle_visibility(conn, review.id)
            keys = []
            if report.reason.hides and visibility is Visibility.HIDDEN:
                # The statement of reasons is the reviewer's email about the hide (DESIGN 10).
                keys = await _statements.restrict(
                    conn,
                    settings=self.settings,
                    report=report,
                    review=review,
                    restriction=Restriction.HIDDEN,
                    at=inp.at,
                )
            await history.add_event(
                conn,
                subject_id=report.id,
                type="opened",
                at=inp.at,
                detail={
                    "grounds": report.grounds.value if report.grounds else None,
                    "contact_id": report.contact_id,
                },
            )
        await _notify.hand_over(keys, inp.delivery, self.hand_over)
        return keys

    @activity.defn
    async def escalate(self, inp: ReportStepInput) -> list[str]:
        async with self.db.tx() as conn:
            report, review, business, _ = await _parties(conn, inp.report_id)
            await reports.mark_escalated(conn, report.id, inp.at)
            key = await _notify.email(
                conn,
                subject_id=report.id,
                event_type="report.escalated",
                recipient_kind="moderation",
                recipient_id="moderation",
                to_address=self.settings.moderation_email,
                text=texts.report_escalated(business, review, report),
                at=inp.at,
            )
            await history.add_event(conn, subject_id=report.id, type="escalated", at=inp.at)
        metrics.ESCALATIONS.inc()
        await _notify.hand_over([key], inp.delivery, self.hand_over)
        return [key]

    @activity.defn
    async def apply_decision(self, inp: ApplyDecisionInput) -> list[str]:
        """Removes (never deletes) or reinstates the review, and tells those it concerns.

        The business, if the report was its own (after a contact, or its flag), with how to
        appeal a rejection; the reviewer, with the statement of reasons on a removal; every
        notifier of the report, with how to contest the decision (DESIGN rules 7, 9, 10, 11).
        """
        status, event_type = _OUTCOME[inp.decision]
        async with self.db.tx() as conn:
            report, review, business, reviewer = await _parties(conn, inp.report_id)
            decision = await reports.get_decision(conn, inp.decision_id)
            if decision is None:
                raise RuntimeError(f"decision {inp.decision_id} is missing from the store")
            await reports.mark_decided(
                conn, report.id, status=status, decision_id=decision.id, at=inp.at
            )
            # What moderation says now: another report may still hide it, or have removed it.
            visibility = await moderation.settle_visibility(conn, review.id)
            appeal_until = _statements.appeal_deadline(self.settings, inp.at)
            # A notice's report is between the notifier, the reviewer and the moderators.
            tell_business = report.source is not ReportSource.NOTICE
            keys = []
            if tell_business:
                keys.append(
                    await _notify.email(
                        conn,
                        subject_id=report.id,
                        event_type=event_type,
                        recipient_kind="business",
                        recipient_id=business.id,
                        to_address=business.email,
                        text=texts.decision_for_business(
                            business,
                            review,
                            inp.decision,
                            decision_id=decision.id,
                            appeal_until=appeal_until,
                        ),
                        at=inp.at,
                    )
                )
            if await self._removes(conn, inp, report, review, decision.id, visibility):
                keys += await _statements.restrict(
                    conn,
                    settings=self.settings,
                    report=report,
                    review=review,
                    restriction=Restriction.REMOVED,
                    at=inp.at,
                    decision=decision,
                )
            elif await moderation.reviewer_knew(conn, report, inp.decision):
                # Told of a report they knew of (hidden, or asked to edit), or of an uphold on a
                # review removed already: no new restriction, so no statement.
                keys.append(
                    await _notify.email(
                        conn,
                        subject_id=report.id,
                        event_type=event_type,
                        recipient_kind="reviewer",
                        recipient_id=reviewer.id,
                        to_address=reviewer.email,
                        text=texts.decision_for_reviewer(business, reviewer, review, inp.decision),
                        at=inp.at,
                    )
                )
            keys += await _tell_notifiers(
                conn, report, review, business, inp, event_type, appeal_until
            )
            if tell_business:
                keys += await _notify.webhook(
                    conn,
                    business=business,
                    subject_id=report.id,
                    event_type=event_type,
                    data={
                        "report_id": report.id,
                        "contact_id": report.contact_id,
                        "review_id": review.id,
                        "status": status.value,
                        "review_visibility": visibility.value,
                    },
                    at=inp.at,
                )
            await history.add_event(
                conn,
                subject_id=report.id,
                type=status.value,
                at=inp.at,
                detail={"moderator_id": decision.moderator_id},
            )
        metrics.REPORTS_DECIDED.labels(inp.decision.value).inc()
        await _notify.hand_over(keys, inp.delivery, self.hand_over)
        return keys

    @staticmethod
    async def _removes(
        conn: Connection,
        inp: ApplyDecisionInput,
        report: Report,
        review: Review,
        decision_id: str,
        visibility: Visibility,
    ) -> bool:
        """Whether this uphold is what removed the review: it was not removed before (by another
        report, or its author), or a first try of this very step did it and made its statement."""
        if inp.decision is not Decision.UPHOLD or visibility is not Visibility.REMOVED:
            return False
        if review.visibility is not Visibility.REMOVED:
            return True
        made = _statements.statement_id(report, Restriction.REMOVED, decision_id, None)
        return await statements.get_statement(conn, made) is not None


async def _tell_notifiers(
    conn: Connection,
    report: Report,
    review: Review,
    business: Business,
    inp: ApplyDecisionInput,
    event_type: str,
    appeal_until: datetime,
) -> list[str]:
    """Each notifier of the report gets the decision, about their notice, whose link it carries
    (to follow the notice, and to appeal a rejection)."""
    return [
        await _notify.email(
            conn,
            subject_id=notice.id,
            event_type=event_type,
            recipient_kind="notifier",
            recipient_id=notice.id,
            to_address=notice.email,
            text=notice_texts.decided(
                notice, business, review, inp.decision, appeal_until=appeal_until
            ),
            at=inp.at,
            link_purpose=Purpose.NOTICE.value,
        )
        for notice in await notices.notices_of_report(conn, report.id)
    ]


async def _parties(conn: Connection, report_id: str) -> tuple[Report, Review, Business, Reviewer]:
    report = await reports.get_report(conn, report_id)
    if report is None:
        raise RuntimeError(f"report {report_id} is not in the store")
    review = await reviews.get_review(conn, report.review_id)
    business = await accounts.get_business(conn, report.business_id)
    reviewer = await accounts.get_reviewer(conn, review.reviewer_id) if review else None
    if review is None or business is None or reviewer is None:
        raise RuntimeError(f"report {report_id} refers to a missing record")
    return report, review, business, reviewer
