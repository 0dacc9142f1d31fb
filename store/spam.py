"""Reviews marked spam or irrelevant on the response desk (DESIGN rule 21): the ticket's
``spam_at``, set once; after it the review gets no public reply."""

from __future__ import annotations

from datetime import datetime

from store.connection import Connection
from store.records import ts


async def mark_spam(conn: Connection, ticket_id: str, at: datetime) -> bool:
    """Whether this call marked the ticket: False if it was marked already (a retried step)."""
    changed = await conn.execute(
        "UPDATE tickets SET spam_at = ? WHERE id = ? AND spam_at IS NULL", (ts(at), ticket_id)
    )
    return changed == 1
