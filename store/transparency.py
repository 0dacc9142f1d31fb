"""What the transparency figures count (DESIGN rule 13), each count made by the database.

A period may hold millions of rows: every figure is a ``COUNT`` over one range of an index
(migration 8's ``*_by_time``, ``*_by_opening``, ``*_by_decision``), and a median is the one or
two middle rows of a sorted range, never the range brought over. Periods are ``[start, end)``.

The one thing the two databases say differently is the hours between two stored times: it is
kept here, in ``_HOURS``, by dialect.

A report's or an appeal's ``decided_at`` is written with its decision and only then, so "decided
in the period" is that range alone: a filter on the status too would lead SQLite to the status
index, which holds every decided row of all time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from domain.enums import Restriction
from store.connection import Connection
from store.records import fetch_all, fetch_one, ts

# Hours from {start} to {end}, two columns of ISO 8601 text in UTC.
_HOURS = {
    "sqlite": "(julianday({end}) - julianday({start})) * 24.0",
    "postgresql": "CAST(EXTRACT(EPOCH FROM (CAST({end} AS timestamptz)"
    " - CAST({start} AS timestamptz))) AS DOUBLE PRECISION) / 3600.0",
}


def hours_between(dialect: str, start: str, end: str) -> str:
    """SQL for the hours from the stored time ``start`` to ``end`` (columns or expressions)."""
    return _HOURS[dialect].format(start=start, end=end)


def _range(start: datetime, end: datetime) -> tuple[str, str]:
    return ts(start), ts(end)


async def _counts(
    conn: Connection, sql: str, params: tuple[Any, ...]
) -> dict[tuple[str, ...], int]:
    """``sql`` selects the grouping columns, then the count."""
    rows = await fetch_all(conn, sql, params)
    return {tuple(str(v) for v in list(r)[:-1]): int(list(r)[-1]) for r in rows}


async def flags_received(conn: Connection, start: datetime, end: datetime) -> dict[str, int]:
    """Businesses' flags by reason, by when they were sent (a flag later dropped counts too)."""
    found = await _counts(
        conn,
        "SELECT reason, CAST(COUNT(*) AS INTEGER) FROM flags"
        " WHERE opened_at >= ? AND opened_at < ? GROUP BY reason",
        _range(start, end),
    )
    return {key[0]: n for key, n in found.items()}


async def notices_received(conn: Connection, start: datetime, end: datetime) -> dict[str, int]:
    """Notices from anyone by sub-reason, by when they were received."""
    found = await _counts(
        conn,
        "SELECT sub_reason, CAST(COUNT(*) AS INTEGER) FROM notices"
        " WHERE received_at >= ? AND received_at < ? GROUP BY sub_reason",
        _range(start, end),
    )
    return {key[0]: n for key, n in found.items()}


async def reports_opened(conn: Connection, start: datetime, end: datetime) -> dict[str, int]:
    """Reports by source, by when they were opened (``contact``: a not-genuine report after a
    contact, which comes to the moderators without a flag or a notice)."""
    found = await _counts(
        conn,
        "SELECT source, CAST(COUNT(*) AS INTEGER) FROM reports"
        " WHERE opened_at >= ? AND opened_at < ? GROUP BY source",
        _range(start, end),
    )
    return {key[0]: n for key, n in found.items()}


async def restrictions(conn: Connection, start: datetime, end: datetime) -> dict[str, int]:
    """Statements of reasons made, by restriction (``hidden``, ``removed``): one statement per
    review restricted, each the record that says it was."""
    found = await _counts(
        conn,
        "SELECT restriction, CAST(COUNT(*) AS INTEGER) FROM statements"
        " WHERE restriction IN (?, ?) AND created_at >= ? AND created_at < ?"
        " GROUP BY restriction",
        (Restriction.HIDDEN.value, Restriction.REMOVED.value, *_range(start, end)),
    )
    return {key[0]: n for key, n in found.items()}


