"""The retention rule (DESIGN, "Security and privacy") as SQL.

What people wrote is removed `retention` after its case ended: a business's message, what a
reviewer shared, and the bodies of the case's messages with the addresses of its emails. The
rows stay, marked ``purged_at``, and so do the events, the reports and the decisions with
their notes. A case ends when its contact is closed without a report, when its report is
decided, or, for a request that never became a contact (refused at once, or left by a step that
failed before the opening and was never retried), when it was made. A case still open is never
purged. A message not yet sent (pending) keeps its body until it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from store.connection import Connection
from store.records import ts

# The reports decided, and the contacts whose case ended, at or before :before. (A CTE would
# read better, but sqlite3 then reports no row count.)
_DECIDED = (
    "SELECT c.report_id FROM contacts c JOIN reports r ON r.id = c.report_id"
    " WHERE c.status = 'reported' AND r.decided_at <= :before"
)
_ENDED = (
    "SELECT id FROM contacts WHERE status = 'closed' AND closed_at <= :before"
    " UNION ALL SELECT c.id FROM contacts c JOIN reports r ON r.id = c.report_id"
    " WHERE c.status = 'reported' AND r.decided_at <= :before"
)


@dataclass(frozen=True)
class Purged:
    """How many of each were purged, and which emails: never what they held."""

    requests: int = 0
    answers: int = 0
    messages: int = 0
    emails: tuple[str, ...] = field(default=(), repr=False)
    """The outbox keys of the emails purged, whose sent copies (files) go with them."""

    @property
    def total(self) -> int:
        return self.requests + self.answers + self.messages


async def purge(conn: Connection, *, before: datetime, at: datetime) -> Purged:
    """Purges every case that ended at or before ``before``, marking what it purged with ``at``.

    Run again, it finds those marked and purges only what has come due since.
    """
    times = {"before": ts(before), "at": ts(at)}
    requests = await conn.execute(
        "UPDATE contact_requests SET message = '', purged_at = :at WHERE purged_at IS NULL"
        f" AND (id IN ({_ENDED}) OR (created_at <= :before AND (refusal IS NOT NULL"
        " OR NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = contact_requests.id))))",
        times,
    )
    answers = await conn.execute(
        "UPDATE answers"
        " SET order_reference = NULL, contact_details = NULL, message = NULL, purged_at = :at"
        f" WHERE purged_at IS NULL AND contact_id IN ({_ENDED})",
        times,
    )
    messages = list(
        await conn.fetch_all(
            "UPDATE outbox SET body_text = '',"
            " to_address = CASE channel WHEN 'email' THEN '' ELSE to_address END, purged_at = :at"
            " WHERE purged_at IS NULL AND status <> 'pending'"
            f" AND subject_id IN ({_ENDED} UNION ALL {_DECIDED}) RETURNING key, channel",
            times,
        )
    )
    emails = tuple(key for key, channel in messages if channel == "email")
    return Purged(requests, answers, len(messages), emails)
