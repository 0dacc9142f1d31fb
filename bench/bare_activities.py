"""The bare engine's messages and activities: trivial steps, and starting workflows.

Kept apart from ``bare_workflows``, as Reviewdesk keeps its messages (``domain.messages``) and
activities apart from its workflows: the workflow sandbox imports them once, not per workflow.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

BARE_TASK_QUEUE_SUFFIX = "-bare"


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True)


class BareInput(_Message):
    instance: str
    reply_window: timedelta
    report_window: timedelta
    moderation_sla: timedelta


class BareReportInput(_Message):
    instance: str
    sla_deadline: datetime


class BareStep(_Message):
    name: str
    messages: list[str] = []


class BareState(_Message):
    instance: str
    status: str | None = None
    deadline: datetime | None = None
    report_id: str | None = None


class BareFlagInput(_Message):
    """A flag's shape: the reviewer's step first or not, and its windows."""

    instance: str
    reviewer_first: bool
    reviewer_window: timedelta
    business_window: timedelta
    moderation_sla: timedelta


class BareFlagState(_Message):
    instance: str
    status: str | None = None
    reviewer_deadline: datetime | None = None
    business_deadline: datetime | None = None
    report_id: str | None = None


class BareAct(_Message):
    """An update's input: who acts on which instance, and how (as Reviewdesk's carry ids)."""

    instance: str
    action: str
    ref: str | None = None


class BareNoticeInput(_Message):
    instance: str
    moderation_sla: timedelta


class BareAppealInput(_Message):
    instance: str
    appeal_sla: timedelta


class BareAppealState(_Message):
    instance: str
    status: str | None = None


def report_id_of(instance: str) -> str:
    return f"bare-report-{instance}"


def flag_id_of(instance: str) -> str:
    return f"bare-flag-{instance}"


def notice_id_of(instance: str) -> str:
    return f"bare-notice-{instance}"


def appeal_id_of(instance: str) -> str:
    return f"bare-appeal-{instance}"


def refuse(reason: str) -> ApplicationError:
    return ApplicationError(reason, type=reason, non_retryable=True)


class BareActivities:
    """Trivial steps; ``start_report`` starts a workflow, as Reviewdesk's does."""

    def __init__(self, client: Client) -> None:
        self.client = client

    @activity.defn(name="bare_step")
    async def step(self, inp: BareStep) -> list[str]:
        """Reviewdesk's step records its messages and sends each at its first try, starting a
        delivery workflow only for one that failed: here, none fails."""
        return [inp.name, *inp.messages]

    @activity.defn(name="bare_start_report")
    async def start_report(self, inp: BareReportInput) -> None:
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await self.client.start_workflow(
                "BareReportWorkflow",
                inp,
                id=report_id_of(inp.instance),
                task_queue=activity.info().task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
