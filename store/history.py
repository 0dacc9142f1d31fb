"""The ordered history of every contact and report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from store.connection import Connection
from store.records import Event, fetch_all, ts


async def add_event(
    conn: Connection,
    *,
    subject_id: str,
    type: str,
    at: datetime,
    detail: dict[str, Any] | None = None,
    key: str | None = None,
) -> None:
    """Written once per key, so an activity that is retried does not repeat its history."""
    await conn.execute(
        "INSERT INTO events (key, subject_id, at, type, detail) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (key or f"{subject_id}:{type}", subject_id, ts(at), type, json.dumps(detail or {})),
    )


async def history_of(conn: Connection, subject_ids: Sequence[str]) -> list[Event]:
    ids = [s for s in subject_ids if s]
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = await fetch_all(
        conn,
        f"SELECT seq, subject_id, at, type, detail FROM events WHERE subject_id IN ({marks})"
        " ORDER BY at, seq",
        tuple(ids),
    )
    return [Event.from_row(r) for r in rows]
