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


_NEW_FLAG = (
    "It is flagged as advertising, promotional or spam and goes straight to the moderators, who"
    " decide whether it stays. Until they do, it stays on your public page."
)
_CLOSED = "The review was flagged as advertising or spam before; that flag is closed."


def flag_words(flag_status: FlagStatus | None) -> str:
    """What became of the review's flag for the reason, from its status: the action keeps a flag
    made before (by hand, say), which may be waiting for the reviewer or the business, or
    closed, and then the review did not go to the moderators. ``None``: no flag yet, so the
    action's own goes straight to them (what the confirmation says will happen).

    The one rule for the note, the notice after the action, and the ticket's pages."""
    if flag_status is None:
        return _NEW_FLAG
    return _FLAG_WORDS.get(flag_status, _CLOSED)


def spam_note(marked_by: str, flag_status: FlagStatus) -> str:
    """The note, by the member who marked it; what became of the review's flag for the reason
    (a flag made before, say, by hand, is the one used)."""
    flag = flag_words(flag_status)
    return f"Marked as spam or irrelevant by {marked_by}. {flag} No public reply will be sent."
