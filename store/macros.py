"""A business's macros (DESIGN rule 18): reply templates, by title.

A removed macro keeps its row, so a retried add (its Idempotency-Key) still finds the macro it
made, but it is never listed or applied again.
"""

from __future__ import annotations

from datetime import datetime

from store.connection import Connection, Row
from store.records import Macro, fetch_all, fetch_one, ts

_COLUMNS = "id, business_id, title, body, created_by, created_at"


def _macro(row: Row) -> Macro:
    return Macro.model_validate(dict(row))


async def macros_of(conn: Connection, business_id: str) -> list[Macro]:
    """The business's macros in use, by title (as a person looks for one), then the oldest."""
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM macros WHERE business_id = ? AND removed_at IS NULL"
        " ORDER BY LOWER(title), created_at, id",
        (business_id,),
    )
    return [_macro(r) for r in rows]


async def count_of(conn: Connection, business_id: str) -> int:
    row = await fetch_one(
        conn,
        "SELECT CAST(COUNT(*) AS INTEGER) FROM macros WHERE business_id = ? AND removed_at IS NULL",
        (business_id,),
    )
    return int(row[0]) if row else 0


async def macro_of(conn: Connection, business_id: str, macro_id: str) -> Macro | None:
    """The business's macro, while in use: another business's, or a removed one, is None."""
    row = await fetch_one(
        conn,
        f"SELECT {_COLUMNS} FROM macros WHERE id = ? AND business_id = ? AND removed_at IS NULL",
        (macro_id, business_id),
    )
    return _macro(row) if row else None


async def macro_for_key(
    conn: Connection, business_id: str, created_by: str, key: str
) -> Macro | None:
    """The macro this member first added with this Idempotency-Key, even if removed since. A
    key is the member's own: a colleague's same key is another request, never their macro."""
    row = await fetch_one(
        conn,
        f"SELECT {_COLUMNS} FROM macros"
        " WHERE business_id = ? AND created_by = ? AND idempotency_key = ?",
        (business_id, created_by, key),
    )
    return _macro(row) if row else None


async def exists(conn: Connection, macro_id: str) -> bool:
    """Whether a macro with this id was ever stored, removed or not: what the demo seed asks
    so that seeding again neither repeats one nor brings back one a business removed."""
    row = await fetch_one(conn, "SELECT 1 FROM macros WHERE id = ?", (macro_id,))
    return row is not None


async def add_macro(conn: Connection, macro: Macro, *, idempotency_key: str | None = None) -> None:
    """Raises ``store.errors.Conflict`` when the macro's author already used
    ``idempotency_key`` in this business."""
    await conn.execute(
        f"INSERT INTO macros ({_COLUMNS}, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            macro.id,
            macro.business_id,
            macro.title,
            macro.body,
            macro.created_by,
            ts(macro.created_at),
            idempotency_key,
        ),
    )


async def remove_macro(conn: Connection, business_id: str, macro_id: str, at: datetime) -> bool:
    """Whether this call removed it (False: not the business's, or removed already)."""
    changed = await conn.execute(
        "UPDATE macros SET removed_at = ? WHERE id = ? AND business_id = ? AND removed_at IS NULL",
        (ts(at), macro_id, business_id),
    )
    return changed == 1


async def was_removed(conn: Connection, business_id: str, macro_id: str) -> bool:
    """Whether this is the business's macro, removed: what a form sent twice finds."""
    row = await fetch_one(
        conn,
        "SELECT 1 FROM macros WHERE id = ? AND business_id = ? AND removed_at IS NOT NULL",
        (macro_id, business_id),
    )
    return row is not None
