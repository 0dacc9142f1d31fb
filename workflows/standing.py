"""StandingWorkflow: a business's or a notifier's standing (DESIGN rule 12), one each.

    load the steps in force (their ends are the timers)
    loop:
        changed (a moderator lifted a step) ──> load them again
        assess (a finding may be due) ──> judge; the ladder's next step, with its timer
        a step's end passed ──> end it as expired (a lifted one is left alone), tell the subject
        nothing in force and nothing asked ──> end (the next signal starts a new run)
        the history grows large ──> continue as new, carrying an assess not yet acted on
        wait for a signal or the next end

The store says what is in force; this workflow is the one clock that ends a step, so a worker
restart, a skipped-time test server and a moderator's lift all agree.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.standing import StandingActivities
    from domain.standing_messages import (
        Assessed,
        AssessInput,
        AssessSignal,
        ChangedSignal,
        ExpireInput,
        InForce,
        StandingInput,
        StepTimer,
        SubjectInput,
    )
    from workflows._steps import store_step


@workflow.defn
class StandingWorkflow:
    @workflow.init
    def __init__(self, inp: StandingInput) -> None:
        self._inp = inp
        self._assess = inp.assess_pending
        self._changed = False
        self._ends: dict[str, datetime] = {}
        # Whether this run did anything past loading: a fresh run never continues as new, so a
        # limit below a run's first few events cannot make it start over and over.
        self._acted = False

    @workflow.run
    async def run(self, inp: StandingInput) -> None:
        subject = SubjectInput(subject_kind=inp.subject_kind, subject_id=inp.subject_id)
        await self._load(subject)
        while True:
            if self._changed:
                self._changed = False
                self._acted = True
                await self._load(subject)
            if self._assess:
                self._assess = False
                self._acted = True
                await self._judge(inp)
            await self._expire_due(inp)
            if not (self._ends or self._assess or self._changed):
                await workflow.wait_condition(workflow.all_handlers_finished)
                return
            if self._acted and self._history_large(inp):
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    inp.model_copy(update={"assess_pending": self._assess or self._changed})
                )
            await self._wait()

    async def _load(self, subject: SubjectInput) -> None:
        loaded: InForce = await store_step(StandingActivities.load, subject)
        self._ends = {t.step_id: t.ends_at for t in loaded.steps}

    async def _judge(self, inp: StandingInput) -> None:
        assessed: Assessed = await store_step(
            StandingActivities.assess,
            AssessInput(
                subject_kind=inp.subject_kind,
                subject_id=inp.subject_id,
                step_id=f"st_{workflow.uuid4().hex[:24]}",
                at=workflow.now(),
                delivery=inp.delivery,
            ),
        )
        if assessed.step is not None:
            self._ends[assessed.step.step_id] = assessed.step.ends_at

    async def _expire_due(self, inp: StandingInput) -> None:
        due = sorted((at, step_id) for step_id, at in self._ends.items() if at <= workflow.now())
        for _, step_id in due:
            await store_step(
                StandingActivities.expire,
                ExpireInput(step_id=step_id, at=workflow.now(), delivery=inp.delivery),
            )
            del self._ends[step_id]
            self._acted = True

    async def _wait(self) -> None:
        """Until a signal, or the next step's end."""
        timeout = min(self._ends.values()) - workflow.now() if self._ends else None
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self._assess or self._changed, timeout=timeout)

    @staticmethod
    def _history_large(inp: StandingInput) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > inp.event_limit
        )

    @workflow.signal
    def assess(self, _: AssessSignal) -> None:
        self._assess = True

    @workflow.signal
    def changed(self, _: ChangedSignal) -> None:
        self._changed = True

    @workflow.query
    def in_force(self) -> InForce:
        """The steps this run keeps a timer for, soonest end first."""
        return InForce(
            steps=[
                StepTimer(step_id=step_id, ends_at=at)
                for step_id, at in sorted(self._ends.items(), key=lambda item: item[1])
            ]
        )
