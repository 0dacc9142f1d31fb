"""What an appellant sends (why they disagree), and what a second moderator decides."""

from __future__ import annotations

from pydantic import Field, field_validator

from domain.enums import AppealDecision
from starter.inputs import MAX_TEXT, _Input, _no_control_characters


class AppealBody(_Input):
    """The appellant says why (DESIGN rule 11): kept in the store, read by the moderator."""

    statement: str = Field(min_length=1, max_length=MAX_TEXT)

    _clean = field_validator("statement")(_no_control_characters)


class AppealDecisionBody(_Input):
    decision: AppealDecision
    note: str = Field(default="", max_length=MAX_TEXT)

    _clean = field_validator("note")(_no_control_characters)
