"""The public reply (DESIGN rule 19): drafts as sent, and the one reply a review gets.

A draft holds what a team member sent; publishing copies it into ``replies``, whose unique
review, ticket and draft make a second reply impossible even if every check above it failed.
Nothing here changes a published reply: there is no such function, by design.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from domain.enums import TicketEventKind, TicketStatus
from store import tickets
from store.connection import Connection
from store.records import Reply, ReplyDraft, fetch_all, fetch_one, ts

_DRAFT = "id, ticket_id, author_id, text, solve, created_at"
_REPLY = "id, review_id, ticket_id, business_id, draft_id, author_id, text, published_at"


async def add_draft(
    conn: Connection,
    *,
    ticket_id: str,
    author_id: str,
    text: str,
    solve: bool,
    at: datetime,
    idempotency_key: str | None = None,
) -> ReplyDraft:
    """A new draft; with a key already used by this author on this ticket, that first draft as
    stored (the caller refuses a send whose text or ``solve`` differ from it)."""
    if idempotency_key:
        prior = await draft_for_key(conn, ticket_id, author_id, idempotency_key)
        if prior is not None:
            return prior
    draft = ReplyDraft(
        id=f"rd_{secrets.token_hex(10)}",
        ticket_id=ticket_id,
        author_id=author_id,
        text=text,
        solve=solve,
        created_at=at,
    )
    await conn.execute(
        f"INSERT INTO reply_drafts ({_DRAFT}, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (draft.id, ticket_id, author_id, text, int(solve), ts(at), idempotency_key),
    )
    return draft


async def draft_for_key(
    conn: Connection, ticket_id: str, author_id: str, idempotency_key: str
) -> ReplyDraft | None:
    row = await fetch_one(
        conn,
        f"SELECT {_DRAFT} FROM reply_drafts"
        " WHERE ticket_id = ? AND author_id = ? AND idempotency_key = ?",
        (ticket_id, author_id, idempotency_key),
    )
    return ReplyDraft.model_validate(dict(row)) if row else None


async def get_draft(conn: Connection, draft_id: str) -> ReplyDraft | None:
    row = await fetch_one(conn, f"SELECT {_DRAFT} FROM reply_drafts WHERE id = ?", (draft_id,))
    return ReplyDraft.model_validate(dict(row)) if row else None


async def reply_of_ticket(conn: Connection, ticket_id: str) -> Reply | None:
    row = await fetch_one(conn, f"SELECT {_REPLY} FROM replies WHERE ticket_id = ?", (ticket_id,))
    return Reply.model_validate(dict(row)) if row else None


async def replies_of_reviews(conn: Connection, review_ids: Sequence[str]) -> dict[str, Reply]:
    """The published replies of these reviews, by review id: for a page of public reviews."""
    if not review_ids:
        return {}
    marks = ", ".join("?" for _ in review_ids)
    rows = await fetch_all(
        conn, f"SELECT {_REPLY} FROM replies WHERE review_id IN ({marks})", tuple(review_ids)
    )
    return {row["review_id"]: Reply.model_validate(dict(row)) for row in rows}


async def publish(
    conn: Connection, draft: ReplyDraft, *, review_id: str, business_id: str, at: datetime
) -> Reply | None:
    """Publishes the draft as the review's reply, opening a new ticket, and, for "Send as
    solved", solves it; the new reply, or None if the review already has one (which is then
    left as it is)."""
    reply = Reply(
        id=f"rp_{secrets.token_hex(10)}",
        review_id=review_id,
        ticket_id=draft.ticket_id,
        business_id=business_id,
        draft_id=draft.id,
        author_id=draft.author_id,
        text=draft.text,
        published_at=at,
    )
    changed = await conn.execute(
        f"INSERT INTO replies ({_REPLY}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            reply.id,
            reply.review_id,
            reply.ticket_id,
            reply.business_id,
            reply.draft_id,
            reply.author_id,
            reply.text,
            ts(at),
        ),
    )
    if changed != 1:
        return None
    await conn.execute(
        "UPDATE tickets SET replied_at = ? WHERE id = ? AND replied_at IS NULL",
        (ts(at), draft.ticket_id),
    )
    # Answered, so acted on: a new ticket opens (a pending one stays pending while its contact
    # runs). Not solved: that is "Send as solved", or "Mark solved" later (``solve``).
    await tickets.set_status(
        conn, draft.ticket_id, TicketStatus.OPEN, only_from=(TicketStatus.NEW,)
    )
    await tickets.add_event(
        conn, draft.ticket_id, TicketEventKind.REPLY_PUBLISHED, at=at, actor_id=draft.author_id
    )
    if draft.solve:
        await solve(conn, draft.ticket_id, actor_id=draft.author_id, at=at)
    return reply


async def solve(conn: Connection, ticket_id: str, *, actor_id: str | None, at: datetime) -> bool:
    """Solves the ticket once, with its history entry; whether this call solved it."""
    moved = await tickets.set_status(
        conn,
        ticket_id,
        TicketStatus.SOLVED,
        only_from=(TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING),
    )
    if moved:
        await conn.execute("UPDATE tickets SET solved_at = ? WHERE id = ?", (ts(at), ticket_id))
        await tickets.add_event(conn, ticket_id, TicketEventKind.SOLVED, at=at, actor_id=actor_id)
    return moved
