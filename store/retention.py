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
    # Notices whose notifier's key was cleared, notifiers' steps that no longer name anyone.
    notifier_keys: int = 0
    notifier_steps: int = 0

    @property
    def total(self) -> int:
        return (
            self.requests
            + self.answers
            + self.messages
            + self.flags
            + self.notices
            + self.appeals
            + self.notifier_keys
            + self.notifier_steps
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


# What a notifier's step is known by once it links to no one.
FORGOTTEN = "forgotten-"


async def forget_notifiers(
    conn: Connection, *, keys_before: datetime, steps_before: datetime, at: datetime
) -> Purged:
    """The misuse guard's memory of a notifier (DESIGN rule 12) ends too.

    A purged notice received at or before ``keys_before`` (``misuse_window`` and
    ``ladder_memory`` ago: no finding and no ladder counts it any more) loses its notifier's
    key. A notifier's step that ended at or before ``steps_before`` (``ladder_memory`` ago: no
    ladder counts it) stays for the transparency figures, under an id that links to no one;
    its emails, sent long ago, lose their words and address as a purged case's do (one still
    pending keeps them until it is sent)."""
    keys = await conn.execute(
        "UPDATE notices SET notifier_key = NULL WHERE notifier_key IS NOT NULL"
        " AND purged_at IS NOT NULL AND received_at <= ?",
        (ts(keys_before),),
    )
    due = (
        "SELECT id FROM standing_steps WHERE subject_kind = 'notifier'"
        f" AND ended_at IS NOT NULL AND ended_at <= ? AND subject_id NOT LIKE '{FORGOTTEN}%'"
    )
    emails = await conn.fetch_all(
        f"UPDATE outbox SET recipient_id = '{FORGOTTEN}' || subject_id, body_text = '',"
        " to_address = '', purged_at = COALESCE(purged_at, ?)"
        f" WHERE channel = 'email' AND status <> 'pending' AND subject_id IN ({due})"
        " RETURNING key",
        (ts(at), ts(steps_before)),
    )
    steps = await conn.execute(
        f"UPDATE standing_steps SET subject_id = '{FORGOTTEN}' || id WHERE id IN ({due})",
        (ts(steps_before),),
    )
    return Purged(
        messages=len(emails),
        emails=tuple(str(row[0]) for row in emails),
        notifier_keys=keys,
        notifier_steps=steps,
    )
