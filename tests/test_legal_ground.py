"""A decision's legal ground goes into the public statement of reasons: a citation only."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from domain.enums import Decision
from starter.inputs import DecisionBody


@pytest.mark.parametrize(
    "ground",
    [
        "Strafgesetzbuch § 185 (insult)",
        "Code pénal, art. 226-1",
        "Defamation Act 2013, s. 1",
    ],
)
def test_a_law_and_its_article_is_kept_as_written(ground: str) -> None:
    body = DecisionBody(decision=Decision.UPHOLD, note="", legal_ground=ground)
    assert body.legal_ground == ground


@pytest.mark.parametrize(
    "ground",
    [
        "defames jan.smith@example.org",
        "see https://example.org/case",
        "see www.example.org",
        "call +49 30 1234 5678",
    ],
)
def test_an_address_a_link_or_a_phone_number_is_refused(ground: str) -> None:
    with pytest.raises(ValidationError, match="names a law and its article"):
        DecisionBody(decision=Decision.UPHOLD, note="", legal_ground=ground)
