"""The steps of a report: hide and tell the reviewer, escalate, apply the moderator's decision."""

from __future__ import annotations

from temporalio import activity

from activities import _notify
from delivery import texts
from domain.enums import Decision, ReportStatus, Visibility
from domain.messages import ApplyDecisionInput, ReportStepInput
from settings import Settings
from starter import metrics
from store import Store, accounts, history, reports, reviews
from store.connection import Connection
from store.records import Business, Report, Review, Reviewer

_OUTCOME = {
    Decision.UPHOLD: (ReportStatus.UPHELD, Visibility.REMOVED, "report.upheld"),
    Decision.REJECT: (ReportStatus.REJECTED, Visibility.VISIBLE, "report.rejected"),
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
        """Makes sure the review is hidden and tells the reviewer why (DESIGN rule 6)."""
        async with self.db.tx() as conn:
            report, review, business, reviewer = await _parties(conn, inp.report_id)
            if report.status is ReportStatus.PENDING:
                await reviews.set_visibility(conn, review.id, Visibility.HIDDEN)
            key = await _notify.email(
                conn,
                subject_id=report.id,
                event_type="report.opened",
                recipient_kind="reviewer",
                recipient_id=reviewer.id,
                to_address=reviewer.email,
                text=texts.report_opened_for_reviewer(business, reviewer, review, report),
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
        await _notify.hand_over([key], inp.delivery, self.hand_over)
        return [key]

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
        """Removes (never deletes) or reinstates the review, and tells business and reviewer."""
        status, visibility, event_type = _OUTCOME[inp.decision]
        async with self.db.tx() as conn:
            report, review, business, reviewer = await _parties(conn, inp.report_id)
            decision = await reports.get_decision(conn, inp.decision_id)
            if decision is None:
                raise RuntimeError(f"decision {inp.decision_id} is missing from the store")
            await reports.mark_decided(
                conn, report.id, status=status, decision_id=decision.id, at=inp.at
            )
            await reviews.set_visibility(conn, review.id, visibility)
            keys = [
                await _notify.email(
                    conn,
                    subject_id=report.id,
                    event_type=event_type,
                    recipient_kind="business",
                    recipient_id=business.id,
                    to_address=business.email,
                    text=texts.decision_for_business(business, review, inp.decision),
                    at=inp.at,
                ),
                await _notify.email(
                    conn,
                    subject_id=report.id,
                    event_type=event_type,
                    recipient_kind="reviewer",
                    recipient_id=reviewer.id,
                    to_address=reviewer.email,
                    text=texts.decision_for_reviewer(business, reviewer, review, inp.decision),
                    at=inp.at,
                ),
                *await _notify.webhook(
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
                ),
            ]
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


async def _parties(
    conn: Connection, report_id: str
) -> tuple[Report, Review, Business, Reviewer]:
    report = await reports.get_report(conn, report_id)
    if report is None:
        raise RuntimeError(f"report {report_id} is not in the store")
    review = await reviews.get_review(conn, report.review_id)
    business = await accounts.get_business(conn, report.business_id)
    reviewer = await accounts.get_reviewer(conn, review.reviewer_id) if review else None
    if review is None or business is None or reviewer is None:
        raise RuntimeError(f"report {report_id} refers to a missing record")
    return report, review, business, reviewer
