"""Reports of reviews and the moderators' decisions on them."""

from __future__ import annotations

from datetime import datetime

from domain.enums import Grounds, ReportStatus
from store.connection import Connection
from store.records import DecisionRecord, Report, fetch_all, fetch_one, ts


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


async def reports_with_status(
    conn: Connection, status: ReportStatus, *, limit: int = 50, offset: int = 0
) -> list[Report]:
    rows = await fetch_all(
        conn,
        "SELECT * FROM reports WHERE status = ? ORDER BY opened_at, id LIMIT ? OFFSET ?",
        (status.value, limit, offset),
    )
    return [Report.model_validate(dict(r)) for r in rows]


async def decided_reports(
    conn: Connection, *, limit: int = 50, offset: int = 0
) -> list[Report]:
    """Upheld and rejected reports, the latest decision first: the queue's "Decided" tab."""
    rows = await fetch_all(
        conn,
        "SELECT * FROM reports WHERE status IN (?, ?)"
        " ORDER BY decided_at DESC, id LIMIT ? OFFSET ?",
        (ReportStatus.UPHELD.value, ReportStatus.REJECTED.value, limit, offset),
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
        "INSERT INTO decisions"
        " (id, report_id, moderator_id, decision, note, submitted_at, idempotency_key)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            decision.id,
            decision.report_id,
            decision.moderator_id,
            decision.decision.value,
            decision.note,
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


async def reports_for_reviews(
    conn: Connection, review_ids: list[str]
) -> dict[str, Report]:
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


async def decisions_by_id(
    conn: Connection, decision_ids: list[str]
) -> dict[str, DecisionRecord]:
    ids = sorted({i for i in decision_ids if i})
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = await fetch_all(conn, f"SELECT * FROM decisions WHERE id IN ({marks})", tuple(ids))
    return {row["id"]: DecisionRecord.model_validate(dict(row)) for row in rows}
