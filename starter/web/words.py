"""What the pages say for each state, event and notification: words a person reads, in one place.

The store and the API keep their stable codes (`no_response`, `report.upheld`); only pages turn
them into sentences, here, so a new code shows up as one missing line rather than a raw name.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from enum import StrEnum

from domain.enums import (
    AppealDecision,
    AppealStatus,
    Appellant,
    ContactStatus,
    Decision,
    Finding,
    FlagReason,
    FlagStatus,
    Grounds,
    MemberRole,
    Priority,
    ReportSource,
    ReportStatus,
    ReviewSource,
    StandingStepKind,
    StandingSubject,
    StepEnd,
    SubReason,
    TicketEventKind,
    TicketStatus,
    TicketView,
    Visibility,
)
from domain.refusals import Refusal
from starter.service import Notification
from store.records import Event, StandingStep, Ticket, TicketEvent

# Keyed by the enum member itself, not its text: `ContactStatus.NO_RESPONSE` and
# `Grounds.NO_RESPONSE` are both "no_response", and a StrEnum compares as its text.
_STATES: tuple[tuple[StrEnum, str], ...] = (
    (ContactStatus.AWAITING_REPLY, "Waiting for the reviewer"),
    (ContactStatus.REPLIED, "The reviewer replied"),
    (ContactStatus.DECLINED, "The reviewer declined"),
    (ContactStatus.NO_RESPONSE, "No answer from the reviewer"),
    (ContactStatus.REPORTED, "Review reported"),
    (ContactStatus.CLOSED, "Closed"),
    (Grounds.NO_RESPONSE, "No response: the reviewer declined or did not answer in time"),
    (Grounds.INSUFFICIENT_INFORMATION, "Not enough information in the reviewer's reply"),
    (ReportStatus.PENDING, "Waiting for a moderator"),
    (ReportStatus.UPHELD, "Upheld: the review is removed"),
    (ReportStatus.REJECTED, "Rejected: the review is visible again"),
    (Decision.UPHOLD, "Upheld: the review is removed"),
    (Decision.REJECT, "Rejected: the review is visible again"),
    (Visibility.VISIBLE, "Visible"),
    (Visibility.HIDDEN, "Hidden while a report is handled"),
    (Visibility.REMOVED, "Removed after a moderator's decision"),
    (ReviewSource.ORGANIC, "Written unprompted"),
    (ReviewSource.EXTERNAL_INVITATION, "Written after your own invitation"),
    (ReviewSource.PLATFORM_INVITATION, "Written after the platform's invitation"),
    (FlagReason.NOT_GENUINE, "Not based on a genuine experience"),
    (FlagReason.HARMFUL_OR_ILLEGAL, "Harmful or illegal"),
    (FlagReason.PERSONAL_INFORMATION, "Personal information"),
    (FlagReason.ADVERTISING_OR_SPAM, "Advertising, promotional or spam"),
    (FlagReason.WRONG_BUSINESS, "About a different business"),
    (SubReason.HATE_SPEECH, "hate speech"),
    (SubReason.THREATS_OR_VIOLENCE, "threats or violence"),
    (SubReason.OBSCENITY, "obscenity"),
    (SubReason.DEFAMATION, "defamation"),
    (SubReason.TERRORISM, "terrorism"),
    (SubReason.OTHER_ILLEGAL, "other illegal content"),
    (FlagStatus.AWAITING_REVIEWER, "Waiting for the reviewer to edit or withdraw"),
    (FlagStatus.AWAITING_BUSINESS, "Your turn: escalate to a moderator or drop the flag"),
    (FlagStatus.ESCALATED, "With the moderators"),
    (FlagStatus.DROPPED, "Dropped: no moderator will look at it"),
    (FlagStatus.WITHDRAWN, "The reviewer withdrew the review"),
    (ReportSource.CONTACT, "Reported after a contact"),
    (ReportSource.FLAG, "Flagged by the business"),
    (ReportSource.NOTICE, "Notice from the public"),
    (Priority.NORMAL, "Normal priority"),
    (Priority.HIGH, "High priority"),
    (Appellant.REVIEWER, "The reviewer"),
    (Appellant.BUSINESS, "The business"),
    (Appellant.NOTIFIER, "The person who sent the notice"),
    (AppealStatus.PENDING, "Waiting for a second moderator"),
    (AppealStatus.GRANTED, "Granted: the decision is reversed"),
    (AppealStatus.DENIED, "Denied: the decision stands"),
    (AppealDecision.GRANT, "Grant: reverse the decision"),
    (AppealDecision.DENY, "Deny: the decision stands"),
    (StandingSubject.BUSINESS, "A business"),
    (StandingSubject.NOTIFIER, "A notifier"),
    (StandingStepKind.WARNING, "Warning"),
    (StandingStepKind.RESTRICTION, "Restriction"),
    (StandingStepKind.CONSUMER_WARNING, "Consumer warning"),
    (StandingStepKind.SUSPENSION, "Suspension"),
    (Finding.REJECTED_FLAGS, "Too many flags rejected"),
    (Finding.NEGATIVE_ONLY, "Flags almost only on 1- and 2-star reviews"),
    (Finding.UNFOUNDED_NOTICES, "Too many notices found unfounded"),
    (StepEnd.EXPIRED, "Expired"),
    (StepEnd.LIFTED, "Lifted by a moderator"),
    (TicketStatus.NEW, "New"),
    (TicketStatus.OPEN, "Open"),
    (TicketStatus.PENDING, "Pending"),
    (TicketStatus.SOLVED, "Solved"),
    (TicketView.UNANSWERED_NEGATIVE, "Unanswered negative"),
    (TicketView.NEW, "New"),
    (TicketView.ASSIGNED_TO_ME, "Assigned to me"),
    (TicketView.ALL, "All"),
    (MemberRole.OWNER, "Owner"),
    (MemberRole.AGENT, "Agent"),
)
STATES = {(type(member), member.value): words for member, words in _STATES}

# History events, by whose history they are in: a contact's and a report's both have "opened".
CONTACT_EVENTS = {
    "opened": "Contact opened",
    "refused": "Request refused",
    "request_sent": "Request emailed to the reviewer",
    "replied": "The reviewer replied",
    "declined": "The reviewer declined to share anything",
    "no_response": "The reviewer did not answer in time",
    "reported": "Review reported and hidden",
    "closed": "Closed without a report",
    "repaired": "Its workflow was lost; repaired by the operator",
}
REPORT_EVENTS = {
    "opened": "Report opened; the reviewer was told why the review is hidden",
    "escalated": "Not decided in time: escalated to the moderation team",
    "upheld": "A moderator upheld the report: the review is removed",
    "rejected": "A moderator rejected the report: the review is visible again",
    "repaired": "Its workflow was lost; started again by the operator, so it can be decided",
}

# Notifications: what a message was about, and to whom, as the business reading its pages sees it.
TOPICS = {
    "contact.requested": "the request to hear from them",
    "contact.replied": "the reviewer's reply",
    "contact.declined": "the reviewer's decline",
    "contact.no_response": "the reviewer's silence",
    "report.opened": "the report",
    "report.escalated": "the overdue report",
    "report.upheld": "the decision (upheld)",
    "report.rejected": "the decision (rejected)",
    "flag.reviewer_asked": "the flag, and how to edit or withdraw the review",
    "flag.opened": "your flag",
    "flag.reviewer_edited": "the reviewer's edit",
    "flag.reviewer_withdrew": "the reviewer's withdrawal",
    "flag.awaiting_business": "the reviewer's silence",
    "flag.escalated": "the flag sent to the moderators",
    "flag.dropped": "the flag dropped",
    "standing.step_taken": "a step taken against misuse",
    "standing.step_ended": "a step against misuse ended",
}
RECIPIENTS = {
    "reviewer": "the reviewer",
    "business": "you",
    "moderation": "the moderation team",
    "endpoint": "your endpoint",
}
_GROUNDS = {g.value for g in Grounds}
_REFUSALS = {r.value for r in Refusal}
DELIVERY = {"pending": "waiting to be sent", "sent": "sent", "failed": "could not be delivered"}
# Where a flag stands, as a chart's label on the insights page: short enough for a phone.
FLAG_OUTCOMES = {
    FlagStatus.AWAITING_REVIEWER: "Waiting for the reviewer",
    FlagStatus.AWAITING_BUSINESS: "Waiting for you to decide",
    FlagStatus.ESCALATED: "With the moderators",
    FlagStatus.DROPPED: "Dropped",
    FlagStatus.WITHDRAWN: "The reviewer withdrew the review",
}
# An escalated flag stays escalated once decided: its report's status says how it ended.
ESCALATED_OUTCOMES = {
    ReportStatus.PENDING: "With the moderators",
    ReportStatus.UPHELD: "Moderators removed the review",
    ReportStatus.REJECTED: "Moderators kept the review",
}


def say(value: StrEnum | None) -> str:
    """The words for a status, grounds, decision, visibility or source."""
    if value is None:
        return ""
    return STATES.get((type(value), value.value)) or _fallback(value.value)


def event_words(event: Event, contact_id: str) -> str:
    """One line of a contact's (or its report's) history."""
    if event.subject_id != contact_id:
        return REPORT_EVENTS.get(event.type) or _fallback(event.type)
    words = CONTACT_EVENTS.get(event.type) or _fallback(event.type)
    detail = event.detail
    if event.type == "closed" and detail.get("by") == "report_window_over":
        return "Closed: the time to report ended"
    if event.type == "repaired" and detail.get("action") == "closed":
        return (
            "Its workflow was lost; closed by the operator, the review can be contacted again "
            "after the cooldown"
        )
    if event.type == "repaired":
        return "Its workflow was lost; started again by the operator"
    if event.type == "reported" and detail.get("grounds") in _GROUNDS:
        return f"{words} ({say(Grounds(detail['grounds'])).split(':')[0].lower()})"
    if event.type == "refused" and detail.get("reason") in _REFUSALS:
        return f"{words}: {Refusal(detail['reason']).message}"
    return words


def notification_words(note: Notification) -> str:
    """A message as its line on the business's pages: never an address."""
    kind = "Webhook event" if note.channel == "webhook" else "Email"
    to = RECIPIENTS.get(note.recipient, note.recipient)
    topic = TOPICS.get(note.event_type) or _fallback(note.event_type)
    status = DELIVERY.get(note.status, note.status)
    if note.status == "pending" and note.attempts:
        status = "being retried"
    tries = f", {note.attempts} attempts" if note.attempts > 1 else ""
    return f"{kind} to {to} about {topic}: {status}{tries}"


