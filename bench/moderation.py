"""The moderation plan: flags, notices, decisions and appeals, on Reviewdesk and the bare engine.

A case is one review's way through moderation (DESIGN rules 8 to 11), one of four kinds:

- ``edit``: flagged for personal information; the reviewer edits it through the link in their
  email; the business escalates;
- ``silent``: flagged as advertising or spam; the reviewer lets their (short) window pass; the
  business escalates;
- ``harmful``: flagged as harmful or illegal; straight to the moderators;
- ``notice``: a notice from anyone (no account); straight to the moderators.

Every case's report is decided by the first moderator, upheld or rejected; a share of the
decisions is appealed (a removal by the reviewer through the link in their statement of
reasons; a rejection by the business through the API, or by the notifier through the link in
their notice's emails) and the second moderator grants or denies the appeal. A case is final
when its last answer came.

The bare engine runs the same cases on workflows with the same steps, timers, updates and
separately started workflows as Reviewdesk's (``bench/bare_workflows/``), through a plain
Temporal client, at the same concurrency (``Slots``, as the lifecycle plan does).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from bench.bare_activities import (
    BareAct,
    BareAppealInput,
    BareFlagInput,
    BareFlagState,
    BareNoticeInput,
    BareState,
    appeal_id_of,
    flag_id_of,
    notice_id_of,
    report_id_of,
)
from bench.bare_workflows.appeal import BareAppealWorkflow
from bench.bare_workflows.flag import BareFlagWorkflow
from bench.bare_workflows.notice import BareNoticeWorkflow
from bench.bare_workflows.report import BareReportWorkflow
from bench.drivers import POLL, BareDriver, Recorder, ReviewdeskDriver
from delivery.links import Purpose
from settings import Settings
from store import Store, outbox

KINDS = ("edit", "harmful", "notice", "silent")
# How often a client looks whether what a notice started is there yet.
NOTICE_POLL = 0.05
# Windows of the bench's flags: the reviewer's is the only one a case waits for.
REVIEWER_WINDOW = timedelta(seconds=5)
BUSINESS_WINDOW = timedelta(days=14)
MODERATION_SLA = timedelta(days=2)
HARMFUL_SLA = timedelta(hours=24)
APPEAL_SLA = timedelta(days=5)


@dataclass(frozen=True)
class Case:
    """What happens to one review: the same cases drive Reviewdesk and the bare engine."""

    kind: str
    uphold: bool
    appeal: bool
    grant: bool


def _seconds_until(moment: datetime) -> float:
    return (moment - datetime.now(UTC)).total_seconds()


def make_cases(n: int, appeal_share: float, seed: int = 11) -> list[Case]:
    """The four kinds in turn; every other report upheld; a share of the decisions appealed,
    half of those granted."""
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        appeal = rng.random() < appeal_share
        cases.append(
            Case(kind=KINDS[i % 4], uphold=(i // 4) % 2 == 0, appeal=appeal, grant=i % 3 == 0)
        )
    return cases


def step_names(cases: list[Case]) -> dict[str, int]:
    """How many of each request the cases make: the plan's shape, printed with its figures."""
    counts: dict[str, int] = {}
    for case in cases:
        names = ["notice"] if case.kind == "notice" else ["flag"]
        if case.kind == "edit":
            names.append("reviewer_edit")
        if case.kind in ("edit", "silent"):
            names.append("escalate")
        names.append("decision")
        if case.appeal:
            names += ["appeal", "appeal_decision"]
        for name in names:
            counts[name] = counts.get(name, 0) + 1
    return counts


