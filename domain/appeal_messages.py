"""Inputs and results of AppealWorkflow, its updates and its steps: ids, enums and times only.

The appellant's statement and the moderator's note stay in the store (``appeals``).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from domain.enums import AppealDecision, AppealStatus, Appellant
from domain.messages import DeliveryPolicy
from domain.refusals import Refusal


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True)


class AppealWorkflowInput(_Message):
    appeal_id: str
    decision_id: str
    report_id: str
    review_id: str
    appellant: Appellant
    # Who made the decision appealed: never the one who decides the appeal.
    first_moderator_id: str
    # The decision may be appealed until then (DESIGN rule 11, ``appeal_window``).
    appeal_until: datetime
    sla_deadline: datetime
    delivery: DeliveryPolicy = DeliveryPolicy()


class AppealState(_Message):
    appeal_id: str
    # None until the first step is recorded, and for an appeal refused there.
    status: AppealStatus | None = None
    refusal: Refusal | None = None
    escalated: bool = False


class AppealDecisionInput(_Message):
    """A second moderator's decision; their note was stored on the appeal beforehand."""

    appeal_id: str
    moderator_id: str
    decision: AppealDecision


# --- steps ------------------------------------------------------------------------------------


class OpenAppealInput(_Message):
    appeal_id: str
    at: datetime
    appeal_until: datetime
    delivery: DeliveryPolicy | None = None


class OpenedAppeal(_Message):
    refusal: Refusal | None = None


class AppealStepInput(_Message):
    appeal_id: str
    at: datetime
    delivery: DeliveryPolicy | None = None


class ApplyAppealInput(_Message):
    appeal_id: str
    moderator_id: str
    decision: AppealDecision
    at: datetime
    delivery: DeliveryPolicy | None = None
