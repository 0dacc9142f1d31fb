"""What the desk's answers take (DESIGN rules 18, 19): a public reply, a macro. One rule for
each, used alike by the API (as its bodies) and the pages (which say a problem in words)."""

from __future__ import annotations

from pydantic import Field, field_validator

from domain.replies import MAX_REPLY
from starter.inputs import _Input, _no_control_characters, one_line

MACRO_TITLE_MAX = 100


class ReplyIn(_Input):
    """A public reply. ``solve``: "Send as solved", publish and solve the ticket in one step."""

    text: str = Field(min_length=1, max_length=MAX_REPLY)
    solve: bool = False

    _clean = field_validator("text")(_no_control_characters)


class MacroIn(_Input):
    """A reply template: its title (what the team picks it by) and its text with placeholders."""

    title: str = Field(min_length=1, max_length=MACRO_TITLE_MAX)
    body: str = Field(min_length=1, max_length=MAX_REPLY)

    _title = field_validator("title")(one_line)
    _clean = field_validator("body")(_no_control_characters)


REPLY_WORDS = {
    "text": f"Write the reply (up to {MAX_REPLY:,} characters).",
}
MACRO_WORDS = {
    "title": f"Give the macro a title on one line (up to {MACRO_TITLE_MAX} characters).",
    "body": f"Write the macro's text (up to {MAX_REPLY:,} characters).",
}
