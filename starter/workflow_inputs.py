"""What the service and the operator's repairs give a workflow they start, from the settings now.

One place, so a contact re-driven by `reviewdesk reconcile` or a webhook event sent again runs
under exactly the rules a new one would.
"""

from __future__ import annotations

from datetime import timedelta

from domain.enums import FlagReason
from domain.messages import ContactWorkflowInput, DeliveryPolicy, ReportWorkflowInput
from settings import Settings
from store.records import Report


def delivery_policy(settings: Settings) -> DeliveryPolicy:
    return DeliveryPolicy(
        attempt_timeout=settings.delivery_attempt_timeout,
        give_up_after=settings.delivery_give_up_after,
        webhook_give_up_after=settings.webhook_give_up_after,
    )


def contact_input(
    settings: Settings, *, contact_id: str, review_id: str, business_id: str
) -> ContactWorkflowInput:
    return ContactWorkflowInput(
        contact_id=contact_id,
        review_id=review_id,
        business_id=business_id,
        reply_window=settings.reply_window,
        report_window=settings.report_window,
        moderation_sla=settings.moderation_sla,
        delivery=delivery_policy(settings),
    )


def report_sla(settings: Settings, reason: FlagReason) -> timedelta:
    """How long moderators have for a report of this reason (harmful or illegal: shorter)."""
    return settings.harmful_sla if reason.high_priority else settings.moderation_sla


def report_input(settings: Settings, report: Report) -> ReportWorkflowInput:
    """A report's workflow input, however it came (a contact, a flag, a notice)."""
    return ReportWorkflowInput(
        report_id=report.id,
        review_id=report.review_id,
        contact_id=report.contact_id or "",
        business_id=report.business_id,
        sla_deadline=report.sla_deadline,
        delivery=delivery_policy(settings),
    )
