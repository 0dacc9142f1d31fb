"""What an appeal tells people (DESIGN rule 11, DSA art. 20 and 21): the appellant that it was
received, the moderation team that it is overdue, and everyone involved how it was decided, that
the decision is final on Reviewdesk, and where to go from there."""

from __future__ import annotations

from datetime import datetime

from delivery.texts import Text
from delivery.texts import greeting as hello
from domain.enums import Appellant, Decision, Visibility
from store.records import Appeal, Business, Review

_SIGNATURE = "Kind regards,\nThe Reviewdesk team\n"
_FINAL = (
    "This decision on the appeal is final on Reviewdesk. If you disagree, you may take it to a "
    "certified out-of-court dispute settlement body (Digital Services Act, article 21), or to "
    "a court."
)


def _when(moment: datetime) -> str:
    return moment.strftime("%d %B %Y, %H:%M UTC")


def _against(original: Decision, business: Business) -> str:
    if original is Decision.UPHOLD:
        return f"the decision to remove the review from {business.name}'s page"
    return f"the decision to keep the review on {business.name}'s page"


def received(
    greeting: str, business: Business, review: Review, original: Decision, appeal: Appeal
) -> Text:
    """To the appellant, at once: their appeal is in, and who decides it, by when."""
    return Text(
        subject="We received your appeal",
        body=(
            hello(greeting, word="Hello")
            + f"We received your appeal of {_when(appeal.opened_at)} against "
            f'{_against(original, business)} ("{review.title}").\n\n'
            "A moderator other than the one who made that decision will look into it, free of "
            f"charge. We aim to decide by {_when(appeal.sla_deadline)} and will email you the "
            f"outcome.\n\n" + _SIGNATURE
        ),
    )


def escalated(business: Business, review: Review, appeal: Appeal) -> Text:
    return Text(
        subject="Appeal overdue",
        body=(
            f'The appeal {appeal.id} about the review "{review.title}" on {business.name} was '
            f"received {_when(appeal.opened_at)} and has had no decision by "
            f"{_when(appeal.sla_deadline)}. A moderator other than the first one must decide it.\n"
        ),
    )


_BY = {
    Appellant.REVIEWER: "the review's author",
    Appellant.BUSINESS: "the business",
    Appellant.NOTIFIER: "a person who reported the review",
}


def decided(
    greeting: str,
    business: Business,
    review: Review,
    *,
    appeal: Appeal,
    original: Decision,
    granted: bool,
    visibility: Visibility,
    yours: bool,
) -> Text:
    """To each person involved: what the second moderator decided and what it means now."""
    whose = "your appeal" if yours else f"an appeal from {_BY[appeal.appellant]}"
    if granted and original is Decision.UPHOLD:
        outcome = "reversed the removal"
        now_ = (
            "The review is shown again."
            if visibility is Visibility.VISIBLE
            else "The review stays off the page for another reason."
        )
    elif granted:
        outcome = "reversed the decision to keep the review"
        now_ = "The review has been removed; it is kept, not deleted, and no longer shown."
    elif original is Decision.UPHOLD:
        outcome = "confirmed the removal"
        now_ = "The review stays removed."
    else:
        outcome = "confirmed the decision to keep the review"
        now_ = "The review stays on the page."
    return Text(
        subject="The appeal has been decided",
        body=(
            hello(greeting, word="Hello")
            + f"A second moderator looked into {whose} against {_against(original, business)} "
            f'("{review.title}") and {outcome}. {now_}\n\n{_FINAL}\n\n' + _SIGNATURE
        ),
    )
