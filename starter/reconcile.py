"""`reviewdesk reconcile`: where the store and Temporal disagree, and the repair of each.

A contact the store holds open waits in `contact-<review id>` for the reviewer or the business;
a pending report waits in `report-<review id>` for a moderator. A workflow terminated by hand,
or lost with a Temporal server's data, leaves its record waiting for ever: a contact
`awaiting_reply` blocks every later contact on its review, a pending report keeps its review
hidden. Nothing inside the system would notice, so this module compares the two; it is the one
rule for what must run (``tests/consistency.py`` checks the store against Temporal by it too).

An open flag waits in `flag-<flag id>` for the reviewer or the business (a harmful one, escalated
but without its report yet, for its first step); a notice not yet received in
`notice-<notice id>`; a pending appeal in `appeal-<decision id>` for a second moderator. Lost,
each blocks too: a flag its reason on the review (`already_flagged`), an appeal its decision's one
appeal.

Repairs: a contact awaiting its reply, a pending report, an open flag, a notice not received and
a pending appeal are re-driven (their workflow is started again with its input rebuilt from the
store; each step finds what the first run recorded and repeats nothing, and deadlines already
told stay: a contact's reply window, a flag's reviewer and business deadlines, so one whose
deadline has passed moves on at once and whoever waits is told as usual). A contact past its
reply window is closed, so the review can be contacted again once the cooldown has passed:
resuming its report window is not something its workflow can do from the middle; so is a flag
awaiting the business after the reviewer's edit (a new run would ask the reviewer again): it
ends as dropped, and, lost by the platform, does not count as the review's one flag for its
reason (DESIGN rule 12): the business may flag it again. Each
repair is recorded in the record's history.

A step of the misuse guard's ladder in force waits in `standing-<subject kind>-<subject id>` for
its end; without it the step would stay in force for ever: that workflow is started again (it
loads its subject's steps, so their timers exist again).

A ticket's response target waits in `ticket-<review id>`. A review stored while Temporal did not
answer, and never posted again, has a ticket whose workflow never started: no reminder, no
breach. Its first step marks the ticket started, so only tickets unmarked a minute after they
opened are checked (not every open ticket: there may be tens of thousands), and the repair
starts the workflow (the start is idempotent by id).
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

from domain import (
    appeal_workflow_id,
    contact_workflow_id,
    flag_workflow_id,
    notice_workflow_id,
    report_workflow_id_of,
    standing_workflow_id,
    ticket_workflow_id,
)
from domain.appeal_messages import AppealWorkflowInput
from domain.enums import AppealStatus, ContactStatus, ReportSource, ReportStatus
from domain.messages import (
    ContactWorkflowInput,
    ReportWorkflowInput,
)
from domain.notice_messages import NoticeWorkflowInput
from domain.standing_messages import StandingInput
from settings import Settings
from starter.appeals import appeal_input
from starter.flags import flag_input, resumable
from starter.workflow_inputs import contact_input, delivery_policy
from store import Store, appeals, contacts, drift, flags, notices, reports, standing, tickets
from store.connection import Connection
from store.records import Appeal, Contact, Flag, Notice, Report, StandingStep, Ticket, now
from workflows.appeal import AppealWorkflow
from workflows.contact import ReviewerContactWorkflow
from workflows.flag import FlagWorkflow
from workflows.notice import NoticeWorkflow
from workflows.report import ReviewReportWorkflow
from workflows.standing import StandingWorkflow

log = logging.getLogger("reviewdesk.drift")

Kind = Literal["contact", "report", "flag", "notice", "appeal", "standing", "ticket"]
# How long a ticket's workflow may take to run its first step before reconcile looks at it.
TICKET_START_GRACE = timedelta(minutes=1)
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
    # An appeal runs under its decision's id (one appeal per decision).
    decision_id: str = ""
    # A step of the misuse guard's ladder runs in its subject's standing workflow.
    subject_kind: str = ""
    subject_id: str = ""

    @property
    def workflow_id(self) -> str:
        if self.kind == "contact":
            return contact_workflow_id(self.review_id)
        if self.kind == "flag":
            return flag_workflow_id(self.id)
        if self.kind == "notice":
            return notice_workflow_id(self.id)
        if self.kind == "appeal":
            return appeal_workflow_id(self.decision_id)
        if self.kind == "standing":
            return standing_workflow_id(self.subject_kind, self.subject_id)
        if self.kind == "ticket":
            return ticket_workflow_id(self.review_id)
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
    """The record the workflow's run was started for."""
    if record.kind in ("flag", "notice", "standing", "ticket"):
        # Its workflow id is its own (a standing workflow carries every step of its subject).
        return record.id
    kind: type[Any] = {
        "contact": ContactWorkflowInput,
        "report": ReportWorkflowInput,
        "appeal": AppealWorkflowInput,
    }[record.kind]
    handle = client.get_workflow_handle(record.workflow_id, run_id=run_id)
    async for event in handle.fetch_history_events(page_size=1, rpc_timeout=rpc_timeout):
        payloads = event.workflow_execution_started_event_attributes.input.payloads
        [inp] = await client.data_converter.decode(payloads, [kind])
        if isinstance(inp, ContactWorkflowInput):
            return inp.contact_id
        if isinstance(inp, AppealWorkflowInput):
            return inp.appeal_id
        assert isinstance(inp, ReportWorkflowInput)
        return inp.report_id
    return None


