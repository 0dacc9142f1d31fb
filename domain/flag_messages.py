"""Inputs and results of FlagWorkflow, its updates and its steps: ids, enums and times only.

The business's explanation and the reviewer's edit stay in the store; an update names the
edit by its id.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from domain.enums import FlagAction, FlagReason, FlagStatus, ReviewerAction
from domain.messages import DeliveryPolicy


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True)


class FlagWorkflowInput(_Message):
    flag_id: str
    review_id: str
    business_id: str
    reason: FlagReason
    reviewer_step_window: timedelta
    business_window: timedelta
    # The moderators' SLA for this reason's report (harmful or illegal: shorter).
    moderation_sla: timedelta
    delivery: DeliveryPolicy = DeliveryPolicy()
    # Spam marked on the response desk (DESIGN rules 8 and 21): escalated at once although its
    # reason is reviewer-first. Absent from earlier inputs, so their flags run as they did.
    straight_to_moderation: bool = False


class FlagState(_Message):
    flag_id: str
    # None until its first step is recorded.
    status: FlagStatus | None = None
    reviewer_deadline: datetime | None = None
    business_deadline: datetime | None = None
    report_id: str | None = None


class ReviewerActInput(_Message):
    """The reviewer's step; an edit's title and text were stored under ``edit_id`` first."""

    flag_id: str
    edit_id: str
    action: ReviewerAction


class BusinessActInput(_Message):
    flag_id: str
    action: FlagAction


# --- steps ------------------------------------------------------------------------------------


class AskReviewerInput(_Message):
    flag_id: str
    at: datetime
    deadline: datetime
    delivery: DeliveryPolicy | None = None


class AskedReviewer(_Message):
    # The deadline as the store holds it and the reviewer's email states it: a retried first
    # step keeps the first one.
    deadline: datetime


class WithdrawInput(_Message):
    flag_id: str
    edit_id: str
    at: datetime
    delivery: DeliveryPolicy | None = None


class AwaitBusinessInput(_Message):
    """The reviewer's step is over: edited (``edit_id``) or silent; the business's turn."""

    flag_id: str
    edit_id: str | None = None
    at: datetime
    business_deadline: datetime
    delivery: DeliveryPolicy | None = None


class EscalateInput(_Message):
    flag_id: str
    report_id: str
    at: datetime
    sla_deadline: datetime
    delivery: DeliveryPolicy | None = None


class Escalated(_Message):
    # A report already pending for the reason (from a notice) is joined, not doubled.
    report_id: str


class DropInput(_Message):
    flag_id: str
    at: datetime
    # The business let its window pass.
    lapsed: bool
    delivery: DeliveryPolicy | None = None
