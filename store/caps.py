"""What the misuse guard counts (DESIGN rules 1 and 12): a business's new contacts and flags over
a day, when a review's last contact ended (and so its cooldown), and a business's earlier flags
of a review."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from domain.enums import FlagReason
from store.connection import Connection
from store.records import fetch_one, ts

# The caps count over the last 24 hours, rolling: a place frees a day after it was taken.
DAY = timedelta(hours=24)


async def contacts_full_until(
    conn: Connection, business_id: str, *, at: datetime, cap: int
) -> datetime | None:
    """When the business may open a contact again, if it opened ``cap`` of them in the day
    before ``at``; None while it is under the cap."""
    return await _full_until(conn, "contacts", business_id, at=at, cap=cap)


async def flags_full_until(
    conn: Connection, business_id: str, *, at: datetime, cap: int
) -> datetime | None:
    """When the business may flag again, if it flagged ``cap`` times in the day before ``at``;
    None while it is under the cap."""
    return await _full_until(conn, "flags", business_id, at=at, cap=cap)


async def _full_until(
    conn: Connection,
    table: Literal["contacts", "flags"],
    business_id: str,
    *,
    at: datetime,
    cap: int,
) -> datetime | None:
    # The cap-th newest row in the window: while it exists the cap is reached, and a place
    # frees when it leaves the window (the newer ones leave later). No upper bound on the time:
    # a row another step recorded a moment "after" ``at`` counts too. At most ``cap`` rows are
    # read, along the (business_id, opened_at) index.
    row = await fetch_one(
        conn,
        f"SELECT opened_at FROM {table} WHERE business_id = ? AND opened_at > ?"
        " ORDER BY opened_at DESC LIMIT 1 OFFSET ?",
        (business_id, ts(at - DAY), cap - 1),
    )
    return datetime.fromisoformat(row[0]) + DAY if row else None


async def last_contact_end(conn: Connection, review_id: str) -> datetime | None:
    """When the review's last contact ended, whichever way (closed, reported, reconciled): every
    ending sets ``closed_at``."""
    row = await fetch_one(
        conn, "SELECT MAX(closed_at) FROM contacts WHERE review_id = ?", (review_id,)
    )
    return datetime.fromisoformat(row[0]) if row and row[0] is not None else None


async def cooldown_ends(conn: Connection, review_id: str, cooldown: timedelta) -> datetime | None:
    """When a new contact on the review becomes possible: ``cooldown`` after its last contact
    ended (DESIGN rule 1); None if none has ended. The one place this end is computed, for the
    refusal and for the words that say until when."""
    ended = await last_contact_end(conn, review_id)
    return ended + cooldown if ended is not None else None


async def flagged_before(
    conn: Connection, business_id: str, review_id: str, reason: FlagReason, *, besides: str = ""
) -> bool:
    """Whether the business has flagged the review for the reason before (other than the flag
    ``besides``), whatever became of that flag: at most one flag per review per reason. A flag
    the platform lost and reconcile closed does not count: the business did nothing to end it,
    and never had its answer."""
    row = await fetch_one(
        conn,
        "SELECT 1 FROM flags f WHERE f.review_id = ? AND f.reason = ? AND f.business_id = ?"
        " AND f.id <> ? AND NOT EXISTS (SELECT 1 FROM events e WHERE e.subject_id = f.id"
        " AND e.type = 'repaired') LIMIT 1",
        (review_id, reason.value, business_id, besides),
    )
    return row is not None
