"""What moderation shares across reports, flags, notices and appeals: the one rule for a review's
visibility, and opening a report for a reason.

Every step that changes what moderation says about a review (a report opened or decided, an
appeal decided, a review withdrawn) calls ``settle_visibility`` instead of setting a visibility
of its own: a review may be under several reports at once, and a rejection of one must not show
a review another report hides or a moderator removed.
"""

from __future__ import annotations

from datetime import datetime

from domain.enums import (
    AppealStatus,
    Decision,
    FlagReason,
    Priority,
    ReportSource,
    ReportStatus,
    SubReason,
    Visibility,
)
from store import flags
from store.connection import Connection
from store.records import Report, fetch_all, fetch_one, ts

_HIDING = tuple(r.value for r in FlagReason if r.hides)


async def visibility_now(conn: Connection, review_id: str) -> Visibility:
    """What moderation says the review's visibility is now.

    Removed: withdrawn by its author, or a report upheld (and not reversed on appeal), or
    rejected and reversed on appeal. Hidden: a report that hides is pending. Otherwise visible,
    except a review removed before or outside moderation, which stays removed.
    """
    review = await fetch_one(
        conn, "SELECT visibility, withdrawn_at FROM reviews WHERE id = ?", (review_id,)
    )
    if review is None:
        raise RuntimeError(f"review {review_id} is not in the store")
    if review["withdrawn_at"] is not None:
        return Visibility.REMOVED
    rows = await fetch_all(
        conn,
        "SELECT r.status, r.reason, a.status AS appeal"
        " FROM reports r LEFT JOIN appeals a ON a.decision_id = r.decision_id"
        " WHERE r.review_id = ?",
        (review_id,),
    )
    reversed_ = {ReportStatus.UPHELD.value: ReportStatus.REJECTED.value}
    reversed_[ReportStatus.REJECTED.value] = ReportStatus.UPHELD.value
    outcomes = [
        reversed_.get(row["status"], row["status"])
        if row["appeal"] == AppealStatus.GRANTED.value
        else row["status"]
        for row in rows
    ]
    if ReportStatus.UPHELD.value in outcomes:
        return Visibility.REMOVED
    if any(
        row["status"] == ReportStatus.PENDING.value and row["reason"] in _HIDING for row in rows
    ):
        return Visibility.HIDDEN
    decided = any(row["status"] != ReportStatus.PENDING.value for row in rows)
    if review["visibility"] == Visibility.REMOVED.value and not decided:
        return Visibility.REMOVED
    return Visibility.VISIBLE


async def settle_visibility(conn: Connection, review_id: str) -> Visibility:
    """Sets the review's visibility to what moderation says now, and returns it."""
    visibility = await visibility_now(conn, review_id)
    await conn.execute(
        "UPDATE reviews SET visibility = ? WHERE id = ?", (visibility.value, review_id)
    )
    return visibility


async def reviewer_knew(conn: Connection, report: Report, decision: Decision) -> bool:
    """Whether the review's author knew of the report, so is told how it ended: its review was
    hidden while it ran, or they were asked to edit or withdraw it first (a reviewer-first flag
    that did ask: not one sent straight to moderation, such as spam marked on the response
    desk), or the uphold removed it. Anyone else never heard of it, and their review never
    changed: an email saying it "is visible again" would be false."""
    if decision is Decision.UPHOLD or report.reason.hides:
        return True
    if not report.reason.reviewer_first or report.flag_id is None:
        return False
    flag = await flags.get_flag(conn, report.flag_id)
    return flag is not None and not flags.straight_to_moderation(flag)


async def pending_report(conn: Connection, review_id: str, reason: FlagReason) -> Report | None:
    """The review's report for this reason still waiting for a moderator (a notice joins it)."""
    row = await fetch_one(
        conn,
        "SELECT * FROM reports WHERE review_id = ? AND reason = ? AND status = ?"
        " ORDER BY opened_at LIMIT 1",
        (review_id, reason.value, ReportStatus.PENDING.value),
    )
    return Report.model_validate(dict(row)) if row else None


async def cleared(conn: Connection, review_id: str, reason: FlagReason) -> bool:
    """A moderator has cleared the review for this reason (DESIGN rule 8, ``already_cleared``):
    a report for it was rejected and no appeal reversed that, or it was upheld and an appeal
    reversed that (an appeal's decision is final on the platform, rule 11)."""
    row = await fetch_one(
        conn,
        "SELECT 1 FROM reports r LEFT JOIN appeals a ON a.decision_id = r.decision_id"
        " WHERE r.review_id = ? AND r.reason = ?"
        " AND ((r.status = ? AND (a.status IS NULL OR a.status <> ?))"
        " OR (r.status = ? AND a.status = ?)) LIMIT 1",
        (
            review_id,
            reason.value,
            ReportStatus.REJECTED.value,
            AppealStatus.GRANTED.value,
            ReportStatus.UPHELD.value,
            AppealStatus.GRANTED.value,
        ),
    )
    return row is not None


async def add_report(
    conn: Connection,
    *,
    id: str,
    review_id: str,
    business_id: str,
    reason: FlagReason,
    sub_reason: SubReason | None,
    source: ReportSource,
    opened_at: datetime,
    sla_deadline: datetime,
    flag_id: str | None = None,
) -> Report:
    """A report from a flag or a notice; high priority for harmful or illegal content.

    Idempotent on ``id`` (a retried step finds its report). Two notices at once for the same
    review: the second finds the first one's report pending (``pending_report``) and joins it.
    """
    priority = Priority.HIGH if reason.high_priority else Priority.NORMAL
    await conn.execute(
        "INSERT INTO reports (id, review_id, contact_id, business_id, grounds, status,"
        " opened_at, sla_deadline, reason, sub_reason, source, priority, flag_id)"
        " VALUES (?, ?, NULL, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        (
            id,
            review_id,
            business_id,
            ReportStatus.PENDING.value,
            ts(opened_at),
            ts(sla_deadline),
            reason.value,
            sub_reason.value if sub_reason else None,
            source.value,
            priority.value,
            flag_id,
        ),
    )
    row = await fetch_one(conn, "SELECT * FROM reports WHERE id = ?", (id,))
    assert row is not None
    return Report.model_validate(dict(row))


async def join_flag(conn: Connection, report_id: str, flag_id: str) -> Report:
    """A business's flag joins the report notices opened for the same reason: from now on the
    report is also the business's (``source`` flag), while its notices still make it an
    article 16 case in its statements."""
    await conn.execute(
        "UPDATE reports SET source = ?, flag_id = ? WHERE id = ? AND flag_id IS NULL",
        (ReportSource.FLAG.value, flag_id, report_id),
    )
    row = await fetch_one(conn, "SELECT * FROM reports WHERE id = ?", (report_id,))
    assert row is not None
    return Report.model_validate(dict(row))