class ReviewdeskModeration(ReviewdeskDriver):
    """Businesses, reviewers, a notifier and two moderators, each doing what the product lets
    them do, through the HTTP API and the one-time link pages (the lifecycle driver's requests,
    slots and timings)."""

    OPENING = frozenset({"flag", "notice"})

    def __init__(
        self,
        http: httpx.AsyncClient,
        store: Store,
        *,
        settings: Settings,
        business_keys: dict[str, str],
        moderator_key: str,
        second_moderator_key: str,
        concurrency: int,
        recorder: Recorder,
    ) -> None:
        super().__init__(
            http,
            store,
            settings=settings,
            business_keys=business_keys,
            moderator_key=moderator_key,
            concurrency=concurrency,
            recorder=recorder,
        )
        self.second_moderator_key = second_moderator_key

    async def case(self, review_id: str, business_id: str, case: Case) -> None:
        key = self.business_keys[business_id]
        self.rec.started()
        notice_id = None
        if case.kind == "notice":
            notice_id, report_id = await self._notice(review_id)
        else:
            report_id = await self._flag(review_id, key, case)
        response = await self._request(
            "decision",
            "POST",
            f"/api/v1/reports/{report_id}/decision",
            self.moderator_key,
            json={
                "decision": "uphold" if case.uphold else "reject",
                "note": "Read against the guidelines.",
                **(
                    {"legal_ground": "Defamation Act 2013, s. 1"}
                    if case.uphold and case.kind in ("harmful", "notice")
                    else {}
                ),
            },
        )
        self._expect(response, 200, f"decide {report_id}")
        if case.appeal:
            await self._appeal(report_id, notice_id, key, case)
        self.rec.final()

    async def _flag(self, review_id: str, key: str, case: Case) -> str:
        reason = {
            "edit": "personal_information",
            "silent": "advertising_or_spam",
            "harmful": "harmful_or_illegal",
        }[case.kind]
        response = await self._request(
            "flag",
            "POST",
            f"/api/v1/reviews/{review_id}/flags",
            key,
            json={
                "reason": reason,
                **({"sub_reason": "defamation"} if case.kind == "harmful" else {}),
                "explanation": "The review names our employee and her home street.",
            },
        )
        flag = self._expect(response, 201, f"flag {review_id}")
        if case.kind == "harmful":
            return str(flag["report"]["id"])
        if case.kind == "edit":
            token = await self._link(flag["id"], "flag.reviewer_asked", Purpose.FLAG)
            response = await self._request(
                "reviewer_edit",
                "POST",
                f"/flag/{token}",
                data={"action": "edit", "text": "The order came late; the staff were polite."},
            )
            self._expect(response, 200, f"reviewer's edit of {flag['id']}")
        else:
            deadline = datetime.fromisoformat(flag["reviewer_deadline"])
            await asyncio.sleep(max(0.0, _seconds_until(deadline)) + POLL)
        while True:
            started = time.perf_counter()
            response = await self._request(
                None, "POST", f"/api/v1/flags/{flag['id']}/escalate", key
            )
            # Past the reviewer's deadline, the workflow takes in its timer a moment later: an
            # escalation in that moment is refused as "reviewer_step_open", and a client tries
            # again. Only the escalation that went through is timed, once per case.
            if response.status_code != 409 or "reviewer_step_open" not in response.text:
                self.rec.add("escalate", time.perf_counter() - started)
                break
            self.rec.count("escalate retried after reviewer_step_open")
            await asyncio.sleep(POLL)
        escalated = self._expect(response, 200, f"escalate {flag['id']}")
        return str(escalated["report"]["id"])

    async def _notice(self, review_id: str) -> tuple[str, str]:
        response = await self._request(
            "notice",
            "POST",
            "/api/v1/notices",
            json={
                "review_id": review_id,
                "sub_reason": "defamation",
                "explanation": "It says the owner stole from customers, which is untrue.",
                "name": "Alex Notifier",
                "email": "alex@notifier.example",
                "good_faith": True,
            },
        )
        notice_id = str(self._expect(response, 202, f"notice on {review_id}")["notice_id"])
        return notice_id, await self._report_of_notice(notice_id)

    async def _report_of_notice(self, notice_id: str) -> str:
        """The moderator finds the notice's report in the queue once its workflow has opened it
        (its first step records "opened")."""
        while True:
            self.rec.count("store reads for a notice's report")
            async with self.store.read() as conn:
                row = await conn.fetch_one(
                    "SELECT n.report_id FROM notices n JOIN events e ON e.subject_id = n.report_id"
                    " WHERE n.id = ? AND e.type = 'opened'",
                    (notice_id,),
                )
            if row is not None:
                return str(row[0])
            await asyncio.sleep(NOTICE_POLL)

    async def _link(self, subject_id: str, event_type: str, purpose: Purpose) -> str:
        """The link in the email recorded for ``subject_id``, as the worker puts it in."""
        key = f"{subject_id}:{event_type}:reviewer"
        async with self.store.read() as conn:
            message = await outbox.get_message(conn, key)
        if message is None or message.link_purpose != purpose:
            raise RuntimeError(f"no {purpose.value} link in the email {key}")
        return self.links.token(purpose, subject_id)

    async def _appeal(self, report_id: str, notice_id: str | None, key: str, case: Case) -> None:
        decision_id = await self._decision_id(report_id)
        appeal = {"statement": "Please look again: the review was read out of context."}
        if case.uphold or notice_id is not None:
            # The reviewer against a removal, through the link in the statement of reasons; the
            # notifier against a rejection, through the link in their notice's emails. The
            # page asks to confirm first; the confirmed form sends the appeal.
            if case.uphold:
                statement_id = await self._removal_statement(decision_id)
                link = f"/appeal/{self.links.token(Purpose.APPEAL, statement_id)}"
            else:
                assert notice_id is not None
                link = f"/notice/{self.links.token(Purpose.NOTICE, notice_id)}"
            response = await self._request(
                "appeal", "POST", link, data={**appeal, "confirmed": "yes"}
            )
            self._expect(response, 200, f"appeal of {decision_id}")
            appeal_id = await self._appeal_id(decision_id)
        else:
            # The business against a rejection of its flag, through the API.
            response = await self._request(
                "appeal", "POST", f"/api/v1/decisions/{decision_id}/appeals", key, json=appeal
            )
            appeal_id = str(self._expect(response, 201, f"appeal of {decision_id}")["id"])
        response = await self._request(
            "appeal_decision",
            "POST",
            f"/api/v1/appeals/{appeal_id}/decision",
            self.second_moderator_key,
            json={"decision": "grant" if case.grant else "deny", "note": "Looked again."},
        )
        self._expect(response, 200, f"decide appeal {appeal_id}")

    async def _decision_id(self, report_id: str) -> str:
        async with self.store.read() as conn:
            row = await conn.fetch_one("SELECT decision_id FROM reports WHERE id = ?", (report_id,))
        if row is None or row[0] is None:
            raise RuntimeError(f"no decision on {report_id} after its 200")
        return str(row[0])

    async def _removal_statement(self, decision_id: str) -> str:
        async with self.store.read() as conn:
            row = await conn.fetch_one(
                "SELECT id FROM statements WHERE decision_id = ? AND restriction = 'removed'",
                (decision_id,),
            )
        if row is None:
            raise RuntimeError(f"no statement of reasons for {decision_id}")
        return str(row[0])

    async def _appeal_id(self, decision_id: str) -> str:
        async with self.store.read() as conn:
            row = await conn.fetch_one(
                "SELECT id FROM appeals WHERE decision_id = ?", (decision_id,)
            )
        if row is None:
            raise RuntimeError(f"no appeal of {decision_id} after the appeal page answered")
        return str(row[0])


