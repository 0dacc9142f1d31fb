"""Inputs and results of workflows, updates and activities.

One frozen model each, so a field can be added without breaking a running workflow. They carry
ids, enums and times only: an email address or text a person wrote stays in the store.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from domain.enums import Answer, ContactStatus, Decision, Grounds, ReportStatus
from domain.refusals import Refusal


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True)


class DeliveryPolicy(_Message):
    """How long one attempt to send a message may take, and when to stop retrying it.

    ``give_up_after`` is for email; a webhook endpoint gets ``webhook_give_up_after`` (a day or
    more, so a receiver that is down overnight misses nothing). The default keeps histories
    recorded before webhooks existed decoding.
    """

    attempt_timeout: timedelta = timedelta(seconds=30)
    give_up_after: timedelta = timedelta(days=2)
    webhook_give_up_after: timedelta = timedelta(hours=25)

    def for_channel(self, channel: str) -> DeliveryPolicy:
        """The policy one message of ``channel`` is delivered under."""
        if channel == "webhook":
            return self.model_copy(update={"give_up_after": self.webhook_give_up_after})
        return self


# --- ReviewerContactWorkflow -------------------------------------------------------------


class ContactWorkflowInput(_Message):
    contact_id: str
    review_id: str
    business_id: str
    reply_window: timedelta
    report_window: timedelta
    moderation_sla: timedelta
    delivery: DeliveryPolicy = DeliveryPolicy()


class ContactState(_Message):
    contact_id: str
    status: ContactStatus | None = None
    """None until the eligibility check and the opening are done."""
    refusal: Refusal | None = None
    deadline: datetime | None = None
    report_deadline: datetime | None = None
    report_id: str | None = None


class AnswerInput(_Message):
    """The reviewer's answer; what they shared was stored under ``answer_id`` beforehand.

    Every update names its contact: the workflow id is per review, so a later contact on the
    same review must not take a step meant for an earlier one.
    """

    contact_id: str
    answer_id: str
    answer: Answer


class ReportInput(_Message):
    contact_id: str
    grounds: Grounds


class CloseRequest(_Message):
    contact_id: str


# --- ReviewReportWorkflow ----------------------------------------------------------------


class ReportWorkflowInput(_Message):
    report_id: str
    review_id: str
    # Empty for a report from a flag or a notice.
    contact_id: str = ""
    business_id: str
    sla_deadline: datetime
    delivery: DeliveryPolicy = DeliveryPolicy()


class DecisionInput(_Message):
    """The moderator's decision; the note was stored under ``decision_id`` beforehand."""

    decision_id: str
    decision: Decision


class ReportState(_Message):
    report_id: str
    status: ReportStatus
    escalated: bool = False


# --- Activities --------------------------------------------------------------------------


class EligibilityInput(_Message):
    contact_id: str
    review_id: str
    business_id: str


class OpenContactInput(_Message):
    contact_id: str
    review_id: str
    business_id: str
    opened_at: datetime
    deadline: datetime


class OpenInput(_Message):
    """v3: the whole opening of a contact as one step, its email handed to delivery."""

    contact_id: str
    review_id: str
    business_id: str
    opened_at: datetime
    deadline: datetime
    delivery: DeliveryPolicy


class Opened(_Message):
    """What the opening decided: the contact is open, or refused for this reason."""

    refusal: Refusal | None = None
    # The reply window's end as the store holds it (and the reviewer's email states), which a
    # retried or re-driven opening keeps; None in markers recorded before it was returned.
    deadline: datetime | None = None


class RefusalInput(_Message):
    contact_id: str
    refusal: Refusal
    at: datetime


class ContactStepInput(_Message):
    """A step on one contact at one time, e.g. sending the request to the reviewer."""

    contact_id: str
    at: datetime


class OutcomeInput(_Message):
    contact_id: str
    status: ContactStatus
    answer_id: str | None = None
    at: datetime
    report_deadline: datetime
    # v3: the step hands what it records to delivery itself (None: the workflow dispatches).
    delivery: DeliveryPolicy | None = None


class CloseInput(_Message):
    contact_id: str
    by_business: bool
    at: datetime


class FileReportInput(_Message):
    report_id: str
    contact_id: str
    grounds: Grounds
    at: datetime
    sla_deadline: datetime
    # v3: the step hands what it records to delivery itself (None: the workflow dispatches).
    delivery: DeliveryPolicy | None = None


class ReportStepInput(_Message):
    report_id: str
    at: datetime
    # v3: the step hands what it records to delivery itself (None: the workflow dispatches).
    delivery: DeliveryPolicy | None = None


class ApplyDecisionInput(_Message):
    report_id: str
    decision_id: str
    decision: Decision
    at: datetime
    # v3: the step hands what it records to delivery itself (None: the workflow dispatches).
    delivery: DeliveryPolicy | None = None


class DispatchInput(_Message):
    keys: list[str]
    delivery: DeliveryPolicy


class MessageInput(_Message):
    key: str
    delivery: DeliveryPolicy
