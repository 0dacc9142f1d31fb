"""Statements of reasons (DESIGN rule 10): one per restriction of a review, each with its DSA
Transparency Database record (``body``), which holds no personal data."""

from __future__ import annotations

import json
from datetime import datetime

from store.connection import Connection
from store.records import Statement, fetch_all, fetch_one, ts

_COLUMNS = (
    "id, review_id, report_id, decision_id, appeal_id, restriction, created_at, appeal_until, body"
)


async def add_statement(
    conn: Connection, statement: Statement, *, token_hash: str | None = None
) -> None:
    """Idempotent on the id: a retried step records nothing twice."""
    await conn.execute(
        "INSERT INTO statements (id, review_id, report_id, decision_id, appeal_id, restriction,"
        " created_at, appeal_until, token_hash, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO NOTHING",
        (
            statement.id,
            statement.review_id,
            statement.report_id,
            statement.decision_id,
            statement.appeal_id,
            statement.restriction.value,
            ts(statement.created_at),
            ts(statement.appeal_until) if statement.appeal_until else None,
            token_hash,
            json.dumps(statement.body, sort_keys=True),
        ),
    )


async def get_statement(conn: Connection, statement_id: str) -> Statement | None:
    row = await fetch_one(conn, f"SELECT {_COLUMNS} FROM statements WHERE id = ?", (statement_id,))
    return Statement.from_row(row) if row else None


async def statement_for_token_hash(conn: Connection, token_hash: str) -> Statement | None:
    """The statement whose appeal link this is (``Purpose.APPEAL``)."""
    row = await fetch_one(
        conn, f"SELECT {_COLUMNS} FROM statements WHERE token_hash = ?", (token_hash,)
    )
    return Statement.from_row(row) if row else None


async def statements_of_report(conn: Connection, report_id: str) -> list[Statement]:
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM statements WHERE report_id = ? ORDER BY created_at, id",
        (report_id,),
    )
    return [Statement.from_row(r) for r in rows]


async def statements_between(
    conn: Connection,
    *,
    start: datetime | None,
    end: datetime | None,
    after: tuple[datetime, str] | None = None,
    limit: int = 500,
) -> list[Statement]:
    """Statements made in [start, end), in time order, the page after ``after`` (its time and
    id): a page is found by the index, however far into the export it is."""
    where, params = ["1 = 1"], []
    if start is not None:
        where.append("created_at >= ?")
        params.append(ts(start))
    if end is not None:
        where.append("created_at < ?")
        params.append(ts(end))
    if after is not None:
        where.append("(created_at > ? OR (created_at = ? AND id > ?))")
        params += [ts(after[0]), ts(after[0]), after[1]]
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM statements WHERE {' AND '.join(where)}"
        " ORDER BY created_at, id LIMIT ?",
        (*params, limit),
    )
    return [Statement.from_row(r) for r in rows]


async def statement_ids_of_report(conn: Connection, report_id: str | None) -> list[str]:
    """The ids the report's statements are filed under in the outbox (a removal's email to the
    reviewer is about its statement, whose appeal link it carries)."""
    if not report_id:
        return []
    rows = await fetch_all(
        conn, "SELECT id FROM statements WHERE report_id = ? ORDER BY created_at, id", (report_id,)
    )
    return [str(r["id"]) for r in rows]
