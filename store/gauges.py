"""Counts an operator watches, read when Prometheus scrapes the worker (starter/metrics.py).

Only over indexed columns, so a scrape stays cheap however many records the store holds.
"""

from __future__ import annotations

from store.connection import Connection
from store.records import fetch_all


async def reports_by_status(conn: Connection) -> dict[str, int]:
    rows = await fetch_all(
        conn, "SELECT status, CAST(COUNT(*) AS INTEGER) AS n FROM reports GROUP BY status"
    )
    return {str(r["status"]): int(r["n"]) for r in rows}
