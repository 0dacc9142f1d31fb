"""Starting a report's workflow from a step (a flag escalated, a notice received)."""

from __future__ import annotations

import contextlib

from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from domain import report_workflow_id_of
from domain.enums import ReportSource
from settings import Settings
from starter.workflow_inputs import report_input
from store.records import Report


async def start_report_workflow(client: Client, settings: Settings, report: Report) -> None:
    """Starts the report's workflow, which outlives the flag or notice that opened it.

    A retry, or a second notice joining the same report, finds it running (or ended) under the
    same id and starts nothing.
    """
    from workflows.report import ReviewReportWorkflow

    workflow_id = report_workflow_id_of(
        report.id, report.review_id, after_contact=report.source is ReportSource.CONTACT
    )
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            ReviewReportWorkflow.run,
            report_input(settings, report),
            id=workflow_id,
            task_queue=activity.info().task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