def expected_of(
    contacts_open: Sequence[Contact],
    pending: Sequence[Report],
    flags_open: Sequence[Flag] = (),
    unreceived: Sequence[Notice] = (),
    appeals_pending: Sequence[Appeal] = (),
    steps_in_force: Sequence[StandingStep] = (),
    tickets_not_started: Sequence[Ticket] = (),
) -> list[Expected]:
    # One per subject: its workflow keeps the timers of all its steps.
    subjects = {(s.subject_kind, s.subject_id): s for s in reversed(steps_in_force)}
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
        *(Expected("flag", f.id, f.review_id, f.status.value) for f in flags_open),
        *(Expected("notice", n.id, n.review_id, "awaiting_receipt") for n in unreceived),
        *(
            Expected("appeal", a.id, a.review_id, a.status.value, decision_id=a.decision_id)
            for a in appeals_pending
        ),
        *(
            Expected(
                "standing",
                s.id,
                "",
                "in_force",
                subject_kind=s.subject_kind.value,
                subject_id=s.subject_id,
            )
            for s in subjects.values()
        ),
        *(Expected("ticket", t.id, t.review_id, "not_started") for t in tickets_not_started),
    ]


async def _steps_in_force(conn: Connection) -> list[StandingStep]:
    found: list[StandingStep] = []
    while page := await standing.steps_in_force(conn, limit=1000, offset=len(found)):
        found += page
    return found


async def _expected(conn: Connection) -> list[Expected]:
    return expected_of(
        await drift.contacts_not_ended(conn),
        await drift.reports_pending(conn),
        await drift.flags_not_ended(conn),
        await notices.unreceived(conn),
        await drift.appeals_pending(conn),
        await _steps_in_force(conn),
        await tickets.not_started(conn, before=now() - TICKET_START_GRACE),
    )


async def find(db: Store, client: Client, settings: Settings) -> list[Disagreement]:
    """Every record the store holds open whose workflow is not running for it."""
    async with db.read() as conn:
        records = await _expected(conn)
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
    others = {d.record.id for d in found if d.record.kind not in ("contact", "report")}
    return [
        *expected_of(
            [c for c in now_contacts if c.status.is_open],
            [r for r in now_reports if r.status is ReportStatus.PENDING],
        ),
        # Few, and rarely any: read again as the check reads them.
        *(e for e in await _expected_others(conn) if e.id in others),
    ]


async def _expected_others(conn: Connection) -> list[Expected]:
    return expected_of(
        [],
        [],
        await drift.flags_not_ended(conn),
        await notices.unreceived(conn),
        await drift.appeals_pending(conn),
        await _steps_in_force(conn),
        await tickets.not_started(conn, before=now() - TICKET_START_GRACE),
    )


# --- repairs -------------------------------------------------------------------------------------


async def repair(db: Store, client: Client, settings: Settings, found: Disagreement) -> str:
    """Repairs one disagreement and says what it did, in words."""
    record = found.record
    if record.kind == "ticket":
        return await _start_ticket(db, client, settings, record)
    if record.kind == "standing":
        return await _redrive_standing(db, client, settings, record)
    if record.kind in ("flag", "notice", "appeal"):
        if found.runs_another:
            return f"left as it is: another {record.kind} runs under its id; see to it by hand"
        redrive = {"flag": _redrive_flag, "notice": _redrive_notice, "appeal": _redrive_appeal}
        return await redrive[record.kind](db, client, settings, record)
    if record.kind == "report":
        if found.runs_another:
            return "left as it is: another report runs under its id; see to it by hand"
        return await _redrive_report(db, client, settings, record)
    if found.runs_another or record.status != ContactStatus.AWAITING_REPLY.value:
        async with db.tx() as conn:
            closed = await drift.close_contact(conn, record.id, now())
        if not closed:
            return "nothing to do: it has ended meanwhile"
        return "closed; the review can be contacted again after the cooldown"
    return await _redrive_contact(db, client, settings, record)