async def decisions(conn: Connection, start: datetime, end: datetime) -> dict[tuple[str, str], int]:
    """Reports decided (upheld, rejected), by (source, status), by when they were decided."""
    found = await _counts(
        conn,
        "SELECT source, status, CAST(COUNT(*) AS INTEGER) FROM reports"
        " WHERE decided_at >= ? AND decided_at < ? GROUP BY source, status",
        _range(start, end),
    )
    return {(key[0], key[1]): n for key, n in found.items()}


async def median_hours_to_decision(
    conn: Connection,
    dialect: str,
    start: datetime,
    end: datetime,
    *,
    sources: Sequence[str],
    count: int,
) -> float | None:
    """The median hours from a report's opening to its decision, of the ``count`` reports from
    these sources decided in the period."""
    marks = ", ".join("?" for _ in sources)
    return await _median(
        conn,
        dialect,
        "reports",
        ("opened_at", "decided_at"),
        f"decided_at >= ? AND decided_at < ? AND source IN ({marks})",
        (*_range(start, end), *sources),
        count,
    )


async def appeals_opened(conn: Connection, start: datetime, end: datetime) -> int:
    row = await fetch_one(
        conn,
        "SELECT CAST(COUNT(*) AS INTEGER) FROM appeals WHERE opened_at >= ? AND opened_at < ?",
        _range(start, end),
    )
    return int(row[0]) if row else 0


async def appeals_decided(conn: Connection, start: datetime, end: datetime) -> dict[str, int]:
    """Appeals decided, by status (``granted``: the decision reversed; ``denied``)."""
    found = await _counts(
        conn,
        "SELECT status, CAST(COUNT(*) AS INTEGER) FROM appeals"
        " WHERE decided_at >= ? AND decided_at < ? GROUP BY status",
        _range(start, end),
    )
    return {key[0]: n for key, n in found.items()}


async def median_hours_to_appeal_decision(
    conn: Connection, dialect: str, start: datetime, end: datetime, *, count: int
) -> float | None:
    return await _median(
        conn,
        dialect,
        "appeals",
        ("opened_at", "decided_at"),
        "decided_at >= ? AND decided_at < ?",
        _range(start, end),
        count,
    )


async def steps_taken(
    conn: Connection, start: datetime, end: datetime
) -> dict[tuple[str, str], int]:
    """The ladder's steps taken, by (subject kind, step kind)."""
    found = await _counts(
        conn,
        "SELECT subject_kind, kind, CAST(COUNT(*) AS INTEGER) FROM standing_steps"
        " WHERE taken_at >= ? AND taken_at < ? GROUP BY subject_kind, kind",
        _range(start, end),
    )
    return {(key[0], key[1]): n for key, n in found.items()}


async def steps_ended(
    conn: Connection, start: datetime, end: datetime
) -> dict[tuple[str, str], int]:
    """The ladder's steps that ended, by (subject kind, how: ``expired`` or ``lifted``), by when
    they ended."""
    found = await _counts(
        conn,
        "SELECT subject_kind, end_reason, CAST(COUNT(*) AS INTEGER) FROM standing_steps"
        " WHERE ended_at >= ? AND ended_at < ? GROUP BY subject_kind, end_reason",
        _range(start, end),
    )
    return {(key[0], key[1]): n for key, n in found.items()}


async def _median(
    conn: Connection,
    dialect: str,
    table: str,
    times: tuple[str, str],
    where: str,
    params: tuple[Any, ...],
    count: int,
) -> float | None:
    """The median of the hours between two time columns over ``count`` rows: the middle one (or
    the mean of the middle two) of the hours, sorted by the database."""
    if count <= 0:
        return None
    hours = _HOURS[dialect].format(start=times[0], end=times[1])
    rows = await fetch_all(
        conn,
        f"SELECT {hours} AS hours FROM {table} WHERE {where} ORDER BY hours LIMIT ? OFFSET ?",
        (*params, 2 - count % 2, (count - 1) // 2),
    )
    middle = [float(r[0]) for r in rows]
    return sum(middle) / len(middle) if middle else None
