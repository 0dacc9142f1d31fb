"""The retention rule (DESIGN, "Security and privacy") as SQL.

What people wrote is removed `retention` after its case ended: a business's message, what a
reviewer shared, and the bodies of the case's messages with the addresses of its emails. The
rows stay, marked ``purged_at``, and so do the events, the reports and the decisions with
their notes. A case ends when its contact is closed without a report, when its report is
decided, or, for a request that never became a contact (refused at once, or left by a step that
failed before the opening and was never retried), when it was made. A case still open is never
purged. A message not yet sent (pending) keeps its body until it is.

Issue 17's cases the same way: a flag's explanation and the reviewer's edits, a notifier's name,
address and explanation, an appellant's statement; statements of reasons stay (they hold no
personal data), and so do appeals' decisions.
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


# Issue 17's cases. A report's case ends at its decision, or at its appeal's decision when it
# was appealed; an appeal still pending keeps the whole case.
_REPORTS_DONE = (
    "SELECT r.id FROM reports r WHERE r.decided_at <= :before AND NOT EXISTS"
    " (SELECT 1 FROM appeals a WHERE a.report_id = r.id"
    " AND (a.status = 'pending' OR a.decided_at > :before))"
)
# A flag ends dropped or withdrawn, or escalated, with its report.
_FLAGS_ENDED = (
    "SELECT id FROM flags WHERE (status IN ('dropped', 'withdrawn') AND ended_at <= :before)"
    f" OR (status = 'escalated' AND report_id IN ({_REPORTS_DONE}))"
)
# A notice ends with its report, or when it was made if it opened none (its review was gone).
_NOTICES_ENDED = (
    f"SELECT id FROM notices WHERE report_id IN ({_REPORTS_DONE})"
    " OR (report_id IS NULL AND received_at <= :before)"
)
_STATEMENTS_ENDED = f"SELECT id FROM statements WHERE report_id IN ({_REPORTS_DONE})"
_APPEALS_ENDED = "SELECT id FROM appeals WHERE decided_at <= :before"


@dataclass(frozen=True)
class Purged:
    """How many of each were purged, and which emails: never what they held."""

    requests: int = 0
    answers: int = 0
    messages: int = 0
    # Flags' explanations and reviewers' edits, notifiers' details, appellants' statements.
    flags: int = 0
    notices: int = 0
    appeals: int = 0
    emails: tuple[str, ...] = field(default=(), repr=False)
    """The outbox keys of the emails purged, whose sent copies (files) go with them."""

    @property
    def total(self) -> int:
        return (
            self.requests + self.answers + self.messages + self.flags + self.notices + self.appeals
        )


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
    flags = await conn.execute(
        f"UPDATE flags SET explanation = '', purged_at = :at"
        f" WHERE purged_at IS NULL AND id IN ({_FLAGS_ENDED})",
        times,
    )
    await conn.execute(
        "UPDATE review_edits SET title = NULL, text = NULL, purged_at = :at"
        f" WHERE purged_at IS NULL AND flag_id IN ({_FLAGS_ENDED})",
        times,
    )
    notices = await conn.execute(
        "UPDATE notices SET name = '', email = '', explanation = '', purged_at = :at"
        f" WHERE purged_at IS NULL AND id IN ({_NOTICES_ENDED})",
        times,
    )
    # The moderator's decision and note stay, as a report's do; the appellant's words go.
    appeals = await conn.execute(
        "UPDATE appeals SET statement = '', purged_at = :at"
        f" WHERE purged_at IS NULL AND id IN ({_APPEALS_ENDED})",
        times,
    )
    ended = (
        f"{_ENDED} UNION ALL {_DECIDED} UNION ALL {_REPORTS_DONE} UNION ALL {_FLAGS_ENDED}"
        f" UNION ALL {_NOTICES_ENDED} UNION ALL {_STATEMENTS_ENDED} UNION ALL {_APPEALS_ENDED}"
    )
    messages = list(
        await conn.fetch_all(
            "UPDATE outbox SET body_text = '',"
            " to_address = CASE channel WHEN 'email' THEN '' ELSE to_address END, purged_at = :at"
            " WHERE purged_at IS NULL AND status <> 'pending'"
            f" AND subject_id IN ({ended}) RETURNING key, channel",
            times,
        )
    )
    emails = tuple(key for key, channel in messages if channel == "email")
    return Purged(requests, answers, len(messages), flags, notices, appeals, emails)
