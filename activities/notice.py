"""The steps of a notice (DESIGN rule 9): its receipt, told to the notifier, and the report it
opens or joins; then that report's workflow, which a moderator decides."""

from __future__ import annotations

from temporalio import activity

from activities import _notify
from activities._moderation import start_report_workflow
from activities._steps import ProcessSteps
from delivery import notice_texts
from delivery.links import Purpose
from domain.enums import FlagReason, ReportSource, Visibility
from domain.notice_messages import NoticeReceived, ReceiveNoticeInput, StartReportInput
from starter.workflow_inputs import report_sla
from store import accounts, history, moderation, notices, reports, reviews
from store.accounts import hash_secret


class NoticeActivities(ProcessSteps):
    @activity.defn
    async def receive_notice(self, inp: ReceiveNoticeInput) -> NoticeReceived:
        """Confirms receipt to the notifier and puts the notice before a moderator, in one
        transaction: it joins the review's pending harmful-or-illegal report (from a flag or
        another notice), or opens one, high priority on its own SLA.

        Idempotent: a retry finds the notice joined and its email recorded. Two notices at once
        on the same review: the second one's new report breaks the one-pending-per-reason rule,
        its transaction rolls back, and its retry joins the first one's report.
        """
        reason = FlagReason.HARMFUL_OR_ILLEGAL
        async with self.db.tx() as conn:
            notice = await notices.get_notice(conn, inp.notice_id)
            if notice is None:
                raise RuntimeError(f"notice {inp.notice_id} is not in the store")
            review = await reviews.get_review(conn, notice.review_id)
            business = await accounts.get_business(conn, review.business_id) if review else None
            if review is None or business is None:
                raise RuntimeError(f"notice {notice.id} refers to a missing record")
            report_id = notice.report_id
            gone = review.visibility is Visibility.REMOVED and report_id is None
            if report_id is None and not gone:
                report = await moderation.pending_report(conn, review.id, reason)
                if report is None:
                    report = await moderation.add_report(
                        conn,
                        id=inp.new_report_id,
                        review_id=review.id,
                        business_id=review.business_id,
                        reason=reason,
                        sub_reason=notice.sub_reason,
                        source=ReportSource.NOTICE,
                        opened_at=inp.at,
                        sla_deadline=inp.at + report_sla(self.settings, reason),
                    )
                report_id = report.id
                await notices.join_report(conn, notice.id, report_id)
            token = self.links.token(Purpose.NOTICE, notice.id)
            await notices.set_token_hash(conn, notice.id, hash_secret(token))
            key = await _notify.email(
                conn,
                subject_id=notice.id,
                event_type="notice.received",
                recipient_kind="notifier",
                recipient_id=notice.id,
                to_address=notice.email,
                text=notice_texts.received(notice, business, review, removed=gone),
                at=inp.at,
                link_purpose=Purpose.NOTICE.value,
            )
            await history.add_event(
                conn,
                subject_id=notice.id,
                type="received",
                at=inp.at,
                detail={"report_id": report_id, "sub_reason": notice.sub_reason.value},
            )
            if report_id is not None:
                await history.add_event(
                    conn,
                    subject_id=report_id,
                    type="notice_joined",
                    at=inp.at,
                    detail={"notice_id": notice.id},
                    key=f"{report_id}:notice_joined:{notice.id}",
                )
        await _notify.hand_over([key], inp.delivery, self.hand_over)
        return NoticeReceived(report_id=report_id)

    @activity.defn
    async def start_report(self, inp: StartReportInput) -> None:
        """Starts the report's workflow, or finds it running (a flag's, another notice's)."""
        async with self.db.read() as conn:
            report = await reports.get_report(conn, inp.report_id)
        if report is None:
            raise RuntimeError(f"report {inp.report_id} is not in the store")
        await start_report_workflow(self.client, self.settings, report)
