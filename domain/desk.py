"""The response desk's rules (DESIGN rules 15-17, 20): what a ticket is called, its tags and
priority, which response policy applies and when its reminder and breach fall, who a note
mentions. Pure functions: the intake, the ticket's workflow and the pages all ask here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.enums import Priority, TicketStatus, TicketView

ANONYMOUS = "Anonymous reviewer"
NEW_REVIEW = "New review"
NEGATIVE = "negative"
POSITIVE = "positive"
SLA_BREACHED = "sla_breached"
NEGATIVE_RATINGS = frozenset({1, 2})
POSITIVE_RATINGS = frozenset({4, 5})
# The reminder falls at three quarters of the target (rule 20).
REMINDER_AT = 0.75


def subject_for(title: str | None) -> str:
    return title.strip() if title and title.strip() else NEW_REVIEW


def requester_for(display_name: str | None) -> str:
    return display_name.strip() if display_name and display_name.strip() else ANONYMOUS


def author_name(anonymous: bool, display_name: str | None) -> str:
    """The one rule for the name of a review's author wherever a business or the public sees it
    (a ticket, a page, an email): "Anonymous reviewer" for a review posted without a name, even
    when the reviewer's profile holds a name from another of their reviews; never blank."""
    return ANONYMOUS if anonymous else requester_for(display_name)


def tags_for(rating: int) -> list[str]:
    """``rating_N``, and ``negative`` (1-2 stars) or ``positive`` (4-5); 3 stars is neither."""
    tags = [f"rating_{rating}"]
    if rating in NEGATIVE_RATINGS:
        tags.append(NEGATIVE)
    elif rating in POSITIVE_RATINGS:
        tags.append(POSITIVE)
    return tags


def is_negative(rating: int) -> bool:
    return rating in NEGATIVE_RATINGS


def priority_for(rating: int) -> Priority:
    """Negative tickets are high priority (rule 15)."""
    return Priority.HIGH if is_negative(rating) else Priority.NORMAL


@dataclass(frozen=True)
class StatusMove:
    """A ticket's status change on an event: to ``to``, only from one of ``only_from``."""

    to: TicketStatus
    only_from: tuple[TicketStatus, ...]


# Rule 21: a ticket waits on the reviewer (pending) while its private dialogue runs, that is
# while the reviewer's reply window is open; once they replied, declined or stayed silent (or the
# business closed the contact first), the next move is the business's again (open). A solved
# ticket stays solved either way.
ON_CONTACT_OPENED = StatusMove(TicketStatus.PENDING, (TicketStatus.NEW, TicketStatus.OPEN))
ON_CONTACT_ENDED = StatusMove(TicketStatus.OPEN, (TicketStatus.PENDING,))


@dataclass(frozen=True)
class Policy:
    """A response policy: the ratings it matches and the time to respond."""

    name: str
    ratings: frozenset[int]
    target: timedelta

    def matches(self, rating: int) -> bool:
        return rating in self.ratings


# What applies after a business's own policies, and to a business with none (rule 20).
DEFAULT_POLICIES = (
    Policy("Negative reviews (1-2 stars)", NEGATIVE_RATINGS, timedelta(days=2)),
    Policy("Every other review", frozenset({1, 2, 3, 4, 5}), timedelta(days=7)),
)


def policy_for(rating: int, own: list[Policy]) -> Policy:
    """The first of the business's own policies that matches, else the first default."""
    for policy in (*own, *DEFAULT_POLICIES):
        if policy.matches(rating):
            return policy
    raise AssertionError("the last default matches every rating")


@dataclass(frozen=True)
class Target:
    policy_name: str
    remind_at: datetime
    target_at: datetime


def target_for(opened_at: datetime, rating: int, own: list[Policy]) -> Target:
    policy = policy_for(rating, own)
    return Target(policy.name, opened_at + policy.target * REMINDER_AT, opened_at + policy.target)


# A handle: what follows @ in a note. Letters, digits, dots, dashes, underscores; not ending in
# a dot, so "@maria." at a sentence's end names maria.
HANDLE = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,30}[a-z0-9_-])?")
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9](?:[A-Za-z0-9._-]{0,30}[A-Za-z0-9_-])?)")


def handle_for(name: str) -> str:
    """A handle made from a name: "Maria Lopez" is ``maria.lopez``."""
    words = re.findall(r"[a-z0-9]+", name.lower())
    return ".".join(words)[:32].strip(".") or "member"


def mentions(text: str) -> set[str]:
    """The handles a note names, lower case; an e-mail address is not a mention."""
    return {m.lower() for m in _MENTION.findall(text)}


VIEWS = tuple(TicketView)
