"""What the misuse guard counts (DESIGN rule 12): a business's flags, a notifier's notices.

Each count covers what was opened (a flag) or received (a notice) from ``since`` on: the
standing step takes the later of the window's start and the subject's last step, so a finding
after a warning rests on new evidence and nothing is counted twice.

A report's outcome is its moderator's decision, unless an appeal reversed it: a rejection
reversed counts as upheld, and an uphold reversed as rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.enums import AppealStatus, ReportStatus
from store.connection import Connection
from store.records import fetch_all, fetch_one, ts

# Rejected once every appeal on its decision is counted: rejected and not reversed, or upheld
# and reversed.
_REJECTED = """
    CASE WHEN (r.status = ?) = EXISTS (
        SELECT 1 FROM appeals a WHERE a.decision_id = r.decision_id AND a.status = ?
    ) THEN 0 ELSE 1 END
"""


@dataclass(frozen=True)
class Outcomes:
    decided: int
    rejected: int


@dataclass(frozen=True)
class Ratings:
    flags: int
    negative: int


def _outcome_args() -> tuple[str, str, str, str]:
    return (
        ReportStatus.REJECTED.value,
        AppealStatus.GRANTED.value,
        ReportStatus.UPHELD.value,
        ReportStatus.REJECTED.value,
    )


async def flag_outcomes(conn: Connection, business_id: str, since: datetime) -> Outcomes:
    """The business's flags opened since ``since`` whose report is decided, and how many of
    those were rejected."""
    rejected_as, granted, upheld, rejected = _outcome_args()
    row = await fetch_one(
        conn,
        "SELECT CAST(COUNT(*) AS INTEGER) AS decided,"
        f" CAST(COALESCE(SUM({_REJECTED}), 0) AS INTEGER) AS rejected"
        " FROM flags f JOIN reports r ON r.id = f.report_id"
        " WHERE f.business_id = ? AND f.opened_at >= ? AND r.status IN (?, ?)",
        (rejected_as, granted, business_id, ts(since), upheld, rejected),
    )
    assert row is not None
    return Outcomes(decided=int(row["decided"]), rejected=int(row["rejected"]))


async def flag_ratings(conn: Connection, business_id: str, since: datetime) -> Ratings:
    """The business's flags opened since ``since``, and how many were on 1-2 star reviews."""
    row = await fetch_one(
        conn,
        "SELECT CAST(COUNT(*) AS INTEGER) AS flags,"
        " CAST(COALESCE(SUM(CASE WHEN v.rating <= 2 THEN 1 ELSE 0 END), 0) AS INTEGER)"
        " AS negative"
        " FROM flags f JOIN reviews v ON v.id = f.review_id"
        " WHERE f.business_id = ? AND f.opened_at >= ?",
        (business_id, ts(since)),
    )
    assert row is not None
    return Ratings(flags=int(row["flags"]), negative=int(row["negative"]))


async def notice_outcomes(conn: Connection, notifier_key: str, since: datetime) -> Outcomes:
    """The notifier's cases since ``since`` that are decided, and how many of those were
    rejected (manifestly unfounded, DSA art. 23).

    A case is a report: the same notice sent again about the same review joins that review's
    report, so it is one case however many times it was sent, decided once."""
    rejected_as, granted, upheld, rejected = _outcome_args()
    row = await fetch_one(
        conn,
        "SELECT CAST(COUNT(*) AS INTEGER) AS decided,"
        f" CAST(COALESCE(SUM({_REJECTED}), 0) AS INTEGER) AS rejected"
        " FROM (SELECT DISTINCT r.id, r.status, r.decision_id"
        " FROM notices n JOIN reports r ON r.id = n.report_id"
        " WHERE n.notifier_key = ? AND n.received_at >= ? AND r.status IN (?, ?)) r",
        (rejected_as, granted, notifier_key, ts(since), upheld, rejected),
    )
    assert row is not None
    return Outcomes(decided=int(row["decided"]), rejected=int(row["rejected"]))


async def notifier_keys_of_report(conn: Connection, report_id: str) -> list[str]:
    """Every notifier of a report, by key (a notice from before keys has none: not counted)."""
    rows = await fetch_all(
        conn,
        "SELECT DISTINCT notifier_key FROM notices WHERE report_id = ? AND notifier_key IS NOT NULL"
        " ORDER BY notifier_key",
        (report_id,),
    )
    return [str(r["notifier_key"]) for r in rows]


async def notifier_address(conn: Connection, notifier_key: str) -> str | None:
    """Where to write to a notifier: the address of their latest notice not yet purged."""
    row = await fetch_one(
        conn,
        "SELECT email FROM notices WHERE notifier_key = ? AND purged_at IS NULL"
        " ORDER BY received_at DESC, id DESC LIMIT 1",
        (notifier_key,),
    )
    return str(row["email"]) if row else None
