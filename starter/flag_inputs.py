"""What a business sends to flag a review, and what a reviewer sends to edit a flagged one."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from domain.enums import FlagReason, SubReason
from starter.inputs import MAX_TEXT, _Input, _no_control_characters

MAX_TITLE = 200
EMPTY_EDIT = "Change the title or the text to send an edit, or withdraw the review."


class FlagBody(_Input):
    """Whether the sub-reason fits the reason is the service's refusal (``sub_reason_mismatch``),
    so a caller gets its stable code rather than a validation message."""

    reason: FlagReason
    sub_reason: SubReason | None = None
    explanation: str = Field(min_length=1, max_length=MAX_TEXT)

    _clean = field_validator("explanation")(_no_control_characters)


class ReviewEditBody(_Input):
    """The reviewer's new title or text (at least one); what is left out stays as it was."""

    title: str | None = Field(default=None, max_length=MAX_TITLE)
    text: str | None = Field(default=None, max_length=MAX_TEXT)

    _clean = field_validator("title", "text")(_no_control_characters)

    @field_validator("title", "text")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _something_changed(self) -> ReviewEditBody:
        if not (self.title or self.text):
            raise PydanticCustomError("empty_edit", EMPTY_EDIT)
        return self
