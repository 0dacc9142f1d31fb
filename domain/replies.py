"""The public reply's rules (DESIGN rules 18 and 19): what a placeholder is, which ones a macro
fills, and what a reply must not still hold when it goes.

A placeholder is two or more words of letters in square brackets, on one line and short:
``[customer name]``, ``[specific detail]``, ``[your name]``. A macro is a template, not a
finished response, so a placeholder left in a reply is for the agent to write. Any other
bracketed text is the writer's own and is published as written: ``[sic]``, ``[1]``, ``[edit]``,
``[2019]``, ``[in euros: 12.50]`` (a single word, or anything with a digit or a sign). The same
rule finds them in a macro, in a rendered reply and in a reply sent to be published.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# A word is letters (any language's), joined inside by an apostrophe or a hyphen: "customer's",
# "follow-up". Two or more of them, spaced on one line, within 40 characters: "[customer name]".
# One word ("[sic]", "[edit]") or a digit ("[1]", "[2019]") is how writers quote and cite, and a
# long bracketed passage is the writer's own aside: neither is a placeholder.
_WORD = r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*"
_PLACEHOLDER = re.compile(rf"\[(?=[^\[\]\n]{{1,40}}\])[ \t]*({_WORD}(?:[ \t]+{_WORD})+)[ \t]*\]")

CUSTOMER_NAME = "customer name"
YOUR_NAME = "your name"
BUSINESS_NAME = "business name"

# Most replies are short; the longest a business may publish under one review.
MAX_REPLY = 5_000


def placeholders_in(text: str) -> list[str]:
    """The placeholders left in ``text``, each once, in the order they first appear."""
    seen: dict[str, None] = {}
    for match in _PLACEHOLDER.finditer(text):
        seen.setdefault(match.group(1).strip(), None)
    return [name for name in seen if name]


def fill(text: str, known: Mapping[str, str]) -> str:
    """``text`` with every placeholder whose name (case aside) is in ``known`` replaced by its
    value; the others are left as they are, for the agent."""
    by_name = {name.casefold(): value for name, value in known.items()}

    def replaced(match: re.Match[str]) -> str:
        value = by_name.get(match.group(1).strip().casefold())
        return match.group(0) if value is None else value

    return _PLACEHOLDER.sub(replaced, text)


def placeholders_message(names: list[str]) -> str:
    """The refusal's words, naming each placeholder still to fill."""
    listed = ", ".join(f"[{name}]" for name in names)
    return (
        f"The reply still holds placeholders to fill in before it goes: {listed}. Two or more"
        " words in square brackets are a placeholder; other brackets, such as [sic] or [1], are"
        " published as written."
    )
