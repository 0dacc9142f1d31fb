"""What the response desk tells its team (DESIGN rule 17): a note that mentions someone.

The email names the ticket and who wrote the note, and links to the ticket's page, where the
note is read once signed in. It never quotes the note, nor names the reviewer's address: what
the team writes to itself stays behind the sign-in."""

from __future__ import annotations

from delivery.texts import Text, one_line

MENTIONED = "ticket.mentioned"
"""The outbox's event type of a mention email (an email to one member, not a webhook event)."""


def mentioned(*, member_name: str, author_name: str, subject: str, rating: int, url: str) -> Text:
    stars = "1 star" if rating == 1 else f"{rating} stars"
    return Text(
        subject=one_line(f"{author_name} mentioned you on a ticket: {subject}"),
        body=(
            f"Hi {member_name},\n\n"
            f'{author_name} mentioned you in an internal note on the ticket "{subject}" '
            f"({stars}).\n\n"
            f"Read it and answer on the ticket's page:\n\n{url}\n\n"
            "Internal notes are seen only by your team, never by the reviewer.\n\n"
            "The Reviewdesk team\n"
        ),
    )
