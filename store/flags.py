"""Businesses' flags (DESIGN rule 8), what reviewers submit through a flag's link, and what that
does to the review (an edit, a withdrawal)."""

from __future__ import annotations

from datetime import datetime

from domain.enums import FlagReason, FlagStatus, ReviewerAction
from store.connection import Connection, Row
from store.records import Flag, ReviewEdit, fetch_all, fetch_one, ts

_OPEN = tuple(s.value for s in FlagStatus if s.is_open)


def straight_to_moderation(flag: Flag) -> bool:
    """A reviewer-first flag sent on without the reviewer's step: stored escalated before any
    reviewer was asked (spam marked on the response desk). Read from the row, so a lost one
    started again goes the same way; and its report's author, never asked, never knew of it.
    A flag stays escalated once its report is decided, so this holds for good."""
    return (
        flag.reason.reviewer_first
        and flag.status is FlagStatus.ESCALATED
        and flag.reviewer_deadline is None
    )


def _flag(row: Row) -> Flag:
    # The row also holds the link's hash and the idempotency key, which no reader needs.
    return Flag.model_validate(dict(row))


async def add_flag(conn: Connection, flag: Flag, *, idempotency_key: str | None) -> None:
    """Raises ``Conflict`` for a second open flag on the review for the reason, or a key used."""
    await conn.execute(
        "INSERT INTO flags (id, review_id, business_id, reason, sub_reason, explanation, status,"
        " opened_at, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            flag.id,
            flag.review_id,
            flag.business_id,
            flag.reason.value,
            flag.sub_reason.value if flag.sub_reason else None,
            flag.explanation,
            flag.status.value,
            ts(flag.opened_at),
            idempotency_key,
        ),
    )


async def drop_flag(conn: Connection, flag_id: str) -> None:
    """A flag whose workflow could never be started (refused before anything happened)."""
    await conn.execute("DELETE FROM flags WHERE id = ? AND report_id IS NULL", (flag_id,))


async def get_flag(conn: Connection, flag_id: str) -> Flag | None:
    row = await fetch_one(conn, "SELECT * FROM flags WHERE id = ?", (flag_id,))
    return _flag(row) if row else None


async def flag_for_key(conn: Connection, business_id: str, key: str) -> Flag | None:
    row = await fetch_one(
        conn,
        "SELECT * FROM flags WHERE business_id = ? AND idempotency_key = ?",
        (business_id, key),
    )
    return _flag(row) if row else None


async def flag_for_token_hash(conn: Connection, token_hash: str) -> Flag | None:
    row = await fetch_one(conn, "SELECT * FROM flags WHERE token_hash = ?", (token_hash,))
    return _flag(row) if row else None


async def in_progress(conn: Connection, review_id: str, reason: FlagReason) -> Flag | None:
    """The review's flag for this reason that is still open, or escalated but whose report is
    not opened yet (a harmful one, for the moment between its record and its first step)."""
    marks = ", ".join("?" for _ in _OPEN)
    row = await fetch_one(
        conn,
        f"SELECT * FROM flags WHERE review_id = ? AND reason = ? AND (status IN ({marks})"
        " OR (status = ? AND report_id IS NULL)) ORDER BY opened_at LIMIT 1",
        (review_id, reason.value, *_OPEN, FlagStatus.ESCALATED.value),
    )
    return _flag(row) if row else None


async def flag_of_review(
    conn: Connection, business_id: str, review_id: str, reason: FlagReason
) -> Flag | None:
    """The business's first flag of the review for the reason, whatever became of it (there is
    at most one, DESIGN rule 12), but one the platform lost and reconcile closed."""
    row = await fetch_one(
        conn,
        "SELECT * FROM flags f WHERE f.review_id = ? AND f.reason = ? AND f.business_id = ?"
        " AND NOT EXISTS (SELECT 1 FROM events e WHERE e.subject_id = f.id"
        " AND e.type = 'repaired') ORDER BY f.opened_at, f.id LIMIT 1",
        (review_id, reason.value, business_id),
    )
    return _flag(row) if row else None


async def flags_of_business(
    conn: Connection, business_id: str, *, limit: int = 50, offset: int = 0
) -> list[Flag]:
    rows = await fetch_all(
        conn,
        "SELECT * FROM flags WHERE business_id = ? ORDER BY opened_at DESC, id LIMIT ? OFFSET ?",
        (business_id, limit, offset),
    )
    return [_flag(r) for r in rows]