# The desk (DESIGN rules 15-17, 20): a ticket's tags and history, as its pages say them.
TAGS = {
    "negative": "Negative",
    "positive": "Positive",
    "sla_breached": "Response target missed",
    **{f"rating_{n}": f"{n} star{'s' if n > 1 else ''}" for n in range(1, 6)},
}
TICKET_EVENTS = {
    TicketEventKind.CREATED: "The review came in; its ticket was opened",
    TicketEventKind.NOTED: "{actor} wrote an internal note",
    TicketEventKind.CONTACT_OPENED: "{actor} asked to hear from the reviewer (Find reviewer)",
    TicketEventKind.CONTACT_ENDED: "The private dialogue with the reviewer ended",
    TicketEventKind.REMINDED: "Reminder sent: the response target is near",
    TicketEventKind.SLA_BREACHED: "Response target missed; the owner was told",
    TicketEventKind.REPLY_PUBLISHED: "{actor} published the public reply",
    TicketEventKind.SOLVED: "{actor} marked it solved",
    TicketEventKind.MARKED_SPAM: "{actor} marked it as spam or irrelevant; it went to moderation",
}


def tags_in_order(tags: list[str]) -> list[str]:
    """The stars first, then the rest as they were added: every row reads the same way."""
    return sorted(tags, key=lambda t: not t.startswith("rating_"))


