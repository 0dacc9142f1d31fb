"""A business's or a notifier's standing (DESIGN rule 12): what the business sees of its steps,
what the public page shows, the moderators' view of the ladder, and a moderator's lift.

The steps themselves are taken and ended by the subject's StandingWorkflow; what is in force is
read from the store (``store.standing``)."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.standing import announce, signal_standing
from domain import message_workflow_id
from domain.enums import StandingStepKind, StandingSubject, StepEnd, WebhookEvent
from domain.messages import MessageInput
from domain.refusals import Refusal, Refused
from settings import Settings
from starter.unavailable import UNAVAILABLE_ERRORS, deadline
from starter.workflow_inputs import delivery_policy
from store import Store, accounts, directory, outbox, standing
from store.connection import Connection
from store.records import StandingStep, now

NOTIFIER_NAME = "A notifier"
# A moderator's note on a lift: required, and shown to the business (or notifier) it concerns.
LIFT_NOTE_MAX = 2000

log = logging.getLogger("reviewdesk.service")


@dataclass
class StandingView:
    """One business's or notifier's ladder: every step, newest first."""

    subject_kind: StandingSubject
    subject_id: str
    name: str
    steps: list[StandingStep] = field(default_factory=list)

    @property
    def in_force(self) -> list[StandingStep]:
        return [s for s in self.steps if s.in_force]

    def has(self, kind: StandingStepKind) -> bool:
        return any(s.kind is kind for s in self.in_force)

    @property
    def restricted(self) -> bool:
        """No new contacts or flags (a business), no notices (a notifier)."""
        return self.has(StandingStepKind.RESTRICTION) or self.has(StandingStepKind.SUSPENSION)


@dataclass
class LadderRow:
    """A step in force, with who it is about, for the moderators' view."""

    step: StandingStep
    name: str