async def _redrive_contact(db: Store, client: Client, settings: Settings, record: Expected) -> str:
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


async def _redrive_report(db: Store, client: Client, settings: Settings, record: Expected) -> str:
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


async def _redrive_flag(db: Store, client: Client, settings: Settings, record: Expected) -> str:
    async with db.read() as conn:
        flag = await flags.get_flag(conn, record.id)
    if flag is None or flag.status.value != record.status:
        return "nothing to do: it has moved on meanwhile"
    if not resumable(flag):
        async with db.tx() as conn:
            closed = await drift.close_flag(conn, flag.id, now())
        if not closed:
            return "nothing to do: it has ended meanwhile"
        return "closed as dropped; the business may flag the review again"
    inp = flag_input(settings, flag)
    if not await _start(client, settings, FlagWorkflow.run, inp, record.workflow_id):
        return "left as it is: a workflow started under its id meanwhile"
    async with db.tx() as conn:
        await drift.record_repair(conn, flag.id, "re-driven", now())
    return f"re-driven: {record.workflow_id} started again; the flag carries on from its store"


async def _redrive_notice(db: Store, client: Client, settings: Settings, record: Expected) -> str:
    async with db.read() as conn:
        notice = await notices.get_notice(conn, record.id)
        still = notice is not None and not await notices.received(conn, notice.id)
    if notice is None or not still:
        return "nothing to do: it has been received meanwhile"
    inp = NoticeWorkflowInput(notice_id=notice.id, delivery=delivery_policy(settings))
    if not await _start(client, settings, NoticeWorkflow.run, inp, record.workflow_id):
        return "left as it is: a workflow started under its id meanwhile"
    async with db.tx() as conn:
        await drift.record_repair(conn, notice.id, "re-driven", now())
    return f"re-driven: {record.workflow_id} started again; the notice goes to a moderator"


async def _redrive_appeal(db: Store, client: Client, settings: Settings, record: Expected) -> str:
    async with db.read() as conn:
        appeal = await appeals.get_appeal(conn, record.id)
        decision = await reports.get_decision(conn, appeal.decision_id) if appeal else None
        report = await reports.get_report(conn, appeal.report_id) if appeal else None
    if appeal is None or appeal.status is not AppealStatus.PENDING:
        return "nothing to do: it has been decided meanwhile"
    assert decision is not None and report is not None
    inp = appeal_input(settings, appeal, decision, report, restart=True)
    if not await _start(client, settings, AppealWorkflow.run, inp, record.workflow_id):
        return "left as it is: a workflow started under its id meanwhile"
    async with db.tx() as conn:
        await drift.record_repair(conn, appeal.id, "re-driven", now())
    return f"re-driven: {record.workflow_id} started again; another moderator can decide it"


async def _redrive_standing(db: Store, client: Client, settings: Settings, record: Expected) -> str:
    """A step in force without its standing workflow: started again, it loads the subject's
    steps and keeps their timers (one past its end ends at once, as expired), and assesses
    what may have been missed while it was gone."""
    async with db.read() as conn:
        step = await standing.get_step(conn, record.id)
    if step is None or not step.in_force:
        return "nothing to do: it has ended meanwhile"
    inp = StandingInput(
        subject_kind=step.subject_kind,
        subject_id=step.subject_id,
        delivery=delivery_policy(settings),
        assess_pending=True,
    )
    if not await _start(client, settings, StandingWorkflow.run, inp, record.workflow_id):
        return "left as it is: a workflow started under its id meanwhile"
    return f"re-driven: {record.workflow_id} started again; its steps end on time"


async def _start_ticket(db: Store, client: Client, settings: Settings, record: Expected) -> str:
    from starter.intake import Intake

    async with db.read() as conn:
        ticket = await tickets.get_ticket(conn, record.id)
    if ticket is None or ticket.started_at is not None:
        return "nothing to do: it has started meanwhile"
    await Intake(client, db, settings).start_ticket(ticket)
    return f"started: {record.workflow_id} keeps its response target's timers"


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
    # Flags, notices and appeals, together.
    others: int = 0
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
        LAST.reports = sum(1 for d in found if d.record.kind == "report")
        LAST.others = len(found) - LAST.contacts - LAST.reports
        LAST.checks += 1
        if found:
            log.warning(
                "drift: %d contact(s) and %d report(s) disagree with Temporal, and %d other"
                " record(s) (flags, notices, appeals, ladder steps, tickets);"
                " run `reviewdesk reconcile` to see and repair them",
                LAST.contacts,
                LAST.reports,
                LAST.others,
            )
        else:
            log.info("drift check: the store and Temporal agree")
