"""Reports of reviews and the moderators' decisions on them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from domain.enums import (
    AppealStatus,
    Appellant,
    FlagReason,
    Grounds,
    Priority,
    ReportStatus,
    SubReason,
)
from store.connection import Connection
from store.records import DecisionRecord, Flag, Report, fetch_all, fetch_one, ts


async def add_report(
    conn: Connection,
    *,
    id: str,
    review_id: str,
    contact_id: str,
    business_id: str,
    grounds: Grounds,
    opened_at: datetime,
    sla_deadline: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO reports"
        " (id, review_id, contact_id, business_id, grounds, status, opened_at, sla_deadline)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            id,
            review_id,
            contact_id,
            business_id,
            grounds.value,
            ReportStatus.PENDING.value,
            ts(opened_at),
            ts(sla_deadline),
        ),
    )


async def get_report(conn: Connection, report_id: str) -> Report | None:
    row = await fetch_one(conn, "SELECT * FROM reports WHERE id = ?", (report_id,))
    return Report.model_validate(dict(row)) if row else None


async def report_for_review(conn: Connection, review_id: str) -> Report | None:
    row = await fetch_one(conn, "SELECT * FROM reports WHERE review_id = ?", (review_id,))
    return Report.model_validate(dict(row)) if row else None


def _filters(reason: FlagReason | None, priority: Priority | None) -> tuple[str, tuple[str, ...]]:
    """The queue's optional filters, as SQL to append after a WHERE clause and its values."""
    sql, values = "", []
    if reason is not None:
        sql += " AND reason = ?"
        values.append(reason.value)
    if priority is not None:
        sql += " AND priority = ?"
        values.append(priority.value)
    return sql, tuple(values)


async def reports_with_status(
    conn: Connection,
    status: ReportStatus,
    *,
    reason: FlagReason | None = None,
    priority: Priority | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Report]:
    """The moderation queue: high priority first, then the oldest.

    ``ORDER BY priority`` puts ``high`` before ``normal`` (text order), which lets the
    ``reports_queue`` index (status, priority, opened_at) serve the page.
    """
    where, values = _filters(reason, priority)
    rows = await fetch_all(
        conn,
        f"SELECT * FROM reports WHERE status = ?{where}"
        " ORDER BY priority, opened_at, id LIMIT ? OFFSET ?",
        (status.value, *values, limit, offset),
    )
    return [Report.model_validate(dict(r)) for r in rows]


async def decided_reports(
    conn: Connection,
    *,
    reason: FlagReason | None = None,
    priority: Priority | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Report]:
    """Upheld and rejected reports, the latest decision first: the queue's "Decided" tab."""
    where, values = _filters(reason, priority)
    rows = await fetch_all(
        conn,
        f"SELECT * FROM reports WHERE status IN (?, ?){where}"
        " ORDER BY decided_at DESC, id LIMIT ? OFFSET ?",
        (ReportStatus.UPHELD.value, ReportStatus.REJECTED.value, *values, limit, offset),
    )
    return [Report.model_validate(dict(r)) for r in rows]


async def mark_escalated(conn: Connection, report_id: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE reports SET escalated_at = COALESCE(escalated_at, ?) WHERE id = ?",
        (ts(at), report_id),
    )


async def mark_decided(
    conn: Connection,
    report_id: str,
    *,
    status: ReportStatus,
    decision_id: str,
    at: datetime,
) -> None:
    await conn.execute(
        "UPDATE reports SET status = ?, decision_id = ?, decided_at = ?"
        " WHERE id = ? AND status = ?",
        (status.value, decision_id, ts(at), report_id, ReportStatus.PENDING.value),
    )


async def add_decision(
    conn: Connection, decision: DecisionRecord, *, idempotency_key: str | None = None
) -> None:
    await conn.execute(
        "INSERT INTO decisions (id, report_id, moderator_id, decision, note, legal_ground,"
        " submitted_at, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            decision.id,
            decision.report_id,
            decision.moderator_id,
            decision.decision.value,
            decision.note,
            decision.legal_ground,
            ts(decision.submitted_at),
            idempotency_key,
        ),
    )


