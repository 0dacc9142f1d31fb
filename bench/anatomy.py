"""Where a contact request's time went, read from the server's own history of each opening.

A contact request answers once its workflow's first task has run on the worker. The server
stamps when the workflow started, when a worker took that task, and when the opening was
complete (the ``opened`` update's completion). So for a sample of the contacts of a run, the
history splits the request's time into waiting for the worker and working in it; what is left
of the request's time went to HTTP, the web app and the server's calls.
"""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.service import RPCError

SAMPLE = 200


def _seconds(event: HistoryEvent) -> float:
    return event.event_time.ToMicroseconds() / 1e6


def _first(events: list[HistoryEvent], kind: EventType.ValueType) -> HistoryEvent | None:
    return next((e for e in events if e.event_type == kind), None)


async def opening_parts(client: Client, workflow_ids: list[str]) -> dict[str, list[float]]:
    """Milliseconds each sampled opening spent waiting for a worker, and in it."""
    step = max(1, len(workflow_ids) // SAMPLE)
    parts: dict[str, list[float]] = {"waiting_for_worker": [], "in_worker": []}
    for workflow_id in workflow_ids[::step][:SAMPLE]:
        try:
            history = await client.get_workflow_handle(workflow_id).fetch_history()
        except RPCError:
            continue  # a lifecycle that failed before its workflow started (counted as an error)
        events = list(history.events)
        took = _first(events, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
        opened = _first(events, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
        if not events or took is None or opened is None:
            continue
        parts["waiting_for_worker"].append(1000 * (_seconds(took) - _seconds(events[0])))
        parts["in_worker"].append(1000 * (_seconds(opened) - _seconds(took)))
    return parts
