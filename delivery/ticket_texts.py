"""What a ticket's response target emails say (DESIGN rule 20): the reminder to whoever handles
it, and the owner told when the target passed.

Who wrote the review (or "an anonymous reviewer"), its stars and title, when the reply is due,
and a link to the ticket: never the reviewer's address, and not the review's text (the ticket
page shows it to whoever signs in).
"""

from __future__ import annotations

from datetime import datetime

from delivery.texts import Text, one_line
from domain.desk import ANONYMOUS
from store.records import Business, Member, Ticket

_SIGN_OFF = "Kind regards,\nThe Reviewdesk team\n"


def _when(moment: datetime) -> str:
    return moment.strftime("%d %B %Y, %H:%M UTC")


def _whose(ticket: Ticket) -> str:
    """Whose review: "Maria's", or "an anonymous reviewer's"; on one line, as a subject needs."""
    if ticket.requester == ANONYMOUS:
        return "an anonymous reviewer's"
    return f"{one_line(ticket.requester)}'s"


def _capital(words: str) -> str:
    """The first letter up, the rest as written ("Maria Lopez's", not "Maria lopez's")."""
    return words[:1].upper() + words[1:]


def _stars(rating: int) -> str:
    return f"{rating} star" if rating == 1 else f"{rating} stars"


def reminder(ticket: Ticket, member: Member, business: Business, link: str) -> Text:
    """At three quarters of the target, to the assignee, or the owner if no one is assigned."""
    assigned = ticket.assignee_id == member.id
    why = (
        "This ticket is assigned to you"
        if assigned
        else "No one in your team has taken this ticket yet"
    )
    return Text(
        subject=f"Reply to {_whose(ticket)} review by {_when(ticket.target_at)}",
        body=(
            f"Hello {member.name},\n\n"
            f"{_capital(_whose(ticket))} review of {business.name} ({_stars(ticket.rating)}, "
            f'"{ticket.subject}") is waiting for an answer. {why}, and your response target '
            f'("{ticket.policy_name}") ends on {_when(ticket.target_at)}.\n\n'
            f"Open the ticket: {link}\n\n"
            f"Answering sooner is better: reviewers and readers notice.\n\n"
            f"{_SIGN_OFF}"
        ),
    )


def breached(ticket: Ticket, business: Business, link: str) -> Text:
    """At the target, to the owner: the ticket is tagged ``sla_breached``; it may still be
    answered."""
    return Text(
        subject=f"{_capital(_whose(ticket))} review waited past your response target",
        body=(
            f"Hello {business.name},\n\n"
            f'{_capital(_whose(ticket))} review ({_stars(ticket.rating)}, "{ticket.subject}") '
            f"was not answered by {_when(ticket.target_at)}, the end of your response target "
            f'("{ticket.policy_name}"). The ticket is now marked as past its target.\n\n'
            f"It can still be answered, and a late answer is better than none: {link}\n\n"
            f"{_SIGN_OFF}"
        ),
    )
