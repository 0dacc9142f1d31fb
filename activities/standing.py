"""The steps of a business's or a notifier's standing (DESIGN rule 12): judge the findings and
take the ladder's next step, end a step that expired, and tell the standing workflow a finding
may be due (from a flag's and a report's workflows).

Each store step is one transaction, idempotent under retry: a step is keyed on the id its
workflow made, an expiry ends only a step still in force, and the outbox keys are the step's.
"""

from __future__ import annotations

import contextlib
import secrets
from datetime import datetime
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities import _notify
from activities._steps import ProcessSteps
from delivery import standing_texts
from domain import standing_workflow_id
from domain.enums import (
    Finding,
    StandingStepKind,
    StandingSubject,
    StepEnd,
    WebhookEvent,
)
from domain.ladder import next_step
from domain.messages import DeliveryPolicy
from domain.standing_messages import (
    Assessed,
    AssessInput,
    AssessSignal,
    ChangedSignal,
    ExpireInput,
    FlagOpenedInput,
    InForce,
    ReportDecidedInput,
    StandingInput,
    StepTimer,
    SubjectInput,
)
from settings import Settings
from store import accounts, findings, outbox, reports, standing
from store.connection import Connection
from store.records import OutboxMessage, StandingStep


def new_step_id() -> str:
    return f"st_{secrets.token_hex(12)}"


class StandingActivities(ProcessSteps):
    """Each step is named ``standing.<step>``."""

    @activity.defn(name="standing.load")
    async def load(self, inp: SubjectInput) -> InForce:
        """The subject's steps in force: the timers its workflow keeps."""
        async with self.db.read() as conn:
            steps = await standing.in_force(conn, inp.subject_kind, inp.subject_id)
        return InForce(steps=[StepTimer(step_id=s.id, ends_at=s.ends_at) for s in steps])

    @activity.defn(name="standing.assess")
    async def assess(self, inp: AssessInput) -> Assessed:
        """Judges the findings and, if one is found, takes the ladder's next step with its
        emails and webhook event, in one transaction."""
        async with self.db.tx() as conn:
            step = await standing.get_step(conn, inp.step_id)  # a retry: the first try's
            if step is None:
                step = await _judge(conn, self.settings, inp)
                if step is None:
                    return Assessed()
                await standing.add_step(conn, step)
            keys = await announce(conn, step, WebhookEvent.STANDING_STEP_TAKEN, inp.at)
        await _notify.hand_over(keys, inp.delivery, self.hand_over)
        return Assessed(step=StepTimer(step_id=step.id, ends_at=step.ends_at))

    @activity.defn(name="standing.expire")
    async def expire(self, inp: ExpireInput) -> None:
        """Ends a step at its end, and tells the subject. A step lifted meanwhile is left as
        the moderator left it, and the lift's own messages are handed over again: the last
        safety net for a lift whose hand-over failed (a 503) and was never retried. Handing
        over is idempotent, so a lift delivered long ago sends nothing again."""
        async with self.db.tx() as conn:
            step = await standing.get_step(conn, inp.step_id)
            if step is None:
                raise RuntimeError(f"standing step {inp.step_id} is not in the store")
            if step.in_force:
                # Ended at its end, however late the worker got to it.
                await standing.end_step(conn, step.id, at=step.ends_at, end=StepEnd.EXPIRED)
                step = await standing.get_step(conn, step.id)
                assert step is not None
            if step.end_reason is StepEnd.EXPIRED:
                keys = await announce(conn, step, WebhookEvent.STANDING_STEP_ENDED, inp.at)
            else:
                keys = [m.key for m in await ended_messages(conn, [step.id])]
        await _notify.hand_over(keys, inp.delivery, self.hand_over)

    @activity.defn(name="standing.flag_opened")
    async def flag_opened(self, inp: FlagOpenedInput) -> None:
        """A flag was opened: the business's standing looks at its flags."""
        await signal_standing(
            self.client,
            self.settings,
            StandingSubject.BUSINESS,
            inp.business_id,
            task_queue=activity.info().task_queue,
        )

    @activity.defn(name="standing.report_decided")
    async def report_decided(self, inp: ReportDecidedInput) -> None:
        """A report was decided: the standing of its business (when a flag of its opened or
        joined it) and of each of its notifiers looks at the outcomes."""
        async with self.db.read() as conn:
            report = await reports.get_report(conn, inp.report_id)
            if report is None:
                raise RuntimeError(f"report {inp.report_id} is not in the store")
            keys = await findings.notifier_keys_of_report(conn, report.id)
        subjects = [(StandingSubject.NOTIFIER, key) for key in keys]
        if report.flag_id is not None:
            subjects.insert(0, (StandingSubject.BUSINESS, report.business_id))
        for kind, subject_id in subjects:
            await signal_standing(
                self.client, self.settings, kind, subject_id, task_queue=activity.info().task_queue
            )


async def signal_standing(
    client: Client,
    settings: Settings,
    subject_kind: StandingSubject,
    subject_id: str,
    *,
    task_queue: str,
    changed: bool = False,
) -> None:
    """Signals the subject's standing workflow, starting it if it is not running: ``assess``
    (a finding may be due) or ``changed`` (a moderator lifted a step). Sent twice, it does no
    harm: an assessment finds nothing new, a reload the same timers."""
    from workflows.standing import StandingWorkflow

    signal: Any = ChangedSignal() if changed else AssessSignal()
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            StandingWorkflow.run,
            StandingInput(
                subject_kind=subject_kind,
                subject_id=subject_id,
                delivery=_delivery(settings),
            ),
            id=standing_workflow_id(subject_kind.value, subject_id),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal="changed" if changed else "assess",
            start_signal_args=[signal],
        )


