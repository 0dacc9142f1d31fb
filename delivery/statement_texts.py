"""What a statement of reasons tells the reviewer (DESIGN rule 10, DSA art. 17): what was
restricted and from when, until when for a hide, the facts, the ground, that a person decided,
and how to seek redress. The facts and the ground are the ones the statement's DSA record holds,
so the email and the record never disagree."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from delivery.links import MARK
from delivery.texts import Text, greeting
from store.records import Business, Review, Reviewer

_SIGNATURE = "Kind regards,\nThe Reviewdesk team\n"
# Art. 17(3)(f): every redress there is, named in every statement.
_COURTS = (
    "You may also take the decision to a certified out-of-court dispute settlement body "
    "(Digital Services Act, article 21), or to a court."
)


def _when(moment: datetime) -> str:
    return moment.strftime("%d %B %Y, %H:%M UTC")


def _ground(body: dict[str, Any]) -> str:
    if body["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT":
        return (
            f"the law: {body['illegal_content_legal_ground']}.\n"
            f"{body['illegal_content_explanation']}"
        )
    return (
        f"our content guidelines: {body['incompatible_content_ground']}.\n"
        f"{body['incompatible_content_explanation']}"
    )


def _statement(body: dict[str, Any]) -> str:
    return (
        f"What happened: {body['decision_facts']}\n\n"
        f"Why: {_ground(body)}\n\n"
        "Who decided: a person on our moderation team; nothing here was decided by a machine.\n\n"
        f"Reference of this statement: {body['puid']}\n\n"
    )


def hidden(
    business: Business,
    reviewer: Reviewer,
    review: Review,
    body: dict[str, Any],
    *,
    since: datetime,
    decide_by: datetime,
) -> Text:
    """The review is hidden while a report is handled (the statement replaces the old notice)."""
    return Text(
        subject="Your review is hidden while we look into a report",
        body=(
            greeting(reviewer.display_name)
            + f'Your review "{review.title}" on {business.name}\'s page is hidden from '
            f"{_when(since)} while a moderator looks into a report about it. It is kept, not "
            f"deleted. We aim to decide by {_when(decide_by)}, and the review stays hidden until "
            f"we do.\n\n"
            + _statement(body)
            + "What happens next: if the moderator rejects the report, your review is visible "
            "again. If they uphold it, the review is removed; we will tell you why, and you can "
            "appeal that decision once, free of charge.\n\n" + _SIGNATURE
        ),
    )


def removed(
    business: Business,
    reviewer: Reviewer,
    review: Review,
    body: dict[str, Any],
    *,
    since: datetime,
    appeal_until: datetime,
) -> Text:
    """A moderator removed the review: the statement, with the appeal link (``MARK``)."""
    before_link = (
        greeting(reviewer.display_name)
        + f'Your review "{review.title}" on {business.name}\'s page was removed on '
        f"{_when(since)} after a moderator's decision. It is kept, not deleted, and no longer "
        f"shown.\n\n"
        + _statement(body)
        + "If you disagree, you can appeal this decision once, free of charge, until "
        f"{_when(appeal_until)}. Tell us why through this link, and a different moderator will "
        f"decide:\n\n"
    )
    return Text(
        subject="Your review has been removed: our reasons, and how to appeal",
        link_at=len(before_link),
        body=before_link + f"{MARK}\n\n{_COURTS}\n\n{_SIGNATURE}",
    )


def removed_on_appeal(
    business: Business, reviewer: Reviewer, review: Review, body: dict[str, Any], *, since: datetime
) -> Text:
    """An appeal reversed a rejection: the review is removed, and that decision is final here."""
    return Text(
        subject="Your review has been removed after an appeal",
        body=(
            greeting(reviewer.display_name)
            + f'A moderator first decided to keep your review "{review.title}" on '
            f"{business.name}'s page. That decision was appealed, and a second moderator "
            f"reversed it: the review was removed on {_when(since)}. It is kept, not deleted, and "
            f"no longer shown.\n\n"
            + _statement(body)
            + "This decision on the appeal is final on Reviewdesk. "
            + _COURTS
            + "\n\n"
            + _SIGNATURE
        ),
    )