async def open_flags_by_review(conn: Connection, business_id: str) -> dict[str, list[Flag]]:
    """The business's flags still waiting for someone, by review (for the dashboard's cards)."""
    marks = ", ".join("?" for _ in _OPEN)
    rows = await fetch_all(
        conn,
        f"SELECT * FROM flags WHERE business_id = ? AND status IN ({marks}) ORDER BY opened_at",
        (business_id, *_OPEN),
    )
    found: dict[str, list[Flag]] = {}
    for row in rows:
        flag = _flag(row)
        found.setdefault(flag.review_id, []).append(flag)
    return found


async def ask_reviewer(
    conn: Connection, flag_id: str, *, token_hash: str, reviewer_deadline: datetime
) -> None:
    """The reviewer's link and deadline, set once: a retried step keeps the first ones."""
    await conn.execute(
        "UPDATE flags SET token_hash = ?, reviewer_deadline = ?"
        " WHERE id = ? AND reviewer_deadline IS NULL",
        (token_hash, ts(reviewer_deadline), flag_id),
    )


async def await_business(
    conn: Connection,
    flag_id: str,
    *,
    business_deadline: datetime,
    action: ReviewerAction | None,
    at: datetime,
) -> None:
    await conn.execute(
        "UPDATE flags SET status = ?, business_deadline = ?, reviewer_action = ?,"
        " reviewer_acted_at = ? WHERE id = ? AND status = ?",
        (
            FlagStatus.AWAITING_BUSINESS.value,
            ts(business_deadline),
            action.value if action else None,
            ts(at) if action else None,
            flag_id,
            FlagStatus.AWAITING_REVIEWER.value,
        ),
    )


async def end_flag(
    conn: Connection,
    flag_id: str,
    *,
    status: FlagStatus,
    at: datetime,
    report_id: str | None = None,
    reviewer_action: ReviewerAction | None = None,
) -> None:
    """Escalated, dropped or withdrawn: once, so a retried step keeps the first time."""
    marks = ", ".join("?" for _ in _OPEN)
    await conn.execute(
        f"UPDATE flags SET status = ?, ended_at = ?, report_id = COALESCE(?, report_id),"
        f" reviewer_action = COALESCE(?, reviewer_action),"
        f" reviewer_acted_at = COALESCE(?, reviewer_acted_at)"
        f" WHERE id = ? AND (status IN ({marks}) OR (status = ? AND report_id IS NULL))",
        (
            status.value,
            ts(at),
            report_id,
            reviewer_action.value if reviewer_action else None,
            ts(at) if reviewer_action else None,
            flag_id,
            *_OPEN,
            FlagStatus.ESCALATED.value,
        ),
    )


# --- what the reviewer submits -------------------------------------------------------------------


async def add_edit(conn: Connection, edit: ReviewEdit) -> None:
    await conn.execute(
        "INSERT INTO review_edits (id, flag_id, review_id, action, title, text, submitted_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            edit.id,
            edit.flag_id,
            edit.review_id,
            edit.action.value,
            edit.title,
            edit.text,
            ts(edit.submitted_at),
        ),
    )


async def get_edit(conn: Connection, edit_id: str) -> ReviewEdit | None:
    row = await fetch_one(conn, "SELECT * FROM review_edits WHERE id = ?", (edit_id,))
    return ReviewEdit.model_validate(dict(row)) if row else None


async def drop_edit(conn: Connection, edit_id: str) -> None:
    """A submission the workflow refused: it never counted."""
    await conn.execute("DELETE FROM review_edits WHERE id = ?", (edit_id,))


async def apply_edit(conn: Connection, edit: ReviewEdit, at: datetime) -> None:
    """The reviewer's own words replace theirs; a field left out stays as it was."""
    await conn.execute(
        "UPDATE reviews SET title = COALESCE(?, title), text = COALESCE(?, text), edited_at = ?"
        " WHERE id = ?",
        (edit.title, edit.text, ts(at), edit.review_id),
    )


async def withdraw_review(conn: Connection, review_id: str, at: datetime) -> None:
    """Withdrawn by its author: kept, never deleted; ``settle_visibility`` then removes it."""
    await conn.execute(
        "UPDATE reviews SET withdrawn_at = COALESCE(withdrawn_at, ?) WHERE id = ?",
        (ts(at), review_id),
    )
