"""The words of "Spam or irrelevant" (DESIGN rule 21): the internal note the action leaves on the
ticket, and the explanation its flag carries to the moderators. The note is the team's own
record, behind the sign-in; it names who acted, never the reviewer."""

from __future__ import annotations

from domain.enums import FlagStatus

FLAG_EXPLANATION = (
    "Marked as spam or irrelevant on the response desk: advertising, promotion or spam rather "
    "than an experience of the business."
)
"""The flag's explanation, which the moderators read with the review."""

_FLAG_WORDS = {
    FlagStatus.ESCALATED: "The review was flagged for moderation as advertising or spam.",
    FlagStatus.AWAITING_REVIEWER: (
        "The review's flag for advertising or spam is open: the reviewer may still edit or "
        "withdraw it."
    ),
    FlagStatus.AWAITING_BUSINESS: (
        "The review's flag for advertising or spam is open: escalate it to the moderators from "
        "its flag page."
    ),
}


def spam_note(marked_by: str, flag_status: FlagStatus) -> str:
    """The note, by the member who marked it; what became of the review's flag for the reason
    (a flag made before, say, by hand, is the one used)."""
    flag = _FLAG_WORDS.get(
        flag_status, "The review was flagged as advertising or spam before; that flag is closed."
    )
    return f"Marked as spam or irrelevant by {marked_by}. {flag} No public reply will be sent."