def _delivery(settings: Settings) -> DeliveryPolicy:
    from starter.workflow_inputs import delivery_policy

    return delivery_policy(settings)


async def _judge(conn: Connection, settings: Settings, inp: AssessInput) -> StandingStep | None:
    """The ladder's next step if a finding is due now, or None."""
    steps = await standing.steps_of(conn, inp.subject_kind, inp.subject_id)
    since = inp.at - settings.misuse_window
    if steps:
        since = max(since, max(s.taken_at for s in steps))
    found = await _finding(conn, settings, inp.subject_kind, inp.subject_id, since)
    if found is None:
        return None
    finding, figures = found
    counted = [
        s
        for s in steps
        if s.taken_at >= inp.at - settings.ladder_memory and s.end_reason is not StepEnd.LIFTED
    ]
    # The ladder's next step by how many steps still count (taken within `ladder_memory`, not
    # lifted).
    kind = next_step(inp.subject_kind, len(counted))
    return StandingStep(
        id=inp.step_id,
        subject_kind=inp.subject_kind,
        subject_id=inp.subject_id,
        kind=kind,
        finding=finding,
        figures=figures,
        taken_at=inp.at,
        ends_at=inp.at + _period(settings, kind),
    )


async def _finding(
    conn: Connection,
    settings: Settings,
    subject_kind: StandingSubject,
    subject_id: str,
    since: datetime,
) -> tuple[Finding, dict[str, int]] | None:
    s = settings
    if subject_kind is StandingSubject.NOTIFIER:
        notices = await findings.notice_outcomes(conn, subject_id, since)
        if (
            notices.decided >= s.notifier_min_decided
            and notices.rejected >= s.notifier_unfounded_share * notices.decided
        ):
            return Finding.UNFOUNDED_NOTICES, {
                "decided": notices.decided,
                "rejected": notices.rejected,
            }
        return None
    flags = await findings.flag_outcomes(conn, subject_id, since)
    if (
        flags.decided >= s.misuse_min_decided_flags
        and flags.rejected >= s.misuse_rejected_share * flags.decided
    ):
        return Finding.REJECTED_FLAGS, {"decided": flags.decided, "rejected": flags.rejected}
    ratings = await findings.flag_ratings(conn, subject_id, since)
    if (
        ratings.flags >= s.misuse_min_flags
        and ratings.negative >= s.misuse_negative_share * ratings.flags
    ):
        return Finding.NEGATIVE_ONLY, {"flags": ratings.flags, "negative": ratings.negative}
    return None


def _period(settings: Settings, kind: StandingStepKind) -> Any:
    return {
        StandingStepKind.WARNING: settings.warning_period,
        StandingStepKind.RESTRICTION: settings.restriction_period,
        StandingStepKind.CONSUMER_WARNING: settings.consumer_warning_period,
        StandingStepKind.SUSPENSION: settings.suspension_period,
    }[kind]


async def announce(
    conn: Connection, step: StandingStep, event: WebhookEvent, at: datetime
) -> list[str]:
    """The email (and, for a business, the webhook event) about a step taken or ended: the
    business at its address, a notifier at the address of their latest notice not yet purged
    (none left: the step stands, untold). Keyed on the step, so recorded once."""
    taken = event is WebhookEvent.STANDING_STEP_TAKEN
    if step.subject_kind is StandingSubject.NOTIFIER:
        address = await findings.notifier_address(conn, step.subject_id)
        if address is None:
            return []
        text = (standing_texts.step_taken if taken else standing_texts.step_ended)(step, None)
        return [
            await _notify.email(
                conn,
                subject_id=step.id,
                event_type=event.value,
                recipient_kind="notifier",
                recipient_id=step.subject_id,
                to_address=address,
                text=text,
                at=at,
            )
        ]
    business = await accounts.get_business(conn, step.subject_id)
    if business is None:
        raise RuntimeError(f"business {step.subject_id} is not in the store")
    text = (standing_texts.step_taken if taken else standing_texts.step_ended)(step, business.name)
    return await _notify.tell_business(
        conn,
        business=business,
        subject_id=step.id,
        event_type=event.value,
        text=text,
        data=webhook_data(step),
        at=at,
    )


async def ended_messages(conn: Connection, step_ids: list[str]) -> list[OutboxMessage]:
    """The messages recorded about these steps' end, by an expiry or a lift (keyed on the
    step: one set each)."""
    about = await outbox.messages_about(conn, step_ids)
    return [m for m in about if m.event_type == WebhookEvent.STANDING_STEP_ENDED.value]


def webhook_data(step: StandingStep) -> dict[str, Any]:
    """What a business's endpoint is told of a step: its kind, finding, counts and times; the
    moderator's note is in the email and the API, not in a payload that is resent."""
    return {
        "step_id": step.id,
        "kind": step.kind.value,
        "finding": step.finding.value,
        "figures": step.figures,
        "taken_at": step.taken_at.isoformat(),
        "ends_at": step.ends_at.isoformat(),
        "ended_at": step.ended_at.isoformat() if step.ended_at else None,
        "end_reason": step.end_reason.value if step.end_reason else None,
    }
