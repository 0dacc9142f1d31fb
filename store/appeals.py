"""Appeals (DESIGN rule 11): one per moderator decision, with the appellant's statement, decided
by another moderator.

A row is written by the service before the appeal's workflow starts (the statement is text a
person wrote, so it never travels in a workflow payload); the workflow's first step opens it, or
drops it when the appeal came too late. A moderator's decision claims the row (who, what, the
note) before the workflow applies it, so two moderators at once cannot both decide.
"""

from __future__ import annotations

from datetime import datetime

from domain.enums import AppealDecision, AppealStatus
from store import history
from store.connection import Connection, Row
from store.records import Appeal, fetch_all, fetch_one, ts

# Claims are timed in the events table, under a subject of their own: the appeal's history (which
# its business reads) stays what happened to the appeal.
_CLAIMED = "claimed"


def _claims(appeal_id: str) -> str:
    return f"{appeal_id}/claims"


def _appeal(row: Row) -> Appeal:
    # The row also holds the idempotency keys, which no reader needs.
    return Appeal.model_validate(dict(row))


async def add_appeal(conn: Connection, appeal: Appeal, *, idempotency_key: str | None) -> None:
    """Raises ``Conflict`` when the decision has an appeal already (``decision_id`` is unique)."""
    await conn.execute(
        "INSERT INTO appeals (id, decision_id, report_id, review_id, appellant, appellant_id,"
        " statement, status, opened_at, sla_deadline, idempotency_key)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            appeal.id,
            appeal.decision_id,
            appeal.report_id,
            appeal.review_id,
            appeal.appellant.value,
            appeal.appellant_id,
            appeal.statement,
            appeal.status.value,
            ts(appeal.opened_at),
            ts(appeal.sla_deadline),
            idempotency_key,
        ),
    )


async def drop_unopened(conn: Connection, appeal_id: str) -> None:
    """An appeal refused before it opened (too late), or whose workflow never started."""
    await conn.execute(
        "DELETE FROM appeals WHERE id = ? AND status = ? AND moderator_id IS NULL",
        (appeal_id, AppealStatus.PENDING.value),
    )


async def get_appeal(conn: Connection, appeal_id: str) -> Appeal | None:
    row = await fetch_one(conn, "SELECT * FROM appeals WHERE id = ?", (appeal_id,))
    return _appeal(row) if row else None


async def appeal_of_decision(conn: Connection, decision_id: str) -> Appeal | None:
    row = await fetch_one(conn, "SELECT * FROM appeals WHERE decision_id = ?", (decision_id,))
    return _appeal(row) if row else None


async def is_retry(
    conn: Connection, decision_id: str, appellant_id: str, idempotency_key: str
) -> bool:
    """Whether the decision's appeal is the one this appellant sent with this key."""
    row = await fetch_one(
        conn,
        "SELECT 1 FROM appeals WHERE decision_id = ? AND appellant_id = ? AND idempotency_key = ?",
        (decision_id, appellant_id, idempotency_key),
    )
    return row is not None


async def appeals_with_status(
    conn: Connection, status: AppealStatus | None, *, limit: int = 50, offset: int = 0
) -> list[Appeal]:
    """Pending appeals oldest first (the queue); decided ones (``None``: granted or denied) the
    latest decision first."""
    values: tuple[str, ...]
    if status is AppealStatus.PENDING:
        where, order, values = "status = ?", "opened_at, id", (status.value,)
    elif status is None:
        where, order = "status IN (?, ?)", "decided_at DESC, id"
        values = (AppealStatus.GRANTED.value, AppealStatus.DENIED.value)
    else:
        where, order, values = "status = ?", "decided_at DESC, id", (status.value,)
    rows = await fetch_all(
        conn,
        f"SELECT * FROM appeals WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
        (*values, limit, offset),
    )
    return [_appeal(r) for r in rows]


