"""What a notifier is told (DESIGN rule 9, DSA art. 16): the receipt of their notice, then the
decision with how to contest it. Each email carries the notice's link (``MARK``)."""

from __future__ import annotations

from datetime import datetime

from delivery.links import MARK
from delivery.texts import Text
from domain.enums import Decision, SubReason
from store.records import Business, Notice, Review

_SIGNATURE = "Kind regards,\nThe Reviewdesk team\n"
SUB_REASONS = {
    SubReason.HATE_SPEECH: "hate speech",
    SubReason.THREATS_OR_VIOLENCE: "threats or violence",
    SubReason.OBSCENITY: "obscenity",
    SubReason.DEFAMATION: "defamation",
    SubReason.TERRORISM: "terrorism",
    SubReason.OTHER_ILLEGAL: "other illegal content",
}


def _when(moment: datetime) -> str:
    return moment.strftime("%d %B %Y, %H:%M UTC")


def _with_link(subject: str, before_link: str, after_link: str) -> Text:
    body = f"{before_link}{MARK}\n\n{after_link}"
    return Text(subject=subject, link_at=len(before_link), body=body)


def received(notice: Notice, business: Business, review: Review, *, removed: bool) -> Text:
    """The confirmation of receipt (art. 16(4)), sent without undue delay."""
    if removed:
        next_step = (
            "The review had already been removed by the time your notice reached a moderator, "
            "so there is nothing more for us to decide."
        )
    else:
        next_step = (
            "A moderator, a person, will look into it; notices like yours are handled with high "
            "priority. We will email you the decision and how to contest it."
        )
    return _with_link(
        "We received your notice",
        (
            f"Hello {notice.name},\n\n"
            f"We received your notice of {_when(notice.received_at)} about the review "
            f'"{review.title}" on {business.name}\'s page, which you reported as '
            f"{SUB_REASONS[notice.sub_reason]}.\n\n{next_step}\n\n"
            "You can follow your notice here:\n\n"
        ),
        _SIGNATURE,
    )


def decided(
    notice: Notice,
    business: Business,
    review: Review,
    decision: Decision,
    *,
    appeal_until: datetime,
) -> Text:
    """The decision on the notice, with every way to contest it (art. 16(5), 17(3)(f), 20, 21)."""
    if decision is Decision.UPHOLD:
        outcome = (
            f'A moderator looked into your notice and removed the review "{review.title}" from '
            f"{business.name}'s page.\n\nYou can see your notice here:\n\n"
        )
        redress = ""
    else:
        outcome = (
            f'A moderator looked into your notice and decided to keep the review "{review.title}" '
            f"on {business.name}'s page: they did not find it to be "
            f"{SUB_REASONS[notice.sub_reason]}.\n\n"
            f"If you disagree, you can appeal this decision once, free of charge, until "
            f"{_when(appeal_until)}. Tell us why through this link, and a different moderator "
            f"will decide:\n\n"
        )
        redress = (
            "You may also take the decision to a certified out-of-court dispute settlement body "
            "(Digital Services Act, article 21), or to a court.\n\n"
        )
    return _with_link(
        "Your notice has been decided", f"Hello {notice.name},\n\n{outcome}", redress + _SIGNATURE
    )
