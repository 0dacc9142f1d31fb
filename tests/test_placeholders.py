"""What a placeholder is (DESIGN rule 18, domain/replies.py): two or more words of letters in
square brackets is one for the agent to fill; any other bracketed text (``[sic]``, ``[1]``,
``[edit]``, a year) is the writer's own and goes out as written."""

from __future__ import annotations

import pytest

from domain.replies import CUSTOMER_NAME, YOUR_NAME, fill, placeholders_in


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Dear [customer name], thanks.", ["customer name"]),
        ("About [specific detail], sorry. [your name]", ["specific detail", "your name"]),
        ("[Customer Name] and [customer name]", ["Customer Name", "customer name"]),
        ("[ business  name ]", ["business  name"]),  # spacing aside, still a placeholder
        ("Ça va, [prénom du client] ?", ["prénom du client"]),  # letters in any language
        ("[customer's first name]", ["customer's first name"]),
        ("[follow-up date], then [your name].", ["follow-up date", "your name"]),
        ("[your name] [your name]", ["your name"]),  # each once
    ],
)
def test_two_or_more_words_of_letters_in_brackets_are_placeholders(
    text: str, names: list[str]
) -> None:
    assert placeholders_in(text) == names


@pytest.mark.parametrize(
    "text",
    [
        "You said it 'arrived broken [sic]'.",
        "See our returns policy [1] and the FAQ [2].",
        "[edit] We fixed the link.",
        "Our shop opened in [2019].",
        "Prices [in euros: 12.50] apply.",
        "[customer name 2]",
        "[ ]",
        "[]",
        "[customer\nname]",  # across a line: the writer's own text
        "[" + "word " * 10 + "end]",  # longer than a short name: a bracketed passage
    ],
)
def test_other_bracketed_text_is_the_writers_own(text: str) -> None:
    assert placeholders_in(text) == []


def test_fill_replaces_known_placeholders_and_leaves_other_brackets_alone() -> None:
    text = "Dear [customer name] [sic], see [1]. [specific detail] — [Your Name]"
    filled = fill(text, {CUSTOMER_NAME: "Jo", YOUR_NAME: "Alex"})
    assert filled == "Dear Jo [sic], see [1]. [specific detail] — Alex"
    assert placeholders_in(filled) == ["specific detail"]
