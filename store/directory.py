"""Who is who: businesses for the front page, and the names pages show in place of ids."""

from __future__ import annotations

from store.connection import Connection
from store.records import Business, fetch_all


async def businesses(conn: Connection, *, limit: int = 100) -> list[Business]:
    rows = await fetch_all(
        conn,
        "SELECT id, name, email, created_at FROM businesses ORDER BY name LIMIT ?",
        (limit,),
    )
    return [Business.model_validate(dict(r)) for r in rows]


async def business_names(conn: Connection, ids: list[str]) -> dict[str, str]:
    return await _names(conn, "businesses", "name", ids)


async def moderator_names(conn: Connection, ids: list[str]) -> dict[str, str]:
    return await _names(conn, "moderators", "name", ids)


async def _names(conn: Connection, table: str, column: str, ids: list[str]) -> dict[str, str]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    marks = ", ".join("?" for _ in wanted)
    rows = await fetch_all(
        conn, f"SELECT id, {column} FROM {table} WHERE id IN ({marks})", tuple(wanted)
    )
    return {row["id"]: row[column] for row in rows}
