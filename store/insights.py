"""What a business's insight counts (DESIGN rule 21), each count made by the database over one
business's range of an index: ``reviews_by_business``, ``contacts_by_business``,
``flags_by_business`` and ``tickets_marked_spam``, with a review's ticket and reply found by
their unique ``review_id``. Periods are ``[start, end)``; times are ISO 8601 text in UTC, so a
range of text is a range of time and a text's first ten characters are its UTC day.

A review's figures (its reply, its ticket's breach) are counted by when the review came in,
whenever the reply or the breach came: "of the period's reviews, how many got an answer".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from domain.enums import FlagStatus, ReportStatus
from store.connection import Connection
from store.records import fetch_all, fetch_one, ts
from store.transparency import hours_between

# Of the business's reviews that came in the period: each review, its ticket (a review that
# came before the desk has none) and its public reply (at most one, rule 19).
_REVIEWS_OF_PERIOD = (
    " FROM reviews r"
    " LEFT JOIN tickets t ON t.review_id = r.id"
    " LEFT JOIN replies p ON p.review_id = r.id"
    " WHERE r.business_id = ? AND r.created_at >= ? AND r.created_at < ?"
)


@dataclass(frozen=True)
class Answered:
    """The period's reviews and what became of them."""

    reviews: int
    replied: int  # with a published public reply
    tickets: int  # with a ticket (the desk's)
    breached: int  # tickets whose response target passed unanswered
    breached_replied: int  # of those, replied to after all


def _params(business_id: str, start: datetime, end: datetime) -> tuple[str, str, str]:
    return business_id, ts(start), ts(end)


async def reviews_by_day(
    conn: Connection, business_id: str, start: datetime, end: datetime
) -> dict[tuple[date, int], int]:
    """The business's reviews by (UTC day they came in, rating)."""
    rows = await fetch_all(
        conn,
        "SELECT SUBSTR(created_at, 1, 10) AS day, rating, CAST(COUNT(*) AS INTEGER)"
        " FROM reviews WHERE business_id = ? AND created_at >= ? AND created_at < ?"
        " GROUP BY SUBSTR(created_at, 1, 10), rating",
        _params(business_id, start, end),
    )
    return {(date.fromisoformat(str(r[0])), int(r[1])): int(r[2]) for r in rows}


async def answered(conn: Connection, business_id: str, start: datetime, end: datetime) -> Answered:
    """A breached ticket got its reply after the breach: the target's timer marks a breach only
    while the ticket is unanswered, and the ticket's workflow ends once it is answered."""
    row = await fetch_one(
        conn,
        "SELECT CAST(COUNT(*) AS INTEGER), CAST(COUNT(p.id) AS INTEGER),"
        " CAST(COUNT(t.id) AS INTEGER),"
        " CAST(COUNT(t.breached_at) AS INTEGER),"
        " CAST(COALESCE(SUM(CASE WHEN t.breached_at IS NOT NULL AND p.id IS NOT NULL"
        " THEN 1 ELSE 0 END), 0) AS INTEGER)" + _REVIEWS_OF_PERIOD,
        _params(business_id, start, end),
    )
    values = [int(v) for v in list(row)] if row else [0] * 5
    return Answered(*values)


async def median_hours_to_reply(
    conn: Connection, dialect: str, business_id: str, start: datetime, end: datetime, *, count: int
) -> float | None:
    """The median hours from a review's arrival to its public reply, of the ``count`` reviews of
    the period that got one: the middle one (or the mean of the middle two), sorted by the
    database, so the range is never brought over."""
    if count <= 0:
        return None
    hours = hours_between(dialect, "r.created_at", "p.published_at")
    rows = await fetch_all(
        conn,
        f"SELECT {hours} AS hours FROM reviews r JOIN replies p ON p.review_id = r.id"
        " WHERE r.business_id = ? AND r.created_at >= ? AND r.created_at < ?"
        " ORDER BY hours LIMIT ? OFFSET ?",
        (*_params(business_id, start, end), 2 - count % 2, (count - 1) // 2),
    )
    middle = [float(r[0]) for r in rows]
    return sum(middle) / len(middle) if middle else None


async def contacts_by_status(
    conn: Connection, business_id: str, start: datetime, end: datetime
) -> dict[str, int]:
    """The business's Find Reviewer contacts opened in the period, by their status now."""
    return await _by_status(conn, "contacts", business_id, start, end)


async def flags_by_status(
    conn: Connection, business_id: str, start: datetime, end: datetime
) -> dict[str, int]:
    """The business's flags opened in the period, by their status now."""
    return await _by_status(conn, "flags", business_id, start, end)


async def escalated_by_decision(
    conn: Connection, business_id: str, start: datetime, end: datetime
) -> dict[str, int]:
    """The business's escalated flags opened in the period, by their report's status now: a flag
    stays ``escalated`` once its moderator decides, so its report says how it ended. One not yet
    with its report (its first step on the way) is pending."""
    rows = await fetch_all(
        conn,
        "SELECT r.status, CAST(COUNT(*) AS INTEGER) FROM flags f"
        " LEFT JOIN reports r ON r.id = f.report_id"
        " WHERE f.business_id = ? AND f.opened_at >= ? AND f.opened_at < ? AND f.status = ?"
        " GROUP BY r.status",
        (*_params(business_id, start, end), FlagStatus.ESCALATED.value),
    )
    counts: dict[str, int] = {}
    for r in rows:
        key = str(r[0] or ReportStatus.PENDING.value)  # no report yet: on its way to them
        counts[key] = counts.get(key, 0) + int(r[1])
    return counts


async def _by_status(
    conn: Connection, table: str, business_id: str, start: datetime, end: datetime
) -> dict[str, int]:
    rows = await fetch_all(
        conn,
        f"SELECT status, CAST(COUNT(*) AS INTEGER) FROM {table}"
        " WHERE business_id = ? AND opened_at >= ? AND opened_at < ? GROUP BY status",
        _params(business_id, start, end),
    )
    return {str(r[0]): int(r[1]) for r in rows}


async def spam_marks(conn: Connection, business_id: str, start: datetime, end: datetime) -> int:
    """Tickets the business marked spam or irrelevant in the period, by when it did."""
    row = await fetch_one(
        conn,
        "SELECT CAST(COUNT(*) AS INTEGER) FROM tickets WHERE business_id = ?"
        " AND spam_at IS NOT NULL AND spam_at >= ? AND spam_at < ?",
        _params(business_id, start, end),
    )
    return int(row[0]) if row else 0
