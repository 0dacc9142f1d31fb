"""Contact requests, the contacts they open, and the answers reviewers submit."""

from __future__ import annotations

import json
from datetime import datetime

from domain.enums import ContactStatus, RequestedItem
from store.connection import Connection
from store.records import AnswerRecord, Contact, ContactRequest, fetch_all, fetch_one, ts

_OPEN = tuple(s.value for s in ContactStatus if s.is_open)
_CONTACT = (
    "SELECT c.id, c.review_id, c.business_id, c.reviewer_id, c.status, c.opened_at, c.deadline,"
    " c.window_closed_at, c.report_deadline, c.answer_id, c.token_used_at, c.closed_at,"
    " c.report_id, q.message, q.requested, q.purged_at"
    " FROM contacts c JOIN contact_requests q ON q.id = c.id"
)


async def add_request(
    conn: Connection,
    *,
    id: str,
    review_id: str,
    business_id: str,
    message: str,
    requested: list[RequestedItem],
    created_at: datetime,
    idempotency_key: str | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO contact_requests"
        " (id, review_id, business_id, message, requested, idempotency_key, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            id,
            review_id,
            business_id,
            message,
            json.dumps([r.value for r in requested]),
            idempotency_key,
            ts(created_at),
        ),
    )


async def get_request(conn: Connection, request_id: str) -> ContactRequest | None:
    row = await fetch_one(conn, "SELECT * FROM contact_requests WHERE id = ?", (request_id,))
    return ContactRequest.from_row(row) if row else None


async def refusal_of(conn: Connection, request_id: str) -> str | None:
    """The reason a request was refused, once it was."""
    row = await fetch_one(conn, "SELECT refusal FROM contact_requests WHERE id = ?", (request_id,))
    return str(row[0]) if row and row[0] is not None else None


async def request_for_idempotency_key(
    conn: Connection, business_id: str, key: str
) -> ContactRequest | None:
    row = await fetch_one(
        conn,
        "SELECT * FROM contact_requests WHERE business_id = ? AND idempotency_key = ?",
        (business_id, key),
    )
    return ContactRequest.from_row(row) if row else None


async def refuse_request(conn: Connection, request_id: str, refusal: str) -> None:
    await conn.execute(
        "UPDATE contact_requests SET refusal = ? WHERE id = ? AND refusal IS NULL",
        (refusal, request_id),
    )


async def open_contact(
    conn: Connection,
    *,
    request: ContactRequest,
    reviewer_id: str,
    opened_at: datetime,
    deadline: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO contacts"
        " (id, review_id, business_id, reviewer_id, status, opened_at, deadline)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            request.id,
            request.review_id,
            request.business_id,
            reviewer_id,
            ContactStatus.AWAITING_REPLY.value,
            ts(opened_at),
            ts(deadline),
        ),
    )


async def deadline_of(conn: Connection, contact_id: str) -> datetime | None:
    """The end of the reply window the contact was opened with."""
    row = await fetch_one(conn, "SELECT deadline FROM contacts WHERE id = ?", (contact_id,))
    return datetime.fromisoformat(row[0]) if row else None


async def get_contact(conn: Connection, contact_id: str) -> Contact | None:
    row = await fetch_one(conn, f"{_CONTACT} WHERE c.id = ?", (contact_id,))
    return Contact.from_row(row) if row else None


async def open_contact_for_review(conn: Connection, review_id: str) -> Contact | None:
    marks = ", ".join("?" for _ in _OPEN)
    row = await fetch_one(
        conn, f"{_CONTACT} WHERE c.review_id = ? AND c.status IN ({marks})", (review_id, *_OPEN)
    )
    return Contact.from_row(row) if row else None


async def contacts_of_business(
    conn: Connection, business_id: str, *, limit: int = 50, offset: int = 0
) -> list[Contact]:
    rows = await fetch_all(
        conn,
        f"{_CONTACT} WHERE c.business_id = ? ORDER BY c.opened_at DESC, c.id LIMIT ? OFFSET ?",
        (business_id, limit, offset),
    )
    return [Contact.from_row(r) for r in rows]


async def contacts_of_review(conn: Connection, review_id: str) -> list[Contact]:
    rows = await fetch_all(
        conn, f"{_CONTACT} WHERE c.review_id = ? ORDER BY c.opened_at", (review_id,)
    )
    return [Contact.from_row(r) for r in rows]


async def contact_for_token_hash(conn: Connection, token_hash: str) -> Contact | None:
    row = await fetch_one(conn, f"{_CONTACT} WHERE c.token_hash = ?", (token_hash,))
    return Contact.from_row(row) if row else None


async def set_token_hash(conn: Connection, contact_id: str, token_hash: str) -> None:
    await conn.execute("UPDATE contacts SET token_hash = ? WHERE id = ?", (token_hash, contact_id))


