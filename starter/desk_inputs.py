"""What the platform posts for a new review (DESIGN rule 14), and what the desk's routes take:
one rule for each, used alike by the API (as its bodies) and the pages (which say a problem in
words, ``in_words``), so the services take them as checked."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field, ValidationError, field_validator

from domain.desk import HANDLE, handle_for
from domain.enums import ReviewSource
from starter.flag_inputs import MAX_TITLE
from starter.inputs import MAX_TEXT, _Input, _no_control_characters, one_line
from starter.notice_inputs import email_address

NAME_MAX = 100
NOTE_MAX = 5000

ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"


class ReviewerIn(_Input):
    id: str = Field(pattern=ID)
    display_name: str | None = Field(default=None, max_length=100)
    """None (or blank) for an anonymous review: shown as "Anonymous reviewer"."""
    email: str = Field(min_length=3, max_length=254)

    # On one line: it names the ticket's requester, which emails' subjects carry.
    _clean = field_validator("display_name")(one_line)
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

    # The title is the ticket's subject, and so an email's subject: one line.
    _title = field_validator("title")(one_line)
    _clean = field_validator("text")(_no_control_characters)


class AgentIn(_Input):
    """An agent for the team (DESIGN rule 17), as the owner adds one on the API or the page."""

    name: str = Field(min_length=1, max_length=NAME_MAX)
    email: str = Field(min_length=3, max_length=254)
    handle: str | None = Field(default=None, max_length=33)
    """What ``@`` names in notes; made from the name when left out (``Maria Lopez`` is
    ``maria.lopez``)."""

    _name = field_validator("name")(one_line)
    _email = field_validator("email")(email_address)

    @field_validator("handle")
    @classmethod
    def _handle(cls, value: str | None) -> str | None:
        if not value:
            return None
        value = value.lstrip("@").lower()
        if not HANDLE.fullmatch(value):
            raise ValueError(
                "must be letters, digits, dots, dashes or underscores, not ending in a dot"
            )
        return value

    @property
    def chosen_handle(self) -> str:
        return self.handle or handle_for(self.name)


AGENT_WORDS = {
    "name": f"Write the agent's name, on one line (up to {NAME_MAX} characters).",
    "email": "Write the agent's email address, like name@example.com.",
    "handle": (
        "A handle is what follows @ in a note: lower-case letters, digits, dots, dashes and"
        " underscores, up to 32."
    ),
}


class NoteIn(_Input):
    """An internal note on a ticket: ``@handle`` emails that member of the team, once."""

    text: str = Field(min_length=1, max_length=NOTE_MAX)

    _clean = field_validator("text")(_no_control_characters)


NOTE_WORDS = {
    "text/string_too_short": "Write the note first: it is empty.",
    "text/string_too_long": f"A note is up to {NOTE_MAX} characters: this one is longer.",
    "text": "A note is plain text: it cannot hold control characters.",
}

CONTACT_WORDS = {
    "message/string_too_short": "Write a message to the reviewer.",
    "message/string_too_long": (
        f"Your message to the reviewer is up to {MAX_TEXT} characters: this one is longer."
    ),
    "message": "Your message to the reviewer is plain text: it cannot hold control characters.",
    "requested": "Choose what you ask the reviewer for from the list.",
}


def in_words(err: ValidationError, words: Mapping[str, str]) -> str:
    """A form's first problem as a person reads it: the words for its field and kind of error
    (``"message/string_too_short"``), else for its field, never pydantic's own."""
    first = err.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    found = words.get(f"{field}/{first['type']}") or words.get(field)
    return found or "Something in the form cannot be used: check it and send it again."