async def claim_decision(
    conn: Connection,
    appeal_id: str,
    *,
    moderator_id: str,
    decision: AppealDecision,
    note: str,
    key: str | None,
    at: datetime,
    taking_over: str | None = None,
) -> bool:
    """Records who decides what, with their note, unless someone has already: True if claimed.

    ``taking_over``: the moderator whose stale claim this one replaces, if it is still theirs."""
    holder = "moderator_id IS NULL" if taking_over is None else "moderator_id = ?"
    changed = await conn.execute(
        "UPDATE appeals SET moderator_id = ?, decision = ?, note = ?, decision_key = ?"
        f" WHERE id = ? AND status = ? AND {holder}",
        (
            moderator_id,
            decision.value,
            note,
            key,
            appeal_id,
            AppealStatus.PENDING.value,
            *((taking_over,) if taking_over else ()),
        ),
    )
    if changed != 1:
        return False
    await _timed(conn, appeal_id, moderator_id, at)
    return True


async def renew_claim(conn: Connection, appeal_id: str, moderator_id: str, at: datetime) -> None:
    """The claim's moderator tries again: it is theirs, timed from now, while it stands."""
    appeal = await get_appeal(conn, appeal_id)
    if appeal and appeal.status is AppealStatus.PENDING and appeal.moderator_id == moderator_id:
        await _timed(conn, appeal_id, moderator_id, at)


async def _timed(conn: Connection, appeal_id: str, moderator_id: str, at: datetime) -> None:
    await history.add_event(
        conn,
        subject_id=_claims(appeal_id),
        type=_CLAIMED,
        at=at,
        detail={"moderator_id": moderator_id},
        key=f"{_claims(appeal_id)}:{moderator_id}:{ts(at)}",
    )


async def claimed_at(conn: Connection, appeal_id: str) -> datetime | None:
    """When the appeal's latest claim was made (the one standing, if any stands)."""
    row = await fetch_one(
        conn,
        "SELECT MAX(at) AS at FROM events WHERE subject_id = ? AND type = ?",
        (_claims(appeal_id), _CLAIMED),
    )
    at = row["at"] if row else None
    return datetime.fromisoformat(at) if isinstance(at, str) else at


async def is_opened(conn: Connection, appeal_id: str) -> bool:
    """Whether the appeal's first step ran: the appellant told of receipt."""
    row = await fetch_one(
        conn,
        "SELECT 1 FROM events WHERE subject_id = ? AND type = ?",
        (appeal_id, "opened"),
    )
    return row is not None


async def claimed_with(
    conn: Connection, appeal_id: str, moderator_id: str, key: str
) -> Appeal | None:
    """The appeal if this moderator's request with this key claimed it (applied or not)."""
    row = await fetch_one(
        conn,
        "SELECT * FROM appeals WHERE id = ? AND moderator_id = ? AND decision_key = ?",
        (appeal_id, moderator_id, key),
    )
    return _appeal(row) if row else None


async def release_claim(conn: Connection, appeal_id: str, moderator_id: str) -> None:
    """A claim whose decision never reached the workflow: the appeal waits for a decision again."""
    await conn.execute(
        "UPDATE appeals SET moderator_id = NULL, decision = NULL, note = NULL, decision_key = NULL"
        " WHERE id = ? AND status = ? AND moderator_id = ?",
        (appeal_id, AppealStatus.PENDING.value, moderator_id),
    )


async def mark_decided(
    conn: Connection,
    appeal_id: str,
    *,
    status: AppealStatus,
    moderator_id: str,
    decision: AppealDecision,
    at: datetime,
) -> None:
    """Idempotent: only a pending appeal is decided. The claim's note stays as written."""
    await conn.execute(
        "UPDATE appeals SET status = ?, moderator_id = ?, decision = ?, decided_at = ?"
        " WHERE id = ? AND status = ?",
        (
            status.value,
            moderator_id,
            decision.value,
            ts(at),
            appeal_id,
            AppealStatus.PENDING.value,
        ),
    )


async def mark_escalated(conn: Connection, appeal_id: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE appeals SET escalated_at = COALESCE(escalated_at, ?) WHERE id = ?",
        (ts(at), appeal_id),
    )