async def close_window(
    conn: Connection,
    contact_id: str,
    *,
    status: ContactStatus,
    at: datetime,
    report_deadline: datetime,
    answer_id: str | None,
) -> None:
    """The reply window ends with an answer or the deadline; the link is used up either way."""
    await conn.execute(
        "UPDATE contacts SET status = ?, window_closed_at = ?, report_deadline = ?, answer_id = ?,"
        " token_used_at = CASE WHEN CAST(? AS TEXT) IS NULL THEN token_used_at ELSE ? END"
        " WHERE id = ? AND status = ?",
        (
            status.value,
            ts(at),
            ts(report_deadline),
            answer_id,
            answer_id,
            ts(at),
            contact_id,
            ContactStatus.AWAITING_REPLY.value,
        ),
    )


async def end_contact(
    conn: Connection,
    contact_id: str,
    *,
    status: ContactStatus,
    at: datetime,
    report_id: str | None = None,
) -> None:
    await conn.execute(
        "UPDATE contacts SET status = ?, closed_at = ?, report_id = COALESCE(?, report_id),"
        " window_closed_at = COALESCE(window_closed_at, ?) WHERE id = ?",
        (status.value, ts(at), report_id, ts(at), contact_id),
    )


async def add_answer(
    conn: Connection, answer: AnswerRecord, *, idempotency_key: str | None = None
) -> None:
    await conn.execute(
        "INSERT INTO answers (id, contact_id, answer, order_reference, contact_details, message,"
        " submitted_at, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            answer.id,
            answer.contact_id,
            answer.answer.value,
            answer.order_reference,
            answer.contact_details,
            answer.message,
            ts(answer.submitted_at),
            idempotency_key,
        ),
    )


async def answer_for_key(
    conn: Connection, contact_id: str, idempotency_key: str
) -> AnswerRecord | None:
    """The answer a first try with this key recorded: accepted, or a draft whose update may
    still be applied."""
    row = await fetch_one(
        conn,
        "SELECT * FROM answers WHERE contact_id = ? AND idempotency_key = ?",
        (contact_id, idempotency_key),
    )
    return AnswerRecord.model_validate(dict(row)) if row else None


async def add_action(
    conn: Connection,
    *,
    id: str,
    contact_id: str,
    action: str,
    idempotency_key: str,
    at: datetime,
) -> None:
    """A business's report or close sent with an Idempotency-Key; its id names the update."""
    await conn.execute(
        "INSERT INTO contact_actions (id, contact_id, action, idempotency_key, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (id, contact_id, action, idempotency_key, ts(at)),
    )


async def action_for_key(
    conn: Connection, contact_id: str, action: str, idempotency_key: str
) -> str | None:
    row = await fetch_one(
        conn,
        "SELECT id FROM contact_actions"
        " WHERE contact_id = ? AND action = ? AND idempotency_key = ?",
        (contact_id, action, idempotency_key),
    )
    return str(row[0]) if row else None


async def get_answer(conn: Connection, answer_id: str) -> AnswerRecord | None:
    row = await fetch_one(conn, "SELECT * FROM answers WHERE id = ?", (answer_id,))
    return AnswerRecord.model_validate(dict(row)) if row else None


async def drop_answer(conn: Connection, answer_id: str) -> None:
    """An answer the workflow refused is not kept: it was never given, as far as anyone can see."""
    await conn.execute(
        "DELETE FROM answers WHERE id = ? AND id NOT IN"
        " (SELECT answer_id FROM contacts WHERE answer_id IS NOT NULL)",
        (answer_id,),
    )


async def open_contacts_for_reviews(conn: Connection, review_ids: list[str]) -> dict[str, Contact]:
    if not review_ids:
        return {}
    marks = ", ".join("?" for _ in review_ids)
    states = ", ".join("?" for _ in _OPEN)
    rows = await fetch_all(
        conn,
        f"{_CONTACT} WHERE c.review_id IN ({marks}) AND c.status IN ({states})",
        (*review_ids, *_OPEN),
    )
    return {row["review_id"]: Contact.from_row(row) for row in rows}


async def contacts_by_id(conn: Connection, contact_ids: list[str]) -> dict[str, Contact]:
    """Many contacts in one query, for pages that show a list of them."""
    ids = sorted({i for i in contact_ids if i})
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = await fetch_all(conn, f"{_CONTACT} WHERE c.id IN ({marks})", tuple(ids))
    return {row["id"]: Contact.from_row(row) for row in rows}


async def answers_by_id(conn: Connection, answer_ids: list[str]) -> dict[str, AnswerRecord]:
    ids = sorted({i for i in answer_ids if i})
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = await fetch_all(conn, f"SELECT * FROM answers WHERE id IN ({marks})", tuple(ids))
    return {row["id"]: AnswerRecord.model_validate(dict(row)) for row in rows}