class BareModeration(BareDriver):
    """The same cases against the bare engine, through a plain Temporal client."""

    OPENING = ReviewdeskModeration.OPENING

    def __init__(
        self,
        client: Client,
        task_queue: str,
        *,
        run_id: str,
        reviewer_window: timedelta,
        concurrency: int,
        recorder: Recorder,
    ) -> None:
        super().__init__(
            client,
            task_queue,
            run_id=run_id,
            reply_window=reviewer_window,
            concurrency=concurrency,
            recorder=recorder,
        )
        self.reviewer_window = reviewer_window

    async def case(self, i: int, case: Case) -> None:
        instance = f"{self.run_id}-{i}"
        self.rec.started()
        if case.kind == "notice":
            await self._notice(instance)
        else:
            await self._flag(instance, case)
        report = self.client.get_workflow_handle_for(BareReportWorkflow.run, report_id_of(instance))
        await self._timed("decision", lambda: report.execute_update(BareReportWorkflow.decide))
        if case.appeal:
            await self._appeal(instance)
        self.rec.final()

    async def _flag(self, instance: str, case: Case) -> None:
        reviewer_first = case.kind != "harmful"

        async def start() -> BareFlagState:
            handle = await self.client.start_workflow(
                BareFlagWorkflow.run,
                BareFlagInput(
                    instance=instance,
                    reviewer_first=reviewer_first,
                    reviewer_window=self.reviewer_window,
                    business_window=BUSINESS_WINDOW,
                    moderation_sla=MODERATION_SLA if reviewer_first else HARMFUL_SLA,
                ),
                id=flag_id_of(instance),
                task_queue=self.task_queue,
            )
            try:
                state: BareFlagState = await handle.execute_update(BareFlagWorkflow.opened)
            except RPCError as err:
                # Escalated so fast that the workflow ended before the update reached it: as
                # Reviewdesk's service does (``WorkflowGone``), take that as opened.
                if err.status != RPCStatusCode.NOT_FOUND or reviewer_first:
                    raise
                return BareFlagState(instance=instance, status="escalated")
            return state

        state: BareFlagState = await self._timed("flag", start)
        if not reviewer_first:
            return
        handle = self.client.get_workflow_handle_for(BareFlagWorkflow.run, flag_id_of(instance))
        if case.kind == "edit":
            act = BareAct(instance=instance, action="edit", ref=f"edit-{instance}")
            await self._timed(
                "reviewer_edit", lambda: handle.execute_update(BareFlagWorkflow.reviewer_acted, act)
            )
        else:
            assert state.reviewer_deadline is not None
            await asyncio.sleep(max(0.0, _seconds_until(state.reviewer_deadline)) + POLL)
        escalate = BareAct(instance=instance, action="escalate")
        while True:
            try:
                await self._timed(
                    "escalate",
                    lambda: handle.execute_update(BareFlagWorkflow.business_acted, escalate),
                )
                return
            except WorkflowUpdateFailedError as err:
                if "reviewer_step_open" not in str(err.cause):
                    raise RuntimeError(f"bare escalate {instance}: {err.cause}") from None
            self.rec.count("escalate retried after reviewer_step_open")
            await asyncio.sleep(POLL)

    async def _notice(self, instance: str) -> None:
        async def start() -> WorkflowHandle[Any, BareState]:
            return await self.client.start_workflow(
                BareNoticeWorkflow.run,
                BareNoticeInput(instance=instance, moderation_sla=HARMFUL_SLA),
                id=notice_id_of(instance),
                task_queue=self.task_queue,
            )

        handle = await self._timed("notice", start)
        # The moderator finds the report once the notice's workflow has started it.
        while True:
            self.rec.count("reads for a notice's report")
            state: BareState = await handle.query(BareNoticeWorkflow.state)
            if state.status == "done":
                return
            await asyncio.sleep(NOTICE_POLL)

    async def _appeal(self, instance: str) -> None:
        async def start() -> None:
            handle = await self.client.start_workflow(
                BareAppealWorkflow.run,
                BareAppealInput(instance=instance, appeal_sla=APPEAL_SLA),
                id=appeal_id_of(instance),
                task_queue=self.task_queue,
            )
            await handle.execute_update(BareAppealWorkflow.opened)

        await self._timed("appeal", start)
        appeal = self.client.get_workflow_handle_for(BareAppealWorkflow.run, appeal_id_of(instance))
        await self._timed(
            "appeal_decision",
            lambda: appeal.execute_update(
                BareAppealWorkflow.decide, BareAct(instance=instance, action="decide")
            ),
        )
