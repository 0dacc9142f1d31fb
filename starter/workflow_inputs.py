"""What the service and the operator's repairs give a workflow they start, from the settings now.

One place, so a contact re-driven by `reviewdesk reconcile` or a webhook event sent again runs
under exactly the rules a new one would.
"""

from __future__ import annotations

from domain.messages import ContactWorkflowInput, DeliveryPolicy
from settings import Settings


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