def tag_words(tag: str) -> str:
    """A tag as a person reads it; a business's own tag with its underscores as spaces."""
    return TAGS.get(tag) or _fallback(tag)


def span(delta: timedelta) -> str:
    """A length of time as people say it, to the two largest units: "1 day 4 hours"."""
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes < 1:
        return "less than a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    said = [f"{n} {unit}{'s' if n > 1 else ''}" for n, unit in parts if n]
    return " ".join(said[:2])


def day_words(at: date | None) -> str:
    """A day as people write it: "3 December 2026" (of a date, or of a time's day). The one rule
    for a day in words, on public and desk pages alike."""
    return f"{at.day} {at:%B %Y}" if at else ""


def ago(at: datetime, now_: datetime) -> str:
    return f"{span(now_ - at)} ago"


def due_words(ticket: Ticket, now_: datetime) -> str:
    """How long is left to the response target, or how long it is overdue (rule 20); for an
    answered ticket, how it was answered: the target is met, whatever the clock says."""
    if ticket.status is TicketStatus.SOLVED:
        return "Solved"
    if ticket.answered:
        return "Marked as spam" if ticket.spam_at is not None else "Replied"
    left = ticket.target_at - now_
    if left.total_seconds() <= 0:
        return f"Overdue by {span(left)}"
    if ticket.breached_at is not None:
        return "Response target missed"
    return f"{span(left)} left"