async def decision_for_key(
    conn: Connection, report_id: str, moderator_id: str, idempotency_key: str
) -> DecisionRecord | None:
    """The decision a first try with this key recorded: applied, or a draft whose update may
    still be applied."""
    row = await fetch_one(
        conn,
        "SELECT * FROM decisions WHERE report_id = ? AND moderator_id = ? AND idempotency_key = ?",
        (report_id, moderator_id, idempotency_key),
    )
    return DecisionRecord.model_validate(dict(row)) if row else None


async def get_decision(conn: Connection, decision_id: str) -> DecisionRecord | None:
    row = await fetch_one(conn, "SELECT * FROM decisions WHERE id = ?", (decision_id,))
    return DecisionRecord.model_validate(dict(row)) if row else None


async def drop_decision(conn: Connection, decision_id: str) -> None:
    await conn.execute(
        "DELETE FROM decisions WHERE id = ? AND id NOT IN"
        " (SELECT decision_id FROM reports WHERE decision_id IS NOT NULL)",
        (decision_id,),
    )


async def reports_for_reviews(conn: Connection, review_ids: list[str]) -> dict[str, Report]:
    if not review_ids:
        return {}
    marks = ", ".join("?" for _ in review_ids)
    rows = await fetch_all(
        conn, f"SELECT * FROM reports WHERE review_id IN ({marks})", tuple(review_ids)
    )
    return {row["review_id"]: Report.model_validate(dict(row)) for row in rows}


async def reports_by_id(conn: Connection, report_ids: list[str]) -> dict[str, Report]:
    """Many reports in one query, for pages that show a list of them."""
    ids = sorted({i for i in report_ids if i})
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = await fetch_all(conn, f"SELECT * FROM reports WHERE id IN ({marks})", tuple(ids))
    return {row["id"]: Report.model_validate(dict(row)) for row in rows}


async def decisions_by_id(conn: Connection, decision_ids: list[str]) -> dict[str, DecisionRecord]:
    ids = sorted({i for i in decision_ids if i})
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = await fetch_all(conn, f"SELECT * FROM decisions WHERE id IN ({marks})", tuple(ids))
    return {row["id"]: DecisionRecord.model_validate(dict(row)) for row in rows}


# What a moderator reads beside a report from a flag or notices: the flag as the business wrote
# it, and the notices without who sent them.


class ReportNotice(BaseModel):
    """A notice as the moderation queue shows it: never the notifier's name or address."""

    id: str
    report_id: str
    sub_reason: SubReason
    explanation: str | None
    """None once removed, `retention` after the case ended."""
    received_at: datetime


async def flags_by_id(conn: Connection, flag_ids: list[str]) -> dict[str, Flag]:
    ids = sorted({i for i in flag_ids if i})
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = await fetch_all(conn, f"SELECT * FROM flags WHERE id IN ({marks})", tuple(ids))
    return {row["id"]: Flag.model_validate(dict(row)) for row in rows}


async def notices_of_reports(
    conn: Connection, report_ids: list[str]
) -> dict[str, list[ReportNotice]]:
    """The notices each report gathered, oldest first, in one query."""
    ids = sorted({i for i in report_ids if i})
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = await fetch_all(
        conn,
        "SELECT id, report_id, sub_reason, received_at,"
        " CASE WHEN purged_at IS NULL THEN explanation END AS explanation"
        f" FROM notices WHERE report_id IN ({marks}) ORDER BY received_at, id",
        tuple(ids),
    )
    found: dict[str, list[ReportNotice]] = {}
    for row in rows:
        found.setdefault(row["report_id"], []).append(ReportNotice.model_validate(dict(row)))
    return found


class DecisionAppeal(BaseModel):
    """Where the appeal against a decision stands, as the queue's "Decided" tab says it."""

    decision_id: str
    appellant: Appellant
    status: AppealStatus
    opened_at: datetime
    decided_at: datetime | None = None
    moderator_id: str | None = None


async def appeals_of_decisions(
    conn: Connection, decision_ids: list[str]
) -> dict[str, DecisionAppeal]:
    """The appeal against each decision (at most one each), in one query."""
    ids = sorted({i for i in decision_ids if i})
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = await fetch_all(
        conn,
        "SELECT decision_id, appellant, status, opened_at, decided_at, moderator_id"
        f" FROM appeals WHERE decision_id IN ({marks})",
        tuple(ids),
    )
    return {row["decision_id"]: DecisionAppeal.model_validate(dict(row)) for row in rows}
