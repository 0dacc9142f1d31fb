"""Inputs and results of StandingWorkflow and its steps: ids, enums and times only.

What a finding counted and a moderator's note live in the store (``standing_steps``); the
workflow carries the step's id and when it ends, nothing a person wrote and no address.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from domain.enums import StandingSubject
from domain.messages import DeliveryPolicy

# Past this many events a run continues as new (unless the server suggests it sooner): a
# business's standing lives for years, and a replay reads its whole history.
EVENT_LIMIT = 10_000


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True)


class StandingInput(_Message):
    subject_kind: StandingSubject
    subject_id: str
    delivery: DeliveryPolicy = DeliveryPolicy()
    event_limit: int = EVENT_LIMIT
    # Carried across continue-as-new: an ``assess`` that arrived and was not yet acted on.
    assess_pending: bool = False


class AssessSignal(_Message):
    """A finding may be due: a flag was opened, a report of the subject's was decided."""


class ChangedSignal(_Message):
    """A moderator lifted a step: the timers follow the store."""


class SubjectInput(_Message):
    subject_kind: StandingSubject
    subject_id: str


class StepTimer(_Message):
    step_id: str
    ends_at: datetime


class InForce(_Message):
    steps: list[StepTimer] = []


class AssessInput(_Message):
    subject_kind: StandingSubject
    subject_id: str
    # Made by the workflow: a retried step finds the step its first try took.
    step_id: str
    at: datetime
    delivery: DeliveryPolicy | None = None


class Assessed(_Message):
    step: StepTimer | None = None


class ExpireInput(_Message):
    step_id: str
    at: datetime
    delivery: DeliveryPolicy | None = None


class FlagOpenedInput(_Message):
    """The business of a flag just opened: the negative-only finding may be due."""

    business_id: str


class ReportDecidedInput(_Message):
    """A decided report: its business (when a flag opened or joined it) and its notifiers."""

    report_id: str