def overdue(ticket: Ticket, now_: datetime) -> bool:
    """Shown in red, wherever a ticket's target is shown: past its target (or breached) and not
    answered (``Ticket.answered``: a reply, solved, or spam); the one rule for "overdue"."""
    return not ticket.answered and (ticket.breached_at is not None or now_ >= ticket.target_at)


def ticket_event_words(event: TicketEvent, name_of: Callable[[str | None], str]) -> str:
    """One line of a ticket's history, with people's names: never an id or a code.

    ``name_of`` gives a member's name by id ("Reviewdesk" for None). An assignment's detail is
    the assignee's id."""
    actor = name_of(event.actor_id)
    if event.kind is TicketEventKind.ASSIGNED:
        if event.detail is None or event.detail == event.actor_id:
            return f"{actor} took it"
        return f"{actor} assigned it to {name_of(event.detail)}"
    if event.kind is TicketEventKind.UNASSIGNED:
        return f"{actor} left it unassigned"
    if event.kind is TicketEventKind.CONTACT_OPENED and event.actor_id is None:
        return "A private dialogue with the reviewer began (Find reviewer)"
    line = TICKET_EVENTS.get(event.kind) or _fallback(event.kind.value)
    return line.format(actor=actor)


# The counts behind each finding, under the names the standing workflow records them with
# (`StandingStep.figures`): the part found, the whole it is out of, and the sentence.
FINDING_FIGURES = {
    Finding.REJECTED_FLAGS: (
        "rejected",
        "decided",
        "{part} of {whose} {whole} decided flags were rejected",
    ),
    Finding.NEGATIVE_ONLY: (
        "negative",
        "flags",
        "{part} of {whose} {whole} flags were on 1- or 2-star reviews",
    ),
    Finding.UNFOUNDED_NOTICES: (
        "rejected",
        "decided",
        "{part} of {whose} {whole} decided notices were found unfounded",
    ),
}
# What a consumer reading the business's public page is told: why, never a figure.
FINDING_FOR_CONSUMERS = {
    Finding.REJECTED_FLAGS: "it repeatedly reported reviews that follow our guidelines,"
    " asking for them to be removed",
    Finding.NEGATIVE_ONLY: "it reported almost only its negative reviews, asking for them to be"
    " removed",
}


def finding_for_consumers(finding: Finding) -> str:
    """Why a business carries a public "Consumer warning", for anyone to read: no figure."""
    return FINDING_FOR_CONSUMERS.get(
        finding, "it repeatedly reported reviews that follow our guidelines"
    )


def consumer_warning_words(business_name: str, finding: Finding) -> str:
    """The consumer warning's sentence, the same on the public page and in the public API."""
    return (
        f"We found that {business_name} misused the way reviews are reported to us:"
        f" {finding_for_consumers(finding)}. It was warned and restricted first."
    )


def finding_words(step: StandingStep, whose: str = "your") -> str:
    """What was found, with its figures: "6 of your 10 decided flags were rejected"."""
    part, whole, sentence = FINDING_FIGURES[step.finding]
    figures = step.figures
    if part in figures and whole in figures:
        return sentence.format(part=figures[part], whole=figures[whole], whose=whose)
    # Figures under other names still read as words, never as a raw mapping.
    counted = "; ".join(f"{_fallback(k).lower()}: {v}" for k, v in sorted(figures.items()))
    return f"{say(step.finding)} ({counted})" if counted else say(step.finding)


def _fallback(code: str) -> str:
    return code.replace(".", " ").replace("_", " ").capitalize()
