"""Inputs and results of the notice's workflow and steps: ids, enums and times only.

A notifier's name, address and explanation stay in the store (``notices``); the workflow sees
the notice's id.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from domain.messages import DeliveryPolicy


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True)


class NoticeWorkflowInput(_Message):
    notice_id: str
    delivery: DeliveryPolicy = DeliveryPolicy()


class ReceiveNoticeInput(_Message):
    notice_id: str
    # The id a new report takes, made by the workflow so that a retried step finds its report.
    new_report_id: str
    at: datetime
    delivery: DeliveryPolicy | None = None


class NoticeReceived(_Message):
    """The report the notice opened or joined; None when the review was gone by then."""

    report_id: str | None = None


class StartReportInput(_Message):
    report_id: str


class NoticeState(_Message):
    notice_id: str
    report_id: str | None = None
    done: bool = False
