"""Tickets (DESIGN rule 15), their tags, history and the inbox's views (rule 16).

A ticket is written once with its review (``starter.intake``); what changes it afterwards
(assignment, notes, a contact, the response target's steps) records a ``ticket_events`` row in
the same transaction, so the history is every change."""

from __future__ import annotations

import secrets
from datetime import datetime

from domain.desk import SLA_BREACHED
from domain.enums import TicketEventKind, TicketStatus, TicketView
from store.connection import Connection
from store.records import Ticket, TicketEvent, fetch_all, fetch_one, ts

_COLUMNS = (
    "id, review_id, business_id, subject, requester, rating, status, priority, assignee_id,"
    " policy_name, target_at, remind_at, reminded_at, breached_at, created_at, updated_at"
)
_TAGS = (
    "(SELECT group_concat(tag, ' ') FROM (SELECT tag FROM ticket_tags g"
    " WHERE g.ticket_id = t.id ORDER BY added_at, tag) ordered) AS tags"
)


def _ticket(row: dict[str, object]) -> Ticket:
    tags = row.pop("tags", None)
    return Ticket.model_validate({**row, "tags": str(tags).split() if tags else []})


async def add_ticket(conn: Connection, ticket: Ticket, *, negative: bool) -> None:
    """The ticket with its first tags and its ``created`` event; nothing if the review has one."""
    changed = await conn.execute(
        f"INSERT INTO tickets ({_COLUMNS}, negative) VALUES"
        " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            ticket.id,
            ticket.review_id,
            ticket.business_id,
            ticket.subject,
            ticket.requester,
            ticket.rating,
            ticket.status.value,
            ticket.priority.value,
            ticket.assignee_id,
            ticket.policy_name,
            ts(ticket.target_at),
            ts(ticket.remind_at),
            None,
            None,
            ts(ticket.created_at),
            ts(ticket.updated_at),
            int(negative),
        ),
    )
    if changed != 1:
        return
    for tag in ticket.tags:
        await add_tag(conn, ticket.id, tag, ticket.created_at)
    await add_event(conn, ticket.id, TicketEventKind.CREATED, at=ticket.created_at)


async def add_tag(conn: Connection, ticket_id: str, tag: str, at: datetime) -> bool:
    changed = await conn.execute(
        "INSERT INTO ticket_tags (ticket_id, tag, added_at) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (ticket_id, tag, ts(at)),
    )
    return changed == 1


async def add_event(
    conn: Connection,
    ticket_id: str,
    kind: TicketEventKind,
    *,
    at: datetime,
    actor_id: str | None = None,
    detail: str | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO ticket_events (id, ticket_id, at, kind, actor_id, detail)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (f"te_{secrets.token_hex(10)}", ticket_id, ts(at), kind.value, actor_id, detail),
    )
    await conn.execute(
        "UPDATE tickets SET updated_at = ? WHERE id = ? AND updated_at < ?",
        (ts(at), ticket_id, ts(at)),
    )


async def get_ticket(conn: Connection, ticket_id: str) -> Ticket | None:
    row = await fetch_one(
        conn, f"SELECT {_COLUMNS}, {_TAGS} FROM tickets t WHERE id = ?", (ticket_id,)
    )
    return _ticket(dict(row)) if row else None


async def ticket_of(conn: Connection, business_id: str, ticket_id: str) -> Ticket | None:
    """The ticket, only if it is this business's: another's answers as one that does not exist."""
    ticket = await get_ticket(conn, ticket_id)
    return ticket if ticket is not None and ticket.business_id == business_id else None


async def ticket_for_review(conn: Connection, review_id: str) -> Ticket | None:
    row = await fetch_one(
        conn, f"SELECT {_COLUMNS}, {_TAGS} FROM tickets t WHERE review_id = ?", (review_id,)
    )
    return _ticket(dict(row)) if row else None


async def set_status(
    conn: Connection,
    ticket_id: str,
    status: TicketStatus,
    *,
    only_from: tuple[TicketStatus, ...],
) -> bool:
    """Moves the ticket to ``status`` if it is in one of ``only_from``; whether it moved."""
    marks = ", ".join("?" for _ in only_from)
    changed = await conn.execute(
        f"UPDATE tickets SET status = ? WHERE id = ? AND status IN ({marks})",
        (status.value, ticket_id, *[s.value for s in only_from]),
    )
    return changed == 1


async def events_of(conn: Connection, ticket_id: str) -> list[TicketEvent]:
    rows = await fetch_all(
        conn,
        "SELECT id, ticket_id, at, kind, actor_id, detail FROM ticket_events"
        " WHERE ticket_id = ? ORDER BY at, id",
        (ticket_id,),
    )
    return [TicketEvent.model_validate(dict(r)) for r in rows]


def _view_filter(view: TicketView, member_id: str) -> tuple[str, tuple[object, ...]]:
    """Each view's condition (DESIGN rule 16), beside ``business_id = ?``: one place for all."""
    if view is TicketView.UNANSWERED_NEGATIVE:
        return "negative = 1 AND status <> ?", (TicketStatus.SOLVED.value,)
    if view is TicketView.NEW:
        return "status = ?", (TicketStatus.NEW.value,)
    if view is TicketView.ASSIGNED_TO_ME:
        return "assignee_id = ? AND status <> ?", (member_id, TicketStatus.SOLVED.value)
    return "1 = 1", ()


async def tickets_in_view(
    conn: Connection,
    business_id: str,
    view: TicketView,
    *,
    member_id: str,
    limit: int = 25,
    offset: int = 0,
) -> list[Ticket]:
    """Newest first (rule 16)."""
    where, params = _view_filter(view, member_id)
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS}, {_TAGS} FROM tickets t WHERE business_id = ? AND {where}"
        " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        (business_id, *params, limit, offset),
    )
    return [_ticket(dict(r)) for r in rows]


async def view_counts(
    conn: Connection, business_id: str, *, member_id: str
) -> dict[TicketView, int]:
    """How many tickets each view holds, in one query."""
    parts: list[str] = []
    params: list[object] = []
    for view in TicketView:
        where, view_params = _view_filter(view, member_id)
        parts.append(f"SUM(CASE WHEN {where} THEN 1 ELSE 0 END)")
        params.extend(view_params)
    row = await fetch_one(
        conn,
        f"SELECT {', '.join(parts)} FROM tickets WHERE business_id = ?",
        (*params, business_id),
    )
    assert row is not None
    return {view: int(row[i] or 0) for i, view in enumerate(TicketView)}


async def mark_reminded(conn: Connection, ticket_id: str, at: datetime) -> bool:
    """Once: whether this call is the one that marked it."""
    changed = await conn.execute(
        "UPDATE tickets SET reminded_at = ? WHERE id = ? AND reminded_at IS NULL",
        (ts(at), ticket_id),
    )
    return changed == 1


async def mark_breached(conn: Connection, ticket_id: str, at: datetime) -> bool:
    """Once, with the ``sla_breached`` tag: whether this call is the one that marked it."""
    changed = await conn.execute(
        "UPDATE tickets SET breached_at = ? WHERE id = ? AND breached_at IS NULL",
        (ts(at), ticket_id),
    )
    if changed == 1:
        await add_tag(conn, ticket_id, SLA_BREACHED, at)
    return changed == 1
