"""What each notification says. Human, clear, no jargon (seed 001, section 6).

Nothing a business receives names the reviewer's email address: the business learns only what
the reviewer chose to share.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from delivery.links import MARK
from domain.desk import author_name
from domain.enums import REPORT_REASON, Decision, Grounds, RequestedItem
from store.records import AnswerRecord, Business, Contact, Report, Review, Reviewer

_REQUESTED = {
    RequestedItem.ORDER_REFERENCE: "an order reference or booking number",
    RequestedItem.CONTACT_DETAILS: "contact details they can reach you at",
    RequestedItem.EXPERIENCE_DETAILS: "more details about your experience",
}


@dataclass(frozen=True)
class Text:
    subject: str
    body: str
    # Where in ``body`` the one-time link goes, at ``links.MARK`` (delivery/links.py).
    link_at: int | None = None


def greeting(name: str | None, *, word: str = "Hi") -> str:
    """An email's first line to a person: "Hi Sam," or, to someone whose name is blank (a
    reviewer who never gave one), "Hello," rather than "Hi ,"."""
    name = (name or "").strip()
    return f"{word} {name},\n\n" if name else "Hello,\n\n"


def one_line(value: str) -> str:
    """Text as an email's subject may carry it: every run of white space (a line break, a tab)
    one space. Titles and names are one line since the desk's inputs say so; this keeps one
    stored before (or by any other way) from stopping the email (delivery/mail.py)."""
    return " ".join(value.split())


def _author(reviewer: Reviewer, review: Review) -> str:
    """Who wrote the review, as the business may know them: never the name of an anonymous
    review's author, even when their profile holds one from a signed review."""
    return author_name(review.anonymous, reviewer.display_name)


def _when(moment: datetime) -> str:
    return moment.strftime("%d %B %Y, %H:%M UTC")


def contact_request(
    business: Business, reviewer: Reviewer, review: Review, contact: Contact
) -> Text:
    """The request to the reviewer, with a mark where their reply link goes."""
    asked = "".join(f"  - {_REQUESTED[item]}\n" for item in contact.requested)
    before_link = (
        greeting(reviewer.display_name)
        + f'{business.name} read your review "{review.title}" and would like to know more '
        f"about your experience.\n\n"
        f"Their message:\n\n{contact.message}\n\n"
        + (f"They ask for:\n{asked}\n" if asked else "")
        + f"You can reply, with whatever you choose to share, or decline, until "
        f"{_when(contact.deadline)}:\n\n"
    )
    return Text(
        subject=f"{business.name} would like to hear more about your review",
        link_at=len(before_link),
        body=(
            before_link + f"{MARK}\n\n"
            f"We never show your email address to {business.name}, and nothing you write to "
            f"them is published. If you don't reply, or share too little, {business.name} may "
            f"report your review as not based on a genuine experience, and it would be hidden "
            f"while we look into it.\n\n"
            f"Thank you,\nThe Reviewdesk team\n"
        ),
    )


def contact_replied(
    business: Business, reviewer: Reviewer, review: Review, answer: AnswerRecord
) -> Text:
    shared = [
        ("Order reference", answer.order_reference),
        ("Contact details", answer.contact_details),
        ("Message", answer.message),
    ]
    lines = "".join(f"{label}: {value}\n" for label, value in shared if value)
    lines = lines or "(They replied without sharing details.)\n"
    return Text(
        subject=f"{_author(reviewer, review)} replied about their review",
        body=(
            f"Hello {business.name},\n\n"
            f"{_author(reviewer, review)} replied to your request about the review "
            f'"{review.title}". Here is what they chose to share:\n\n'
            f"{lines}\n"
            f"If this is not enough to recognise a genuine experience, you can report the "
            f"review from your dashboard.\n\nKind regards,\nThe Reviewdesk team\n"
        ),
    )


def contact_declined(business: Business, reviewer: Reviewer, review: Review) -> Text:
    return Text(
        subject=f"{_author(reviewer, review)} declined to share more",
        body=(
            f"Hello {business.name},\n\n"
            f"{_author(reviewer, review)} chose not to share more about the review "
            f'"{review.title}". You can report the review from your dashboard if you believe '
            f"it is not based on a genuine experience.\n\nKind regards,\nThe Reviewdesk team\n"
        ),
    )