class Standing:
    def __init__(self, client: Client, db: Store, settings: Settings) -> None:
        self.client = client
        self.db = db
        self.settings = settings

    async def of_business(self, business_id: str) -> StandingView:
        """The business's own steps; ownership is the caller's (its key names the business)."""
        async with self.db.read() as conn:
            business = await accounts.get_business(conn, business_id)
            if business is None:
                raise Refused(Refusal.BUSINESS_NOT_FOUND)
            steps = await standing.steps_of(conn, StandingSubject.BUSINESS, business_id)
        return StandingView(StandingSubject.BUSINESS, business_id, business.name, steps)

    async def of_notifier(self, notifier_key: str) -> StandingView:
        async with self.db.read() as conn:
            steps = await standing.steps_of(conn, StandingSubject.NOTIFIER, notifier_key)
        return StandingView(StandingSubject.NOTIFIER, notifier_key, NOTIFIER_NAME, steps)

    async def consumer_warning(self, business_id: str) -> StandingStep | None:
        """The public "Consumer warning" in force on the business's page, if any."""
        async with self.db.read() as conn:
            found = await standing.in_force(
                conn,
                StandingSubject.BUSINESS,
                business_id,
                [StandingStepKind.CONSUMER_WARNING],
            )
        return found[0] if found else None

    async def on_ladder(self, *, page: int = 1, per_page: int = 25) -> list[LadderRow]:
        """Every step in force, newest first, with the business's name (a notifier has none)."""
        async with self.db.read() as conn:
            steps = await standing.subjects_in_force(
                conn, limit=per_page, offset=(max(page, 1) - 1) * per_page
            )
            names = await directory.business_names(
                conn,
                [s.subject_id for s in steps if s.subject_kind is StandingSubject.BUSINESS],
            )
        return [
            LadderRow(
                step,
                names.get(step.subject_id, NOTIFIER_NAME)
                if step.subject_kind is StandingSubject.BUSINESS
                else NOTIFIER_NAME,
            )
            for step in steps
        ]

    async def lift(
        self,
        moderator_id: str,
        subject_kind: StandingSubject,
        subject_id: str,
        note: str,
        step_id: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> StandingView:
        """A moderator ends a step early (or every step in force, when none is named), with a
        note the subject is shown: the end, the email and the webhook event in one transaction.

        Then the subject's standing workflow is told, so its timers follow; if that cannot be
        sent now, the timer of a lifted step finds it ended and does nothing. Raises
        ``ValueError`` for a note that is empty or longer than ``LIFT_NOTE_MAX``.
        """
        if not note.strip() or len(note) > LIFT_NOTE_MAX:
            raise ValueError(f"a lift needs a note of 1 to {LIFT_NOTE_MAX} characters")
        at = now()
        async with self.db.tx() as conn:
            await self._subject_exists(conn, subject_kind, subject_id)
            if idempotency_key and await standing.lifted_with_key(
                conn, subject_kind, subject_id, moderator_id, idempotency_key
            ):
                lifted: list[StandingStep] = []  # a retry: the first try's answer
            else:
                lifted = await self._to_lift(conn, subject_kind, subject_id, step_id)
            keys: list[tuple[str, str]] = []
            for step in lifted:
                await standing.end_step(
                    conn, step.id, at=at, end=StepEnd.LIFTED, lifted_by=moderator_id, note=note
                )
                if idempotency_key:
                    await standing.set_lift_key(conn, step.id, idempotency_key)
                ended = await standing.get_step(conn, step.id)
                assert ended is not None
                for key in await announce(conn, ended, WebhookEvent.STANDING_STEP_ENDED, at):
                    message = await outbox.get_message(conn, key)
                    assert message is not None
                    keys.append((key, message.channel))
        if lifted:
            await self._after_lift(subject_kind, subject_id, keys)
        if subject_kind is StandingSubject.BUSINESS:
            return await self.of_business(subject_id)
        return await self.of_notifier(subject_id)

    @staticmethod
    async def _subject_exists(
        conn: Connection, subject_kind: StandingSubject, subject_id: str
    ) -> None:
        if subject_kind is StandingSubject.BUSINESS:
            if await accounts.get_business(conn, subject_id) is None:
                raise Refused(Refusal.BUSINESS_NOT_FOUND)
        elif not await standing.steps_of(conn, subject_kind, subject_id):
            raise Refused(Refusal.STANDING_STEP_NOT_FOUND)

    @staticmethod
    async def _to_lift(
        conn: Connection, subject_kind: StandingSubject, subject_id: str, step_id: str | None
    ) -> list[StandingStep]:
        if step_id is None:
            found = await standing.in_force(conn, subject_kind, subject_id)
            if not found:
                raise Refused(Refusal.NOTHING_TO_LIFT)
            return found
        step = await standing.get_step(conn, step_id)
        # Another subject's step is answered as one that does not exist.
        if step is None or (step.subject_kind, step.subject_id) != (subject_kind, subject_id):
            raise Refused(Refusal.STANDING_STEP_NOT_FOUND)
        if not step.in_force:
            raise Refused(Refusal.NOTHING_TO_LIFT)
        return [step]

    async def _after_lift(
        self, subject_kind: StandingSubject, subject_id: str, keys: list[tuple[str, str]]
    ) -> None:
        """Hands the lift's messages to delivery and tells the standing workflow. The lift is
        recorded already, so an outage here is logged, not the moderator's error: the expiry
        timer finds the step ended and does nothing."""
        from workflows.delivery import MessageDeliveryWorkflow

        s = self.settings
        policy = delivery_policy(s)
        try:
            async with deadline(s.temporal_call_timeout):
                for key, channel in keys:
                    with contextlib.suppress(WorkflowAlreadyStartedError):
                        await self.client.start_workflow(
                            MessageDeliveryWorkflow.run,
                            MessageInput(key=key, delivery=policy.for_channel(channel)),
                            id=message_workflow_id(key),
                            task_queue=s.task_queue,
                            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                        )
                await signal_standing(
                    self.client, s, subject_kind, subject_id, task_queue=s.task_queue, changed=True
                )
        except UNAVAILABLE_ERRORS as err:
            log.warning("a lift's messages or signal were not sent: %s", type(err).__name__)
