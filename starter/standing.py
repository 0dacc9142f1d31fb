"""A business's or a notifier's standing (DESIGN rule 12): what the business sees of its steps,
what the public page shows, the moderators' view of the ladder, and a moderator's lift.

The steps themselves are taken and ended by the subject's StandingWorkflow; what is in force is
read from the store (``store.standing``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio.client import Client

from domain.enums import StandingStepKind, StandingSubject
from domain.refusals import Refusal, Refused
from settings import Settings
from store import Store, accounts, directory, standing
from store.records import StandingStep

NOTIFIER_NAME = "A notifier"


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
