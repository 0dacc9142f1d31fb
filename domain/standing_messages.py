"""Inputs and results of StandingWorkflow and its steps: ids, enums and times only."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from domain.enums import StandingSubject


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True)


class StandingInput(_Message):
    subject_kind: StandingSubject
    subject_id: str
