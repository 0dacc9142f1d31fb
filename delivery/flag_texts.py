"""What a flag's notifications say (DESIGN rule 8): to the reviewer asked to edit or withdraw,
and to the business at each step. The reviewer's address is never in the business's mail."""

from __future__ import annotations

from datetime import datetime

from delivery.links import MARK
from delivery.texts import Text, greeting
from domain.enums import FlagReason, SubReason
from store.records import Business, Flag, Review, Reviewer

REASONS = {
    FlagReason.NOT_GENUINE: "not based on a genuine experience",
    FlagReason.HARMFUL_OR_ILLEGAL: "harmful or illegal",
    FlagReason.PERSONAL_INFORMATION: "it contains personal information",
    FlagReason.ADVERTISING_OR_SPAM: "advertising, promotional or spam",
    FlagReason.WRONG_BUSINESS: "it is about a different business",
}
SUB_REASONS = {
    SubReason.HATE_SPEECH: "hate speech",
    SubReason.THREATS_OR_VIOLENCE: "threats or violence",
    SubReason.OBSCENITY: "obscenity",
    SubReason.DEFAMATION: "defamation",
    SubReason.TERRORISM: "terrorism",
    SubReason.OTHER_ILLEGAL: "other illegal content",
}
_SIGN_OFF = "Kind regards,\nThe Reviewdesk team\n"


def _when(moment: datetime) -> str:
    return moment.strftime("%d %B %Y, %H:%M UTC")


def reason_words(flag: Flag) -> str:
    words = REASONS[flag.reason]
    return f"{words} ({SUB_REASONS[flag.sub_reason]})" if flag.sub_reason else words


def reviewer_asked(
    business: Business, reviewer: Reviewer, review: Review, flag: Flag, deadline: datetime
) -> Text:
    """To the reviewer, with a mark where their one-time link goes."""
    before_link = (
        greeting(reviewer.display_name)
        + f'{business.name} flagged your review "{review.title}" because, in their view, '
        f"{reason_words(flag)}.\n\n"
        f"Before a moderator looks at it, you can edit your review or withdraw it, until "
        f"{_when(deadline)}, through this link (it shows what {business.name} wrote):\n\n"
    )
    return Text(
        subject=f"{business.name} flagged your review: you can edit or withdraw it",
        link_at=len(before_link),
        body=(
            before_link + f"{MARK}\n\n"
            f"If you do nothing, {business.name} may ask a moderator to look at your review; "
            f"it stays visible meanwhile. We never show your email address to "
            f"{business.name}.\n\nThank you,\nThe Reviewdesk team\n"
        ),
    )


def flag_opened(business: Business, review: Review, flag: Flag, deadline: datetime) -> Text:
    return Text(
        subject="We received your flag",
        body=(
            f"Hello {business.name},\n\n"
            f'We received your flag of the review "{review.title}": {reason_words(flag)}. '
            f"We have asked the reviewer to edit or withdraw it by {_when(deadline)}. After "
            f"that, or once they edit it, you can escalate the flag to a moderator or drop it. "
            f"The review stays visible meanwhile.\n\n{_SIGN_OFF}"
        ),
    )


def reviewer_withdrew(business: Business, review: Review) -> Text:
    return Text(
        subject="The reviewer withdrew the review you flagged",
        body=(
            f"Hello {business.name},\n\n"
            f'The reviewer withdrew the review "{review.title}". It no longer shows on your '
            f"page, and your flag is closed.\n\n{_SIGN_OFF}"
        ),
    )


def reviewer_edited(business: Business, review: Review, business_deadline: datetime) -> Text:
    return Text(
        subject="The reviewer edited the review you flagged",
        body=(
            f"Hello {business.name},\n\n"
            f'The reviewer edited the review you flagged; it now reads "{review.title}". If it '
            f"still breaks our guidelines, escalate the flag to a moderator from your dashboard; "
            f"otherwise drop it. You have until {_when(business_deadline)}.\n\n{_SIGN_OFF}"
        ),
    )


def reviewer_silent(business: Business, review: Review, business_deadline: datetime) -> Text:
    return Text(
        subject="The reviewer did not change the review you flagged",
        body=(
            f"Hello {business.name},\n\n"
            f'The reviewer neither edited nor withdrew the review "{review.title}" in time. You '
            f"can escalate the flag to a moderator from your dashboard, or drop it, until "
            f"{_when(business_deadline)}.\n\n{_SIGN_OFF}"
        ),
    )


def escalated(business: Business, review: Review, flag: Flag) -> Text:
    return Text(
        subject="Your flag is with our moderators",
        body=(
            f"Hello {business.name},\n\n"
            f'A moderator will look at the review "{review.title}", flagged as '
            f"{reason_words(flag)}. The review stays visible meanwhile. We will tell you the "
            f"outcome.\n\n{_SIGN_OFF}"
        ),
    )


def dropped(business: Business, review: Review, *, lapsed: bool) -> Text:
    why = (
        "You did not escalate it in time, so it has lapsed."
        if lapsed
        else "You dropped it; nothing more happens."
    )
    return Text(
        subject="Your flag is closed",
        body=(
            f"Hello {business.name},\n\n"
            f'Your flag of the review "{review.title}" is closed. {why}\n\n{_SIGN_OFF}'
        ),
    )
