"""A business's or a notifier's standing (DESIGN rule 12): what the business sees of its steps,
what the public page shows, the moderators' view of the ladder, and a moderator's lift.

The steps themselves are taken and ended by the subject's StandingWorkflow; what is in force is
read from the store (``store.standing``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio.client import Client
from temporalio.service import RPCError

from activities.standing import announce, ended_messages, signal_standing
from domain.enums import StandingStepKind, StandingSubject, StepEnd, WebhookEvent
from domain.ladder import blocks
from domain.refusals import Refusal, Refused
from settings import Settings
from starter.deliveries import start_deliveries
from starter.temporal_calls import unavailable
from starter.unavailable import deadline
from store import Store, accounts, directory, standing
from store.connection import Connection
from store.records import StandingStep, now

NOTIFIER_NAME = "A notifier"
# A moderator's note on a lift: required, and shown to the business (or notifier) it concerns.
LIFT_NOTE_MAX = 2000


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
        """A step in force blocks what the subject does: new contacts or flags (a business),
        notices (a notifier); ``domain.ladder.BLOCKS`` says which."""
        return any(blocks(s.kind, self.subject_kind) for s in self.in_force)


@dataclass
class LadderRow:
    """A business or notifier on the ladder, for the moderators' view: who it is (a notifier is
    never named) and its steps in force, newest first."""

    subject_kind: StandingSubject
    subject_id: str
    name: str
    steps: list[StandingStep]


def ladder_row(steps: list[StandingStep], names: dict[str, str]) -> LadderRow:
    """One subject's steps (at least one) as a row; ``names``: business names by id."""
    first = steps[0]
    business = first.subject_kind is StandingSubject.BUSINESS
    name = names.get(first.subject_id, NOTIFIER_NAME) if business else NOTIFIER_NAME
    return LadderRow(first.subject_kind, first.subject_id, name, steps)


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
        """Every business and notifier with a step in force, the one with the newest step
        first, a page of ``per_page`` of them; each named (a notifier is not) with its steps in
        force."""
        async with self.db.read() as conn:
            subjects = await standing.subjects_in_force(
                conn, limit=per_page, offset=(max(page, 1) - 1) * per_page
            )
            businesses = [s[0] for s in subjects if s[0].subject_kind is StandingSubject.BUSINESS]
            names = await directory.business_names(conn, [s.subject_id for s in businesses])
        return [ladder_row(steps, names) for steps in subjects]

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

        Then its messages are handed to delivery and the subject's standing workflow is told,
        so its timers follow. If Temporal cannot be reached for that, ``Unavailable`` (503)
        with the lift recorded: a retry with the same Idempotency-Key finds that lift and hands
        over its messages and signals again; never retried, the lifted step's timer hands
        them over at the step's original end. Raises ``ValueError`` for a note that is empty or
        longer than ``LIFT_NOTE_MAX``.
        """
        if not note.strip() or len(note) > LIFT_NOTE_MAX:
            raise ValueError(f"a lift needs a note of 1 to {LIFT_NOTE_MAX} characters")
        at = now()
        async with self.db.tx() as conn:
            await self._subject_exists(conn, subject_kind, subject_id)
            earlier = (
                await standing.lifted_with_key(
                    conn, subject_kind, subject_id, moderator_id, idempotency_key
                )
                if idempotency_key
                else []
            )
            # A retry finds the first try's lift, and hands it over and signals again: the
            # first try may have answered 503 before either was done.
            lifted = earlier or await self._to_lift(conn, subject_kind, subject_id, step_id)
            if not earlier:
                for step in lifted:
                    await standing.end_step(
                        conn, step.id, at=at, end=StepEnd.LIFTED, lifted_by=moderator_id, note=note
                    )
                    if idempotency_key:
                        await standing.set_lift_key(conn, step.id, idempotency_key)
                    ended = await standing.get_step(conn, step.id)
                    assert ended is not None
                    await announce(conn, ended, WebhookEvent.STANDING_STEP_ENDED, at)
            messages = await ended_messages(conn, [step.id for step in lifted])
        await self._after_lift(subject_kind, subject_id, [(m.key, m.channel) for m in messages])
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
        """Hands the lift's messages to delivery and tells the standing workflow; each is
        idempotent (one delivery workflow per message, a reload of the same timers), so a
        retry does them again. Raises ``Unavailable`` when Temporal cannot be reached: the
        moderator is told to try again, since nobody has been told of the lift yet."""
        s = self.settings
        await start_deliveries(self.client, s, keys)
        try:
            async with deadline(s.temporal_call_timeout):
                await signal_standing(
                    self.client, s, subject_kind, subject_id, task_queue=s.task_queue, changed=True
                )
        except RPCError as err:
            # Any other answer of Temporal's: a 503 too, never a 500 (as every service's).
            raise unavailable(err) from None
