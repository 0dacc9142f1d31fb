"""What the platform posts for a new review (DESIGN rule 14), and what the desk's routes take."""

from __future__ import annotations

from pydantic import Field, field_validator

from domain.enums import ReviewSource
from starter.flag_inputs import MAX_TITLE
from starter.inputs import MAX_TEXT, _Input, _no_control_characters
from starter.notice_inputs import email_address

ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"


class ReviewerIn(_Input):
    id: str = Field(pattern=ID)
    display_name: str | None = Field(default=None, max_length=100)
    """None (or blank) for an anonymous review: shown as "Anonymous reviewer"."""
    email: str = Field(min_length=3, max_length=254)

    _clean = field_validator("display_name")(_no_control_characters)
    _email = field_validator("email")(email_address)


class ReviewIn(_Input):
    external_id: str = Field(pattern=ID)
    """The platform's own id: the same one posted again finds the first review."""
    business_id: str = Field(pattern=ID)
    reviewer: ReviewerIn
    rating: int = Field(ge=1, le=5)
    title: str | None = Field(default=None, max_length=MAX_TITLE)
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    source: ReviewSource

    _clean = field_validator("title", "text")(_no_control_characters)
