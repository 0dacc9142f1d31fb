"""What a notice from anyone carries (DESIGN rule 9, DSA art. 16(2)), checked before anything is
stored, and what the caller is answered: never more of their personal data than they sent."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from domain.enums import SubReason
from starter.inputs import MAX_TEXT, one_line

GOOD_FAITH = (
    "Confirm that you believe, in good faith, that the information in your notice is accurate "
    "and complete."
)
# Enough to route an email, strict enough that nothing else (a second header) rides along.
_EMAIL = re.compile(
    r"[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)


def email_address(value: str) -> str:
    """An address to route mail to, its domain in lower case (notices, agents, reviewers)."""
    if not _EMAIL.fullmatch(value):
        raise ValueError("must be an email address, like name@example.com")
    local, domain = value.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def _plain(value: str) -> str:
    if any(ord(c) < 32 and c not in "\n\r\t" for c in value):
        raise ValueError("must not contain control characters")
    return value


class NoticeBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    review_id: str = Field(min_length=1, max_length=100)
    sub_reason: SubReason
    explanation: str = Field(
        min_length=10,
        max_length=MAX_TEXT,
        description="Why the review is illegal: what it says, and which law it breaks.",
    )
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=254)
    good_faith: bool

    _plain_text = field_validator("explanation")(_plain)

    _one_line = field_validator("name")(one_line)

    _email = field_validator("email")(email_address)

    @field_validator("good_faith")
    @classmethod
    def _in_good_faith(cls, value: bool) -> bool:
        if value is not True:
            raise PydanticCustomError("good_faith", GOOD_FAITH)
        return value


NEXT = (
    "We have emailed a confirmation of receipt to the address you gave, with a link to follow "
    "your notice. A moderator will look into the review and email you the decision, with how to "
    "contest it."
)


class NoticeOut(BaseModel):
    """The answer to a notice: its id and what happens next; nothing of who sent it."""

    notice_id: str
    review_id: str
    sub_reason: SubReason
    status: str = "received"
    next: str = NEXT
