"""`reviewdesk reconcile`: where the store and Temporal disagree, and the repair of each.

A contact the store holds open waits in `contact-<review id>` for the reviewer or the business;
a pending report waits in `report-<review id>` for a moderator. A workflow terminated by hand,
or lost with a Temporal server's data, leaves its record waiting for ever: a contact
`awaiting_reply` blocks every later contact on its review, a pending report keeps its review
hidden. Nothing inside the system would notice, so this module compares the two; it is the one
rule for what must run (``tests/consistency.py`` checks the store against Temporal by it too).

Repairs: a contact awaiting its reply, and a pending report, are re-driven (their workflow is
started again with the same input; each step finds what the first run recorded and repeats
nothing, and the contact keeps the deadline its email states, so one whose deadline has passed
closes as "no response" at once and the business is told as usual). A contact past its reply
window is closed, so the review can be contacted again: resuming its report window is not
something its workflow can do from the middle. Each repair is recorded in the record's history.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain import contact_workflow_id, report_workflow_id_of
from domain.enums import ContactStatus, ReportSource, ReportStatus
from domain.messages import (
    ContactWorkflowInput,
    ReportWorkflowInput,
)
from settings import Settings
from starter.workflow_inputs import contact_input, delivery_policy
from store import Store, contacts, drift, reports
from store.connection import Connection
from store.records import Contact, Report, now
from workflows.contact import ReviewerContactWorkflow
from workflows.report import ReviewReportWorkflow

log = logging.getLogger("reviewdesk.drift")

Kind = Literal["contact", "report"]
# Workflows asked at once: enough to check thousands of records in seconds, few enough that a
# check never crowds out the worker's own calls to the server.
_CONCURRENCY = 8


@dataclass(frozen=True)
class Expected:
    """A record the store holds open, which its workflow must be carrying."""

    kind: Kind
    id: str
    review_id: str
    status: str
    # A report from a flag or a notice runs under its own id, not its review's.
    after_contact: bool = True

    @property
    def workflow_id(self) -> str:
        if self.kind == "contact":
            return contact_workflow_id(self.review_id)
        return report_workflow_id_of(self.id, self.review_id, after_contact=self.after_contact)


@dataclass(frozen=True)
class Disagreement:
    record: Expected
    temporal: str
    """What Temporal has instead, in words: "does not exist", "has ended (terminated)"..."""
    runs_another: bool = False

    def __str__(self) -> str:
        r = self.record
        return f"{r.kind} {r.id} is {r.status} in the store, but {r.workflow_id} {self.temporal}"


async def check(
    client: Client, record: Expected, *, owner: bool = True, rpc_timeout: timedelta | None = None
) -> Disagreement | None:
    """How Temporal disagrees with the store about ``record``, if it does.

    ``owner`` also makes sure the running workflow is this record's, not another one's on the
    same review; that is read from the workflow's start, so no worker needs to answer.
    """
    handle = client.get_workflow_handle(record.workflow_id)
    try:
        described = await handle.describe(rpc_timeout=rpc_timeout)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return Disagreement(record, "does not exist")
        raise
    if described.status != WorkflowExecutionStatus.RUNNING:
        ended = described.status.name.lower() if described.status else "unknown"
        return Disagreement(record, f"has ended ({ended})")
    if not owner:
        return None
    carried = await _carried(client, record, described.run_id, rpc_timeout)
    if carried is not None and carried != record.id:
        return Disagreement(record, f"runs {record.kind} {carried}", runs_another=True)
    return None


async def _carried(
    client: Client, record: Expected, run_id: str, rpc_timeout: timedelta | None
) -> str | None:
    """The contact or report the workflow's run was started for."""
    handle = client.get_workflow_handle(record.workflow_id, run_id=run_id)
    async for event in handle.fetch_history_events(page_size=1, rpc_timeout=rpc_timeout):
        payloads = event.workflow_execution_started_event_attributes.input.payloads
        kind = ContactWorkflowInput if record.kind == "contact" else ReportWorkflowInput
        [inp] = await client.data_converter.decode(payloads, [kind])
        return inp.contact_id if isinstance(inp, ContactWorkflowInput) else inp.report_id
    return None


def expected_of(contacts_open: Sequence[Contact], pending: Sequence[Report]) -> list[Expected]:
    return [
        *(Expected("contact", c.id, c.review_id, c.status.value) for c in contacts_open),
        *(
            Expected(
                "report",
                r.id,
                r.review_id,
                r.status.value,
                after_contact=r.source is ReportSource.CONTACT,
            )
            for r in pending
        ),
    ]


async def find(db: Store, client: Client, settings: Settings) -> list[Disagreement]:
    """Every record the store holds open whose workflow is not running for it."""
    async with db.read() as conn:
        records = expected_of(
            await drift.contacts_not_ended(conn), await drift.reports_pending(conn)
        )
    limit = asyncio.Semaphore(_CONCURRENCY)

    async def one(record: Expected) -> Disagreement | None:
        async with limit:
            return await check(client, record, rpc_timeout=settings.temporal_call_timeout)

    found = [d for d in await asyncio.gather(*(one(r) for r in records)) if d is not None]
    # A record read as open may have ended, and its workflow with it, since: read it again.
    async with db.read() as conn:
        now_open = {e.id: e.status for e in await _current(conn, found)}
    return [d for d in found if now_open.get(d.record.id) == d.record.status]


