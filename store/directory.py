"""Listing businesses, for the front page."""

from __future__ import annotations

import aiosqlite

from store.records import Business, fetch_all


async def businesses(conn: aiosqlite.Connection, *, limit: int = 100) -> list[Business]:
    rows = await fetch_all(
        conn,
        "SELECT id, name, email, webhook_url, created_at FROM businesses ORDER BY name LIMIT ?",
        (limit,),
    )
    return [Business.model_validate(dict(r)) for r in rows]
