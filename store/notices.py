"""Notices from anyone (DESIGN rule 9): who sent them, about which review, and the report each
one joined. The notifier's name, address and explanation are read only by the steps that write
to them and by the notice's own link page."""

from __future__ import annotations

from store.connection import Connection, Row
from store.records import Notice, fetch_all, fetch_one, ts

_COLUMNS = (
    "id, review_id, sub_reason, explanation, name, email, good_faith, received_at, report_id,"
    " purged_at, notifier_key"
)


def _notice(row: Row) -> Notice:
    data = dict(row)
    data["good_faith"] = bool(data["good_faith"])
    return Notice.model_validate(data)


async def add_notice(conn: Connection, notice: Notice, *, idempotency_key: str | None) -> None:
    """Raises ``Conflict`` when a notice with the same idempotency key is there already."""
    await conn.execute(
        "INSERT INTO notices (id, review_id, sub_reason, explanation, name, email, good_faith,"
        " received_at, idempotency_key, notifier_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            notice.id,
            notice.review_id,
            notice.sub_reason.value,
            notice.explanation,
            notice.name,
            notice.email,
            1 if notice.good_faith else 0,
            ts(notice.received_at),
            idempotency_key,
            notice.notifier_key,
        ),
    )


async def drop_notice(conn: Connection, notice_id: str) -> None:
    """A notice whose workflow never started (Temporal turned the start away)."""
    await conn.execute(
        "DELETE FROM notices WHERE id = ? AND report_id IS NULL AND token_hash IS NULL",
        (notice_id,),
    )


async def received(conn: Connection, notice_id: str) -> bool:
    """Whether the notice's first step ran: its receipt told, its link issued."""
    row = await fetch_one(
        conn, "SELECT 1 FROM notices WHERE id = ? AND token_hash IS NOT NULL", (notice_id,)
    )
    return row is not None


async def unreceived(conn: Connection) -> list[Notice]:
    """Notices whose first step has not run: each must have its workflow running."""
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM notices WHERE token_hash IS NULL AND report_id IS NULL"
        " AND purged_at IS NULL ORDER BY received_at, id",
    )
    return [_notice(r) for r in rows]


async def get_notice(conn: Connection, notice_id: str) -> Notice | None:
    row = await fetch_one(conn, f"SELECT {_COLUMNS} FROM notices WHERE id = ?", (notice_id,))
    return _notice(row) if row else None


async def notice_for_key(conn: Connection, idempotency_key: str) -> Notice | None:
    row = await fetch_one(
        conn, f"SELECT {_COLUMNS} FROM notices WHERE idempotency_key = ?", (idempotency_key,)
    )
    return _notice(row) if row else None


async def notice_for_token_hash(conn: Connection, token_hash: str) -> Notice | None:
    row = await fetch_one(
        conn, f"SELECT {_COLUMNS} FROM notices WHERE token_hash = ?", (token_hash,)
    )
    return _notice(row) if row else None


async def set_token_hash(conn: Connection, notice_id: str, token_hash: str) -> None:
    await conn.execute("UPDATE notices SET token_hash = ? WHERE id = ?", (token_hash, notice_id))


async def join_report(conn: Connection, notice_id: str, report_id: str) -> None:
    await conn.execute(
        "UPDATE notices SET report_id = COALESCE(report_id, ?) WHERE id = ?",
        (report_id, notice_id),
    )


async def notices_of_report(conn: Connection, report_id: str) -> list[Notice]:
    """Every notifier of the report, first received first: each is told its decision."""
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM notices WHERE report_id = ? ORDER BY received_at, id",
        (report_id,),
    )
    return [_notice(r) for r in rows]


async def has_notices(conn: Connection, report_id: str) -> bool:
    row = await fetch_one(conn, "SELECT 1 FROM notices WHERE report_id = ? LIMIT 1", (report_id,))
    return row is not None
