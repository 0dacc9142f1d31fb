"""Whole journeys of the standing workflow (issue 18), shared by the privacy scan and the
recorder of stored histories: a warning taken and lifted by a moderator with a note; a warning
taken and expired; a run that continues as new and keeps its timer to the end.

The harness's settings must make a finding of two rejected flags (``LOW_THRESHOLDS``). What
people write here is distinctive, so a scan of the histories finds it if it leaked.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowExecutionStatus, WorkflowHistory

from domain import standing_workflow_id
from domain.enums import (
    Decision,
    Finding,
    FlagReason,
    ReviewSource,
    StandingStepKind,
    StandingSubject,
    StepEnd,
    SubReason,
)
from domain.standing_messages import AssessSignal, StandingInput
from starter.flag_inputs import FlagBody
from starter.inputs import DecisionBody
from store import reviews, standing
from store.records import StandingStep, now
from tests.conftest import Harness
from tests.moderation_flows import DECISION_NOTE, FLAG_EXPLANATION, Journey
from workflows.standing import StandingWorkflow

LOW_THRESHOLDS: dict[str, Any] = {"misuse_min_decided_flags": 2, "misuse_min_flags": 1_000}
LIFT_NOTE = "LIFTNOTE the flags were about reviews later found to be fake"


async def _rejected_flags(h: Harness, business_id: str, count: int) -> list[str]:
    """Flags ``count`` new 5-star reviews of the business as harmful; each is rejected."""
    review_ids = [f"rv_sf_{secrets.token_hex(5)}" for _ in range(count)]
    async with h.db.tx() as conn:
        for review_id in review_ids:
            await reviews.add_review(
                conn,
                id=review_id,
                business_id=business_id,
                reviewer_id=h.world.reviewer,
                rating=5,
                title="Lovely",
                text="A lovely visit.",
                source=ReviewSource.ORGANIC,
                created_at=now() - timedelta(days=1),
            )
    ids = []
    for review_id in review_ids:
        flagged = await h.service.flags.flag(
            business_id,
            review_id,
            FlagBody(
                reason=FlagReason.HARMFUL_OR_ILLEGAL,
                sub_reason=SubReason.DEFAMATION,
                explanation=FLAG_EXPLANATION,
            ),
        )
        assert flagged.report is not None
        report_id = flagged.report.id

        async def opened(report_id: str = report_id) -> bool:
            view = await h.service.report_view(report_id)
            return "opened" in [e.type for e in view.history]

        await h.eventually(opened)
        await h.service.decide(
            h.world.moderator, report_id, DecisionBody(decision=Decision.REJECT, note=DECISION_NOTE)
        )
        ids += [flagged.flag.id, report_id]
    return ids


async def _steps(h: Harness, business_id: str, count: int) -> list[StandingStep]:
    async def check() -> list[StandingStep] | None:
        async with h.db.read() as conn:
            found = await standing.steps_of(conn, StandingSubject.BUSINESS, business_id)
        return found if len(found) >= count else None

    found: list[StandingStep] = await h.eventually(check)
    return found


async def warning_lifted(h: Harness) -> Journey:
    """Two rejected flags: a warning; a moderator lifts it with a note; the run ends."""
    w = h.world
    ids = await _rejected_flags(h, w.business, 2)
    [warning] = await _steps(h, w.business, 1)
    await h.service.standing.lift(w.moderator, StandingSubject.BUSINESS, w.business, LIFT_NOTE)
    return Journey(
        workflows={"standing": standing_workflow_id(StandingSubject.BUSINESS.value, w.business)},
        ids=[warning.id, *ids],
    )


async def warning_expired(h: Harness) -> Journey:
    """Two more rejected flags (the lifted warning does not count): a warning again, which ends
    by itself at its end; the run ends with it."""
    w = h.world
    before = len(await _steps(h, w.business, 0))
    await _rejected_flags(h, w.business, 2)
    warning = (await _steps(h, w.business, before + 1))[0]
    assert warning.kind is StandingStepKind.WARNING
    await h.env.sleep(warning.ends_at - await h.env.get_current_time() + timedelta(minutes=1))

    async def ended() -> StandingStep | None:
        async with h.db.read() as conn:
            step = await standing.get_step(conn, warning.id)
        return step if step is not None and not step.in_force else None

    expired: StandingStep = await h.eventually(ended)
    # Ended by its timer, at its own end, and the business told once.
    assert (expired.end_reason, expired.ended_at) == (StepEnd.EXPIRED, warning.ends_at)
    told = [
        m for m in await h.messages("standing.step_ended", "business") if m.subject_id == warning.id
    ]
    assert len(told) == 1 and "expired" in told[0].body_text
    return Journey(
        workflows={"standing": standing_workflow_id(StandingSubject.BUSINESS.value, w.business)},
        ids=[warning.id],
    )


async def continued_as_new(h: Harness) -> tuple[dict[str, WorkflowHistory], list[str]]:
    """A restriction in force (taken earlier), its run asked to assess until its history passes
    a low limit: it continues as new, and the new run ends the step at its end. Both runs'
    histories, and the step's id."""
    w = h.world
    at = await h.env.get_current_time()  # the server's clock, which the journeys moved on
    step = StandingStep(
        id=f"st_{secrets.token_hex(12)}",
        subject_kind=StandingSubject.BUSINESS,
        subject_id=w.other_business,
        kind=StandingStepKind.RESTRICTION,
        finding=Finding.REJECTED_FLAGS,
        figures={"decided": 2, "rejected": 2},
        taken_at=at - timedelta(hours=1),
        ends_at=at + timedelta(days=3),
    )
    async with h.db.tx() as conn:
        await standing.add_step(conn, step)
    workflow_id = standing_workflow_id(StandingSubject.BUSINESS.value, w.other_business)
    first = await h.client.start_workflow(
        StandingWorkflow.run,
        StandingInput(
            subject_kind=StandingSubject.BUSINESS, subject_id=w.other_business, event_limit=12
        ),
        id=workflow_id,
        task_queue=h.settings.task_queue,
    )
    latest = h.client.get_workflow_handle(workflow_id)
    for _ in range(20):
        await latest.signal(StandingWorkflow.assess, AssessSignal())
        await asyncio.sleep(0.2)
        if (await latest.describe()).run_id != first.result_run_id:
            break
    second_run = (await latest.describe()).run_id
    assert second_run != first.result_run_id, "the run did not continue as new"
    await h.env.sleep(step.ends_at - await h.env.get_current_time() + timedelta(minutes=1))
    ended = h.client.get_workflow_handle(workflow_id, run_id=second_run)

    async def completed() -> bool:
        return (await ended.describe()).status is WorkflowExecutionStatus.COMPLETED

    await h.eventually(completed)  # the new run ended the step at its end, and itself
    histories = {
        "first": await h.client.get_workflow_handle(
            workflow_id, run_id=first.result_run_id
        ).fetch_history(),
        "continued": await h.client.get_workflow_handle(
            workflow_id, run_id=second_run
        ).fetch_history(),
    }
    return histories, [step.id]