async def _current(conn: Connection, found: Sequence[Disagreement]) -> list[Expected]:
    contact_ids = [d.record.id for d in found if d.record.kind == "contact"]
    report_ids = [d.record.id for d in found if d.record.kind == "report"]
    now_contacts = (await contacts.contacts_by_id(conn, contact_ids)).values()
    now_reports = (await reports.reports_by_id(conn, report_ids)).values()
    return expected_of(
        [c for c in now_contacts if c.status.is_open],
        [r for r in now_reports if r.status is ReportStatus.PENDING],
    )


# --- repairs -------------------------------------------------------------------------------------


async def repair(db: Store, client: Client, settings: Settings, found: Disagreement) -> str:
    """Repairs one disagreement and says what it did, in words."""
    record = found.record
    if record.kind == "report":
        if found.runs_another:
            return "left as it is: another report runs under its id; see to it by hand"
        return await _redrive_report(db, client, settings, record)
    if found.runs_another or record.status != ContactStatus.AWAITING_REPLY.value:
        async with db.tx() as conn:
            closed = await drift.close_contact(conn, record.id, now())
        if not closed:
            return "nothing to do: it has ended meanwhile"
        return "closed; the review can be contacted again"
    return await _redrive_contact(db, client, settings, record)


async def _redrive_contact(
    db: Store, client: Client, settings: Settings, record: Expected
) -> str:
    async with db.read() as conn:
        contact = await contacts.get_contact(conn, record.id)
    if contact is None or contact.status is not ContactStatus.AWAITING_REPLY:
        return "nothing to do: it has moved on meanwhile"
    inp = contact_input(
        settings,
        contact_id=contact.id,
        review_id=contact.review_id,
        business_id=contact.business_id,
    )
    if not await _start(client, settings, ReviewerContactWorkflow.run, inp, record.workflow_id):
        return "left as it is: a workflow started under its id meanwhile"
    async with db.tx() as conn:
        await drift.record_repair(conn, contact.id, "re-driven", now())
    if contact.deadline <= now():
        return (
            f"re-driven: {record.workflow_id} started again; its reply window ended"
            f" {contact.deadline:%Y-%m-%d %H:%M} UTC, so it closes as no response and the"
            " business is told"
        )
    return (
        f"re-driven: {record.workflow_id} started again; the reviewer's link works until"
        f" {contact.deadline:%Y-%m-%d %H:%M} UTC"
    )


async def _redrive_report(
    db: Store, client: Client, settings: Settings, record: Expected
) -> str:
    async with db.read() as conn:
        report = await reports.get_report(conn, record.id)
    if report is None or report.status is not ReportStatus.PENDING:
        return "nothing to do: it has been decided meanwhile"
    inp = ReportWorkflowInput(
        report_id=report.id,
        review_id=report.review_id,
        contact_id=report.contact_id or "",
        business_id=report.business_id,
        sla_deadline=report.sla_deadline,
        delivery=delivery_policy(settings),
    )
    if not await _start(client, settings, ReviewReportWorkflow.run, inp, record.workflow_id):
        return "left as it is: a workflow started under its id meanwhile"
    async with db.tx() as conn:
        await drift.record_repair(conn, report.id, "re-driven", now())
    return f"re-driven: {record.workflow_id} started again; a moderator can decide it"


async def _start(client: Client, settings: Settings, run: Any, inp: Any, workflow_id: str) -> bool:
    """Starts the workflow again under its id; False when one runs there already."""
    try:
        await client.start_workflow(
            run,
            inp,
            id=workflow_id,
            task_queue=settings.task_queue,
            # The ended run is replaced; a running one, whoever started it, is left alone.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            rpc_timeout=settings.temporal_call_timeout,
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


async def reconcile(db: Store, client: Client, settings: Settings, *, apply: bool) -> list[str]:
    """The lines `reviewdesk reconcile` prints: each disagreement and, with ``apply``, its
    repair."""
    found = await find(db, client, settings)
    if not found:
        return ["The store and Temporal agree: nothing to reconcile."]
    lines = [f"{len(found)} disagreement(s) between the store and Temporal:"]
    for one in found:
        lines.append(f"  {one}")
        if apply:
            lines.append(f"    -> {await repair(db, client, settings, one)}")
    if not apply:
        lines.append("Run `reviewdesk reconcile --apply` to repair them.")
    return lines


# --- the worker's periodic check -----------------------------------------------------------------


@dataclass
class DriftCount:
    """What the last check found, for metrics: counts only, never whose records."""

    contacts: int = 0
    reports: int = 0
    checks: int = 0


LAST = DriftCount()


async def watch(db: Store, client: Client, settings: Settings) -> None:
    """Every ``drift_check_every``, counts the disagreements and logs the counts; runs until
    cancelled. Repairs are left to a person (`reviewdesk reconcile --apply`)."""
    every = settings.drift_check_every.total_seconds()
    while True:
        await asyncio.sleep(every)
        try:
            found = await find(db, client, settings)
        except Exception as err:
            # A check that fails is tried again next time, whatever failed. The error's text
            # may name records; its kind is enough to act on.
            log.warning("drift check failed: %s", type(err).__name__)
            continue
        LAST.contacts = sum(1 for d in found if d.record.kind == "contact")
        LAST.reports = len(found) - LAST.contacts
        LAST.checks += 1
        if found:
            log.warning(
                "drift: %d contact(s) and %d report(s) disagree with Temporal;"
                " run `reviewdesk reconcile` to see and repair them",
                LAST.contacts,
                LAST.reports,
            )
        else:
            log.info("drift check: the store and Temporal agree")