def contact_no_response(business: Business, reviewer: Reviewer, review: Review) -> Text:
    return Text(
        subject=f"No reply from {_author(reviewer, review)}",
        body=(
            f"Hello {business.name},\n\n"
            f"{_author(reviewer, review)} did not reply to your request about the review "
            f'"{review.title}" in time. You can report the review from your dashboard if you '
            f"believe it is not based on a genuine experience.\n\n"
            f"Kind regards,\nThe Reviewdesk team\n"
        ),
    )


def _grounds(grounds: Grounds) -> str:
    """Why the business reported, told to the reviewer: to them, about them, without blame."""
    if grounds is Grounds.NO_RESPONSE:
        return "you did not reply to their request, or chose not to share more"
    return "what you shared was not enough for them to recognise your visit or order"


def report_opened_for_business(business: Business, review: Review, report: Report) -> Text:
    return Text(
        subject="We received your report",
        body=(
            f"Hello {business.name},\n\n"
            f'We received your report of the review "{review.title}" for the reason: '
            f"{REPORT_REASON}\nThe review is hidden while a moderator looks into it. We will "
            f"tell you the outcome.\n\nKind regards,\nThe Reviewdesk team\n"
        ),
    )


def report_opened_for_reviewer(
    business: Business, reviewer: Reviewer, review: Review, report: Report
) -> Text:
    return Text(
        subject="Your review is hidden while we look into a report",
        body=(
            greeting(reviewer.display_name)
            + f'{business.name} reported your review "{review.title}" for the reason: '
            f"{REPORT_REASON}\n"
            + (f"They did so because {_grounds(report.grounds)}.\n" if report.grounds else "")
            + "\n"
            "Your review is hidden while a moderator looks into it. We will let you know the "
            "outcome.\n\nKind regards,\nThe Reviewdesk team\n"
        ),
    )


def report_escalated(business: Business, review: Review, report: Report) -> Text:
    return Text(
        subject=f"Report {report.id} is overdue",
        body=(
            f'The report {report.id} of the review "{review.title}" on {business.name} was '
            f"opened {_when(report.opened_at)} and has had no decision by "
            f"{_when(report.sla_deadline)}. The review stays hidden until it is decided.\n"
        ),
    )


def decision_for_business(
    business: Business,
    review: Review,
    decision: Decision,
    *,
    decision_id: str | None = None,
    appeal_until: datetime | None = None,
) -> Text:
    if decision is Decision.UPHOLD:
        outcome = "upheld your report. The review has been removed from your page."
    else:
        outcome = "rejected your report. The review is visible on your page again."
    # A rejection may be appealed once by the business (DESIGN rule 11): say how, and until when.
    appeal = (
        f"If you disagree, you can appeal this decision once, free of charge, until "
        f"{_when(appeal_until)}: from the report on your dashboard, or through the API with "
        f"POST /api/v1/decisions/{decision_id}/appeals. A different moderator will decide. You "
        f"may also take the decision to a certified out-of-court dispute settlement body "
        f"(Digital Services Act, article 21).\n\n"
        if decision is Decision.REJECT and decision_id and appeal_until
        else ""
    )
    return Text(
        subject="Your report has been decided",
        body=(
            f"Hello {business.name},\n\n"
            f'A moderator {outcome}\nReview: "{review.title}"\n\n'
            f"{appeal}Kind regards,\nThe Reviewdesk team\n"
        ),
    )


def decision_for_reviewer(
    business: Business, reviewer: Reviewer, review: Review, decision: Decision
) -> Text:
    if decision is Decision.UPHOLD:
        outcome = (
            f'upheld {business.name}\'s report, so your review "{review.title}" has been removed.'
        )
    else:
        outcome = (
            f'rejected {business.name}\'s report, so your review "{review.title}" is visible '
            f"again. Thank you for your patience."
        )
    return Text(
        subject="The report of your review has been decided",
        body=(
            greeting(reviewer.display_name) + f"A moderator {outcome}\n\n"
            f"Kind regards,\nThe Reviewdesk team\n"
        ),
    )
